import { FarolApiError } from '@farol/client';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

/** `farol join-tokens revoke ID`: no machine can enroll with it any more. */
export function createTokenRevokeCommand(context: CliContext): Command {
  const command = new Command('revoke').description('revoke a join token').argument('<id>', 'token id (see farol join-tokens ls)');
  withConnectionOptions(command).action(async (id: string) => {
    const connection = connectionOptionsOf(command);
    const { client } = await connect(connection, context);
    try {
      await client.revokeJoinToken(id);
    } catch (error) {
      if (error instanceof FarolApiError && error.status === 404) {
        throw new CliError(`no join token with id "${id}"; see ${context.commandName} join-tokens ls`, { cause: error });
      }
      throw error;
    }
    context.stdout(connection.json ? formatJson({ revoked: id }) : `revoked join token ${id}\n`);
  });
  return command;
}
