import { isContainerRef, type Command as FarolCommand } from '@farol/protocol';
import { Command, InvalidArgumentError } from 'commander';
import { ExitRequest } from '../cli-error.js';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { describeOutcome } from '../output/jobs.js';
import { aboutAgent, connectionOptionsOf, withConnectionOptions } from '../options.js';

/** Commander parser: a container name or id as Docker allows it, checked before anything is sent. */
export function parseContainerRef(text: string): string {
  if (!isContainerRef(text)) throw new InvalidArgumentError('a container is named by its Docker name (letters, digits, _ . -) or its hex id');
  return text;
}

/** Runs one Docker command on one machine and prints its outcome; exits 1 unless it succeeded (or is queued). */
export async function runContainerCommand(command: Command, context: CliContext, ref: string, request: FarolCommand, print: (stdout: string, stderr: string) => void): Promise<void> {
  const connection = connectionOptionsOf(command);
  const { client } = await connect(connection, context);
  const job = await aboutAgent(ref, context, () => client.runCommand(ref, { command: request }));
  const target = job.targets[0]!;
  if (connection.json) context.stdout(formatJson(job));
  else if (target.state === 'queued' || target.state === 'sent') context.stdout(`${target.agentName} is offline; the command runs when it returns (job ${job.id})\n`);
  else if (target.state === 'succeeded') print(target.stdout, target.stderr);
  else context.stderr(`farol: ${target.agentName}: ${describeOutcome(target)}\n`);
  if (target.state !== 'succeeded' && target.state !== 'queued' && target.state !== 'sent') throw new ExitRequest(1);
}

const ACTIONS = {
  restart: { kind: 'docker_restart', summary: 'restart a container' },
  stop: { kind: 'docker_stop', summary: 'stop a container' },
  start: { kind: 'docker_start', summary: 'start a stopped container' },
} as const;

/** `farol containers restart|stop|start AGENT NAME`. */
export function createContainersActionCommand(verb: keyof typeof ACTIONS, context: CliContext): Command {
  const { kind, summary } = ACTIONS[verb];
  const command = new Command(verb)
    .description(summary)
    .argument('<agent>', 'agent name or id')
    .argument('<name>', 'container name or id', parseContainerRef);
  if (verb !== 'start') command.option('--timeout <seconds>', 'grace before Docker kills it (default 10)', parseSeconds);
  withConnectionOptions(command).action(async (ref: string, container: string) => {
    const timeout = (command.opts() as { timeout?: number }).timeout;
    const request: FarolCommand = kind === 'docker_start' ? { kind, container } : { kind, container, ...(timeout !== undefined ? { timeoutSeconds: timeout } : {}) };
    await runContainerCommand(command, context, ref, request, (stdout) => context.stdout(`${stdout.trim() || 'done'}\n`));
  });
  return command;
}

function parseSeconds(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value > 600) throw new InvalidArgumentError('expected whole seconds from 0 to 600');
  return value;
}
