import { createContainersClient } from '@farol/client';
import { ContainerGlobSchema, ContainerUpdateRuleCreateSchema, type ContainerRollout, type ContainerUpdateRule } from '@farol/protocol';
import { Command, InvalidArgumentError } from 'commander';
import { CliError } from '../cli-error.js';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson, formatRelative, MISSING } from '../output/format.js';
import { renderTable } from '../output/table.js';
import { collect, connectionOptionsOf, explainFailure, withConnectionOptions } from '../options.js';
import { parseRegistrySecret } from './containers-deploy.js';

function parseGlob(text: string, previous: string[] | undefined): string[] {
  if (!ContainerGlobSchema.safeParse(text).success) throw new InvalidArgumentError('a container name or glob: letters, digits, _ . - and * ?');
  return [...(previous ?? []), text];
}

/** `HH:MM-HH:MM[@Zone]` → the rule's daily window. */
function parseWindow(text: string): { start: string; end: string; timezone: string } {
  const match = /^(\d\d:\d\d)-(\d\d:\d\d)(?:@(.+))?$/.exec(text);
  if (!match) throw new InvalidArgumentError('a window is HH:MM-HH:MM, optionally @Time/Zone (02:00-05:00@Europe/Lisbon)');
  return { start: match[1]!, end: match[2]!, timezone: match[3] ?? 'UTC' };
}

export function renderRules(rules: ContainerUpdateRule[]): string {
  if (rules.length === 0) return 'no auto-update rules (containers labelled farol.auto-update=true are still updated)\n';
  return renderTable(
    ['ID', 'MACHINES', 'CONTAINERS', 'WINDOW', 'CHANNELS', 'REGISTRY', 'BY'],
    rules.map((r) => [
      r.id,
      r.selector,
      r.containers.join(','),
      r.window ? `${r.window.start}-${r.window.end} ${r.window.timezone}` : MISSING,
      r.channels.join(',') || MISSING,
      r.registry ? `${r.registry} (secret ${r.registrySecret})` : MISSING,
      r.createdBy,
    ]),
  );
}

export function renderRollouts(rollouts: ContainerRollout[], now: number): string {
  if (rollouts.length === 0) return 'no automatic container updates yet\n';
  return renderTable(
    ['ID', 'CONTAINER', 'DIGEST', 'STATE', 'MACHINES', 'STARTED', 'ERROR'],
    rollouts.map((r) => [
      r.id,
      r.container,
      r.digest.replace(/^sha256:/, '').slice(0, 12),
      r.state,
      r.targets.map((t) => `${t.agentName}:${t.state}`).join(' '),
      formatRelative(r.createdAt, now),
      r.error ?? '',
    ]),
  );
}

/** `farol containers auto-update ls|add|rm|rollouts` (#18): which containers the hub keeps on their tag's newest digest. */
export function createContainersAutoUpdateCommand(context: CliContext): Command {
  const group = new Command('auto-update').description('keep containers on their tag\'s newest image: rules, and the rollouts they started');

  const ls = new Command('ls').alias('list').description('list the auto-update rules');
  withConnectionOptions(ls).action(async () => {
    const connection = connectionOptionsOf(ls);
    const rules = await (await connectTo(connection, context, createContainersClient)).listUpdateRules();
    context.stdout(connection.json ? formatJson({ rules }) : renderRules(rules));
  });

  const add = new Command('add')
    .description('update the named containers on the selected machines when their registry has a new digest (one machine first, then the rest)')
    .argument('<selector>', 'machines: a label selector (env=prod) or all')
    .requiredOption('-c, --container <glob>', 'container name or glob (repeatable)', parseGlob)
    .option('--window <HH:MM-HH:MM[@zone]>', 'only start updates inside this daily window', parseWindow)
    .option('--channel <name>', 'channel told of updates and rollbacks (repeatable)', collect)
    .option('--registry <host[:port]>', 'a private registry whose login the machines may fetch for their digest checks and updates (with --registry-secret)')
    .option('--registry-secret <NAME>', 'hub secret holding that registry\'s login as {"username":"…","password":"…"}; its scope must include the machines', parseRegistrySecret);
  type AddOptions = { container: string[]; window?: ReturnType<typeof parseWindow>; channel?: string[]; registry?: string; registrySecret?: string };
  withConnectionOptions(add).action(async (selector: string, options: AddOptions) => {
    const connection = connectionOptionsOf(add);
    const parsed = ContainerUpdateRuleCreateSchema.safeParse({
      selector,
      containers: options.container,
      ...(options.window ? { window: options.window } : {}),
      ...(options.channel ? { channels: options.channel } : {}),
      ...(options.registry !== undefined ? { registry: options.registry } : {}),
      ...(options.registrySecret ? { registrySecret: options.registrySecret } : {}),
    });
    if (!parsed.success) throw new CliError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '), { exitCode: 2 });
    const client = await connectTo(connection, context, createContainersClient);
    const rule = await client.addUpdateRule(parsed.data);
    context.stdout(connection.json ? formatJson(rule) : `added auto-update rule ${rule.id}: ${rule.containers.join(',')} on ${rule.selector}\n`);
  });

  const rm = new Command('rm').alias('remove').description('remove an auto-update rule').argument('<id>', 'rule id (cur_…)');
  withConnectionOptions(rm).action(async (id: string) => {
    const connection = connectionOptionsOf(rm);
    const client = await connectTo(connection, context, createContainersClient);
    await explainFailure(
      () => client.removeUpdateRule(id),
      (error) => (error.status === 404 || error.status === 400 ? `no auto-update rule "${id}"; see ${context.commandName} containers auto-update ls` : undefined),
    );
    context.stdout(connection.json ? formatJson({ removed: id }) : `removed auto-update rule ${id}\n`);
  });

  const rollouts = new Command('rollouts').description('the automatic updates started, newest first, with each machine\'s step');
  withConnectionOptions(rollouts).action(async () => {
    const connection = connectionOptionsOf(rollouts);
    const list = await (await connectTo(connection, context, createContainersClient)).listRollouts();
    context.stdout(connection.json ? formatJson({ rollouts: list }) : renderRollouts(list, context.now()));
  });

  for (const command of [ls, add, rm, rollouts]) group.addCommand(command);
  return group;
}
