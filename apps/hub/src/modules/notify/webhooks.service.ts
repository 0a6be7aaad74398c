import {
  FarolError,
  matchesLabels,
  parseLabelSelector,
  type AlertNotice,
  type DeliveryResult,
  type HeartbeatSample,
  type Labels,
  type Webhook,
  type WebhookCreateSchema,
  type WebhookEventPayload,
  type WebhookEventType,
  type WebhookPatch,
  type WebhookSelector,
} from '@farol/protocol';
import type { z } from 'zod';
import type { Bus, BusEvents } from '../../infra/bus.js';
import type { Clock } from '../../infra/clock.js';
import { randomId } from '../../infra/ids.js';
import type { Logger } from '../../infra/logger.js';
import type { SecretBox } from '../../infra/secret-box.js';
import type { AuditService } from '../audit/audit.service.js';
import { maskSecret } from './channel-store.js';
import { sendHttp } from './http-send.js';
import type { NetworkGuard } from './net-guard.js';
import type { NotifyRepository, WebhookChanges, WebhookRecord } from './notify.repository.js';
import { classifyAnswer, classifyError, webhookHeaders } from './providers.js';

export const webhookSecretContext = (id: string, field: 'url' | 'secret'): string => `notify_webhooks:${id}:${field}`;

/** The agent facts an event payload needs. */
export interface WebhookAgentLookup {
  findById(id: string): Promise<{ seq: number; id: string; name: string; labels: Labels; status?: 'online' | 'offline' } | undefined>;
  latestSample(seq: number): Promise<HeartbeatSample | undefined>;
}

export interface WebhooksServiceDeps {
  repo: NotifyRepository;
  box: SecretBox;
  guard: NetworkGuard;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  agents: WebhookAgentLookup;
  /** The outbox: the webhook's deliveries share it with the channels. */
  enqueue(webhookId: string, kind: string, payload: Omit<WebhookEventPayload, 'id'>): Promise<string>;
  /** Where subscription changes are recorded, never with the URL's secret part or the signing secret (issue #11). */
  audit?: Pick<AuditService, 'record'>;
}

/** The design notes' heartbeat fields (Vigilo's n8n payload) from a sample. */
export function heartbeatFields(name: string | null, status: 'alive' | 'offline' | 'unknown', at: number, sample: HeartbeatSample | undefined): Pick<WebhookEventPayload, 'agent_name' | 'status' | 'timestamp' | 'stats'> {
  const root = sample?.filesystems.find((fs) => fs.mount === '/');
  const disk = root?.percent ?? sample?.filesystems.reduce<number | null>((max, fs) => (max === null || fs.percent > max ? fs.percent : max), null) ?? null;
  return {
    agent_name: name,
    status,
    timestamp: Math.floor(at / 1000),
    stats: {
      cpu_percent: sample?.cpu.total ?? null,
      ram_percent: sample?.memory?.percent ?? null,
      disk_percent: disk,
      uptime_seconds: sample?.uptimeSeconds ?? null,
    },
  };
}

function toWebhook(record: WebhookRecord): Webhook {
  return {
    id: record.id,
    name: record.name,
    url: record.urlOrigin,
    signed: record.secretSealed !== null,
    events: record.events,
    selector: record.selector,
    enabled: record.enabled,
    createdAt: record.createdAt,
  };
}

/**
 * How long the leader trusts its copy of the subscriptions. Changes are announced over the bus
 * (`notify.webhooks`) and drop the copy at once; this bounds a missed announcement (Redis
 * pub/sub delivers at most once).
 */
const SUBSCRIPTIONS_CACHE_MS = 60_000;

function matches(selector: WebhookSelector, agent: { name: string; labels: Labels } | undefined): boolean {
  if (!selector.labels && !selector.names?.length) return true;
  if (!agent) return false;
  if (selector.names?.length && !selector.names.includes(agent.name)) return false;
  if (selector.labels && !matchesLabels(agent.labels, parseLabelSelector(selector.labels))) return false;
  return true;
}

