import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteDatabase, type Db } from './database.js';
import { checkHubIdentity, HubIdentityError } from './hub-identity.js';
import { loadHubKey } from './hub-key.js';
import { loadSecretKey, secretKeyFingerprint } from './secret-box.js';

/*
 * Issue #14, item 5: one identity for a fleet of hubs. Keys handed out as files load the same
 * everywhere; the first start records their fingerprints and a hub with another key is refused.
 */

const dir = mkdtempSync(path.join(tmpdir(), 'farol-hub-identity-'));
let db: Db;
const sources = { hubKey: '/etc/farol/hub-key.json', secretKey: '/etc/farol/secret.key' };

beforeAll(async () => {
  mkdirSync(path.join(dir, 'data'));
  ({ db } = await openSqliteDatabase(path.join(dir, 'data')));
});
afterAll(async () => {
  await db?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('the fleet identity', () => {
  it('loads the same hub key and secret key from files in every data directory', async () => {
    const keyFile = path.join(dir, 'fleet-hub-key.json');
    writeFileSync(keyFile, JSON.stringify(generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' })), { mode: 0o600 });
    const secretFile = path.join(dir, 'fleet-secret.key');
    writeFileSync(secretFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    const [a, b] = [path.join(dir, 'hub-a'), path.join(dir, 'hub-b')];
    for (const data of [a, b]) mkdirSync(data);
    expect((await loadHubKey(a, keyFile)).fingerprint).toBe((await loadHubKey(b, keyFile)).fingerprint);
    expect(loadSecretKey(a, undefined, secretFile).equals(loadSecretKey(b, undefined, secretFile))).toBe(true);
    // Without the files, each data directory makes its own: what the database check catches.
    expect((await loadHubKey(a)).fingerprint).not.toBe((await loadHubKey(b)).fingerprint);
  });

  it('refuses a file that is not an Ed25519 key, naming it', async () => {
    const bad = path.join(dir, 'not-a-key.json');
    writeFileSync(bad, 'hello');
    await expect(loadHubKey(dir, bad)).rejects.toThrow(`${bad} is not a JSON Web Key`);
  });

  it('records the first hub\'s fingerprints, matches the same keys and refuses others with one line', async () => {
    const fleet = { hubKey: 'hub-fingerprint-1', secretKey: secretKeyFingerprint(randomBytes(32)) };
    // Two hubs starting at once on an empty database: one identity wins, the other is checked.
    const outcomes = await Promise.allSettled([checkHubIdentity(db, fleet, sources), checkHubIdentity(db, { ...fleet, hubKey: 'hub-fingerprint-2' }, sources)]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const winner = outcomes[0]!.status === 'fulfilled' ? fleet : { ...fleet, hubKey: 'hub-fingerprint-2' };
    expect(await checkHubIdentity(db, winner, sources)).toBe('matched');

    const wrongHubKey = await checkHubIdentity(db, { ...winner, hubKey: 'another' }, sources).catch((error: unknown) => error);
    expect(wrongHubKey).toBeInstanceOf(HubIdentityError);
    expect((wrongHubKey as Error).message).toBe(
      `the hub key from /etc/farol/hub-key.json (fingerprint another) is not the key of the hubs that share this database (fingerprint ${winner.hubKey}): agents would refuse this hub; every hub of a fleet needs the same keys (docs/operations.md, "Hub identity")`,
    );
    expect((wrongHubKey as Error).message).not.toContain('\n');

    const wrongSecret = await checkHubIdentity(db, { ...winner, secretKey: secretKeyFingerprint(randomBytes(32)) }, sources).catch((error: unknown) => error);
    expect(wrongSecret).toBeInstanceOf(HubIdentityError);
    expect((wrongSecret as Error).message).toMatch(/^the secret key from \/etc\/farol\/secret\.key \(fingerprint [\w-]{43}\) is not the key that sealed this database's secrets/);
  });

  it('names a secret key by a fingerprint that does not reveal it', () => {
    const key = randomBytes(32);
    const fingerprint = secretKeyFingerprint(key);
    expect(fingerprint).toBe(secretKeyFingerprint(Buffer.from(key)));
    expect(fingerprint).not.toBe(secretKeyFingerprint(randomBytes(32)));
    expect(fingerprint).not.toContain(key.toString('hex').slice(0, 8));
    expect(Buffer.from(fingerprint, 'base64url')).toHaveLength(32);
  });
});
