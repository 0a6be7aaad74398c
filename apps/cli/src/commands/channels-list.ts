import { createChannelsClient } from '@farol/client';
import type { Channel } from '@farol/protocol';
import { Command } from 'commander';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson, formatRelative, MISSING } from '../output/format.js';
import { renderTable } from '../output/table.js';
import { connectionOptionsOf, withConnectionOptions } from '../options.js';

/** `farol channels ls`: notification channels with where they send (secrets stay masked). */
export function createChannelsListCommand(context: CliContext): Command {
  const command = new Command('ls').alias('list').description('list notification channels (secrets masked)');
  withConnectionOptions(command).action(async () => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createChannelsClient);
    const { channels } = await client.listChannels();
    context.stdout(connection.json ? formatJson({ channels }) : renderChannels(channels, context.now()));
  });
  return command;
}

/** Where a channel sends, in a few words, from its non-secret settings. */
function destination(channel: Channel): string {
  const s = channel.settings as Record<string, unknown>;
  const text = (key: string) => (typeof s[key] === 'string' ? (s[key] as string) : undefined);
  switch (channel.type) {
    case 'telegram':
      return `chat ${text('chatId') ?? '?'}`;
    case 'whatsapp':
      return `${text('number') ?? '?'} via ${text('instance') ?? '?'}`;
    case 'email':
      return Array.isArray(s.to) ? (s.to as string[]).join(', ') : MISSING;
    case 'ntfy':
      return `${text('serverUrl') ?? ''}/${text('topic') ?? ''}`;
    case 'webhook':
      return text('url') ?? MISSING;
    default:
      return text('webhookUrl') ?? MISSING;
  }
}

export function renderChannels(channels: readonly Channel[], now: number): string {
  if (channels.length === 0) return 'no channels\n';
  return renderTable(
    ['NAME', 'TYPE', 'STATE', 'SENDS TO', 'LIMIT', 'QUIET HOURS', 'SOURCE', 'UPDATED'],
    channels.map((c) => [
      c.name,
      c.type,
      c.enabled ? 'enabled' : 'disabled',
      destination(c),
      `${c.rateLimit.count}/${c.rateLimit.perSeconds}s`,
      c.quietHours ? `${c.quietHours.start}-${c.quietHours.end} ${c.quietHours.timezone}` : MISSING,
      c.source,
      formatRelative(c.updatedAt, now),
    ]),
  );
}
