import { KeyObject, sign } from 'node:crypto';
import type { HubKey } from './hub-key.js';

/** Signs compact JWS (EdDSA) with the hub key. */
export interface HubSigner {
  sign(claims: Record<string, unknown>, typ: string): Promise<string>;
}

/**
 * A compact JWS signer over node:crypto, signing on libuv's thread pool: a 10,000-machine job
 * signs 10,000 commands at once, and the event loop keeps sending them meanwhile. (jose's
 * SignJWT goes through WebCrypto and costs several times more per signature.)
 */
export function createHubSigner(hubKey: HubKey): HubSigner {
  const key = KeyObject.from(hubKey.privateKey);
  return {
    sign(claims, typ) {
      const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', typ })).toString('base64url');
      const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
      const input = `${header}.${payload}`;
      return new Promise((resolve, reject) => {
        sign(null, Buffer.from(input), key, (error, signature) => {
          if (error) reject(new Error('signing a command failed', { cause: error }));
          else resolve(`${input}.${signature.toString('base64url')}`);
        });
      });
    },
  };
}
