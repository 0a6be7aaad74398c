import { createSecretsClient } from '@farol/client';
import type { SecretSummary } from '@farol/protocol';
import { Command } from 'commander';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson, formatRelative, MISSING } from '../output/format.js';
import { renderTable } from '../output/table.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

/** `farol secrets ls`: names, scopes and sources; never values. */
export function createSecretsListCommand(context: CliContext): Command {
  const command = new Command('ls').alias('list').description('list secrets (names and scopes, never values)');
  withConnectionOptions(command).action(async () => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createSecretsClient);
    const { secrets } = await client.listSecrets();
    context.stdout(connection.json ? formatJson({ secrets }) : renderSecrets(secrets, context.now()));
  });
  return command;
}

export function renderSecrets(secrets: readonly SecretSummary[], now: number): string {
  if (secrets.length === 0) return 'no secrets\n';
  return renderTable(
    ['NAME', 'SCOPE', 'SOURCE', 'VERSION', 'UPDATED', 'BY', 'DESCRIPTION'],
    secrets.map((s) => [
      s.name,
      s.scope,
      s.source === 'hub' ? 'hub' : `${s.source}${s.ref?.path ? `:${s.ref.path}` : ''}${s.ref?.key ? `#${s.ref.key}` : ''}`,
      `v${s.version}`,
      formatRelative(s.updatedAt, now),
      s.updatedBy,
      s.description ?? MISSING,
    ]),
  );
}
