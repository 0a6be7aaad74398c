import { createAlertsClient } from '@farol/client';
import type { AlertRule } from '@farol/protocol';
import { Command } from 'commander';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson, formatSpan } from '../output/format.js';
import { renderTable } from '../output/table.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

/** `farol rules ls`: the alert rules, what each watches and where it sends. */
export function createRulesListCommand(context: CliContext): Command {
  const command = new Command('ls').alias('list').description('list alert rules');
  withConnectionOptions(command).action(async () => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createAlertsClient);
    const rules = await client.listRules();
    context.stdout(connection.json ? formatJson({ rules }) : renderRules(rules));
  });
  return command;
}

export function describeCondition(rule: AlertRule): string {
  const c = rule.condition;
  const held = 'for' in c && c.for > 0 ? ` for ${formatSpan(c.for)}` : '';
  switch (c.kind) {
    case 'metric':
      return `${c.metric} ${c.op} ${c.threshold}${c.recovery !== undefined ? ` (clears at ${c.recovery})` : ''}${held}`;
    case 'offline':
      return `offline${held}`;
    case 'online':
      return 'back online';
    case 'container':
      return `container ${c.condition}${c.condition === 'restarting' ? ` ${c.restarts}× in ${formatSpan(c.window)}` : ''} (${c.containers ? c.containers.join(',') : 'watched'})${held}`;
    case 'job_failed':
      return `job ${c.states.join('|')}`;
  }
}

export function renderRules(rules: readonly AlertRule[]): string {
  if (rules.length === 0) return 'no rules\n';
  return renderTable(
    ['NAME', 'ON', 'SEVERITY', 'CONDITION', 'SCOPE', 'CHANNELS', 'SOURCE'],
    rules.map((r) => [
      r.name,
      r.enabled ? 'yes' : 'no',
      r.severity,
      describeCondition(r),
      'all' in r.scope ? 'all' : 'agents' in r.scope ? r.scope.agents.join(',') : r.scope.selector,
      r.channels.length > 0 ? r.channels.join(',') : '(default)',
      r.source,
    ]),
  );
}
