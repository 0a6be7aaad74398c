import { createHash, createPublicKey, KeyObject, sign } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { HubKey } from '../../infra/hub-key.js';

/**
 * What the hub signs for a download (ADR 0024): one line naming the file and its SHA-256. A
 * compact JWS signing input (base64url and one dot) cannot look like it, so a signature made
 * here can never pass for a command or a token signed by the same key.
 */
export function downloadSignatureMessage(name: string, sha256Hex: string): Buffer {
  return Buffer.from(`farol-download-v1 ${name} ${sha256Hex}\n`, 'utf8');
}

export interface DownloadSignature {
  sha256: string;
  /** Ed25519 over downloadSignatureMessage, base64. */
  signature: string;
}

export interface DownloadSigner {
  /** The hub public key as PEM (SPKI): what install.sh checks against the fingerprint in the pasted line. */
  publicKeyPem: string;
  fingerprint: string;
  /** Sums and signs a file, once per path, size and modification time. */
  signatureFor(file: string, name: string): Promise<DownloadSignature>;
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function createDownloadSigner(hubKey: HubKey): DownloadSigner {
  const privateKey = KeyObject.from(hubKey.privateKey);
  const publicKeyPem = createPublicKey({ key: { ...hubKey.publicJwk }, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
  const cache = new Map<string, { size: number; mtimeMs: number; value: DownloadSignature }>();
  return {
    publicKeyPem,
    fingerprint: hubKey.fingerprint,
    async signatureFor(file, name) {
      const info = await stat(file);
      const key = `${name}\0${file}`;
      const known = cache.get(key);
      if (known && known.size === info.size && known.mtimeMs === info.mtimeMs) return known.value;
      const sha256 = await sha256Of(file);
      const value = { sha256, signature: sign(null, downloadSignatureMessage(name, sha256), privateKey).toString('base64') };
      cache.set(key, { size: info.size, mtimeMs: info.mtimeMs, value });
      return value;
    },
  };
}
