import { createSecretsClient, FarolApiError } from '@farol/client';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

/** `farol secrets rm NAME`: commands asking for it fail from then on. */
export function createSecretsRemoveCommand(context: CliContext): Command {
  const command = new Command('rm').alias('remove').description('delete a secret').argument('<name>', 'the secret (see farol secrets ls)');
  withConnectionOptions(command).action(async (name: string) => {
    const connection = connectionOptionsOf(command);
    const { hubUrl, token } = await connect(connection, context);
    try {
      await createSecretsClient({ baseUrl: hubUrl, token, ...(context.fetch ? { fetch: context.fetch } : {}) }).deleteSecret(name);
    } catch (error) {
      if (error instanceof FarolApiError && error.status === 404) throw new CliError(`no secret "${name}"; see ${context.commandName} secrets ls`, { cause: error });
      throw error;
    }
    context.stdout(connection.json ? formatJson({ removed: name }) : `removed secret ${name}\n`);
  });
  return command;
}
