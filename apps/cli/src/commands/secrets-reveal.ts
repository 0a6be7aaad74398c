import { createSecretsClient, FarolApiError } from '@farol/client';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

/** `farol secrets reveal NAME`: prints the value (the hub audits the read). */
export function createSecretsRevealCommand(context: CliContext): Command {
  const command = new Command('reveal').description('print a secret\'s value (audited)').argument('<name>', 'the secret (see farol secrets ls)');
  withConnectionOptions(command).action(async (name: string) => {
    const connection = connectionOptionsOf(command);
    const { hubUrl, token } = await connect(connection, context);
    try {
      const revealed = await createSecretsClient({ baseUrl: hubUrl, token, ...(context.fetch ? { fetch: context.fetch } : {}) }).revealSecret(name);
      context.stdout(connection.json ? formatJson(revealed) : `${revealed.value}\n`);
    } catch (error) {
      if (error instanceof FarolApiError && error.status === 404) throw new CliError(`no secret "${name}"; see ${context.commandName} secrets ls`, { cause: error });
      throw error;
    }
  });
  return command;
}
