import { FarolApiError } from '@farol/client';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { formatCounts } from '../output/jobs.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';
import { aboutJob } from './jobs-show.js';

/** `farol jobs cancel ID`: stops what has not finished (running commands with their process tree). */
export function createJobsCancelCommand(context: CliContext): Command {
  const command = new Command('cancel').description('cancel a job: queued targets never start, running ones are killed').argument('<job>', 'job id');
  withConnectionOptions(command).action(async (id: string) => {
    const connection = connectionOptionsOf(command);
    const { client } = await connect(connection, context);
    try {
      const job = await aboutJob(id, context, () => client.cancelJob(id));
      context.stdout(connection.json ? formatJson(job) : `cancelling ${job.id}: ${formatCounts(job.counts)}\n`);
    } catch (error) {
      if (error instanceof FarolApiError && error.code === 'conflict') throw new CliError(`job ${id} has already finished`, { cause: error });
      throw error;
    }
  });
  return command;
}
