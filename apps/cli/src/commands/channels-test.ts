import { createChannelsClient } from '@farol/client';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { connectionOptionsOf, explainFailure, withConnectionOptions } from '../options.js';

/** `farol channels test NAME`: sends a test message now and says what the provider answered. */
export function createChannelsTestCommand(context: CliContext): Command {
  const command = new Command('test').description('send a test message through a channel').argument('<name>', 'channel name or id (see farol channels ls)');
  withConnectionOptions(command).action(async (name: string) => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createChannelsClient);
    const result = await explainFailure(() => client.testChannel(name), (error) => (error.status === 404 ? `no channel "${name}"; see ${context.commandName} channels ls` : undefined));
    if (connection.json) context.stdout(formatJson(result));
    if (!result.ok) throw new CliError(`channel ${name}: ${result.error ?? 'not delivered'}; check its settings (${context.commandName} channels ls)`);
    if (!connection.json) context.stdout(`sent a test message through ${name} (${result.status ?? 'ok'}, ${result.durationMs} ms)\n`);
  });
  return command;
}
