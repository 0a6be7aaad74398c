import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FarolError } from '@farol/protocol';
import { readOrCreateSecretFile } from './secrets-files.js';

/** Sealed values start with this tag, so a future key or cipher can sit beside this one. */
const VERSION = 'v1';
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Encrypts secrets at rest (channel bot tokens, SMTP passwords, operator secrets) with
 * AES-256-GCM. `context` is bound as associated data: a value sealed for one row or column
 * does not open as another's, so swapping ciphertexts in the database is detected.
 */
export interface SecretBox {
  seal(plaintext: string, context: string): string;
  /** Throws FarolError('internal') when the value was not sealed with this key and context. */
  open(sealed: string, context: string): string;
}

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== KEY_BYTES) throw new Error(`the secret key must be ${KEY_BYTES} bytes, got ${key.length}`);
  return {
    seal(plaintext, context) {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return `${VERSION}.${Buffer.concat([nonce, cipher.getAuthTag(), body]).toString('base64url')}`;
    },
    open(sealed, context) {
      const [version, payload] = sealed.split('.', 2);
      if (version !== VERSION || !payload) throw new FarolError('internal', 'a stored secret is not in a known format');
      const raw = Buffer.from(payload, 'base64url');
      if (raw.length < NONCE_BYTES + TAG_BYTES) throw new FarolError('internal', 'a stored secret is truncated');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, NONCE_BYTES));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(raw.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES));
      try {
        return Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch (error) {
        throw new FarolError('internal', 'a stored secret does not open with this hub\'s secret key (was the key changed?)', { cause: error });
      }
    },
  };
}

/**
 * The key: FAROL_SECRET_KEY (64 hex chars or 32 bytes base64) or FAROL_SECRET_KEY_FILE when set, otherwise
 * `<dataDir>/secret.key`, created with mode 0600 on first start. Keep a copy of it with the
 * backups of the database: without it, stored secrets cannot be read.
 */
export function loadSecretKey(dataDir: string, fromEnv: string | undefined, fromFile?: string): Buffer {
  if (fromEnv) return parseKey(fromEnv, 'FAROL_SECRET_KEY');
  // FAROL_SECRET_KEY_FILE: the same key handed to every hub (systemd credential, Kubernetes secret).
  if (fromFile) return parseKey(readFileSync(fromFile, 'utf8'), fromFile);
  const file = path.join(dataDir, 'secret.key');
  const { value } = readOrCreateSecretFile(file, () => randomBytes(KEY_BYTES).toString('hex'));
  return parseKey(value, file);
}

function parseKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== KEY_BYTES) throw new Error(`${source}: the secret key must be 32 bytes as 64 hex characters or base64`);
  return key;
}

/**
 * Names a secret key without revealing it: HMAC-SHA256 keyed by the key itself over a fixed
 * label, base64url. Stored in the database so hubs with different keys refuse to start.
 */
export function secretKeyFingerprint(key: Buffer): string {
  return createHmac('sha256', key).update('farol secret key fingerprint v1').digest('base64url');
}
