import { createFarolClient } from '@farol/client';
import { Command } from 'commander';
import { UsageError } from '../cli-error.js';
import { configFilePath, writeConfigFile } from '../config-file.js';
import { DEFAULT_HUB_URL, parseHubUrl } from '../connection.js';
import type { CliContext } from '../context.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

/** `farol login --hub URL --token T`: checks the token with the hub, then saves both. */
export function createLoginCommand(context: CliContext): Command {
  const command = new Command('login').description('check a token with the hub and save it for later commands');
  withConnectionOptions(command, { json: false }).action(async () => {
    const options = connectionOptionsOf(command);
    const hubUrl = parseHubUrl(options.hub ?? (context.env.FAROL_HUB_URL || DEFAULT_HUB_URL));
    const token = options.token ?? (context.env.FAROL_TOKEN || undefined);
    if (!token) throw new UsageError(`give the operator token: ${context.commandName} login --hub ${hubUrl} --token T`);

    const me = await createFarolClient({ baseUrl: hubUrl, token, fetch: context.fetch }).me();
    const file = configFilePath(context);
    await writeConfigFile(file, { hubUrl, token });
    context.stdout(`logged in to ${hubUrl} as ${me.kind} (${me.id}); saved to ${file}\n`);
  });
  return command;
}
