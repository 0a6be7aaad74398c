import { createAlertsClient } from '@farol/client';
import { Command } from 'commander';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { connectionOptionsOf, explainFailure, withConnectionOptions } from '../options.js';

/** `farol alerts ack ID`: stops repeats and escalation of a firing alert. */
export function createAlertsAckCommand(context: CliContext): Command {
  const command = new Command('ack')
    .description('acknowledge an alert: no more repeats or escalation (the resolved notice still goes out)')
    .argument('<alert>', 'alert id (al_…, from farol alerts ls)')
    .option('--note <text>', 'why, or what you are doing about it');
  withConnectionOptions(command).action(async (id: string, options: { note?: string }) => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createAlertsClient);
    const alert = await explainFailure(
      () => client.acknowledgeAlert(id, options.note),
      (error) => (error.code === 'conflict' ? `alert ${id} is already resolved` : error.code === 'not_found' ? `no alert ${id}; see farol alerts ls` : undefined),
    );
    context.stdout(connection.json ? formatJson(alert) : `acknowledged ${alert.id} (${alert.ruleName} on ${alert.agentName ?? 'the fleet'})\n`);
  });
  return command;
}
