import { createCipheriv, createDecipheriv, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream, openSync, readSync, closeSync, statSync, writeSync, fstatSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';

/**
 * The encrypted backup file (docs/adr/0008-backups.md):
 *
 *   FAROL-BACKUP 1\n
 *   {"kdf":"scrypt","n":..,"r":8,"p":1,"salt":..,"iv":..,"check":..}\n     (the header)
 *   AES-256-GCM ciphertext of the payload, the header as additional data
 *   the 16-byte GCM tag
 *
 * scrypt turns the passphrase into 64 bytes: the AES key and a key whose HMAC of a fixed text is
 * `check`, so a wrong passphrase is told apart from a damaged file before any byte is decrypted.
 * The payload is a list of entries `u32 name length, name, u64 size, bytes`, ended by a zero
 * name length; the first entry is `manifest.json`.
 */
export const BACKUP_MAGIC = 'FAROL-BACKUP 1\n';
/** scrypt cost N=2^17, r=8: 128 MiB and a fraction of a second per derivation; a backup file lives long and is opened rarely, so the cost is set high. */
const SCRYPT = { n: 2 ** 17, r: 8, p: 1 } as const;
const TAG_BYTES = 16;
const CHECK_TEXT = 'farol backup passphrase check';
const MAX_HEADER_BYTES = 4_096;

/** What the first entry of every backup says. */
export interface BackupManifest {
  format: 1;
  createdAt: string;
  farolVersion: string;
  /** Entries after the manifest, in order: data-directory file names. */
  files: string[];
  /** Why a key file is missing (it came from the environment, e.g. FAROL_SECRET_KEY). */
  notes: string[];
}

/** A wrong passphrase or a damaged/foreign file: the message is one line saying which. */
export class BackupArchiveError extends Error {
  constructor(
    message: string,
    readonly reason: 'wrong_passphrase' | 'damaged' | 'not_a_backup',
  ) {
    super(message);
    this.name = 'BackupArchiveError';
  }
}

interface Header {
  kdf: 'scrypt';
  n: number;
  r: number;
  p: number;
  salt: string;
  iv: string;
  check: string;
}

function deriveKeys(passphrase: string, header: Pick<Header, 'n' | 'r' | 'p' | 'salt'>): Promise<{ key: Buffer; check: Buffer }> {
  return new Promise((resolve, reject) => {
    scrypt(passphrase, Buffer.from(header.salt, 'base64'), 64, { N: header.n, r: header.r, p: header.p, maxmem: 256 * 1_048_576 }, (error, derived) => {
      if (error) reject(error);
      else resolve({ key: derived.subarray(0, 32), check: createHmac('sha256', derived.subarray(32)).update(CHECK_TEXT).digest() });
    });
  });
}

/** One file to put in the backup: its name in the data directory and where to read it now. */
export interface BackupSource {
  name: string;
  path: string;
}

function entryHead(name: string, size: number): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  const head = Buffer.alloc(4 + nameBytes.length + 8);
  head.writeUInt32BE(nameBytes.length, 0);
  nameBytes.copy(head, 4);
  head.writeBigUInt64BE(BigInt(size), 4 + nameBytes.length);
  return head;
}

/** The encrypted bytes of a backup, as a stream of chunks (HTTP reply or file). */
export async function* encryptBackup(manifest: BackupManifest, sources: readonly BackupSource[], passphrase: string): AsyncGenerator<Buffer> {
  if (passphrase.length === 0) throw new Error('the backup passphrase is empty');
  const salt = randomBytes(16).toString('base64');
  const iv = randomBytes(12);
  const { key, check } = await deriveKeys(passphrase, { ...SCRYPT, salt });
  const header: Header = { kdf: 'scrypt', ...SCRYPT, salt, iv: iv.toString('base64'), check: check.toString('base64') };
  const headerBytes = Buffer.from(`${BACKUP_MAGIC}${JSON.stringify(header)}\n`, 'utf8');
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(headerBytes);
  yield headerBytes;
  const manifestBytes = Buffer.from(JSON.stringify(manifest), 'utf8');
  yield cipher.update(Buffer.concat([entryHead('manifest.json', manifestBytes.length), manifestBytes]));
  for (const source of sources) {
    // The size is taken from the open descriptor and exactly that many bytes are read, so a
    // file that grows meanwhile cannot shift the entries after it.
    const handle: FileHandle = await open(source.path, 'r');
    try {
      const { size } = await handle.stat();
      yield cipher.update(entryHead(source.name, size));
      let position = 0;
      const chunk = Buffer.alloc(1_048_576);
      while (position < size) {
        const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, size - position), position);
        if (bytesRead === 0) throw new Error(`${source.path} shrank while it was being backed up`);
        yield cipher.update(chunk.subarray(0, bytesRead));
        position += bytesRead;
      }
    } finally {
      await handle.close();
    }
  }
  yield cipher.update(Buffer.alloc(4));
  yield cipher.final();
  yield cipher.getAuthTag();
}

/** Writes `encryptBackup`'s chunks to a file created with mode 0600. */
export async function writeBackupFile(file: string, chunks: AsyncIterable<Buffer>): Promise<void> {
  await pipeline(chunks, createWriteStream(file, { mode: 0o600, flags: 'wx' }));
}

