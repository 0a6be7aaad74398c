import { createAlertsClient, FarolApiError } from '@farol/client';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

/** `farol silence rm ID`: ends a silence now; alerts it held back are sent. */
export function createSilenceRemoveCommand(context: CliContext): Command {
  const command = new Command('rm').alias('remove').description('end a silence now').argument('<silence>', 'silence id (sil_…)');
  withConnectionOptions(command).action(async (id: string) => {
    const connection = connectionOptionsOf(command);
    const { hubUrl, token } = await connect(connection, context);
    try {
      await createAlertsClient({ baseUrl: hubUrl, token, ...(context.fetch ? { fetch: context.fetch } : {}) }).removeSilence(id);
    } catch (error) {
      if (error instanceof FarolApiError && (error.code === 'not_found' || error.code === 'validation_failed')) throw new CliError(`no silence ${id}; see farol silence ls`, { cause: error });
      throw error;
    }
    context.stdout(connection.json ? formatJson({ id, ended: true }) : `ended ${id}\n`);
  });
  return command;
}
