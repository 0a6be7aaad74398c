import { createAccountsClient } from '@farol/client';
import { Command } from 'commander';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson, formatRelative, MISSING } from '../output/format.js';
import { renderTable } from '../output/table.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

/** `farol users ls`: every user with role, scope and state (needs users:manage). */
export function createUsersListCommand(context: CliContext): Command {
  const command = new Command('ls').alias('list').description('list users');
  withConnectionOptions(command).action(async () => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createAccountsClient);
    const { users } = await client.listUsers();
    const now = context.now();
    context.stdout(
      connection.json
        ? formatJson({ users })
        : users.length === 0
          ? 'no users\n'
          : renderTable(
              ['ID', 'USERNAME', 'ROLE', 'SCOPE', 'STATE', '2FA', 'LAST SIGN-IN'],
              users.map((u) => [u.id, u.username, u.role, u.scope ?? 'all machines', u.disabled ? 'disabled' : 'active', u.mfaEnabled ? 'on' : 'off', u.lastLoginAt === null ? MISSING : formatRelative(u.lastLoginAt, now)]),
            ),
    );
  });
  return command;
}
