import { createAlertsClient, FarolApiError } from '@farol/client';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

/** `farol alerts ack ID`: stops repeats and escalation of a firing alert. */
export function createAlertsAckCommand(context: CliContext): Command {
  const command = new Command('ack')
    .description('acknowledge an alert: no more repeats or escalation (the resolved notice still goes out)')
    .argument('<alert>', 'alert id (al_…, from farol alerts ls)')
    .option('--note <text>', 'why, or what you are doing about it');
  withConnectionOptions(command).action(async (id: string, options: { note?: string }) => {
    const connection = connectionOptionsOf(command);
    const { hubUrl, token } = await connect(connection, context);
    const client = createAlertsClient({ baseUrl: hubUrl, token, ...(context.fetch ? { fetch: context.fetch } : {}) });
    try {
      const alert = await client.acknowledgeAlert(id, options.note);
      context.stdout(connection.json ? formatJson(alert) : `acknowledged ${alert.id} (${alert.ruleName} on ${alert.agentName ?? 'the fleet'})\n`);
    } catch (error) {
      if (error instanceof FarolApiError && error.code === 'conflict') throw new CliError(`alert ${id} is already resolved`, { cause: error });
      if (error instanceof FarolApiError && error.code === 'not_found') throw new CliError(`no alert ${id}; see farol alerts ls`, { cause: error });
      throw error;
    }
  });
  return command;
}
