import { AuditActionSchema, parseDuration, type AuditAction, type AuditEntry } from '@farol/protocol';
import { Command, InvalidArgumentError, Option } from 'commander';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson, formatTimestamp } from '../output/format.js';
import { renderTable } from '../output/table.js';
import { connectionOptionsOf, parsePositiveInteger, withConnectionOptions } from '../options.js';

interface AuditOptions {
  actor?: string;
  action?: AuditAction;
  agent?: string;
  since?: string;
  limit?: number;
}

/** `1h` (ago) or an ISO date, as ms since epoch. */
export function parseSince(text: string, now: number): number {
  if (/^\d+(ms|s|m|h|d)$/.test(text)) return now - parseDuration(text);
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new InvalidArgumentError(`"${text}" is neither a duration (1h, 7d) nor a date (2026-11-23T10:00Z)`);
  return at;
}

/** The few words of an entry that say what happened; `[mcp]` when it came through `farol mcp` (#20). */
export function summarizeEntry(entry: AuditEntry): string {
  const d = entry.details as Record<string, unknown>;
  const words = summarizeDetails(entry.action, d);
  return d.client === 'mcp' && entry.action.startsWith('command.') ? `${words} [mcp]` : words;
}

function summarizeDetails(action: AuditEntry['action'], d: Record<string, unknown>): string {
  switch (action) {
    case 'command.create':
      return `${String(d.summary ?? '')} on ${Array.isArray(d.agents) ? d.agents.length : '?'} machine(s)`;
    case 'command.result':
      return `${String(d.agentName ?? '')}: ${String(d.state ?? '')}${d.exitCode === null || d.exitCode === undefined ? '' : ` (exit ${String(d.exitCode)})`}${d.error ? ` ${String(d.error)}` : ''}`;
    case 'command.cancel':
      return `${String(d.runningTargets ?? 0)} running target(s) asked to stop`;
    case 'command.result_refused':
      return `result for unknown command ${String(d.commandId ?? '')} refused`;
    default:
      return JSON.stringify(d);
  }
}

/** `farol audit`: who did what to which machines, newest first. */
export function createAuditListCommand(context: CliContext): Command {
  const command = new Command('ls')
    .alias('list')
    .description('list audit entries, newest first')
    .option('--actor <actor>', 'only entries by this actor (admin, agent:<id>, hub)')
    .addOption(
      new Option('--action <action>', `only this action (${AuditActionSchema.options.join(', ')})`).argParser((value) => {
        if (!AuditActionSchema.safeParse(value).success) throw new InvalidArgumentError(`expected one of ${AuditActionSchema.options.join(', ')}`);
        return value;
      }),
    )
    .option('--agent <agent>', 'only entries about this machine (name or id)')
    .option('--since <when>', 'only entries since, e.g. 1h or 2026-11-23')
    .option('--limit <n>', 'how many (default 100)', parsePositiveInteger);
  withConnectionOptions(command).action(async (options: AuditOptions) => {
    const connection = connectionOptionsOf(command);
    const { client } = await connect(connection, context);
    const list = await client.listAudit({
      actor: options.actor,
      action: options.action,
      agent: options.agent,
      from: options.since === undefined ? undefined : parseSince(options.since, context.now()),
      limit: options.limit,
    });
    if (connection.json) {
      context.stdout(formatJson(list));
      return;
    }
    if (list.entries.length === 0) {
      context.stdout('no audit entries match\n');
      return;
    }
    context.stdout(
      renderTable(
        ['SEQ', 'TIME', 'ACTOR', 'ACTION', 'JOB', 'WHAT'],
        list.entries.map((entry) => [String(entry.seq), formatTimestamp(entry.at), entry.actor, entry.action, entry.jobId ?? '', summarizeEntry(entry)]),
      ),
    );
  });
  return command;
}
