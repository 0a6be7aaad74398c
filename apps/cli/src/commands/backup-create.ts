import { createWriteStream, existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Command } from 'commander';
import { ProblemSchema } from '@farol/protocol';
import { CliError, UsageError } from '../cli-error.js';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

/**
 * The backup passphrase: `--passphrase-file` or FAROL_BACKUP_PASSPHRASE, never a flag's value
 * (argv is readable by every user of the machine through /proc).
 */
export function readBackupPassphrase(context: Pick<CliContext, 'env' | 'cwd'>, passphraseFile: string | undefined): string {
  if (passphraseFile !== undefined) {
    const file = path.resolve(context.cwd, passphraseFile);
    if (!existsSync(file)) throw new UsageError(`no passphrase file ${file}`);
    const text = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    if (text.length === 0) throw new UsageError(`the passphrase file ${file} is empty`);
    return text;
  }
  const fromEnv = context.env.FAROL_BACKUP_PASSPHRASE;
  if (fromEnv) return fromEnv;
  throw new UsageError('no backup passphrase: pass --passphrase-file FILE or set FAROL_BACKUP_PASSPHRASE');
}

/** `farol backup create [--to FILE]`: the hub takes an online backup and streams it here, encrypted (issue #15). */
export function createBackupCreateCommand(context: CliContext): Command {
  const command = new Command('create')
    .description('take an online backup of the hub (database, hub key, secret key, admin token), encrypted with a passphrase')
    .option('--to <file>', 'where to write it (default ./farol-backup-<time>.fbk); an existing file is never overwritten')
    .option('--passphrase-file <file>', 'file holding the passphrase (else FAROL_BACKUP_PASSPHRASE); at least 12 characters');
  withConnectionOptions(command).action(async (flags: { to?: string; passphraseFile?: string }) => {
    const passphrase = readBackupPassphrase(context, flags.passphraseFile);
    if (passphrase.length < 12) throw new UsageError('the backup passphrase needs at least 12 characters');
    const { hubUrl, token } = await connect(connectionOptionsOf(command), context);
    const target = flags.to === undefined ? undefined : path.resolve(context.cwd, flags.to);
    if (target !== undefined && existsSync(target)) throw new UsageError(`${target} exists: choose another --to (a backup never overwrites a file)`);
    const doFetch = context.fetch ?? fetch;
    let response: Response;
    try {
      response = await doFetch(new URL('/api/backups', hubUrl), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/octet-stream, application/problem+json' },
        body: JSON.stringify({ passphrase }),
      });
    } catch (error) {
      throw new CliError(`cannot reach the hub at ${hubUrl}: ${(error as Error).message}`, { cause: error });
    }
    if (!response.ok || response.body === null) {
      const problem = ProblemSchema.safeParse(await response.json().catch(() => null));
      throw new CliError(`the hub refused the backup (${response.status}): ${problem.success ? (problem.data.detail ?? problem.data.title) : response.statusText}`);
    }
    const suggested = /filename="([^"/\\]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? `farol-backup-${context.now()}.fbk`;
    const file = target ?? path.resolve(context.cwd, suggested);
    const part = `${file}.part`;
    try {
      await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), createWriteStream(part, { mode: 0o600, flags: 'wx' }));
      if (existsSync(file)) throw new UsageError(`${file} appeared while the backup was written; the backup is in ${part}`);
      renameSync(part, file);
    } catch (error) {
      if (!(error instanceof UsageError)) rmSync(part, { force: true });
      if (error instanceof CliError) throw error;
      throw new CliError(`the backup was cut short (${(error as Error).message}); nothing was kept, run it again`, { cause: error });
    }
    context.stdout(`backup written: ${file} (${statSync(file).size} bytes); keep the passphrase apart from it — without it the backup cannot be restored\n`);
  });
  return command;
}
