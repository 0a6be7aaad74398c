import { sql } from 'kysely';
import type { Db } from '../../infra/database.js';

/** Failures counted against one key (`login:<username>`, `otp:<user id>`), whether or not the user exists. */
export interface AuthLockoutsTable {
  key: string;
  failures: number;
  locked_until: number | null;
  updated_at: number;
}

/** Attempts per fixed window (sign-ins per client address). */
export interface AuthRateWindowsTable {
  key: string;
  window_start: number;
  hits: number;
}

/** Authentication noise: one row per (window, address, username), with counts (issue #11). */
export interface AuthFailuresTable {
  window_start: number;
  ip: string;
  username: string;
  failures: number;
  refused: number;
  first_at: number;
  last_at: number;
  last_reason: string;
}

// A type, not an interface: Kysely's withTables wants an indexable record.
type AuthLimitTables = {
  auth_lockouts: AuthLockoutsTable;
  auth_rate_windows: AuthRateWindowsTable;
  auth_failures: AuthFailuresTable;
};

/** The outcome of claiming an attempt: counted (and possibly locking from now on), or refused because a lock holds. */
export type LockoutClaim = { claimed: true; at: number; failures: number; lockedUntil: number | null } | { claimed: false; lockedUntil: number };

export interface LockoutPolicy {
  threshold: number;
  baseMs: number;
  maxMs: number;
}

/** A row of authentication noise, typed. */
export interface AuthFailureRecord {
  windowStart: number;
  ip: string;
  username: string;
  failures: number;
  refused: number;
  firstAt: number;
  lastAt: number;
  lastReason: string;
}

function toFailure(row: AuthFailuresTable): AuthFailureRecord {
  return {
    windowStart: Number(row.window_start),
    ip: row.ip,
    username: row.username,
    failures: Number(row.failures),
    refused: Number(row.refused),
    firstAt: Number(row.first_at),
    lastAt: Number(row.last_at),
    lastReason: row.last_reason,
  };
}

/**
 * SQL for sign-in and second-factor limits. Every counter changes in ONE statement (an upsert
 * with RETURNING), so parallel attempts on one hub or on several hubs sharing the database can
 * never all read "not locked yet" before any of them counts (security review M1b).
 */
export function createAuthLimitsRepository(base: Db) {
  const db = base.withTables<AuthLimitTables>();
  return {
    /** Counts one hit in the current fixed window of `key`; returns the hits so far in it. */
    async hitWindow(key: string, now: number, windowMs: number): Promise<number> {
      const start = now - (now % windowMs);
      const row = await db
        .insertInto('auth_rate_windows')
        .values({ key, window_start: start, hits: 1 })
        .onConflict((oc) =>
          oc.column('key').doUpdateSet({
            hits: sql<number>`case when auth_rate_windows.window_start = ${start} then auth_rate_windows.hits + 1 else 1 end`,
            window_start: start,
          }),
        )
        .returning('hits')
        .executeTakeFirstOrThrow();
      return Number(row.hits);
    },

    /**
     * Counts an attempt BEFORE the secret is checked: refused while a lock holds; otherwise the
     * failure count goes up and, from `threshold` on, a lock starts that doubles with each
     * further failure (up to `maxMs`). A right answer then clears the key (`clearLockout`).
     */
    async claimAttempt(key: string, now: number, policy: LockoutPolicy): Promise<LockoutClaim> {
      // base × 2^(failures − threshold), at most maxMs; CASE and bigint casts rather than SQLite's
      // scalar min(), so the statement reads the same on PostgreSQL.
      const lockFor = (failuresSql: ReturnType<typeof sql>) => {
        const over = sql`(${failuresSql} - ${policy.threshold})`;
        const doubled = sql`(cast(${policy.baseMs} as bigint) * (cast(1 as bigint) << cast(${over} as integer)))`;
        return sql<number | null>`case when ${failuresSql} < ${policy.threshold} then auth_lockouts.locked_until
          when ${over} >= 30 or ${doubled} > ${policy.maxMs} then cast(${now} as bigint) + ${policy.maxMs}
          else ${now} + ${doubled} end`;
      };
      const row = await db
        .insertInto('auth_lockouts')
        .values({ key, failures: 1, locked_until: policy.threshold <= 1 ? now + policy.baseMs : null, updated_at: now })
        .onConflict((oc) =>
          oc
            .column('key')
            .doUpdateSet({
              failures: sql<number>`auth_lockouts.failures + 1`,
              locked_until: lockFor(sql`(auth_lockouts.failures + 1)`),
              updated_at: now,
            })
            .where(sql<boolean>`auth_lockouts.locked_until is null or auth_lockouts.locked_until <= ${now}`),
        )
        .returning(['failures', 'locked_until'])
        .executeTakeFirst();
      if (row) return { claimed: true, at: now, failures: Number(row.failures), lockedUntil: row.locked_until === null ? null : Number(row.locked_until) };
      const held = await db.selectFrom('auth_lockouts').select('locked_until').where('key', '=', key).executeTakeFirst();
      return { claimed: false, lockedUntil: Number(held?.locked_until ?? now) };
    },

    async clearLockout(key: string): Promise<void> {
      await db.deleteFrom('auth_lockouts').where('key', '=', key).execute();
    },

    /** Adds one failed or refused attempt to the noise row of its window. */
    async recordNoise(input: { windowStart: number; ip: string; username: string; now: number; reason: string; refused: boolean }): Promise<void> {
      await db
        .insertInto('auth_failures')
        .values({
          window_start: input.windowStart,
          ip: input.ip,
          username: input.username,
          failures: input.refused ? 0 : 1,
          refused: input.refused ? 1 : 0,
          first_at: input.now,
          last_at: input.now,
          last_reason: input.reason,
        })
        .onConflict((oc) =>
          oc.columns(['window_start', 'ip', 'username']).doUpdateSet({
            failures: sql<number>`auth_failures.failures + excluded.failures`,
            refused: sql<number>`auth_failures.refused + excluded.refused`,
            last_at: sql<number>`excluded.last_at`,
            last_reason: sql<string>`excluded.last_reason`,
          }),
        )
        .execute();
    },

    async listNoise(filter: { since: number; username?: string | undefined; ip?: string | undefined; limit: number }): Promise<AuthFailureRecord[]> {
      let query = db.selectFrom('auth_failures').selectAll().where('last_at', '>=', filter.since).orderBy('last_at', 'desc').limit(filter.limit);
      if (filter.username !== undefined) query = query.where('username', '=', filter.username);
      if (filter.ip !== undefined) query = query.where('ip', '=', filter.ip);
      return (await query.execute()).map(toFailure);
    },

    async countNoiseRows(): Promise<number> {
      return Number((await db.selectFrom('auth_failures').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    },

    /** Drops noise older than `noiseBefore`, finished windows, and lockouts idle since `idleBefore` that no longer hold. */
    async prune({ now, noiseBefore, windowsBefore, idleBefore }: { now: number; noiseBefore: number; windowsBefore: number; idleBefore: number }): Promise<void> {
      await db.deleteFrom('auth_failures').where('last_at', '<', noiseBefore).execute();
      await db.deleteFrom('auth_rate_windows').where('window_start', '<', windowsBefore).execute();
      await db
        .deleteFrom('auth_lockouts')
        .where('updated_at', '<', idleBefore)
        .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
        .execute();
    },
  };
}
export type AuthLimitsRepository = ReturnType<typeof createAuthLimitsRepository>;
