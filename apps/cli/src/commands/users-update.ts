import { createAccountsClient, FarolApiError } from '@farol/client';
import type { UserUpdate } from '@farol/protocol';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

/** Finds a user by username or id, then applies a change; their live sessions close at once. */
async function updateUser(command: Command, context: CliContext, ref: string, changes: UserUpdate): Promise<void> {
  const connection = connectionOptionsOf(command);
  const accounts = await connectTo(connection, context, createAccountsClient);
  const { users } = await accounts.listUsers();
  const user = users.find((u) => u.username === ref || u.id === ref);
  if (!user) throw new CliError(`no user "${ref}"; see ${context.commandName} users ls`);
  try {
    const updated = await accounts.updateUser(user.id, changes);
    context.stdout(connection.json ? formatJson(updated) : `${updated.username}: ${updated.disabled ? 'disabled' : 'active'}, ${updated.role}${updated.scope ? ` for ${updated.scope}` : ''}\n`);
  } catch (error) {
    if (error instanceof FarolApiError && (error.code === 'conflict' || error.code === 'validation_failed')) throw new CliError(error.message, { cause: error });
    throw error;
  }
}

/** `farol users disable NAME` (and `--enable`). */
export function createUsersDisableCommand(context: CliContext): Command {
  const command = new Command('disable').description('disable a user (their sessions and sockets end); --enable undoes it').argument('<user>', 'username or id').option('--enable', 'enable instead');
  withConnectionOptions(command).action(async (ref: string, options: { enable?: boolean }) => updateUser(command, context, ref, { disabled: options.enable !== true }));
  return command;
}

/** `farol users role NAME ROLE [--scope SELECTOR | --all-machines]`. */
export function createUsersRoleCommand(context: CliContext): Command {
  const command = new Command('role')
    .description('change a user\'s role (their live sockets close)')
    .argument('<user>', 'username or id')
    .argument('<role>', 'viewer, operator, admin or a custom role')
    .option('--scope <selector>', 'limit the role to machines matching this label selector')
    .option('--all-machines', 'remove the scope limit');
  withConnectionOptions(command).action(async (ref: string, role: string, options: { scope?: string; allMachines?: boolean }) =>
    updateUser(command, context, ref, { role, ...(options.scope ? { scope: options.scope } : options.allMachines ? { scope: null } : {}) }),
  );
  return command;
}
