import { createAlertsClient, createChannelsClient, FarolApiError } from '@farol/client';
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
    if (rules.some((rule) => rule.enabled) && (await countChannels(connection, context)) === 0) {
      context.stderr(`farol: warning: no notification channel is configured, so these rules notify no one; add one with ${context.commandName} channels add NAME --type telegram --settings-file FILE (or in the dashboard under Alerts → Channels)\n`);
    }
  });
  return command;
}

/** How many channels the hub has; null when this token may not read them (nothing to say then). */
async function countChannels(connection: ReturnType<typeof connectionOptionsOf>, context: CliContext): Promise<number | null> {
  const channels = await connectTo(connection, context, createChannelsClient);
  try {
    return (await channels.listChannels()).channels.length;
  } catch (error) {
    // A token without channel permissions still lists rules; the warning is only a hint.
    if (error instanceof FarolApiError && error.status === 403) return null;
    throw error;
  }
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
    case 'check': {
      const which = c.checks ? c.checks.join(',') : 'every check';
      const what = c.condition === 'down' ? `down from ${c.minLocations}+ locations` : c.condition === 'latency' ? `latency > ${c.threshold ?? '?'} ms` : c.condition === 'certificate' ? `certificate < ${c.days} days` : `plugin ${c.states.join('|')}`;
      return `check ${what} (${which})${held}`;
    }
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
