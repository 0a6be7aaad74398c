import { createAccountsClient } from '@farol/client';
import type { ApiToken } from '@farol/protocol';
import { Command } from 'commander';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson, formatRelative, MISSING } from '../output/format.js';
import { renderTable } from '../output/table.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

/** `farol api-tokens ls`: your API tokens (with --all and users:manage, everyone's); never the secrets. */
export function createTokensListCommand(context: CliContext): Command {
  const command = new Command('ls').alias('list').description('list API tokens').option('--all', 'every user\'s (needs users:manage)');
  withConnectionOptions(command).action(async (options: { all?: boolean }) => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createAccountsClient);
    const { tokens } = await client.listTokens({ all: options.all === true });
    context.stdout(connection.json ? formatJson({ tokens }) : renderApiTokens(tokens, context.now()));
  });
  return command;
}

export function renderApiTokens(tokens: readonly ApiToken[], now: number): string {
  if (tokens.length === 0) return 'no API tokens\n';
  return renderTable(
    ['ID', 'NAME', 'STATE', 'PERMISSIONS', 'EXPIRES', 'LAST USED'],
    tokens.map((t) => [t.id, t.name, t.state, t.permissions ? t.permissions.join(',') : 'all', t.expiresAt === null ? 'never' : formatRelative(t.expiresAt, now), t.lastUsedAt === null ? MISSING : formatRelative(t.lastUsedAt, now)]),
  );
}
