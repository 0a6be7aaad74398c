import { CHANNEL_SECRET_FIELDS, SECRET_MASK, type Channel, type ChannelType, type MaintenanceWindow, type QuietHours, type RateLimit } from '@farol/protocol';
import type { SecretBox } from '../../infra/secret-box.js';
import type { ChannelRecord } from './notify.repository.js';
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
export function sealSettings(type: ChannelType, settings: Record<string, unknown>, id: string, box: SecretBox): { clear: Record<string, unknown>; sealed: string | null } {
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
  return { clear, sealed: Object.keys(secrets).length > 0 ? box.seal(JSON.stringify(secrets), channelSecretContext(id)) : null };
}

/** The settings with secrets opened. */
export function openSettings(record: ChannelRecord, box: SecretBox): Record<string, unknown> {
  const secrets = record.secretsSealed ? (JSON.parse(box.open(record.secretsSealed, channelSecretContext(record.id))) as Record<string, string>) : {};
  return { ...record.settings, ...secrets };
}

export function toChannel(record: ChannelRecord): Channel {
  return {
    id: record.id,
    name: record.name,
    type: record.type,
    enabled: record.enabled,
    settings: record.settings,
    template: record.template,
    rateLimit: record.rateLimit ?? DEFAULT_RATE_LIMIT,
    quietHours: record.quietHours,
    maintenance: record.maintenance,
    source: record.source,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

export function openChannel(record: ChannelRecord, box: SecretBox): OpenChannel {
  return {
    id: record.id,
    name: record.name,
    type: record.type,
    settings: openSettings(record, box),
    template: record.template,
    enabled: record.enabled,
    rateLimit: record.rateLimit ?? DEFAULT_RATE_LIMIT,
    quietHours: record.quietHours,
    maintenance: record.maintenance,
  };
}
