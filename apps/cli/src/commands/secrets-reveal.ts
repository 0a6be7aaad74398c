import { createSecretsClient } from '@farol/client';
import { Command } from 'commander';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { connectionOptionsOf, explainFailure, withConnectionOptions } from '../options.js';

/** `farol secrets reveal NAME`: prints the value (the hub audits the read). */
export function createSecretsRevealCommand(context: CliContext): Command {
  const command = new Command('reveal').description('print a secret\'s value (audited)').argument('<name>', 'the secret (see farol secrets ls)');
  withConnectionOptions(command).action(async (name: string) => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createSecretsClient);
    const revealed = await explainFailure(() => client.revealSecret(name), (error) => (error.status === 404 ? `no secret "${name}"; see ${context.commandName} secrets ls` : undefined));
    context.stdout(connection.json ? formatJson(revealed) : `${revealed.value}\n`);
  });
  return command;
}
