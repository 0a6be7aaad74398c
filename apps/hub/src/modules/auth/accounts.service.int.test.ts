import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUILTIN_ROLES, FarolError } from '@farol/protocol';
import { createMemoryBus, type BusEvents } from '../../infra/bus.js';
import { openSqliteDatabase, type Db } from '../../infra/database.js';
import { createLogger } from '../../infra/logger.js';
import { createRepositories, createUnitOfWork } from '../repositories.js';
import { createSecretBox } from '../../infra/secret-box.js';
import { createAuditService } from '../audit/audit.service.js';
import { createAccountsService, DEFAULT_ACCOUNTS_SETTINGS, type AccountsService } from './accounts.service.js';
import { totpAt } from './totp.js';

const PASSWORD = 'correct horse battery staple';
const MINUTE = 60_000;

/** Accounts against a real SQLite file, with a clock the test moves. */
describe('accounts service (real SQLite, injected clock)', () => {
  let dir: string;
  let db: Db;
  let file: string;
  let now: number;
  let accounts: AccountsService;
  let audit: ReturnType<typeof createAuditService>;
  const changes: Array<BusEvents['auth.changed']> = [];

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'farol-accounts-'));
    ({ db, file } = await openSqliteDatabase(dir));
    now = Date.UTC(2026, 0, 5, 12, 0, 0);
    const clock = { now: () => now };
    const logger = createLogger('silent');
    const repos = createRepositories(db);
    audit = createAuditService({ audit: repos.audit, unitOfWork: createUnitOfWork(db), clock, logger });
    const bus = createMemoryBus(logger);
    changes.length = 0;
    bus.subscribe('auth.changed', (event) => changes.push(event));
    accounts = createAccountsService({
      accounts: repos.accounts,
      audit,
      bus,
      clock,
      logger,
      secretBox: createSecretBox(randomBytes(32)),
      settings: { ...DEFAULT_ACCOUNTS_SETTINGS, sessionIdleMs: 30 * MINUTE, sessionMaxMs: 8 * 60 * MINUTE, mfaMaxAgeMs: 5 * MINUTE, lockoutThreshold: 3 },
    });
  });

  afterEach(async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  async function addUser(username = 'olga', role = 'operator'): Promise<void> {
    const admin = (await accounts.authenticateToken('fat_admin-token-for-tests-0123456789')).principal;
    await accounts.createUser(admin, { username, password: PASSWORD, role });
  }

  async function signIn(otp?: string): Promise<{ cookie: string }> {
    const result = await accounts.login({ username: 'olga', password: PASSWORD, issue: 'session', otp }, { ip: '192.0.2.7' });
    return { cookie: result.cookie! };
  }

  async function errorOf(promise: Promise<unknown>): Promise<FarolError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FarolError);
    return error as FarolError;
  }

  beforeEach(async () => {
    const { adminPassword } = await accounts.bootstrap({ adminToken: 'fat_admin-token-for-tests-0123456789' });
    expect(adminPassword).not.toBeNull();
  });

  it('creates the first admin with a random argon2id password, once, and keeps the admin token an ordinary token', async () => {
    const again = await accounts.bootstrap({ adminToken: 'fat_admin-token-for-tests-0123456789' });
    expect(again.adminPassword).toBeNull();
    const row = await db.selectFrom('users').selectAll().where('username', '=', 'admin').executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    await expect(accounts.login({ username: 'admin', password: 'admin', issue: 'session' }, { ip: '192.0.2.1' })).rejects.toMatchObject({ code: 'unauthorized' });
    const admin = await accounts.authenticateToken('fat_admin-token-for-tests-0123456789');
    expect(admin.principal).toMatchObject({ name: 'admin', role: 'admin', tokenId: 'tok_admin', via: 'token' });
    // Revocable like any token, and it stays revoked across restarts while its value is unchanged.
    await accounts.revokeToken(admin, 'tok_admin');
    await accounts.bootstrap({ adminToken: 'fat_admin-token-for-tests-0123456789' });
    expect((await errorOf(accounts.authenticateToken('fat_admin-token-for-tests-0123456789'))).code).toBe('token_revoked');
    // A new configured value replaces it.
    await accounts.bootstrap({ adminToken: 'fat_a-brand-new-admin-token-0123456789' });
    expect((await accounts.authenticateToken('fat_a-brand-new-admin-token-0123456789')).principal.name).toBe('admin');
  });

  it('ends a session after the idle timeout, and after the absolute timeout even when used', async () => {
    await addUser();
    const idle = await signIn();
    now += 29 * MINUTE;
    await accounts.authenticateSession(idle.cookie);
    now += 29 * MINUTE; // used 29 min ago: still inside the idle window
    await accounts.authenticateSession(idle.cookie);
    now += 31 * MINUTE;
    expect((await errorOf(accounts.authenticateSession(idle.cookie))).message).toMatch(/expired/);

    const busy = await signIn();
    for (let elapsed = 0; elapsed < 8 * 60 * MINUTE - 20 * MINUTE; elapsed += 20 * MINUTE) {
      now += 20 * MINUTE;
      await accounts.authenticateSession(busy.cookie);
    }
    now += 20 * MINUTE; // 8 h after sign-in, though it was used 20 min ago
    expect((await errorOf(accounts.authenticateSession(busy.cookie))).message).toMatch(/expired/);
  });

  it('locks an account after repeated failures, with a delay that doubles, and audits each lockout, not each attempt (#11)', async () => {
    await addUser();
    const attempt = (password: string) => accounts.login({ username: 'olga', password, issue: 'session' }, { ip: '198.51.100.9' });
    for (let i = 0; i < 2; i++) expect((await errorOf(attempt('wrong password!'))).code).toBe('unauthorized');
    expect((await errorOf(attempt('wrong password!'))).code).toBe('unauthorized'); // the 3rd: locks for 30 s
    expect((await errorOf(attempt(PASSWORD))).code).toBe('rate_limited'); // even the right password
    now += 30_000;
    expect((await errorOf(attempt('wrong password!'))).code).toBe('unauthorized'); // the 4th: 60 s
    now += 59_000;
    expect((await errorOf(attempt(PASSWORD))).code).toBe('rate_limited');
    now += 1_000;
    expect((await errorOf(attempt('wrong password!'))).code).toBe('unauthorized'); // the 5th: 120 s
    now += 120_000;
    await attempt(PASSWORD); // the lock has passed: signs in and resets the count
    await attempt(PASSWORD);

    const { entries } = await audit.list({ actor: 'olga', limit: 100 });
    expect(entries.filter((e) => e.action === 'auth.login_failed')).toEqual([]);
    const locks = entries.filter((e) => e.action === 'auth.locked').reverse();
    expect(locks.map((e) => e.details.lockedForMs)).toEqual([30_000, 60_000, 120_000]);
    expect(locks.every((e) => e.details.ip === '198.51.100.9')).toBe(true);
    expect(entries.filter((e) => e.action === 'auth.login')).toHaveLength(2);
    // Who tried what: the attempts, aggregated per address, username and window.
    const noise = await accounts.listAuthFailures({ username: 'olga' });
    expect(noise.reduce((sum, row) => sum + row.failures, 0)).toBe(5);
    expect(noise.reduce((sum, row) => sum + row.refused, 0)).toBe(2);
    // An unknown username fails the same way, locks the same way, and leaves no audit entry.
    for (let i = 0; i < 3; i++) expect((await errorOf(accounts.login({ username: 'nobody', password: PASSWORD, issue: 'session' }, { ip: '198.51.100.9' }))).code).toBe('unauthorized');
    expect((await errorOf(accounts.login({ username: 'nobody', password: PASSWORD, issue: 'session' }, { ip: '198.51.100.9' }))).code).toBe('rate_limited');
    expect((await audit.list({ actor: 'nobody' })).entries).toEqual([]);
    expect(await accounts.listAuthFailures({ username: 'nobody' })).toEqual([expect.objectContaining({ ip: '198.51.100.9', failures: 3, refused: 1, lastReason: 'locked' })]);
  });

  it('keeps failed sign-ins one row per address, username and 10 minutes, and forgets them after 30 days (#11)', async () => {
    const fail = (username: string, ip: string) => errorOf(accounts.login({ username, password: 'wrong password!', issue: 'session' }, { ip }));
    for (let i = 0; i < 3; i++) await fail('ghost', '203.0.113.5');
    await fail('ghost', '203.0.113.6');
    now += 10 * MINUTE;
    await fail('ghost', '203.0.113.5');
    const rows = await accounts.listAuthFailures({ username: 'ghost' });
    expect(rows.map((row) => [row.ip, row.failures + row.refused])).toEqual([
      ['203.0.113.5', 1],
      ['203.0.113.6', 1],
      ['203.0.113.5', 3],
    ]);
    now += 30 * 24 * 60 * MINUTE + MINUTE;
    await accounts.pruneSessions();
    expect(await accounts.listAuthFailures({ since: 0 })).toEqual([]);
    // The lockout of the name has expired and gone idle: its row is gone too.
    const lockouts = await db.withTables<{ auth_lockouts: { key: string } }>().selectFrom('auth_lockouts').select('key').execute();
    expect(lockouts).toEqual([]);
  });

  it('enrols TOTP, then asks for it at sign-in and for step-up, refusing replays; recovery codes work once', async () => {
    await addUser();
    const session = await signIn();
    const context = await accounts.authenticateSession(session.cookie);
    const { secret, uri } = await accounts.enrolTotp(context);
    expect(uri).toBe(`otpauth://totp/Farol%3Aolga?secret=${secret}&issuer=Farol&algorithm=SHA1&digits=6&period=30`);
    const { recoveryCodes } = await accounts.confirmTotp(context, totpAt(secret, now));
    expect(recoveryCodes).toHaveLength(10);
    expect(changes.at(-1)).toMatchObject({ reason: 'second factor enabled' });
    // The seed is sealed: the database file never holds it in clear.
    expect(readFileSync(file).includes(Buffer.from(secret))).toBe(false);

    expect((await errorOf(signIn())).code).toBe('mfa_required');
    now += 30_000;
    const code = totpAt(secret, now);
    const withCode = await signIn(code);
    expect((await errorOf(signIn(code))).code).toBe('unauthorized'); // the same code twice: a replay
    const fresh = await accounts.authenticateSession(withCode.cookie);
    expect(fresh.principal.mfaAt).toBe(now);

    now += 6 * MINUTE; // older than FAROL_MFA_MAX_AGE (5 min here)
    const stale = await accounts.authenticateSession(withCode.cookie);
    expect(stale.principal.mfaAt).toBe(now - 6 * MINUTE);
    const stepped = await accounts.stepUp(stale, recoveryCodes[0]!, { ip: '192.0.2.7' });
    expect(stepped.mfaAt).toBe(now);
    expect((await accounts.authenticateSession(withCode.cookie)).principal.mfaAt).toBe(now);
    expect((await errorOf(accounts.stepUp(stale, recoveryCodes[0]!, { ip: '192.0.2.7' }))).code).toBe('unauthorized'); // spent
  });

  it('narrows API tokens to a subset of the owner, refuses widening, and expires them', async () => {
    await addUser('vic', 'viewer');
    const login = await accounts.login({ username: 'vic', password: PASSWORD, issue: 'token' }, { ip: '192.0.2.1' });
    // A token from a password sign-in manages tokens with the password again (issue #11).
    expect((await errorOf(accounts.createToken(login.context, { name: 'short', ttl: 60_000 }))).code).toBe('reauth_required');
    const proof = { password: PASSWORD, ip: '192.0.2.1' };
    expect((await errorOf(accounts.createToken(login.context, { name: 'wide', permissions: ['commands:exec'] }, proof))).code).toBe('forbidden');
    const short = await accounts.createToken(login.context, { name: 'short', ttl: 60_000 }, proof);
    expect(short.token).toMatch(/^fat_/);
    const stored = await db.selectFrom('api_tokens').selectAll().where('id', '=', short.id).executeTakeFirstOrThrow();
    expect(stored.secret_hash).not.toContain(short.token);
    // All of the owner's (a viewer's) permissions, no more.
    expect((await accounts.authenticateToken(short.token)).principal.permissions).toEqual([...BUILTIN_ROLES.viewer]);
    now += 60_000;
    expect((await errorOf(accounts.authenticateToken(short.token))).code).toBe('token_expired');
  });

  it('announces role changes, disabling and revocations so live sockets close', async () => {
    await addUser();
    const admin = (await accounts.authenticateToken('fat_admin-token-for-tests-0123456789')).principal;
    const user = (await accounts.listUsers()).find((u) => u.username === 'olga')!;
    const before = accounts.generation();
    await accounts.updateUser(admin, user.id, { role: 'viewer' });
    await accounts.updateUser(admin, user.id, { disabled: true });
    expect(changes.map((c) => c.userId)).toEqual([user.id, user.id]);
    expect(accounts.generation()).toBe(before + 2);
    expect((await errorOf(accounts.login({ username: 'olga', password: PASSWORD, issue: 'session' }, { ip: '192.0.2.1' }))).code).toBe('unauthorized');
    const { entries } = await audit.list({ action: 'user.update' });
    expect(entries.map((e) => e.details)).toEqual([
      expect.objectContaining({ username: 'olga', disabled: true }),
      expect.objectContaining({ username: 'olga', role: { from: 'operator', to: 'viewer' } }),
    ]);
  });
});
