import { sql, type Kysely } from 'kysely';
import type { Clock } from './clock.js';
import type { Db } from './database.js';
import { dialectOf } from './dialect.js';
import type { Logger } from './logger.js';

/**
 * Leadership (issue #14): the duties that must run once in a fleet of hubs (the alerts engine,
 * the outbox, event webhooks, rollups and retention, the dead-man ping, reports) run on the
 * one hub that holds the leader lease. One hub (SQLite, or no shared database) is always the
 * leader. Several hubs on PostgreSQL hold a lease row with an increasing epoch, the fencing
 * token: no session advisory lock and no LISTEN, so it works behind PgBouncer in transaction
 * mode (ADR 0011).
 */
export interface LeaderTerm {
  /** Increases every time the lease changes hands (or is taken again after lapsing). */
  epoch: number;
  /** This process as the lease names it: `<hub id>/<random>`, new on every start. */
  holder: string;
}

export interface Leadership {
  /** True while this hub may act as the leader. */
  isLeader(): boolean;
  /** The current term, or null when this hub is not the leader. */
  term(): LeaderTerm | null;
  /**
   * Runs `start` whenever this hub becomes the leader and `stop` whenever it stops being one
   * (and at `stop()`). Resolves once `start` ran when this hub already leads. Duties start in
   * the order they were added and stop in the reverse order.
   */
  whileLeader(duty: string, start: (term: LeaderTerm) => void | Promise<void>, stop: () => void | Promise<void>): Promise<void>;
  /**
   * Inside a transaction: throws `StaleLeaderError` unless this term still holds the lease. On
   * PostgreSQL it takes a share lock on the lease row, so a takeover waits for the transaction
   * and a write that passed the fence was made by the leader of that moment.
   */
  fence(trx: Kysely<any>): Promise<void>; // eslint-disable-line @typescript-eslint/no-explicit-any -- any schema: the lease table only.
  /** Starts contending (shared) or leading (in memory). */
  start(): Promise<void>;
  /** Stops every duty and gives the lease up, so another hub takes over at its next attempt. */
  stop(): Promise<void>;
}

/** A write made by a hub that no longer holds the lease it started under. */
export class StaleLeaderError extends Error {
  constructor(readonly epoch: number) {
    super(`this hub's leader term (epoch ${epoch}) has ended; the write is refused`);
    this.name = 'StaleLeaderError';
  }
}

interface Duty {
  name: string;
  start: (term: LeaderTerm) => void | Promise<void>;
  stop: () => void | Promise<void>;
}

/** Starts and stops duties one transition at a time; shared by both implementations. */
function createDutyRunner(logger: Logger) {
  const duties: Duty[] = [];
  let current: LeaderTerm | null = null;
  let transitions: Promise<void> = Promise.resolve();

  async function startDuty(duty: Duty, term: LeaderTerm): Promise<void> {
    try {
      await duty.start(term);
    } catch (error) {
      logger.error({ err: error, duty: duty.name, epoch: term.epoch }, 'a leader duty failed to start');
    }
  }

  async function stopDuty(duty: Duty): Promise<void> {
    try {
      await duty.stop();
    } catch (error) {
      logger.error({ err: error, duty: duty.name }, 'a leader duty failed to stop');
    }
  }

  /**
   * Every duty is told to stop at once (in reverse order), then awaited together: one duty
   * waiting for a slow provider or a lost database must not keep the others acting.
   */
  async function stopAll(): Promise<void> {
    await Promise.all([...duties].reverse().map((duty) => stopDuty(duty)));
  }

  const enqueue = (work: () => Promise<void>): Promise<void> => (transitions = transitions.then(work));

  return {
    term: () => current,
    /** Becomes the leader for `term` (stepping down from an older one first). */
    lead(term: LeaderTerm): Promise<void> {
      return enqueue(async () => {
        if (current?.epoch === term.epoch) return;
        if (current) await stopAll();
        current = term;
        logger.info({ epoch: term.epoch, holder: term.holder }, 'this hub is the leader');
        for (const duty of duties) await startDuty(duty, term);
      });
    },
    /** Stops every duty; from the moment this is called, `term()` is null. */
    stepDown(reason: string): Promise<void> {
      const was = current;
      current = null;
      return enqueue(async () => {
        if (!was) return;
        logger.warn({ epoch: was.epoch, reason }, 'this hub stopped acting as the leader');
        await stopAll();
      });
    },
    add(duty: Duty): Promise<void> {
      duties.push(duty);
      return enqueue(async () => {
        if (current) await startDuty(duty, current);
      });
    },
  };
}

