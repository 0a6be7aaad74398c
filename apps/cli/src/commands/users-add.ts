import { createAccountsClient } from '@farol/client';
import { Command } from 'commander';
import { UsageError } from '../cli-error.js';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

/** `farol users add NAME --role R [--scope SELECTOR]`: the password comes from FAROL_NEW_PASSWORD. */
export function createUsersAddCommand(context: CliContext): Command {
  const command = new Command('add')
    .description('add a user (password from FAROL_NEW_PASSWORD)')
    .argument('<username>')
    .requiredOption('--role <role>', 'viewer, operator, admin or a custom role')
    .option('--scope <selector>', 'limit the role to machines matching this label selector, e.g. env=staging');
  withConnectionOptions(command).action(async (username: string, options: { role: string; scope?: string }) => {
    const password = context.env.FAROL_NEW_PASSWORD;
    if (!password) throw new UsageError(`put the new user's password (12+ characters) in FAROL_NEW_PASSWORD`);
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createAccountsClient);
    const user = await client.createUser({ username, password, role: options.role, ...(options.scope ? { scope: options.scope } : {}) });
    context.stdout(connection.json ? formatJson(user) : `added ${user.username} (${user.id}) as ${user.role}${user.scope ? ` for ${user.scope}` : ''}\n`);
  });
  return command;
}
