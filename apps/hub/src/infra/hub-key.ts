import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { importJWK, type CryptoKey, type JWK } from 'jose';
import type { Ed25519PublicJwk } from '@farol/protocol';
import { readOrCreateSecretFile } from './secrets-files.js';

/** The hub's own Ed25519 identity: agents pin the public half at enrollment. */
export interface HubKey {
  privateKey: CryptoKey;
  publicJwk: Ed25519PublicJwk;
  fingerprint: string;
}

/** SHA-256 of the raw 32-byte public key, base64url: how keys are named in logs and the API. */
export function keyFingerprint(jwk: Ed25519PublicJwk): string {
  return createHash('sha256').update(Buffer.from(jwk.x, 'base64url')).digest('base64url');
}

/**
 * Loads the hub key: from `keyFile` when given (FAROL_HUB_KEY_FILE: the same key handed to every
 * hub of a fleet, e.g. a systemd credential), else `hub-key.json` in the data directory,
 * created (mode 0600) on first start.
 */
export async function loadHubKey(dataDir: string, keyFile?: string): Promise<HubKey> {
  const source = keyFile ?? path.join(dataDir, 'hub-key.json');
  const value = keyFile
    ? readFileSync(keyFile, 'utf8')
    : readOrCreateSecretFile(source, () => {
        const { privateKey } = generateKeyPairSync('ed25519');
        return JSON.stringify(privateKey.export({ format: 'jwk' }));
      }).value;
  let privateJwk: JWK;
  try {
    privateJwk = JSON.parse(value) as JWK;
  } catch (error) {
    throw new Error(`${source} is not a JSON Web Key`, { cause: error });
  }
  if (privateJwk.kty !== 'OKP' || privateJwk.crv !== 'Ed25519' || !privateJwk.d || !privateJwk.x) {
    throw new Error(`${source} is not an Ed25519 private key`);
  }
  const publicJwk: Ed25519PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: privateJwk.x };
  const privateKey = (await importJWK({ ...privateJwk, alg: 'EdDSA' }, 'EdDSA')) as CryptoKey;
  return { privateKey, publicJwk, fingerprint: keyFingerprint(publicJwk) };
}
