import {
  CHANNEL_SECRET_FIELDS,
  ChannelCreateSchema,
  FarolError,
  SECRET_MASK,
  toFieldIssues,
  type Channel,
  type ChannelCreate,
  type ChannelPatch,
  type ChannelTemplate,
  type ChannelType,
  type DeliveryResult,
  type FieldIssue,
} from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import { randomId } from '../../infra/ids.js';
import type { Logger } from '../../infra/logger.js';
import type { SecretBox } from '../../infra/secret-box.js';
import { openChannel, openSettings, sealSettings, toChannel } from './channel-store.js';
import type { AuditService } from '../audit/audit.service.js';
import type { NetworkGuard } from './net-guard.js';
import type { ChannelRecord, NotifyRepository } from './notify.repository.js';
import { sendToChannel } from './providers.js';
import { ALERT_PLACEHOLDERS, TITLE_PLACEHOLDERS, unknownPlaceholders } from './render.js';

export interface ChannelsServiceDeps {
  repo: NotifyRepository;
  box: SecretBox;
  guard: NetworkGuard;
  clock: Clock;
  logger: Logger;
  /** Name shown in messages ("Farol" by default). */
  hubName?: string;
  /** Where channel changes are recorded, never with setting values (issue #11; main.ts always wires the audit log). */
  audit?: Pick<AuditService, 'record'>;
}

/** Settings holding a URL or host a message is sent to: checked by the address guard. */
const DESTINATION_FIELDS: Record<ChannelType, string[]> = {
  telegram: ['apiBase'],
  discord: ['webhookUrl'],
  slack: ['webhookUrl'],
  whatsapp: ['baseUrl'],
  email: ['host'],
  ntfy: ['serverUrl'],
  teams: ['webhookUrl'],
  webhook: ['url'],
};

