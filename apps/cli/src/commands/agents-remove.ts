import { Command } from 'commander';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { aboutAgent, connectionOptionsOf, withConnectionOptions } from '../options.js';

/** `farol agents rm NAME`: forgets a machine; its agent is refused from then on. */
export function createAgentsRemoveCommand(context: CliContext): Command {
  const command = new Command('rm')
    .alias('remove')
    .description('remove an agent from the hub (it will be refused until enrolled again)')
    .argument('<agent>', 'agent name or id');
  withConnectionOptions(command).action(async (ref: string) => {
    const connection = connectionOptionsOf(command);
    const { client } = await connect(connection, context);
    await aboutAgent(ref, context, () => client.deleteAgent(ref));
    context.stdout(connection.json ? formatJson({ removed: ref }) : `removed agent ${ref}\n`);
  });
  return command;
}
