import { createNetworkClient } from '@farol/client';
import { describeNetworkReason, type NetworkMachine } from '@farol/protocol';
import { Command } from 'commander';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { renderTable } from '../output/table.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

export const ms = (value: number | null): string => (value === null ? '-' : `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`);

/** The machines with their hub round trip, networks and links; worse ones say why. */
export function renderNetworkStatus(machines: readonly NetworkMachine[]): string {
  if (machines.length === 0) return 'no machines\n';
  const table = renderTable(
    ['NAME', 'STATUS', 'HUB RTT', 'P50 15M', 'P50 24H', 'TAILNET', 'LAN', 'PUBLIC', 'LINKS', 'STATE'],
    machines.map((m) => [
      m.name,
      m.status,
      ms(m.hubRtt.lastMs),
      ms(m.hubRtt.recentP50Ms),
      ms(m.hubRtt.baselineP50Ms),
      m.tailnet ?? '-',
      m.lanSubnets.join(',') || '-',
      m.publicAddress ?? '-',
      m.directLinks + m.relayedLinks > 0 ? `${m.directLinks} direct, ${m.relayedLinks} relayed` : '-',
      m.worse ? 'WORSE' : 'ok',
    ]),
  );
  const reasons = machines.flatMap((m) => m.reasons.map((reason) => `${m.name}: ${describeNetworkReason(reason)}\n`));
  return reasons.length > 0 ? `${table}\n${reasons.join('')}` : table;
}

/** `farol network status`: every machine's hub round trip and links, flagging those that got worse (issue #19). */
export function createNetworkStatusCommand(context: CliContext): Command {
  const command = new Command('status').description('each machine\'s round trip to the hub, its networks and tailnet links; flags links that got worse');
  withConnectionOptions(command).action(async () => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createNetworkClient);
    const status = await client.networkStatus();
    context.stdout(connection.json ? formatJson(status) : renderNetworkStatus(status.machines));
  });
  return command;
}
