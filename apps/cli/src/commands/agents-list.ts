import { AgentStatusSchema, toHistoryValues, type Agent } from '@farol/protocol';
import { Command, InvalidArgumentError, Option } from 'commander';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson, formatLabels, formatPercent, formatRelative, MISSING, plural } from '../output/format.js';
import { renderTable } from '../output/table.js';
import { collect, connectionOptionsOf, withConnectionOptions } from '../options.js';

interface ListOptions {
  status?: 'online' | 'offline';
  label?: string[];
}

/** `farol agents ls`: one line per machine with its latest CPU, memory and disk use. */
export function createAgentsListCommand(context: CliContext): Command {
  const command = new Command('ls')
    .alias('list')
    .description('list agents with their latest CPU, memory and disk use')
    .addOption(
      new Option('--status <status>', 'only online or offline agents').argParser((value) => {
        if (!AgentStatusSchema.safeParse(value).success) throw new InvalidArgumentError('expected online or offline');
        return value;
      }),
    )
    .option('--label <key=value>', 'only agents with this label (repeat: all must match)', collect);
  withConnectionOptions(command).action(async (options: ListOptions) => {
    const connection = connectionOptionsOf(command);
    const { client } = await connect(connection, context);
    const list = await client.listAgents({ status: options.status, label: options.label });
    if (connection.json) {
      context.stdout(formatJson(list));
      return;
    }
    const filtered = options.status !== undefined || options.label !== undefined;
    context.stdout(renderAgents(list.agents, context.now(), filtered, context.commandName));
  });
  return command;
}

/** The table and the counts line of `farol agents ls`. */
export function renderAgents(agents: readonly Agent[], now: number, isFiltered: boolean, commandName: string): string {
  if (agents.length === 0) {
    return isFiltered ? 'no agents match\n' : `no agents yet; add a machine with: ${commandName} join-tokens create\n`;
  }
  const sorted = [...agents].sort((a, b) => a.name.localeCompare(b.name));
  // Several hubs (issue #14): which one holds each machine. One hub holds them all: no column.
  const hubs = new Set(agents.map((agent) => agent.hub).filter((hub) => typeof hub === 'string'));
  const showHub = hubs.size > 1;
  const rows = sorted.map((agent) => {
    // An offline agent's last sample is history, not its current state.
    const values = agent.status === 'online' && agent.latest ? toHistoryValues(agent.latest) : null;
    return [
      agent.name,
      agent.status,
      values ? formatPercent(values.cpu) : MISSING,
      values ? formatPercent(values.memory) : MISSING,
      values ? formatPercent(values.disk) : MISSING,
      formatRelative(agent.lastSeen, now),
      ...(showHub ? [agent.hub ?? MISSING] : []),
      formatLabels(agent.labels),
    ];
  });
  const online = agents.filter((agent) => agent.status === 'online').length;
  const counts = `${plural(agents.length, 'agent')}: ${online} online, ${agents.length - online} offline\n`;
  return renderTable(['NAME', 'STATUS', 'CPU', 'MEM', 'DISK', 'LAST SEEN', ...(showHub ? ['HUB'] : []), 'LABELS'], rows) + counts;
}
