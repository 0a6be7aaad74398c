import { createAlertsClient } from '@farol/client';
import type { Silence } from '@farol/protocol';
import { Command } from 'commander';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson, formatRelative, formatTimestamp } from '../output/format.js';
import { renderTable } from '../output/table.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

/** `farol silence ls`: silences now or to come (--all: with the expired ones). */
export function createSilenceListCommand(context: CliContext): Command {
  const command = new Command('ls').alias('list').description('list silences now or to come').option('--all', 'include expired silences');
  withConnectionOptions(command).action(async (options: { all?: boolean }) => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createAlertsClient);
    const silences = await client.listSilences(options.all === true);
    context.stdout(connection.json ? formatJson({ silences }) : renderSilences(silences, context.now()));
  });
  return command;
}

export function describeMatcher(silence: Silence): string {
  const m = silence.matcher;
  const parts = [m.all ? 'everything' : '', m.agents ? `agents ${m.agents.join(',')}` : '', m.selector ? `labels ${m.selector}` : '', m.rules ? `rules ${m.rules.join(',')}` : ''];
  return parts.filter(Boolean).join(' + ');
}

export function renderSilences(silences: readonly Silence[], now: number): string {
  if (silences.length === 0) return 'no silences\n';
  return renderTable(
    ['ID', 'ACTIVE', 'MATCHES', 'ENDS', 'BY', 'REASON'],
    silences.map((s) => [s.id, s.active ? 'yes' : s.endsAt <= now ? 'ended' : `from ${formatTimestamp(s.startsAt)}`, describeMatcher(s), formatRelative(s.endsAt, now), s.createdBy, s.reason]),
  );
}
