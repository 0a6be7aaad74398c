import { createAlertsClient } from '@farol/client';
import { Command } from 'commander';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { connectionOptionsOf, explainFailure, withConnectionOptions } from '../options.js';

/** `farol silence rm ID`: ends a silence now; alerts it held back are sent. */
export function createSilenceRemoveCommand(context: CliContext): Command {
  const command = new Command('rm').alias('remove').description('end a silence now').argument('<silence>', 'silence id (sil_…)');
  withConnectionOptions(command).action(async (id: string) => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createAlertsClient);
    await explainFailure(() => client.removeSilence(id), (error) => (error.code === 'not_found' || error.code === 'validation_failed' ? `no silence ${id}; see farol silence ls` : undefined));
    context.stdout(connection.json ? formatJson({ id, ended: true }) : `ended ${id}\n`);
  });
  return command;
}