/** One hub: always the leader, from `start()` to `stop()` (today's behaviour). */
export function createLocalLeadership({ logger, holder = 'local' }: { logger: Logger; holder?: string }): Leadership {
  const runner = createDutyRunner(logger);
  return {
    isLeader: () => runner.term() !== null,
    term: runner.term,
    whileLeader: (name, start, stop) => runner.add({ name, start, stop }),
    async fence(): Promise<void> {
      // One hub: nobody else can hold a term.
    },
    start: () => runner.lead({ epoch: 1, holder }),
    stop: () => runner.stepDown('hub stopping'),
  };
}

/** Lease timings; takeover after a leader dies ≤ ttlMs + renewEveryMs. */
export interface LeaseTimings {
  /** How long a lease lasts after each renewal. */
  ttlMs: number;
  /** How often the leader renews and the others try to take over. */
  renewEveryMs: number;
  /** The leader stops acting this long before its lease would expire (clock skew between hubs). */
  safetyMs: number;
}

export const DEFAULT_LEASE_TIMINGS: LeaseTimings = { ttlMs: 10_000, renewEveryMs: 2_000, safetyMs: 1_000 };

/** SQL of the `leader_leases` table (migration 0172). */
export function createLeaseStore(db: Db) {
  return {
    /**
     * Takes or renews the lease in one statement: it succeeds when nobody holds it, when it
     * lapsed, or when `holder` holds it. The epoch stays while the same holder renews in time
     * and goes up on every takeover (or a re-take after lapsing). Returns the epoch, or null
     * when another hub holds a live lease.
     */
    async acquire(name: string, holder: string, now: number, ttlMs: number): Promise<number | null> {
      const row = await db
        .insertInto('leader_leases')
        .values({ name, holder, epoch: 1, expires_at: now + ttlMs, acquired_at: now })
        .onConflict((oc) =>
          oc
            .column('name')
            .doUpdateSet((eb) => {
              const renewing = eb.and([eb('leader_leases.holder', '=', holder), eb('leader_leases.expires_at', '>', now)]);
              return {
                holder: eb.ref('excluded.holder'),
                epoch: eb.case().when(renewing).then(eb.ref('leader_leases.epoch')).else(eb('leader_leases.epoch', '+', 1)).end(),
                acquired_at: eb.case().when(renewing).then(eb.ref('leader_leases.acquired_at')).else(eb.ref('excluded.acquired_at')).end(),
                expires_at: eb.ref('excluded.expires_at'),
              };
            })
            .where((eb) => eb.or([eb('leader_leases.holder', '=', holder), eb('leader_leases.expires_at', '<=', now)])),
        )
        .returning(['epoch'])
        .executeTakeFirst();
      return row ? Number(row.epoch) : null;
    },
    /** Gives the lease up now (a clean stop): the next contender need not wait for it to lapse. */
    async release(name: string, holder: string, epoch: number): Promise<void> {
      await db.updateTable('leader_leases').set({ expires_at: 0 }).where('name', '=', name).where('holder', '=', holder).where('epoch', '=', epoch).execute();
    },
    /** Who holds the lease and until when (tests, diagnostics). */
    async current(name: string): Promise<{ holder: string; epoch: number; expiresAt: number } | undefined> {
      const row = await db.selectFrom('leader_leases').selectAll().where('name', '=', name).executeTakeFirst();
      return row && { holder: row.holder, epoch: Number(row.epoch), expiresAt: Number(row.expires_at) };
    },
  };
}
export type LeaseStore = ReturnType<typeof createLeaseStore>;

/** True while `term` holds lease `name` at `now`; inside a transaction, PostgreSQL keeps it so until commit. */
async function holdsLease(trx: Kysely<any>, name: string, term: LeaderTerm, now: number): Promise<boolean> { // eslint-disable-line @typescript-eslint/no-explicit-any -- any schema
  const lock = dialectOf(trx) === 'postgres' ? sql` for share` : sql``;
  const result = await sql<{ epoch: number }>`select epoch from leader_leases where name = ${name} and holder = ${term.holder} and epoch = ${term.epoch} and expires_at > ${now}${lock}`.execute(trx);
  return result.rows.length > 0;
}