/** Event-webhook subscriptions: CRUD, and the bus consumers that queue their deliveries. */
export function createWebhooksService({ repo, box, guard, bus, clock, logger, agents, enqueue, audit }: WebhooksServiceDeps) {
  /** The subscriptions as last read, for the bus consumers (issue #14: not one read per event). */
  let cached: { at: number; list: WebhookRecord[] } | null = null;
  /** Moves on every change, so a read that raced a change is not kept. */
  let generation = 0;

  async function subscriptions(): Promise<WebhookRecord[]> {
    const now = clock.now();
    if (cached && now - cached.at < SUBSCRIPTIONS_CACHE_MS) return cached.list;
    const reading = generation;
    const list = await repo.listWebhooks();
    if (reading === generation) cached = { at: now, list };
    return list;
  }

  function forget(): void {
    generation += 1;
    cached = null;
  }

  /** This hub's copy goes now; every other hub's (the leader's) when the bus carries the news. */
  function announceChange(): void {
    forget();
    bus.publish('notify.webhooks', {});
  }

  async function find(ref: string): Promise<WebhookRecord> {
    const row = await repo.findWebhook(ref);
    if (!row) throw new FarolError('not_found', `no webhook subscription "${ref}"`);
    return row;
  }

  function checkSelector(selector: WebhookSelector | undefined): void {
    if (!selector?.labels) return;
    try {
      parseLabelSelector(selector.labels);
    } catch (error) {
      throw new FarolError('validation_failed', (error as Error).message, { issues: [{ path: 'selector.labels', message: (error as Error).message }], cause: error });
    }
  }

  async function checkUrl(url: string): Promise<void> {
    try {
      await guard.checkUrl(url);
    } catch (error) {
      if (error instanceof FarolError) throw new FarolError(error.code, error.message, { issues: [{ path: 'url', message: error.message }], cause: error });
      throw error;
    }
  }

  /** Queues `event` for every enabled subscription that wants it and whose selector matches. */
  async function publish(event: WebhookEventType, at: number, agentId: string | null, extra: Partial<WebhookEventPayload>, status: 'alive' | 'offline' | 'unknown'): Promise<void> {
    const hooks = (await subscriptions()).filter((h) => h.enabled && h.events.includes(event));
    if (hooks.length === 0) return;
    const agent = agentId ? await agents.findById(agentId) : undefined;
    const sample = agent ? await agents.latestSample(agent.seq) : undefined;
    // Events that are not about presence report the machine's presence as the hub knows it now.
    const shown = status !== 'unknown' || !agent?.status ? status : agent.status === 'online' ? 'alive' : 'offline';
    const payload: Omit<WebhookEventPayload, 'id'> = {
      ...heartbeatFields(agent?.name ?? null, shown, at, sample),
      event,
      at,
      agent: agent ? { id: agent.id, name: agent.name, labels: agent.labels } : null,
      ...extra,
    };
    for (const hook of hooks) {
      if (!matches(hook.selector, agent)) continue;
      await enqueue(hook.id, event, payload);
    }
  }

  // Events are queued one after another, in bus order: a resolve never overtakes its firing.
  let chain: Promise<void> = Promise.resolve();
  function queue(what: WebhookEventType, work: () => Promise<void>): void {
    chain = chain.then(work).catch((error: unknown) => logger.error({ err: error, event: what }, 'could not queue webhook deliveries'));
  }

  function onAgentStatus(event: BusEvents['agent.status']): void {
    // The hub's own shutdown marks everyone offline; that is not news about the machines.
    if (event.reason === 'hub_shutdown' || event.reason === 'deleted') return;
    const type: WebhookEventType = event.status === 'online' ? 'agent.online' : 'agent.offline';
    queue(type, () => publish(type, event.at, event.agentId, {}, event.status === 'online' ? 'alive' : 'offline'));
  }

  function onAlertChanged(change: BusEvents['alert.changed']): void {
    if (change.event !== 'firing' && change.event !== 'resolved') return;
    if (change.alert.silenced) return;
    const type: WebhookEventType = change.event === 'firing' ? 'alert.firing' : 'alert.resolved';
    const a = change.alert;
    const notice: AlertNotice = {
      alertId: a.id,
      ruleId: a.ruleId,
      ruleName: a.ruleName,
      event: change.event,
      severity: a.severity,
      agentId: a.agentId,
      agentName: a.agentName,
      subject: a.subject,
      summary: a.summary,
      value: a.value,
      threshold: a.threshold,
      comparator: a.comparator as AlertNotice['comparator'],
      unit: a.unit,
      since: a.since,
      resolvedAt: a.resolvedAt,
      labels: change.labels,
      ...(a.topProcesses ? { topProcesses: a.topProcesses } : {}),
    };
    queue(type, () => publish(type, a.resolvedAt ?? clock.now(), a.agentId, { alert: notice }, 'unknown'));
  }

  const finishedJobs = new Set<string>();
  function onJobUpdate(event: BusEvents['job.update']): void {
    const job = event.job;
    if (job.state !== 'done' || finishedJobs.has(job.id)) return;
    finishedJobs.add(job.id);
    // Only the recent ids matter for deduplication.
    if (finishedJobs.size > 10_000) finishedJobs.delete(finishedJobs.values().next().value!);
    const counts = job.counts as Record<string, number>;
    const failedCount = Object.entries(counts).filter(([state]) => state !== 'succeeded').reduce((sum, [, n]) => sum + n, 0);
    const command = job.command.kind === 'shell' && 'argv' in job.command ? job.command.argv.join(' ') : job.command.kind;
    queue('job.finished', () =>
      publish('job.finished', job.finishedAt ?? clock.now(), null, { job: { id: job.id, state: job.state, command: command.slice(0, 500), total: job.total, ok: counts.succeeded ?? 0, failed: failedCount } }, 'unknown'),
    );
  }

  return {
    async list(): Promise<Webhook[]> {
      return (await repo.listWebhooks()).map(toWebhook);
    },
    async get(ref: string): Promise<Webhook> {
      return toWebhook(await find(ref));
    },
    async create(input: z.infer<typeof WebhookCreateSchema>, actor = 'hub'): Promise<Webhook> {
      checkSelector(input.selector);
      await checkUrl(input.url);
      if (await repo.findWebhook(input.name)) throw new FarolError('name_taken', `a webhook subscription named "${input.name}" exists`);
      const id = randomId('wh');
      const row: WebhookRecord = {
        id,
        name: input.name,
        urlSealed: box.seal(input.url, webhookSecretContext(id, 'url')),
        urlOrigin: maskSecret(input.url),
        secretSealed: input.secret ? box.seal(input.secret, webhookSecretContext(id, 'secret')) : null,
        events: input.events,
        selector: input.selector,
        enabled: Boolean(input.enabled),
        createdAt: clock.now(),
      };
      await repo.insertWebhook(row);
      announceChange();
      logger.info({ webhookId: id, name: input.name, events: input.events }, 'webhook subscription created');
      await audit?.record({ actor, action: 'webhook.create', details: { webhookId: id, name: input.name, url: row.urlOrigin, events: input.events, selector: input.selector, signed: input.secret !== undefined } });
      return toWebhook(row);
    },
    async update(ref: string, patch: WebhookPatch, actor = 'hub'): Promise<Webhook> {
      const row = await find(ref);
      checkSelector(patch.selector);
      if (patch.url) await checkUrl(patch.url);
      if (patch.name && patch.name !== row.name) {
        const other = await repo.findWebhook(patch.name);
        if (other && other.id !== row.id) throw new FarolError('name_taken', `a webhook subscription named "${patch.name}" exists`);
      }
      const changes: WebhookChanges = {
        ...(patch.name ? { name: patch.name } : {}),
        ...(patch.url ? { urlSealed: box.seal(patch.url, webhookSecretContext(row.id, 'url')), urlOrigin: maskSecret(patch.url) } : {}),
        ...(patch.secret === null ? { secretSealed: null } : patch.secret ? { secretSealed: box.seal(patch.secret, webhookSecretContext(row.id, 'secret')) } : {}),
        ...(patch.events ? { events: patch.events } : {}),
        ...(patch.selector ? { selector: patch.selector } : {}),
        ...(patch.enabled === undefined ? {} : { enabled: patch.enabled }),
      };
      if (Object.keys(changes).length > 0) {
        await repo.updateWebhook(row.id, changes);
        announceChange();
        await audit?.record({
          actor,
          action: 'webhook.update',
          details: { webhookId: row.id, name: patch.name ?? row.name, changed: Object.keys(patch), ...(patch.events ? { events: patch.events } : {}), ...(patch.selector ? { selector: patch.selector } : {}), ...(changes.urlOrigin ? { url: changes.urlOrigin } : {}) },
        });
      }
      return toWebhook({ ...row, ...changes });
    },
    async remove(ref: string, actor = 'hub'): Promise<void> {
      const row = await find(ref);
      await repo.deleteWebhook(row.id);
      announceChange();
      logger.info({ webhookId: row.id, name: row.name }, 'webhook subscription deleted');
      await audit?.record({ actor, action: 'webhook.delete', details: { webhookId: row.id, name: row.name } });
    },
    /** Posts a `test` event now, outside the outbox, and reports the answer. */
    async sendTest(ref: string): Promise<DeliveryResult> {
      const row = await find(ref);
      const started = clock.now();
      const id = randomId('dl');
      const body = JSON.stringify({ id, event: 'test', at: started, agent: null, ...heartbeatFields(null, 'unknown', started, undefined) } satisfies WebhookEventPayload);
      const url = box.open(row.urlSealed, webhookSecretContext(row.id, 'url'));
      const secret = row.secretSealed ? box.open(row.secretSealed, webhookSecretContext(row.id, 'secret')) : undefined;
      let outcome;
      try {
        outcome = classifyAnswer(await sendHttp(guard, { url, body, headers: webhookHeaders(body, id, secret, started) }), started);
      } catch (error) {
        outcome = classifyError(error);
      }
      return { ok: outcome.ok, status: outcome.status, error: outcome.ok ? null : outcome.error, durationMs: Math.max(0, clock.now() - started) };
    },
    /** Subscribes to the bus; returns the unsubscribe. */
    attach(): () => void {
      // Changes made while this hub did not follow the bus are not in an old copy.
      forget();
      // Changes announced while Redis was away were missed: read again too.
      const offs = [bus.subscribe('notify.webhooks', forget), bus.subscribe('broadcasts.resumed', forget), bus.subscribe('agent.status', onAgentStatus), bus.subscribe('alert.changed', onAlertChanged), bus.subscribe('job.update', onJobUpdate)];
      return () => {
        for (const off of offs) off();
      };
    },
  };
}
export type WebhooksService = ReturnType<typeof createWebhooksService>;
