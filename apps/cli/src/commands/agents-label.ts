import { LabelKeySchema, type Labels } from '@farol/protocol';
import { Command } from 'commander';
import { UsageError } from '../cli-error.js';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson, formatLabels } from '../output/format.js';
import { aboutAgent, connectionOptionsOf, parseLabelAssignment, withConnectionOptions } from '../options.js';

/** One change of `farol agents label`: set a value, or remove the key (`key-`). */
export type LabelChange = { key: string; value: string } | { key: string; remove: true };

/** Parses `k=v` and `k-` arguments; throws a usage error for anything else. */
export function parseLabelChanges(args: readonly string[]): LabelChange[] {
  return args.map((arg) => {
    if (arg.endsWith('-') && !arg.includes('=')) {
      const key = arg.slice(0, -1);
      if (!LabelKeySchema.safeParse(key).success) throw new UsageError(`"${arg}": "${key}" is not a label key`);
      return { key, remove: true as const };
    }
    try {
      const [key, value] = parseLabelAssignment(arg);
      return { key, value };
    } catch (error) {
      throw new UsageError(`${(error as Error).message}; use key=value to set or key- to remove`, { cause: error });
    }
  });
}

/** Applies changes in order to a copy of the labels. */
export function applyLabelChanges(labels: Labels, changes: readonly LabelChange[]): Labels {
  const next: Labels = { ...labels };
  for (const change of changes) {
    if ('remove' in change) delete next[change.key];
    else next[change.key] = change.value;
  }
  return next;
}

/** `farol agents label NAME k=v k2-`: sets and removes labels of one agent. */
export function createAgentsLabelCommand(context: CliContext): Command {
  const command = new Command('label')
    .description('set labels (key=value) or remove them (key-) on an agent')
    .argument('<agent>', 'agent name or id')
    .argument('<changes...>', 'key=value to set, key- to remove');
  withConnectionOptions(command).action(async (ref: string, args: string[]) => {
    const changes = parseLabelChanges(args);
    const connection = connectionOptionsOf(command);
    const { client } = await connect(connection, context);
    // The hub replaces the whole label set, so read it first. Two operators labelling the same
    // agent at the same moment can overwrite each other; acceptable for a manual command.
    const agent = await aboutAgent(ref, context, () => client.getAgent(ref));
    const updated = await aboutAgent(ref, context, () =>
      client.updateAgent(agent.id, { labels: applyLabelChanges(agent.labels, changes) }),
    );
    context.stdout(connection.json ? formatJson(updated) : `${updated.name}: ${formatLabels(updated.labels)}\n`);
  });
  return command;
}
