import { createAlertsClient } from '@farol/client';
import { SeveritySchema, type Alert } from '@farol/protocol';
import { Command, InvalidArgumentError, Option } from 'commander';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson, formatRelative, MISSING } from '../output/format.js';
import { renderTable } from '../output/table.js';
import { connectionOptionsOf, parsePositiveInteger, withConnectionOptions } from '../options.js';

const STATES = ['active', 'pending', 'firing', 'resolved', 'all'] as const;

/** `farol alerts ls`: what is pending or firing now (or the history with --state). */
export function createAlertsListCommand(context: CliContext): Command {
  const command = new Command('ls')
    .alias('list')
    .description('list alerts: pending and firing by default, newest first')
    .addOption(
      new Option('--state <state>', `one of ${STATES.join(', ')}`).argParser((value) => {
        if (!(STATES as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected ${STATES.join(', ')}`);
        return value;
      }),
    )
    .option('--agent <name>', 'only this machine (name or id)')
    .option('--rule <name>', 'only this rule (name or id)')
    .addOption(
      new Option('--severity <level>', 'info, warning or critical').argParser((value) => {
        if (!SeveritySchema.safeParse(value).success) throw new InvalidArgumentError('expected info, warning or critical');
        return value;
      }),
    )
    .option('--limit <n>', 'how many (default 100)', parsePositiveInteger);
  withConnectionOptions(command).action(async (options: { state?: (typeof STATES)[number]; agent?: string; rule?: string; severity?: 'info' | 'warning' | 'critical'; limit?: number }) => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createAlertsClient);
    // Only the filters: the action's options also hold the connection flags (the token among them).
    const list = await client.listAlerts({ state: options.state, agent: options.agent, rule: options.rule, severity: options.severity, limit: options.limit });
    context.stdout(connection.json ? formatJson(list) : renderAlerts(list.alerts, context.now()));
  });
  return command;
}

export function renderAlerts(alerts: readonly Alert[], now: number): string {
  if (alerts.length === 0) return 'no alerts\n';
  return renderTable(
    ['ID', 'STATE', 'SEVERITY', 'MACHINE', 'RULE', 'SUMMARY', 'SINCE', 'ACK'],
    alerts.map((a) => [
      a.id,
      a.silenced ? `${a.state} (silenced)` : a.state,
      a.severity,
      a.agentName ?? MISSING,
      a.ruleName,
      a.summary,
      formatRelative(a.since, now),
      a.acknowledgedBy ? `${a.acknowledgedBy} ${formatRelative(a.acknowledgedAt, now)}` : MISSING,
    ]),
  );
}
