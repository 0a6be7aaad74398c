import { createAccountsClient, FarolApiError } from '@farol/client';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

/** `farol tokens revoke ID`: the token stops working at once; sockets using it close. */
export function createTokensRevokeCommand(context: CliContext): Command {
  const command = new Command('revoke').description('revoke an API token').argument('<id>', 'token id (see farol tokens ls)');
  withConnectionOptions(command).action(async (id: string) => {
    const connection = connectionOptionsOf(command);
    const { hubUrl, token } = await connect(connection, context);
    try {
      const revoked = await createAccountsClient({ baseUrl: hubUrl, token, fetch: context.fetch }).revokeToken(id);
      context.stdout(connection.json ? formatJson(revoked) : `revoked API token ${id}\n`);
    } catch (error) {
      if (error instanceof FarolApiError && error.status === 404) throw new CliError(`no API token "${id}"; see ${context.commandName} tokens ls`, { cause: error });
      throw error;
    }
  });
  return command;
}
