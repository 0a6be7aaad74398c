import { createChannelsClient, FarolApiError } from '@farol/client';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

/** `farol channels rm NAME`: its queued messages fail from then on. */
export function createChannelsRemoveCommand(context: CliContext): Command {
  const command = new Command('rm').alias('remove').description('delete a notification channel').argument('<name>', 'channel name or id');
  withConnectionOptions(command).action(async (name: string) => {
    const connection = connectionOptionsOf(command);
    const { hubUrl, token } = await connect(connection, context);
    try {
      await createChannelsClient({ baseUrl: hubUrl, token, ...(context.fetch ? { fetch: context.fetch } : {}) }).deleteChannel(name);
    } catch (error) {
      if (error instanceof FarolApiError && error.status === 404) throw new CliError(`no channel "${name}"; see ${context.commandName} channels ls`, { cause: error });
      if (error instanceof FarolApiError && error.status === 409) throw new CliError(`channel ${name} comes from the configuration file; remove it there`, { cause: error });
      throw error;
    }
    context.stdout(connection.json ? formatJson({ removed: name }) : `removed channel ${name}\n`);
  });
  return command;
}
