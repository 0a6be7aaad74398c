import type { JoinToken } from '@farol/protocol';
import { Command } from 'commander';
import { connect } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson, formatLabels, formatRelative, MISSING } from '../output/format.js';
import { renderTable } from '../output/table.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

/** `farol join-tokens ls`: join tokens with their state and use count (never the secrets). */
export function createTokenListCommand(context: CliContext): Command {
  const command = new Command('ls').alias('list').description('list join tokens');
  withConnectionOptions(command).action(async () => {
    const connection = connectionOptionsOf(command);
    const { client } = await connect(connection, context);
    const { tokens } = await client.listJoinTokens();
    context.stdout(connection.json ? formatJson({ tokens }) : renderTokens(tokens, context.now()));
  });
  return command;
}

/** The table of `farol join-tokens ls`. */
export function renderTokens(tokens: readonly JoinToken[], now: number): string {
  if (tokens.length === 0) return 'no join tokens\n';
  const sorted = [...tokens].sort((a, b) => b.createdAt - a.createdAt);
  return renderTable(
    ['ID', 'STATE', 'USES', 'EXPIRES', 'CREATED', 'LABELS', 'NOTE'],
    sorted.map((token) => [
      token.id,
      token.state,
      `${token.uses}/${token.maxUses}`,
      formatRelative(token.expiresAt, now),
      formatRelative(token.createdAt, now),
      formatLabels(token.labels),
      token.note ?? MISSING,
    ]),
  );
}
