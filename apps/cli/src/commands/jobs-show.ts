import { FarolApiError } from '@farol/client';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { renderJob } from '../output/jobs.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

/** Runs a call about one job and turns a 404 into a line that says what to do. */
export async function aboutJob<T>(id: string, context: CliContext, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof FarolApiError && (error.status === 404 || (error.status === 400 && error.code === 'validation_failed'))) {
      throw new CliError(`no job "${id}"; see ${context.commandName} jobs ls`, { cause: error });
    }
    throw error;
  }
}

/** `farol jobs show ID`: each machine's state, exit code and output. */
export function createJobsShowCommand(context: CliContext): Command {
  const command = new Command('show').description("show a job: each machine's state, exit code and output").argument('<job>', 'job id');
  withConnectionOptions(command).action(async (id: string) => {
    const connection = connectionOptionsOf(command);
    const { client } = await connect(connection, context);
    const job = await aboutJob(id, context, () => client.getJob(id));
    context.stdout(connection.json ? formatJson(job) : renderJob(job, context.now()));
  });
  return command;
}
