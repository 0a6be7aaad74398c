import { FarolError } from '@farol/protocol';
import type { AccountsDeps } from './accounts.service.js';
import type { UserRecord } from './accounts.repository.js';
import type { AuthFailureRecord, LockoutClaim } from './auth-limits.repository.js';

export type CountedAttempt = Extract<LockoutClaim, { claimed: true }>;

/** Attacker-chosen text kept in the noise table: no control characters, at most 64 characters. */
export function cleanName(text: string): string {
  return Array.from(text.slice(0, 64), (char) => {
    const code = char.charCodeAt(0);
    return code < 0x20 || code === 0x7f ? '?' : char;
  }).join('');
}

/**
 * Limits on guessing secrets (issue #11, security review M1, M2, M5, L3): sign-ins per client
 * address, failures per username (known or not) and per second factor, and the noise they
 * leave. Every counter is in the database and changes in one statement, so it holds under
 * parallel requests and across hubs sharing the database.
 */
export function createSignInLimits({ accounts, audit, clock, logger, settings }: AccountsDeps) {
  const policy = { threshold: settings.lockoutThreshold, baseMs: settings.lockoutBaseMs, maxMs: settings.lockoutMaxMs };

  /** One failed or refused attempt, aggregated per address, username and window (never an audit row). */
  async function recordNoise(ip: string, username: string, reason: string, refused: boolean): Promise<void> {
    const now = clock.now();
    await accounts.limits.recordNoise({ windowStart: now - (now % settings.authNoiseWindowMs), ip: cleanName(ip), username: cleanName(username), now, reason, refused });
  }

  return {
    recordNoise,

    /** Counts a sign-in from `ip`; refuses past `loginPerAddressPerMinute`. */
    async admitAddress(ip: string, username: string): Promise<void> {
      const hits = await accounts.limits.hitWindow(`login-ip:${ip}`, clock.now(), 60_000);
      if (hits <= settings.loginPerAddressPerMinute) return;
      await recordNoise(ip, username, 'too many sign-ins from this address', true);
      throw new FarolError('rate_limited', 'too many sign-ins from this address; try again in a minute');
    },

    /**
     * Counts an attempt at a secret against `key` BEFORE checking it (M1b, M2): while a lock
     * holds the attempt is refused unchecked, so a burst of parallel guesses gets at most
     * `lockoutThreshold` checks, whoever sends it and whether or not the user exists.
     */
    async claim(key: string, ip: string, username: string, refusal: string): Promise<CountedAttempt> {
      const claim = await accounts.limits.claimAttempt(key, clock.now(), policy);
      if (claim.claimed) return claim;
      await recordNoise(ip, username, 'locked', true);
      throw new FarolError('rate_limited', `${refusal}; try again in ${Math.max(1, Math.ceil((claim.lockedUntil - clock.now()) / 1000))} s`);
    },

    /** The secret was right: the count of `key` starts again. */
    async succeeded(key: string): Promise<void> {
      await accounts.limits.clearLockout(key);
    },

    /** A counted attempt failed: noise, and a real audit entry when it locked an existing account. */
    async failed(attempt: CountedAttempt, user: UserRecord | undefined, username: string, ip: string, reason: string): Promise<void> {
      await recordNoise(ip, username, reason, false);
      // The lock started with this attempt's claim: its length, not what is left of it after the check.
      const lockedForMs = attempt.lockedUntil === null ? 0 : Math.max(0, attempt.lockedUntil - attempt.at);
      // Only real accounts' lockouts are audited: unknown names stay bounded noise.
      if (user && lockedForMs > 0) await audit.record({ actor: user.username, action: 'auth.locked', details: { ip, reason, failures: attempt.failures, lockedForMs } });
      logger.warn({ username: cleanName(username), ip, reason, lockedForMs }, 'authentication failed');
    },

    /** Who tried what: failed and refused sign-ins and second factors, aggregated. */
    async list(query: { since?: number | undefined; username?: string | undefined; ip?: string | undefined; limit?: number | undefined }): Promise<AuthFailureRecord[]> {
      return accounts.limits.listNoise({ since: query.since ?? clock.now() - settings.authNoiseRetentionMs, username: query.username, ip: query.ip, limit: query.limit ?? 100 });
    },

    /** Noise past its retention, finished windows, and idle lockouts that no longer hold. */
    async prune(): Promise<void> {
      const now = clock.now();
      await accounts.limits.prune({ now, noiseBefore: now - settings.authNoiseRetentionMs, windowsBefore: now - 3_600_000, idleBefore: now - Math.max(86_400_000, settings.lockoutMaxMs) });
    },
  };
}
export type SignInLimits = ReturnType<typeof createSignInLimits>;
