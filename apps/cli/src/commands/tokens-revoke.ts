import { createAccountsClient } from '@farol/client';
import { Command } from 'commander';
import { connectTo, passwordProof } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { connectionOptionsOf, explainFailure, withConnectionOptions } from '../options.js';

/** `farol api-tokens revoke ID`: the token stops working at once; sockets using it close. */
export function createTokensRevokeCommand(context: CliContext): Command {
  const command = new Command('revoke').description('revoke an API token').argument('<id>', 'token id (see farol api-tokens ls)');
  withConnectionOptions(command).action(async (id: string) => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createAccountsClient, passwordProof(context));
    const revoked = await explainFailure(
      () => client.revokeToken(id),
      (error) =>
        error.status === 404
          ? `no API token "${id}"; see ${context.commandName} api-tokens ls`
          : error.code === 'reauth_required'
            ? `revoking another API token needs your password: FAROL_PASSWORD=… ${context.commandName} api-tokens revoke ${id}`
            : undefined,
    );
    context.stdout(connection.json ? formatJson(revoked) : `revoked API token ${id}\n`);
  });
  return command;
}
