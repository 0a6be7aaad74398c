import { createNetworkClient } from '@farol/client';
import { MAX_NETWORK_PING_COUNT, type NetworkPingResult } from '@farol/protocol';
import { Command, InvalidArgumentError } from 'commander';
import { CliError } from '../cli-error.js';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { connectionOptionsOf, explainFailure, withConnectionOptions } from '../options.js';
import { ms } from './network-status.js';

function parseCount(text: string): number {
  const count = Number(text);
  if (!Number.isInteger(count) || count < 1 || count > MAX_NETWORK_PING_COUNT) throw new InvalidArgumentError(`a whole number from 1 to ${MAX_NETWORK_PING_COUNT}`);
  return count;
}

export function renderNetworkPing(result: NetworkPingResult): string {
  const head = `${result.from.name} -> ${result.to.name} (${result.address}, ${result.addressKind}): ${result.received}/${result.sent} replies`;
  if (result.received === 0) return `${head}${result.error ? ` — ${result.error}` : ''}\n`;
  return `${head}, rtt min/avg/max ${ms(result.rttMinMs)} / ${ms(result.rttAvgMs)} / ${ms(result.rttMaxMs)}\n`;
}

/** `farol network ping A B`: round-trip time from machine A to machine B's best address (issue #19). */
export function createNetworkPingCommand(context: CliContext): Command {
  const command = new Command('ping')
    .description('round-trip time from machine A to machine B (its tailnet address, else a shared LAN address, else its public one); runs ping on A')
    .argument('<from>', 'machine that pings (name or id)')
    .argument('<to>', 'machine pinged (name or id)')
    .option('-c, --count <n>', `echo requests (1-${MAX_NETWORK_PING_COUNT}, default 4)`, parseCount);
  withConnectionOptions(command).action(async (from: string, to: string, options: { count?: number }) => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createNetworkClient);
    const result = await explainFailure(
      () => client.networkPing({ from, to, ...(options.count ? { count: options.count } : {}) }),
      (error) => (error.status === 404 ? `${error.message}; see ${context.commandName} agents ls` : undefined),
    );
    context.stdout(connection.json ? formatJson(result) : renderNetworkPing(result));
    if (result.received === 0) throw new CliError(`no reply from ${result.to.name} at ${result.address} (${result.state}); check that ${result.from.name} can reach it`);
  });
  return command;
}
