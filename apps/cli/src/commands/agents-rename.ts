import { AgentNameSchema } from '@farol/protocol';
import { Command } from 'commander';
import { UsageError } from '../cli-error.js';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { aboutAgent, connectionOptionsOf, withConnectionOptions } from '../options.js';

/** `farol agents rename NAME NEW`. */
export function createAgentsRenameCommand(context: CliContext): Command {
  const command = new Command('rename')
    .description('give an agent a new name')
    .argument('<agent>', 'agent name or id')
    .argument('<new-name>', 'the new name');
  withConnectionOptions(command).action(async (ref: string, name: string) => {
    const check = AgentNameSchema.safeParse(name);
    if (!check.success) throw new UsageError(`"${name}": ${check.error.issues[0]?.message ?? 'not a valid name'}`);
    const connection = connectionOptionsOf(command);
    const { client } = await connect(connection, context);
    const updated = await aboutAgent(ref, context, () => client.updateAgent(ref, { name }));
    context.stdout(connection.json ? formatJson(updated) : `renamed ${ref} to ${updated.name}\n`);
  });
  return command;
}
