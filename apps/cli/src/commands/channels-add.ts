import { readFile } from 'node:fs/promises';
import { createChannelsClient } from '@farol/client';
import { CHANNEL_TYPES, type ChannelCreateInput, type ChannelType } from '@farol/protocol';
import { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { UsageError } from '../cli-error.js';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

/**
 * `farol channels add NAME --type T --settings-file F`: settings as YAML or JSON. A file keeps
 * bot tokens and passwords out of the shell history; `--settings '{…}'` works for quick tries.
 */
export function createChannelsAddCommand(context: CliContext): Command {
  const command = new Command('add')
    .description('create a notification channel')
    .argument('<name>', 'channel name (letters, digits, . _ -)')
    .addOption(new Option('--type <type>', 'provider').choices([...CHANNEL_TYPES]).makeOptionMandatory())
    .option('--settings <json>', 'settings as JSON, e.g. {"botToken":"…","chatId":"-100…"}')
    .option('--settings-file <file>', 'settings as a YAML or JSON file');
  withConnectionOptions(command).action(async (name: string) => {
    const options = command.opts<{ type: ChannelType; settings?: string; settingsFile?: string }>();
    if ((options.settings === undefined) === (options.settingsFile === undefined)) {
      throw new UsageError('give the settings with --settings JSON or --settings-file FILE (one of them)');
    }
    let settings: unknown;
    try {
      settings = options.settingsFile !== undefined ? parseYaml(await readFile(options.settingsFile, 'utf8')) : JSON.parse(options.settings!);
    } catch (error) {
      throw new UsageError(`could not read the settings (${(error as Error).message}); give a JSON or YAML object`, { cause: error });
    }
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createChannelsClient);
    const channel = await client.createChannel({ type: options.type, name, settings } as ChannelCreateInput);
    context.stdout(connection.json ? formatJson(channel) : `created ${channel.type} channel ${channel.name} (${channel.id}); try it: ${context.commandName} channels test ${channel.name}\n`);
  });
  return command;
}
