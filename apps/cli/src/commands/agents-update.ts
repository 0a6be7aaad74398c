import { createUpdatesClient } from '@farol/client';
import { AgentVersionSchema, type Rollout } from '@farol/protocol';
import { Command, InvalidArgumentError } from 'commander';
import { ExitRequest } from '../cli-error.js';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { renderTable } from '../output/table.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';
import { parseSelector } from './exec-run.js';

interface UpdateOptions {
  version?: string;
  wavePercent?: number;
  wait: boolean;
}

/** How often `--wait` looks at the rollout, and for how long at most. */
const POLL_MS = 1_000;
const MAX_WAIT_MS = 60 * 60_000;

/**
 * `farol agents update SELECTOR [--version V]`: updates agents from the hub in waves (one
 * machine, a percentage, the rest) and, by default, follows the rollout to its end. Exit 1 when
 * it stopped on a failure.
 */
export function createAgentsUpdateCommand(context: CliContext): Command {
  const command = new Command('update')
    .description('update agents from the hub, in waves (one machine, then a percentage, then the rest); stops at the first failure')
    .argument('<selector>', 'a name, names separated by commas, a label selector (role=web), or all')
    .option('--version <version>', "the version to install; default the hub's own", (value) => {
      if (!AgentVersionSchema.safeParse(value).success) throw new InvalidArgumentError('expected a version such as 0.2.0');
      return value;
    })
    .option('--wave-percent <n>', 'size of the second wave in percent of the machines (default 25)', (value) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1 || n > 100) throw new InvalidArgumentError('expected a whole number from 1 to 100');
      return n;
    })
    .option('--no-wait', 'start the rollout and return at once');
  withConnectionOptions(command).action(async (selector: string, options: UpdateOptions) => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createUpdatesClient);
    let rollout = await client.updateAgents({
      targets: parseSelector(selector),
      ...(options.version ? { version: options.version } : {}),
      ...(options.wavePercent ? { wavePercent: options.wavePercent } : {}),
    });
    if (!connection.json) context.stdout(`rollout ${rollout.id}: ${rollout.version} to ${rollout.targets.filter((t) => t.state !== 'current').length} machine(s) in ${rollout.waves} wave(s)\n`);
    const deadline = context.now() + MAX_WAIT_MS;
    while (options.wait && rollout.state === 'running' && context.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      rollout = await client.getRollout(rollout.id);
    }
    context.stdout(connection.json ? formatJson(rollout) : renderRollout(rollout));
    if (rollout.state === 'failed') throw new ExitRequest(1);
  });
  return command;
}

/** One line per machine, then how the rollout ended. */
export function renderRollout(rollout: Rollout): string {
  const rows = rollout.targets.map((t) => [t.agentName, String(t.wave + 1), t.fromVersion ?? '-', t.state, t.error ?? '']);
  const table = renderTable(['MACHINE', 'WAVE', 'FROM', 'STATE', 'ERROR'], rows);
  const end = rollout.state === 'running' ? `running (wave ${rollout.wave + 1} of ${rollout.waves})` : rollout.state === 'succeeded' ? `done: every machine is on ${rollout.version}` : `stopped: ${rollout.error ?? 'a machine failed'}`;
  return `${table}${end}\n`;
}
