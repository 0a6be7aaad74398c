import { createChannelsClient } from '@farol/client';
import { Command } from 'commander';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { connectionOptionsOf, explainFailure, withConnectionOptions } from '../options.js';

/** `farol channels rm NAME`: its queued messages fail from then on. */
export function createChannelsRemoveCommand(context: CliContext): Command {
  const command = new Command('rm').alias('remove').description('delete a notification channel').argument('<name>', 'channel name or id');
  withConnectionOptions(command).action(async (name: string) => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createChannelsClient);
    await explainFailure(
      () => client.deleteChannel(name),
      (error) =>
        error.status === 404 ? `no channel "${name}"; see ${context.commandName} channels ls`
        : error.status === 409 ? `channel ${name} comes from the configuration file; remove it there`
        : undefined,
    );
    context.stdout(connection.json ? formatJson({ removed: name }) : `removed channel ${name}\n`);
  });
  return command;
}
