import {
  CHANNEL_SECRET_FIELDS,
  SECRET_MASK,
  type Channel,
  type ChannelTemplate,
  type ChannelType,
  type MaintenanceWindow,
  type QuietHours,
  type RateLimit,
} from '@farol/protocol';
import type { SecretBox } from '../../infra/secret-box.js';
import type { ChannelRow } from './notify.repository.js';
import type { SendableChannel } from './providers.js';

/** Unless a channel says otherwise: 20 messages a minute (Telegram allows 20/min to a group). */
export const DEFAULT_RATE_LIMIT: RateLimit = { count: 20, perSeconds: 60 };

/** A channel with its secrets opened and its delivery policy, for the sender. */
export interface OpenChannel extends SendableChannel {
  enabled: boolean;
  rateLimit: RateLimit;
  quietHours: QuietHours | null;
  maintenance: MaintenanceWindow[];
}

export const channelSecretContext = (id: string): string => `notify_channels:${id}`;

/** What the API shows instead of a secret: a URL keeps its origin so the operator recognises it. */
export function maskSecret(value: string): string {
  if (/^https?:\/\//.test(value)) {
    try {
      return `${new URL(value).origin}/${SECRET_MASK}`;
    } catch {
      // Not a parsable URL after all: mask it whole.
    }
  }
  return SECRET_MASK;
}

/**
 * Splits settings into what may be stored in clear (secrets replaced by their masks) and the
 * sealed secrets.
 */
export function sealSettings(type: ChannelType, settings: Record<string, unknown>, id: string, box: SecretBox): { clear: string; sealed: string | null } {
  const clear: Record<string, unknown> = {};
  const secrets: Record<string, string> = {};
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined) continue;
    if (CHANNEL_SECRET_FIELDS[type].includes(key) && typeof value === 'string') {
      secrets[key] = value;
      clear[key] = maskSecret(value);
    } else {
      clear[key] = value;
    }
  }
  return { clear: JSON.stringify(clear), sealed: Object.keys(secrets).length > 0 ? box.seal(JSON.stringify(secrets), channelSecretContext(id)) : null };
}

/** The settings with secrets opened. */
export function openSettings(row: ChannelRow, box: SecretBox): Record<string, unknown> {
  const clear = JSON.parse(row.settings) as Record<string, unknown>;
  const secrets = row.secrets_sealed ? (JSON.parse(box.open(row.secrets_sealed, channelSecretContext(row.id))) as Record<string, string>) : {};
  return { ...clear, ...secrets };
}

export function toChannel(row: ChannelRow): Channel {
  return {
    id: row.id,
    name: row.name,
    type: row.type as ChannelType,
    enabled: row.enabled === 1,
    settings: JSON.parse(row.settings) as Record<string, unknown>,
    template: row.template ? (JSON.parse(row.template) as ChannelTemplate) : null,
    rateLimit: row.rate_limit ? (JSON.parse(row.rate_limit) as RateLimit) : DEFAULT_RATE_LIMIT,
    quietHours: row.quiet_hours ? (JSON.parse(row.quiet_hours) as QuietHours) : null,
    maintenance: JSON.parse(row.maintenance) as MaintenanceWindow[],
    source: row.source === 'file' ? 'file' : 'api',
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function openChannel(row: ChannelRow, box: SecretBox): OpenChannel {
  const channel = toChannel(row);
  return {
    id: channel.id,
    name: channel.name,
    type: channel.type,
    settings: openSettings(row, box),
    template: channel.template,
    enabled: channel.enabled,
    rateLimit: channel.rateLimit,
    quietHours: channel.quietHours,
    maintenance: channel.maintenance,
  };
}
