import { createContainersClient } from '@farol/client';
import type { AgentContainers, ContainerSample } from '@farol/protocol';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatBytes, formatJson, formatPercent, formatRelative, MISSING } from '../output/format.js';
import { renderTable } from '../output/table.js';
import { aboutAgent, connectionOptionsOf, withConnectionOptions } from '../options.js';

/** `farol containers ls AGENT [NAME]`: the containers of the machine's latest heartbeat. */
export function createContainersListCommand(context: CliContext): Command {
  const command = new Command('ls')
    .alias('list')
    .description('list a machine\'s containers (from its latest heartbeat)')
    .argument('<agent>', 'agent name or id')
    .argument('[name]', 'only this container');
  withConnectionOptions(command).action(async (ref: string, name: string | undefined) => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createContainersClient);
    const answer = await aboutAgent(ref, context, () => client.listContainers(ref));
    const containers = name === undefined ? answer.containers : answer.containers.filter((c) => c.name === name || c.id.startsWith(name));
    if (name !== undefined && containers.length === 0) {
      throw new CliError(`${ref} reports no container "${name}"; see ${context.commandName} containers ls ${ref}`);
    }
    context.stdout(connection.json ? formatJson({ ...answer, containers }) : renderContainers({ ...answer, containers }, ref, context.now()));
  });
  return command;
}

function health(container: ContainerSample): string {
  return container.health === 'none' ? MISSING : container.health;
}

function shortDigest(digest: string | null | undefined): string {
  return digest ? digest.replace(/^sha256:/, '').slice(0, 12) : MISSING;
}

/**
 * "available <digest>" when the registry holds a newer image, "current" when checked and not,
 * with "(auto)" when opted in, "(auto 02:00-04:00)" with its farol.auto-update.window label.
 */
function updateColumn(container: ContainerSample): string {
  const said = container.availableDigest ? `available ${shortDigest(container.availableDigest)}` : container.availableDigest === null ? 'current' : MISSING;
  if (!container.autoUpdate) return said;
  return container.autoUpdateWindow ? `${said} (auto ${container.autoUpdateWindow})` : `${said} (auto)`;
}

function state(container: ContainerSample): string {
  return container.state === 'exited' && container.exitCode !== null ? `exited (${container.exitCode})` : container.state;
}

/** The table, or one line saying why there is none. */
export function renderContainers(answer: AgentContainers, ref: string, now: number): string {
  if (answer.ts === null) return `${ref} has not reported yet\n`;
  if (answer.docker === null) return `${ref} does not report containers (its agent predates Docker support)\n`;
  if (answer.docker.state !== 'available' && answer.containers.length === 0) {
    const { state, endpoint, error } = answer.docker;
    // The agent's reason usually names the endpoint already: say it once (#21).
    if (error?.includes(endpoint)) return `${ref}: Docker is ${state}: ${error}\n`;
    return `${ref}: Docker is ${state} at ${endpoint}${error ? `: ${error}` : ''}\n`;
  }
  if (answer.containers.length === 0) return `${ref} has no containers\n`;
  const table = renderTable(
    ['NAME', 'STATE', 'HEALTH', 'RESTARTS', 'CPU', 'MEMORY', 'IMAGE', 'DIGEST', 'UPDATE', 'STARTED', 'WATCHED'],
    answer.containers.map((c) => [
      c.name,
      state(c),
      health(c),
      c.state === 'missing' ? MISSING : String(c.restartCount),
      formatPercent(c.cpuPercent, 1),
      c.memoryBytes === null ? MISSING : `${formatBytes(c.memoryBytes)}${c.memoryLimitBytes ? ` / ${formatBytes(c.memoryLimitBytes)}` : ''}`,
      c.image || MISSING,
      shortDigest(c.digest),
      updateColumn(c),
      c.startedAt === null ? MISSING : formatRelative(c.startedAt, now),
      c.watched ? 'yes' : '',
    ]),
  );
  const note = answer.docker.state === 'available' ? '' : `Docker is ${answer.docker.state}${answer.docker.error ? `: ${answer.docker.error}` : ''}\n`;
  return `${table}${note}`;
}
