import { JobStateSchema } from '@farol/protocol';
import { Command, InvalidArgumentError, Option } from 'commander';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { renderJobs } from '../output/jobs.js';
import { connectionOptionsOf, parsePositiveInteger, withConnectionOptions } from '../options.js';

/** `farol jobs ls`: recent jobs, newest first. */
export function createJobsListCommand(context: CliContext): Command {
  const command = new Command('ls')
    .alias('list')
    .description('list jobs, newest first')
    .addOption(
      new Option('--state <state>', 'only running or done jobs').argParser((value) => {
        if (!JobStateSchema.safeParse(value).success) throw new InvalidArgumentError('expected running or done');
        return value;
      }),
    )
    .option('--limit <n>', 'how many (default 50)', parsePositiveInteger);
  withConnectionOptions(command).action(async (options: { state?: 'running' | 'done'; limit?: number }) => {
    const connection = connectionOptionsOf(command);
    const { client } = await connect(connection, context);
    const list = await client.listJobs({ state: options.state, limit: options.limit });
    context.stdout(connection.json ? formatJson(list) : renderJobs(list.jobs, context.now()));
  });
  return command;
}
