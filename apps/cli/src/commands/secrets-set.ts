import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createSecretsClient } from '@farol/client';
import type { SecretPut } from '@farol/protocol';
import { Command } from 'commander';
import { UsageError } from '../cli-error.js';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

interface SetOptions {
  scope: string;
  value?: string;
  fromFile?: string;
  fromEnv?: string;
  vault?: string | true;
  key?: string;
  infisical?: string | true;
  description?: string;
}

/** The request body from the flags: exactly one source of the value. */
export function buildSecretPut(options: SetOptions, context: Pick<CliContext, 'env' | 'cwd'>): SecretPut {
  const sources = [options.value !== undefined, options.fromFile !== undefined, options.fromEnv !== undefined, options.vault !== undefined, options.infisical !== undefined].filter(Boolean).length;
  if (sources !== 1) throw new UsageError('give the value once: --from-env VAR, --from-file FILE, --value TEXT, --vault [PATH] or --infisical [NAME]');
  const common = { scope: options.scope, ...(options.description ? { description: options.description } : {}) };
  if (options.vault !== undefined) {
    const ref = { ...(typeof options.vault === 'string' ? { path: options.vault } : {}), ...(options.key ? { key: options.key } : {}) };
    return { source: 'vault', ...(Object.keys(ref).length > 0 ? { ref } : {}), ...common };
  }
  if (options.key) throw new UsageError('--key goes with --vault');
  if (options.infisical !== undefined) {
    return { source: 'infisical', ...(typeof options.infisical === 'string' ? { ref: { path: options.infisical } } : {}), ...common };
  }
  let value: string;
  if (options.fromEnv !== undefined) {
    const fromEnv = context.env[options.fromEnv];
    if (fromEnv === undefined || fromEnv === '') throw new UsageError(`--from-env ${options.fromEnv}: that variable is not set`);
    value = fromEnv;
  } else if (options.fromFile !== undefined) {
    const file = path.resolve(context.cwd, options.fromFile);
    try {
      // One trailing newline is what editors and `echo` add, not part of the secret.
      value = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new UsageError(`--from-file ${options.fromFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
    }
  } else {
    value = options.value!;
  }
  if (value === '') throw new UsageError('the secret value is empty');
  return { value, ...common };
}

/** `farol secrets set NAME --scope SEL --from-env VAR`: create or replace a secret (the value is write-only). */
export function createSecretsSetCommand(context: CliContext): Command {
  const command = new Command('set')
    .description('create or replace a secret; its value can never be listed, only revealed (audited) or passed to commands')
    .argument('<name>', 'the secret\'s name, also the environment variable commands receive it as')
    .requiredOption('--scope <selector>', 'machines that may receive it: a label selector (env=prod,role=db), name=web-1, or * for all')
    .option('--from-env <VAR>', 'read the value from this environment variable (keeps it out of shell history)')
    .option('--from-file <file>', 'read the value from a file (one trailing newline dropped)')
    .option('--value <text>', 'the value itself (visible in shell history and ps: prefer --from-env or --from-file)')
    .option('--vault [path]', 'read it through from Vault KV v2 at PATH (default: the name) at every use')
    .option('--key <field>', 'with --vault: the field of the KV entry (default value)')
    .option('--infisical [name]', 'read it through from Infisical (secret NAME, default: the name) at every use')
    .option('--description <text>', 'what it is for');
  withConnectionOptions(command).action(async (name: string, options: SetOptions) => {
    const connection = connectionOptionsOf(command);
    const body = buildSecretPut(options, context);
    const client = await connectTo(connection, context, createSecretsClient);
    const secret = await client.putSecret(name, body);
    context.stdout(connection.json ? formatJson(secret) : `secret ${secret.name} v${secret.version} (${secret.source}) scoped to ${secret.scope}\n`);
  });
  return command;
}
