import { createChannelsClient, FarolApiError } from '@farol/client';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

/** `farol channels test NAME`: sends a test message now and says what the provider answered. */
export function createChannelsTestCommand(context: CliContext): Command {
  const command = new Command('test').description('send a test message through a channel').argument('<name>', 'channel name or id (see farol channels ls)');
  withConnectionOptions(command).action(async (name: string) => {
    const connection = connectionOptionsOf(command);
    const { hubUrl, token } = await connect(connection, context);
    let result;
    try {
      result = await createChannelsClient({ baseUrl: hubUrl, token, ...(context.fetch ? { fetch: context.fetch } : {}) }).testChannel(name);
    } catch (error) {
      if (error instanceof FarolApiError && error.status === 404) throw new CliError(`no channel "${name}"; see ${context.commandName} channels ls`, { cause: error });
      throw error;
    }
    if (connection.json) context.stdout(formatJson(result));
    if (!result.ok) throw new CliError(`channel ${name}: ${result.error ?? 'not delivered'}; check its settings (${context.commandName} channels ls)`);
    if (!connection.json) context.stdout(`sent a test message through ${name} (${result.status ?? 'ok'}, ${result.durationMs} ms)\n`);
  });
  return command;
}
