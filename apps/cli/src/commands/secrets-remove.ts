import { createSecretsClient } from '@farol/client';
import { Command } from 'commander';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { connectionOptionsOf, explainFailure, withConnectionOptions } from '../options.js';

/** `farol secrets rm NAME`: commands asking for it fail from then on. */
export function createSecretsRemoveCommand(context: CliContext): Command {
  const command = new Command('rm').alias('remove').description('delete a secret').argument('<name>', 'the secret (see farol secrets ls)');
  withConnectionOptions(command).action(async (name: string) => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createSecretsClient);
    await explainFailure(() => client.deleteSecret(name), (error) => (error.status === 404 ? `no secret "${name}"; see ${context.commandName} secrets ls` : undefined));
    context.stdout(connection.json ? formatJson({ removed: name }) : `removed secret ${name}\n`);
  });
  return command;
}
