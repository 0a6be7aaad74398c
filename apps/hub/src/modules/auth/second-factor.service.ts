import { createHash } from 'node:crypto';
import { FarolError, type Principal } from '@farol/protocol';
import { randomId } from '../../infra/ids.js';
import type { AccountsDeps, AuthContext } from './accounts.service.js';
import type { UserRecord } from './accounts.repository.js';
import type { AccountUsers } from './account-users.service.js';
import type { SignInLimits } from './sign-in-limits.service.js';
import { newTotpSecret, otpauthUri, verifyTotp } from './totp.js';

const RECOVERY_CODES = 10;
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

function recoveryCode(random: (size: number) => Buffer): string {
  const raw = randomId('x', 10, random).slice(2);
  return `${raw.slice(0, 5)}-${raw.slice(5)}`;
}

/** Account-security changes need a browser session (issue #11, M3): never an API token. */
export function requireSession(context: AuthContext, what: string): void {
  if (context.sessionId === null) throw new FarolError('forbidden', `${what} needs a signed-in browser session (sign in to the dashboard); an API token cannot do it`);
}

/** ...with a fresh proof: the session's password sign-in, or a second factor, within `maxAgeMs`. */
export function requireFreshSession(context: AuthContext, what: string, now: number, maxAgeMs: number): void {
  requireSession(context, what);
  const proof = Math.max(context.signedInAt ?? 0, context.principal.mfaAt ?? 0);
  if (now - proof > maxAgeMs) {
    throw new FarolError('forbidden', `${what} needs a fresh sign-in: sign out and in again (this session proved who you are more than ${Math.round(maxAgeMs / 60_000)} min ago)`);
  }
}

/**
 * The second factor: TOTP enrolment, confirmation and removal, recovery codes, and step-up.
 * Every code is checked against a per-user failure limit (issue #11, M2).
 */
export function createSecondFactor(deps: AccountsDeps, users: AccountUsers, limits: SignInLimits) {
  const { accounts, audit, clock, secretBox, settings, random } = deps;

  function openTotp(user: UserRecord, column: 'totp_secret' | 'totp_pending'): string | null {
    const sealed = column === 'totp_secret' ? user.totpSecret : user.totpPending;
    // The context names the column the value was sealed for (unchanged since issue #6).
    return sealed === null ? null : secretBox.open(sealed, `users.${column}:${user.id}`);
  }

  /** A TOTP code (never the same time step twice) or a recovery code (spent once), each in one conditional write. */
  async function verify(user: UserRecord, code: string): Promise<boolean> {
    const secret = openTotp(user, 'totp_secret');
    if (secret === null) return false;
    const step = verifyTotp(secret, code, clock.now());
    if (step !== null) return accounts.acceptTotpStep(user.id, step);
    const index = user.recoveryCodes.indexOf(sha256(code));
    if (index < 0) return false;
    return accounts.replaceRecoveryCodes(user.id, user.recoveryCodes, user.recoveryCodes.filter((_, i) => i !== index));
  }

  /** A code, limited per user: wrong codes lock the second factor like wrong passwords lock a sign-in. */
  async function check(user: UserRecord, code: string, ip: string): Promise<boolean> {
    const key = `otp:${user.id}`;
    const attempt = await limits.claim(key, ip, user.username, 'too many wrong codes');
    if (await verify(user, code)) {
      await limits.succeeded(key);
      return true;
    }
    await limits.failed(attempt, user, user.username, ip, 'wrong second factor');
    return false;
  }

  return {
    check,

    /** Step-up: a fresh second factor for this session (or this request, for API tokens). */
    async stepUp(context: AuthContext, otp: string, { ip }: { ip: string }): Promise<Principal> {
      const user = await users.activeUser(context.principal.id);
      if (user.totpSecret === null) return context.principal;
      if (!(await check(user, otp, ip))) throw new FarolError('unauthorized', 'the code is not valid');
      const now = clock.now();
      // Remembered on the session, or on the token (the dashboard signs in with one), for FAROL_MFA_MAX_AGE.
      if (context.sessionId !== null) await accounts.updateSession(context.sessionId, { mfaAt: now });
      else if (context.principal.tokenId !== null) await accounts.updateToken(context.principal.tokenId, { mfaAt: now });
      // Open /ui sockets hold the principal from their connect: moving the generation (without
      // auth.changed, which would close them) makes their next event re-read mfaAt, so a
      // terminal opened right after a step-up in the dashboard is allowed.
      users.bumpGeneration();
      return { ...context.principal, mfaAt: now };
    },

    /** Starts TOTP enrolment: a new secret that counts only after `confirmTotp`. */
    async enrolTotp(context: AuthContext): Promise<{ secret: string; uri: string }> {
      requireFreshSession(context, 'turning on two-factor sign-in', clock.now(), settings.mfaMaxAgeMs);
      const user = await users.activeUser(context.principal.id);
      if (user.totpSecret !== null) throw new FarolError('conflict', 'two-factor sign-in is already on; turn it off first');
      const secret = newTotpSecret(random);
      await accounts.updateUser(user.id, { totpPending: secretBox.seal(secret, `users.totp_pending:${user.id}`), updatedAt: clock.now() });
      return { secret, uri: otpauthUri(settings.issuer, user.username, secret) };
    },

    async confirmTotp(context: AuthContext, otp: string): Promise<{ recoveryCodes: string[] }> {
      requireFreshSession(context, 'turning on two-factor sign-in', clock.now(), settings.mfaMaxAgeMs);
      const user = await users.activeUser(context.principal.id);
      const pending = openTotp(user, 'totp_pending');
      if (pending === null) throw new FarolError('conflict', 'start the enrolment first (POST /api/me/totp)');
      const step = verifyTotp(pending, otp, clock.now());
      if (step === null) throw new FarolError('validation_failed', 'the code does not match; check the authenticator app\'s clock');
      const codes = Array.from({ length: RECOVERY_CODES }, () => recoveryCode(random));
      await audit.transaction(async (repos, log) => {
        await repos.accounts.updateUser(user.id, {
          totpSecret: secretBox.seal(pending, `users.totp_secret:${user.id}`),
          totpPending: null,
          totpLastStep: step,
          recoveryCodes: codes.map(sha256),
          updatedAt: clock.now(),
        });
        log({ actor: user.username, action: 'auth.mfa_enabled', details: {} });
      });
      users.changed(user.id, 'second factor enabled');
      return { recoveryCodes: codes };
    },

    async disableTotp(context: AuthContext, otp: string, { ip }: { ip: string }): Promise<void> {
      requireSession(context, 'turning off two-factor sign-in');
      const user = await users.activeUser(context.principal.id);
      if (user.totpSecret === null) return;
      if (!(await check(user, otp, ip))) throw new FarolError('unauthorized', 'the code is not valid');
      await audit.transaction(async (repos, log) => {
        await repos.accounts.updateUser(user.id, { totpSecret: null, totpPending: null, totpLastStep: null, recoveryCodes: [], updatedAt: clock.now() });
        log({ actor: user.username, action: 'auth.mfa_disabled', details: {} });
      });
      users.changed(user.id, 'second factor disabled');
    },
  };
}
export type SecondFactor = ReturnType<typeof createSecondFactor>;