/** Channel CRUD, configuration-file import and "send test". */
export function createChannelsService({ repo, box, guard, clock, logger, hubName, audit }: ChannelsServiceDeps) {
  async function find(ref: string): Promise<ChannelRecord> {
    const row = await repo.findChannel(ref);
    if (!row) throw new FarolError('not_found', `no channel "${ref}"; list them with farol channels ls`);
    return row;
  }

  function templateIssues(template: ChannelTemplate | null | undefined, prefix: string): FieldIssue[] {
    const issues: FieldIssue[] = [];
    for (const [field, allowed] of [['title', TITLE_PLACEHOLDERS], ['alert', ALERT_PLACEHOLDERS]] as const) {
      const text = template?.[field];
      if (!text) continue;
      const unknown = unknownPlaceholders(text, allowed);
      if (unknown.length > 0) issues.push({ path: `${prefix}template.${field}`, message: `unknown placeholder {{${unknown[0]}}}; use one of ${allowed.join(', ')}` });
    }
    return issues;
  }

  async function destinationIssues(type: ChannelType, settings: Record<string, unknown>, prefix: string): Promise<FieldIssue[]> {
    const issues: FieldIssue[] = [];
    for (const field of DESTINATION_FIELDS[type]) {
      const value = settings[field];
      if (typeof value !== 'string') continue;
      try {
        if (field === 'host') await guard.resolve(value);
        else await guard.checkUrl(value);
      } catch (error) {
        if (!(error instanceof FarolError)) throw error;
        issues.push({ path: `${prefix}settings.${field}`, message: error.message });
      }
    }
    return issues;
  }

  /** Validates a parsed create body beyond its schema: placeholders and destinations. */
  async function check(input: ChannelCreate, prefix = ''): Promise<void> {
    const issues = templateIssues(input.template, prefix);
    const refused = await destinationIssues(input.type, input.settings as Record<string, unknown>, prefix);
    if (refused.length > 0) throw new FarolError('destination_refused', `${refused[0]!.path}: ${refused[0]!.message}`, { issues: [...issues, ...refused] });
    if (issues.length > 0) throw new FarolError('validation_failed', `${issues[0]!.path}: ${issues[0]!.message}`, { issues });
  }

  function recordFor(input: ChannelCreate, id: string, source: 'api' | 'file', createdAt: number): ChannelRecord {
    const { clear, sealed } = sealSettings(input.type, input.settings as Record<string, unknown>, id, box);
    return {
      id,
      name: input.name,
      type: input.type,
      enabled: Boolean(input.enabled),
      settings: clear,
      secretsSealed: sealed,
      template: input.template ?? null,
      rateLimit: input.rateLimit ?? null,
      quietHours: input.quietHours ?? null,
      maintenance: input.maintenance ?? [],
      source,
      createdAt,
      updatedAt: clock.now(),
    };
  }

  function refuseFileManaged(row: ChannelRecord): void {
    if (row.source === 'file') throw new FarolError('conflict', `channel "${row.name}" comes from the configuration file; change it there`);
  }

  return {
    async list(): Promise<Channel[]> {
      return (await repo.listChannels()).map(toChannel);
    },

    async get(ref: string): Promise<Channel> {
      return toChannel(await find(ref));
    },

    async create(input: ChannelCreate, actor = 'hub'): Promise<Channel> {
      await check(input);
      if (await repo.findChannel(input.name)) throw new FarolError('name_taken', `a channel named "${input.name}" exists`);
      const row = recordFor(input, randomId('ch'), 'api', clock.now());
      await repo.insertChannel(row);
      logger.info({ channelId: row.id, name: row.name, type: row.type }, 'channel created');
      await audit?.record({ actor, action: 'channel.create', details: { channelId: row.id, name: row.name, type: row.type, enabled: input.enabled ?? true } });
      return toChannel(row);
    },

    async update(ref: string, patch: ChannelPatch, actor = 'hub'): Promise<Channel> {
      const row = await find(ref);
      refuseFileManaged(row);
      const type = row.type;
      const current = openSettings(row, box);
      const changes = { ...patch.settings };
      // A secret sent back as its mask means "unchanged".
      for (const field of CHANNEL_SECRET_FIELDS[type]) {
        const value = changes[field];
        if (typeof value === 'string' && (value === SECRET_MASK || value.endsWith(`/${SECRET_MASK}`))) delete changes[field];
      }
      const existing = toChannel(row);
      const merged = {
        type,
        name: patch.name ?? row.name,
        enabled: patch.enabled ?? existing.enabled,
        settings: { ...current, ...changes },
        ...(patch.template === null ? {} : { template: patch.template ?? existing.template ?? undefined }),
        ...(patch.rateLimit === null ? {} : { rateLimit: patch.rateLimit ?? row.rateLimit ?? undefined }),
        quietHours: patch.quietHours === undefined ? existing.quietHours : patch.quietHours,
        maintenance: patch.maintenance ?? existing.maintenance,
      };
      const parsed = ChannelCreateSchema.safeParse(merged);
      if (!parsed.success) {
        const issues = toFieldIssues(parsed.error);
        throw new FarolError('validation_failed', `${issues[0]?.path ?? 'channel'}: ${issues[0]?.message ?? 'invalid'}`, { issues });
      }
      await check(parsed.data);
      if (parsed.data.name !== row.name) {
        const other = await repo.findChannel(parsed.data.name);
        if (other && other.id !== row.id) throw new FarolError('name_taken', `a channel named "${parsed.data.name}" exists`);
      }
      const next = recordFor(parsed.data, row.id, 'api', row.createdAt);
      await repo.updateChannel(next);
      logger.info({ channelId: row.id, name: next.name }, 'channel updated');
      // What changed by name only: settings hold tokens and webhook URLs.
      await audit?.record({ actor, action: 'channel.update', details: { channelId: row.id, name: next.name, changed: Object.keys(patch), settings: Object.keys(changes) } });
      return toChannel(next);
    },

    async remove(ref: string, actor = 'hub'): Promise<void> {
      const row = await find(ref);
      refuseFileManaged(row);
      await repo.deleteChannel(row.id);
      logger.info({ channelId: row.id, name: row.name }, 'channel deleted');
      await audit?.record({ actor, action: 'channel.delete', details: { channelId: row.id, name: row.name, type: row.type } });
    },

    /** Sends a test message now, outside the outbox, and reports the provider's answer. */
    async sendTest(ref: string, requestedBy: string): Promise<DeliveryResult> {
      const row = await find(ref);
      const started = clock.now();
      const outcome = await sendToChannel(openChannel(row, box), { kind: 'test', requestedBy }, { guard, now: started, deliveryId: randomId('dl'), ...(hubName ? { hub: hubName } : {}) });
      const result: DeliveryResult = { ok: outcome.ok, status: outcome.status, error: outcome.ok ? null : outcome.error, durationMs: Math.max(0, clock.now() - started) };
      logger.info({ channelId: row.id, name: row.name, ok: result.ok, status: result.status, error: result.error }, 'channel test sent');
      return result;
    },

    /**
     * Channels from the configuration file: every item validated (errors name the item and the
     * field), then upserted by name and marked as from the file. Channels the file no longer
     * lists, and that came from it, are removed: the file is the source of truth for them.
     */
    async applyChannelsConfig(raw: unknown[]): Promise<void> {
      const issues: FieldIssue[] = [];
      const parsed: ChannelCreate[] = [];
      const names = new Set<string>();
      for (const [index, item] of raw.entries()) {
        const label = typeof item === 'object' && item !== null && typeof (item as { name?: unknown }).name === 'string' ? ` (${(item as { name: string }).name})` : '';
        const prefix = `channels[${index}]${label}.`;
        const result = ChannelCreateSchema.safeParse(item);
        if (!result.success) {
          for (const issue of toFieldIssues(result.error)) issues.push({ path: `${prefix}${issue.path}`, message: issue.message });
          continue;
        }
        if (names.has(result.data.name)) {
          issues.push({ path: `${prefix}name`, message: `"${result.data.name}" is listed twice` });
          continue;
        }
        names.add(result.data.name);
        try {
          await check(result.data, prefix);
          parsed.push(result.data);
        } catch (error) {
          if (!(error instanceof FarolError) || !error.issues) throw error;
          issues.push(...error.issues);
        }
      }
      if (issues.length > 0) {
        throw new FarolError('validation_failed', `invalid channels in the configuration file: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
      }
      const existing = await repo.listChannels();
      for (const input of parsed) {
        const current = existing.find((c) => c.name === input.name);
        if (current) await repo.updateChannel(recordFor(input, current.id, 'file', current.createdAt));
        else await repo.insertChannel(recordFor(input, randomId('ch'), 'file', clock.now()));
      }
      for (const stale of existing.filter((c) => c.source === 'file' && !names.has(c.name))) await repo.deleteChannel(stale.id);
      logger.info({ channels: parsed.length }, 'channels loaded from the configuration file');
    },
  };
}
export type ChannelsService = ReturnType<typeof createChannelsService>;