function readHeader(file: string): { header: Header; headerBytes: Buffer } {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(MAX_HEADER_BYTES);
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    const text = buffer.subarray(0, read);
    if (!text.subarray(0, BACKUP_MAGIC.length).equals(Buffer.from(BACKUP_MAGIC))) throw new BackupArchiveError(`${file} is not a Farol backup`, 'not_a_backup');
    const end = text.indexOf(0x0a, BACKUP_MAGIC.length);
    if (end < 0) throw new BackupArchiveError(`${file} is damaged: its header is cut short`, 'damaged');
    let header: Header;
    try {
      header = JSON.parse(text.subarray(BACKUP_MAGIC.length, end).toString('utf8')) as Header;
    } catch (error) {
      throw new BackupArchiveError(`${file} is damaged: its header is not JSON (${(error as Error).message})`, 'damaged');
    }
    const valid = header.kdf === 'scrypt' && [header.n, header.r, header.p].every((v) => Number.isInteger(v) && v > 0) && header.n <= 2 ** 20 && typeof header.salt === 'string' && typeof header.iv === 'string' && typeof header.check === 'string';
    if (!valid) throw new BackupArchiveError(`${file} is damaged: its header lacks the key parameters`, 'damaged');
    return { header, headerBytes: text.subarray(0, end + 1) };
  } finally {
    closeSync(fd);
  }
}

/**
 * Decrypts a backup into `payloadFile` (mode 0600) and checks its tag: on return every byte is
 * authentic. Throws BackupArchiveError for a wrong passphrase, a foreign or a damaged file.
 */
export async function decryptBackup(file: string, passphrase: string, payloadFile: string): Promise<void> {
  const { header, headerBytes } = readHeader(file);
  const { key, check } = await deriveKeys(passphrase, header);
  const expected = Buffer.from(header.check, 'base64');
  if (expected.length !== check.length || !timingSafeEqual(expected, check)) {
    throw new BackupArchiveError('wrong passphrase for this backup (FAROL_BACKUP_PASSPHRASE or --passphrase-file)', 'wrong_passphrase');
  }
  const size = statSync(file).size;
  if (size < headerBytes.length + TAG_BYTES) throw new BackupArchiveError(`${file} is damaged: it is cut short`, 'damaged');
  const tag = Buffer.alloc(TAG_BYTES);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, tag, 0, TAG_BYTES, size - TAG_BYTES);
  } finally {
    closeSync(fd);
  }
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(header.iv, 'base64'));
  decipher.setAAD(headerBytes);
  decipher.setAuthTag(tag);
  try {
    await pipeline(createReadStream(file, { start: headerBytes.length, end: size - TAG_BYTES - 1 }), decipher, createWriteStream(payloadFile, { mode: 0o600, flags: 'wx' }));
  } catch (error) {
    if (/auth/i.test((error as Error).message)) throw new BackupArchiveError(`${file} is damaged or was changed: its authentication tag does not match`, 'damaged');
    throw error;
  }
}

/** One entry of a decrypted payload: where its bytes are in the payload file. */
export interface PayloadEntry {
  name: string;
  offset: number;
  size: number;
}

/** Lists the entries of an authentic payload file (after `decryptBackup`). */
export function readPayloadIndex(payloadFile: string): { manifest: BackupManifest; entries: PayloadEntry[] } {
  const fd = openSync(payloadFile, 'r');
  try {
    const total = fstatSync(fd).size;
    const entries: PayloadEntry[] = [];
    let position = 0;
    const small = Buffer.alloc(8);
    for (;;) {
      if (position + 4 > total) throw new BackupArchiveError('the backup payload is cut short', 'damaged');
      readSync(fd, small, 0, 4, position);
      const nameLength = small.readUInt32BE(0);
      position += 4;
      if (nameLength === 0) break;
      if (nameLength > 255 || position + nameLength + 8 > total) throw new BackupArchiveError('the backup payload has a malformed entry', 'damaged');
      const name = Buffer.alloc(nameLength);
      readSync(fd, name, 0, nameLength, position);
      position += nameLength;
      readSync(fd, small, 0, 8, position);
      const size = Number(small.readBigUInt64BE(0));
      position += 8;
      if (position + size > total) throw new BackupArchiveError('the backup payload has an entry longer than the file', 'damaged');
      entries.push({ name: name.toString('utf8'), offset: position, size });
      position += size;
    }
    const first = entries.shift();
    if (!first || first.name !== 'manifest.json') throw new BackupArchiveError('the backup has no manifest', 'damaged');
    const manifestBytes = Buffer.alloc(first.size);
    readSync(fd, manifestBytes, 0, first.size, first.offset);
    return { manifest: JSON.parse(manifestBytes.toString('utf8')) as BackupManifest, entries };
  } finally {
    closeSync(fd);
  }
}

/** Copies one entry's bytes out of the payload file into `target` (mode 0600). */
export async function extractEntry(payloadFile: string, entry: PayloadEntry, target: string): Promise<void> {
  if (entry.size === 0) {
    const fd = openSync(target, 'wx', 0o600);
    writeSync(fd, Buffer.alloc(0));
    closeSync(fd);
    return;
  }
  await pipeline(createReadStream(payloadFile, { start: entry.offset, end: entry.offset + entry.size - 1 }), createWriteStream(target, { mode: 0o600, flags: 'wx' }));
}
