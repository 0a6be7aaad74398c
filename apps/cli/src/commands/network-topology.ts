import { createNetworkClient } from '@farol/client';
import type { NetworkTopology } from '@farol/protocol';
import { Command } from 'commander';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { renderTable } from '../output/table.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';
import { ms } from './network-status.js';

const KIND_TITLE = { tailnet: 'tailnet', lan: 'LAN', public: 'public' } as const;

/** Networks with their machines, then the tailnet links (direct or through which relay). */
export function renderNetworkTopology(topology: NetworkTopology): string {
  const nameOf = new Map(topology.machines.map((m) => [m.agentId, m.name]));
  const groups =
    topology.groups.length === 0
      ? 'no networks known yet\n'
      : renderTable(
          ['NETWORK', 'KIND', 'MACHINES'],
          topology.groups.map((g) => [g.key, KIND_TITLE[g.kind], g.agentIds.map((id) => nameOf.get(id) ?? id).join(', ')]),
        );
  if (topology.links.length === 0) return groups;
  const links = renderTable(
    ['FROM', 'TO', 'PATH', 'VIA', 'LATENCY', 'STATE'],
    topology.links.map((l) => [
      nameOf.get(l.from) ?? l.from,
      l.to ? (nameOf.get(l.to) ?? l.peerName) : `${l.peerName} (no agent)`,
      !l.online ? 'offline' : l.direct ? 'direct' : 'relayed',
      l.direct ? (l.curAddr ?? '-') : l.relay ? `DERP ${l.relay}` : '-',
      ms(l.latencyMs),
      l.worse ? 'WORSE (was direct)' : 'ok',
    ]),
  );
  return `${groups}\n${links}`;
}

/** `farol network topology`: machines grouped by tailnet, LAN subnet and public address, and the links between them (issue #19). */
export function createNetworkTopologyCommand(context: CliContext): Command {
  const command = new Command('topology').description('machines grouped by tailnet, LAN subnet and public address, and the tailnet links between them (direct or relayed)');
  withConnectionOptions(command).action(async () => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createNetworkClient);
    const topology = await client.networkTopology();
    context.stdout(connection.json ? formatJson(topology) : renderNetworkTopology(topology));
  });
  return command;
}
