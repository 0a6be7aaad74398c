import { Command } from 'commander';
import { ExitRequest } from '../cli-error.js';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { describeOutcome } from '../output/jobs.js';
import { aboutAgent, connectionOptionsOf, withConnectionOptions } from '../options.js';

/** `farol agents stop NAME`: asks the agent to stop itself (if its policy allows it). */
export function createAgentsStopCommand(context: CliContext): Command {
  const command = new Command('stop').description('stop an agent (a service manager will not restart it)').argument('<agent>', 'agent name or id');
  withConnectionOptions(command).action(async (ref: string) => {
    const connection = connectionOptionsOf(command);
    const { client } = await connect(connection, context);
    const job = await aboutAgent(ref, context, () => client.stopAgent(ref));
    const target = job.targets[0]!;
    if (connection.json) context.stdout(formatJson(job));
    else if (target.state === 'queued') context.stdout(`${target.agentName} is offline; it will stop when it returns (job ${job.id})\n`);
    else context.stdout(`${target.agentName}: ${target.state === 'succeeded' ? target.stdout.trim() || 'done' : describeOutcome(target)}\n`);
    if (target.state !== 'succeeded' && target.state !== 'queued') throw new ExitRequest(1);
  });
  return command;
}
