import { createChecksClient } from '@farol/client';
import type { Check, CheckProbe, CheckRunOn, Uptime } from '@farol/protocol';
import { Command } from 'commander';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { renderTable } from '../output/table.js';
import { connectionOptionsOf, explainFailure, withConnectionOptions } from '../options.js';

/** `farol checks ls`: every check with its status and uptime (issue #19). */
export function createChecksListCommand(context: CliContext): Command {
  const command = new Command('ls').alias('list').description('list service checks with their status and uptime');
  withConnectionOptions(command).action(async () => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createChecksClient);
    const { checks } = await client.listChecks();
    context.stdout(connection.json ? formatJson({ checks }) : renderChecks(checks));
  });
  return command;
}

export function describeProbe(probe: CheckProbe): string {
  switch (probe.kind) {
    case 'http':
      return `${probe.method} ${probe.url}`;
    case 'tcp':
      return `tcp ${probe.host}:${probe.port}`;
    case 'ping':
      return `ping ${probe.host}`;
    case 'dns':
      return `dns ${probe.type} ${probe.name}${probe.server ? ` @${probe.server}` : ''}`;
    case 'command':
      return probe.argv.join(' ');
  }
}

export function describeRunOn(runOn: CheckRunOn): string {
  if ('hub' in runOn) return 'hub';
  if ('agents' in runOn) return runOn.agents.join(',');
  return runOn.selector;
}

export function formatUptime(value: number | null): string {
  return value === null ? '-' : `${value.toFixed(value === 100 ? 0 : 2)}%`;
}

const uptimeText = (u: Uptime): string => `${formatUptime(u.h24)} / ${formatUptime(u.d7)} / ${formatUptime(u.d30)}`;

export function renderChecks(checks: readonly Check[]): string {
  if (checks.length === 0) return 'no checks\n';
  return renderTable(
    ['NAME', 'STATUS', 'CHECKS', 'RUNS ON', 'EVERY', 'UPTIME 24H / 7D / 30D'],
    checks.map((c) => [c.name, c.enabled ? (c.status ?? 'pending') : 'disabled', describeProbe(c.probe), describeRunOn(c.runOn), `${c.intervalMs / 1000}s`, uptimeText(c.uptime)]),
  );
}

/** `farol checks show NAME`: the definition, each location's state and uptime, the last results. */
export function createChecksShowCommand(context: CliContext): Command {
  const command = new Command('show').description('one check: where it runs, each location\'s state and uptime, recent results').argument('<check>', 'check name or id');
  withConnectionOptions(command).action(async (ref: string) => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createChecksClient);
    const notFound = (error: { status: number }) => (error.status === 404 ? `no check "${ref}"; see ${context.commandName} checks ls` : undefined);
    const check = await explainFailure(() => client.getCheck(ref), notFound);
    const history = await explainFailure(() => client.checkResults(ref, { limit: 10 }), notFound);
    if (connection.json) {
      context.stdout(formatJson({ check, history }));
      return;
    }
    const lines = [
      `${check.name} (${check.id})${check.enabled ? '' : ' — disabled'}`,
      `  checks:   ${describeProbe(check.probe)}`,
      `  runs on:  ${describeRunOn(check.runOn)}, every ${check.intervalMs / 1000}s, timeout ${check.timeoutMs / 1000}s`,
      `  status:   ${check.status ?? 'no results yet'}`,
      `  uptime:   ${uptimeText(check.uptime)} (24 h / 7 d / 30 d)`,
      '',
    ];
    const uptimeOf = new Map(history.locations.map((l) => [l.location, l.uptime]));
    const table =
      check.locations.length === 0
        ? 'no results yet\n'
        : renderTable(
            ['LOCATION', 'STATUS', 'LATENCY', 'CERT DAYS', 'UPTIME 24H / 7D / 30D', 'MESSAGE'],
            check.locations.map((l) => [
              l.location,
              l.status,
              l.latencyMs === null ? '-' : `${Math.round(l.latencyMs)} ms`,
              l.certDaysLeft === null ? '-' : String(Math.floor(l.certDaysLeft)),
              uptimeText(uptimeOf.get(l.location) ?? { h24: null, d7: null, d30: null }),
              l.message,
            ]),
          );
    context.stdout(`${lines.join('\n')}\n${table}`);
  });
  return command;
}
