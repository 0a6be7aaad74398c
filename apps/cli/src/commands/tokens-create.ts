import { createAccountsClient } from '@farol/client';
import { DurationSchema, PermissionSchema, type Permission } from '@farol/protocol';
import { Command, InvalidArgumentError, Option } from 'commander';
import { connectTo, passwordProof } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson, formatTimestamp } from '../output/format.js';
import { collect, connectionOptionsOf, explainFailure, withConnectionOptions } from '../options.js';

/** `farol api-tokens create NAME`: an API token of the signed-in user, shown once. */
export function createTokensCreateCommand(context: CliContext): Command {
  const command = new Command('create')
    .description('create an API token for scripts and CI (shown once); your password is read from FAROL_PASSWORD')
    .argument('<name>', 'what the token is for')
    .addOption(
      new Option('--ttl <duration>', 'lifetime: 30d, 12h … (default 90d, at most 365d)').argParser((value) => {
        if (!DurationSchema.safeParse(value).success) throw new InvalidArgumentError('durations look like 90s, 30m, 24h or 7d');
        return value;
      }),
    )
    .option('--permission <name>', 'limit the token to this permission (repeatable); default all of yours', (value: string, previous: string[] | undefined) => {
      if (!PermissionSchema.safeParse(value).success) throw new InvalidArgumentError(`one of ${PermissionSchema.options.join(', ')}`);
      return collect(value, previous);
    });
  withConnectionOptions(command).action(async (name: string, options: { ttl?: string; permission?: string[] }) => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createAccountsClient, passwordProof(context));
    const created = await explainFailure(
      () =>
        client.createToken({
          name,
          ...(options.ttl === undefined ? {} : { ttl: options.ttl }),
          ...(options.permission === undefined ? {} : { permissions: options.permission as Permission[] }),
        }),
      (error) => (error.code === 'reauth_required' ? `creating an API token needs your password: FAROL_PASSWORD=… ${context.commandName} api-tokens create ${JSON.stringify(name)}` : undefined),
    );
    const text = [
      `API token ${created.id} "${created.name}": ${created.permissions ? created.permissions.join(', ') : 'all your permissions'}, expires ${created.expiresAt === null ? 'never' : formatTimestamp(created.expiresAt)}`,
      '',
      `  ${created.token}`,
      '',
      'The token is shown only now. Use it with --token, FAROL_TOKEN or Authorization: Bearer.',
    ];
    context.stdout(connection.json ? formatJson(created) : `${text.join('\n')}\n`);
  });
  return command;
}
