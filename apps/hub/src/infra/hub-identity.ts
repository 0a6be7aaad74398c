import type { Db } from './database.js';

/** Where the fingerprints of the fleet's keys are kept (the `kv` table). */
const IDENTITY_KEY = 'hub.identity';

/** The public names of the two keys every hub of a fleet must share (issue #14). */
export interface HubIdentity {
  /** SHA-256 of the hub key's public half: what agents pinned. */
  hubKey: string;
  /** HMAC of the secret-sealing key by itself (`secretKeyFingerprint`): never the key. */
  secretKey: string;
}

/** A hub started with keys other than the ones the database belongs to. One line, printed as is. */
export class HubIdentityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HubIdentityError';
  }
}

/**
 * Records the fleet's key fingerprints at the first start on a database, and at every later
 * start checks this hub's keys against them. A hub with another hub key would sign commands no
 * agent accepts, and one with another secret key could not open what the others sealed (and
 * would seal what they cannot open): it refuses to start instead of failing later, one request
 * at a time. The first row wins (insert … on conflict do nothing), so two hubs starting at once
 * on an empty database agree on one identity.
 */
export async function checkHubIdentity(db: Db, mine: HubIdentity, sources: { hubKey: string; secretKey: string }): Promise<'recorded' | 'matched'> {
  const inserted = await db
    .insertInto('kv')
    .values({ key: IDENTITY_KEY, value: JSON.stringify(mine) })
    .onConflict((conflict) => conflict.column('key').doNothing())
    .executeTakeFirst();
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1) return 'recorded';
  const row = await db.selectFrom('kv').select('value').where('key', '=', IDENTITY_KEY).executeTakeFirstOrThrow();
  const guide = 'every hub of a fleet needs the same keys (docs/operations.md, "Hub identity")';
  let stored: Partial<HubIdentity>;
  try {
    stored = JSON.parse(row.value) as Partial<HubIdentity>;
  } catch (error) {
    throw new HubIdentityError(`the hub identity recorded in this database (kv row ${IDENTITY_KEY}) is unreadable (${(error as Error).message}); ${guide}`);
  }
  if (stored.hubKey !== mine.hubKey) {
    throw new HubIdentityError(
      `the hub key from ${sources.hubKey} (fingerprint ${mine.hubKey}) is not the key of the hubs that share this database (fingerprint ${stored.hubKey ?? 'unknown'}): agents would refuse this hub; ${guide}`,
    );
  }
  if (stored.secretKey !== mine.secretKey) {
    throw new HubIdentityError(
      `the secret key from ${sources.secretKey} (fingerprint ${mine.secretKey}) is not the key that sealed this database's secrets (fingerprint ${stored.secretKey ?? 'unknown'}); ${guide}`,
    );
  }
  return 'matched';
}