/**
 * Several hubs: a lease row in the shared database. Every `renewEveryMs` the leader renews and
 * the others try to take over. A hub that cannot renew (the database unreachable, or
 * `isHealthy()` false, e.g. Redis lost) stops acting as the leader `safetyMs` before its lease
 * would expire, by a timer of its own that a hung query cannot hold up.
 */
export function createSharedLeadership({
  store,
  holder,
  clock,
  logger,
  isHealthy = () => true,
  timings = DEFAULT_LEASE_TIMINGS,
  name = 'leader',
}: {
  store: LeaseStore;
  holder: string;
  clock: Clock;
  logger: Logger;
  /** Shared infrastructure other than the database (Redis) is reachable; false: do not renew. */
  isHealthy?: () => boolean;
  timings?: LeaseTimings;
  name?: string;
}): Leadership {
  const runner = createDutyRunner(logger);
  let timer: NodeJS.Timeout | undefined;
  let deadlineTimer: NodeJS.Timeout | undefined;
  let attempt: Promise<void> | undefined;
  let running = false;
  let lastProblem: string | null = null;

  function problem(text: string, error?: unknown): void {
    if (text !== lastProblem) logger.warn({ ...(error === undefined ? {} : { err: error }), epoch: runner.term()?.epoch ?? null }, `leader lease: ${text}`);
    lastProblem = text;
  }

  function armDeadline(at: number): void {
    if (deadlineTimer) clearTimeout(deadlineTimer);
    deadlineTimer = setTimeout(() => {
      deadlineTimer = undefined;
      void runner.stepDown('the lease could not be renewed in time');
    }, Math.max(0, at - clock.now()));
    deadlineTimer.unref();
  }

  async function tryOnce(): Promise<void> {
    if (!isHealthy()) {
      problem('shared infrastructure unhealthy; not renewing');
      return;
    }
    const sentAt = clock.now();
    let epoch: number | null;
    try {
      epoch = await store.acquire(name, holder, sentAt, timings.ttlMs);
    } catch (error) {
      problem('renewal failed', error);
      return;
    }
    lastProblem = null;
    if (!running) return;
    if (epoch === null) {
      // Another hub holds a live lease: ours lapsed (we were paused or cut off) if we thought we led.
      if (runner.term()) {
        if (deadlineTimer) clearTimeout(deadlineTimer);
        await runner.stepDown('another hub holds the lease');
      }
      return;
    }
    armDeadline(sentAt + timings.ttlMs - timings.safetyMs);
    const term = runner.term();
    if (!term || term.epoch !== epoch) await runner.lead({ epoch, holder });
  }

  function schedule(): void {
    if (!running) return;
    timer = setTimeout(() => {
      attempt = tryOnce().finally(() => {
        attempt = undefined;
        schedule();
      });
    }, timings.renewEveryMs);
    timer.unref();
  }

  return {
    isLeader: () => runner.term() !== null,
    term: runner.term,
    whileLeader: (duty, start, stop) => runner.add({ name: duty, start, stop }),
    async fence(trx): Promise<void> {
      const term = runner.term();
      if (!term) throw new StaleLeaderError(0);
      if (!(await holdsLease(trx, name, term, clock.now()))) throw new StaleLeaderError(term.epoch);
    },
    async start(): Promise<void> {
      running = true;
      attempt = tryOnce();
      await attempt;
      attempt = undefined;
      schedule();
    },
    async stop(): Promise<void> {
      running = false;
      if (timer) clearTimeout(timer);
      await attempt;
      if (deadlineTimer) clearTimeout(deadlineTimer);
      const term = runner.term();
      await runner.stepDown('hub stopping');
      if (term) {
        try {
          await store.release(name, holder, term.epoch);
        } catch (error) {
          // Not fatal: the lease lapses by itself within its ttl.
          logger.warn({ err: error }, 'leader lease: could not release it; another hub takes over when it lapses');
        }
      }
    },
  };
}
