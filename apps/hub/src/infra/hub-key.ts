import { createHash, generateKeyPairSync } from 'node:crypto';
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

/** Loads `hub-key.json` from the data directory, creating it (mode 0600) on first start. */
export async function loadHubKey(dataDir: string): Promise<HubKey> {
  const { value } = readOrCreateSecretFile(path.join(dataDir, 'hub-key.json'), () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    return JSON.stringify(privateKey.export({ format: 'jwk' }));
  });
  const privateJwk = JSON.parse(value) as JWK;
  if (privateJwk.kty !== 'OKP' || privateJwk.crv !== 'Ed25519' || !privateJwk.d || !privateJwk.x) {
    throw new Error(`${path.join(dataDir, 'hub-key.json')} is not an Ed25519 private key`);
  }
  const publicJwk: Ed25519PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: privateJwk.x };
  const privateKey = (await importJWK({ ...privateJwk, alg: 'EdDSA' }, 'EdDSA')) as CryptoKey;
  return { privateKey, publicJwk, fingerprint: keyFingerprint(publicJwk) };
}
