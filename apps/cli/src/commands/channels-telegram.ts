import { createChatClient } from '@farol/client';
import { Command } from 'commander';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { connectionOptionsOf, explainFailure, withConnectionOptions } from '../options.js';

/**
 * `farol channels telegram NAME [--polling]` (issue #20): how the channel's button presses reach
 * the hub. Default: Telegram's webhook to FAROL_PUBLIC_URL; `--polling`: the leader hub asks
 * Telegram (for a hub Telegram cannot reach, e.g. on a tailnet).
 */
export function createChannelsTelegramCommand(context: CliContext): Command {
  const command = new Command('telegram')
    .description('let a Telegram channel\'s alert buttons reach the hub: by webhook (default) or --polling')
    .argument('<name>', 'Telegram channel name or id (see farol channels ls)')
    .option('--polling', 'the hub polls Telegram (getUpdates) instead of receiving a webhook: for hubs Telegram cannot reach');
  withConnectionOptions(command).action(async (name: string, options: { polling?: boolean }) => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createChatClient);
    const mode = options.polling ? 'polling' : 'webhook';
    const result = await explainFailure(() => client.setTelegramUpdates(name, mode), (error) => (error.status === 404 ? `no channel "${name}"; see ${context.commandName} channels ls` : undefined));
    if (connection.json) {
      context.stdout(formatJson(result));
      return;
    }
    context.stdout(
      result.mode === 'webhook'
        ? `${name}: Telegram now posts button presses to ${result.url}\n`
        : `${name}: the hub now polls Telegram for button presses (no webhook)\n`,
    );
  });
  return command;
}
