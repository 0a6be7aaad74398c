import { MAX_DOCKER_LOG_TAIL, parseDuration } from '@farol/protocol';
import { Command, InvalidArgumentError } from 'commander';
import type { CliContext } from '../context.js';
import { withConnectionOptions } from '../options.js';
import { parseContainerRef, runContainerCommand } from './containers-action.js';

/** `--since`: a duration back from now (`10m`, `2h`), an ISO time, or unix seconds; as unix seconds. */
export function parseSince(text: string, now: number): number {
  if (/^\d+(ms|s|m|h|d)$/.test(text)) return Math.floor((now - parseDuration(text)) / 1000);
  if (/^\d{9,11}$/.test(text)) return Number(text);
  const at = Date.parse(text);
  if (/^\d{4}-\d\d-\d\d/.test(text) && Number.isFinite(at)) return Math.floor(at / 1000);
  throw new InvalidArgumentError('expected a duration back from now (10m, 2h), an ISO time (2026-11-23T10:00:00Z) or unix seconds');
}

function parseTail(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > MAX_DOCKER_LOG_TAIL) throw new InvalidArgumentError(`expected a number of lines from 1 to ${MAX_DOCKER_LOG_TAIL}`);
  return value;
}

/** `farol containers logs AGENT NAME`: the container's last lines; its stderr goes to stderr. */
export function createContainersLogsCommand(context: CliContext): Command {
  const command = new Command('logs')
    .description('print a container\'s last log lines (stdout to stdout, stderr to stderr)')
    .argument('<agent>', 'agent name or id')
    .argument('<name>', 'container name or id', parseContainerRef)
    .option('--tail <lines>', 'how many lines (default 100)', parseTail)
    .option('--since <when>', 'only lines after: 10m, 2h, an ISO time or unix seconds', (text: string) => parseSince(text, context.now()))
    .option('--timestamps', 'prefix each line with its time');
  withConnectionOptions(command).action(async (ref: string, container: string) => {
    const options = command.opts() as { tail?: number; since?: number; timestamps?: boolean };
    await runContainerCommand(
      command,
      context,
      ref,
      {
        kind: 'docker_logs',
        container,
        ...(options.tail !== undefined ? { tail: options.tail } : {}),
        ...(options.since !== undefined ? { since: options.since } : {}),
        ...(options.timestamps ? { timestamps: true } : {}),
      },
      (stdout, stderr) => {
        if (stdout) context.stdout(stdout);
        if (stderr) context.stderr(stderr);
      },
    );
  });
  return command;
}
