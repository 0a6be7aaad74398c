import webpush from 'web-push';
import {
  FarolError,
  MAX_PUSH_PAYLOAD_BYTES,
  type AlertNotice,
  type Labels,
  type Principal,
  type PushMessage,
  type PushSubscription,
  type PushSubscriptionCreate,
} from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import { randomId } from '../../infra/ids.js';
import type { Logger } from '../../infra/logger.js';
import type { SecretBox } from '../../infra/secret-box.js';
import type { AuditService } from '../audit/audit.service.js';
import { labelsInScope } from '../auth/object-scope.js';
import { sendHttp } from '../notify/http-send.js';
import type { NetworkGuard } from '../notify/net-guard.js';
import type { PushSender } from '../notify/notify.service.js';
import { classifyAnswer, classifyError } from '../notify/providers.js';
import type { PushRepository, PushSubscriptionRecord } from './push.repository.js';

/** How long a push service keeps a message for a browser that is offline (seconds). */
const PUSH_TTL_SECONDS = 24 * 3_600;
/** Subscriptions one user may hold: a browser per device, with room to spare. */
const MAX_SUBSCRIPTIONS_PER_USER = 20;

const VAPID_CONTEXT = 'push.vapid';
const keysContext = (subscriptionId: string): string => `push.subscription:${subscriptionId}`;

interface VapidKeys {
  publicKey: string;
  privateKey: string;
}

/** "https://fcm.googleapis.com" of an endpoint: what logs and the audit log say instead of the capability URL. */
export function endpointOrigin(endpoint: string): string {
  return new URL(endpoint).origin;
}

/**
 * Who may get a notice: a user who may read alerts (`nodes:read`) and whose label scope holds
 * the machine (object-scope.ts: "alert"); fleet-wide alerts only reach unscoped users.
 */
export function maySeeNotice(principal: Pick<Principal, 'permissions' | 'scope'>, notice: Pick<AlertNotice, 'agentId'>, labels: Labels | undefined): boolean {
  if (!principal.permissions.includes('nodes:read')) return false;
  if (principal.scope === null) return true;
  return notice.agentId !== null && labels !== undefined && labelsInScope(principal, labels);
}

/** The message for one notice, cut to what a push message can carry (RFC 8291: about 4 KB). */
export function pushMessageOf(notice: AlertNotice): PushMessage {
  const { topProcesses: _processes, logLines: _lines, ...rest } = notice;
  const message: PushMessage = { kind: 'alert', notice: rest };
  if (Buffer.byteLength(JSON.stringify(message)) <= MAX_PUSH_PAYLOAD_BYTES) return message;
  const lean: PushMessage = { kind: 'alert', notice: { ...rest, labels: {} } };
  const room = MAX_PUSH_PAYLOAD_BYTES - Buffer.byteLength(JSON.stringify({ ...lean, notice: { ...lean.notice, summary: '', ruleName: '', subject: '' } }));
  const cut = (text: string, share: number): string => (Buffer.byteLength(text) <= share ? text : `${text.slice(0, Math.max(0, Math.floor(share / 4) - 1))}…`);
  lean.notice.summary = cut(rest.summary, Math.floor(room / 2));
  lean.notice.ruleName = cut(rest.ruleName, Math.floor(room / 4));
  lean.notice.subject = cut(rest.subject, Math.floor(room / 4));
  return lean;
}

export interface PushServiceDeps {
  repo: PushRepository;
  box: SecretBox;
  /** The notification SSRF guard (FAROL_NOTIFY_ALLOW_NETWORKS): push endpoints are checked like channel URLs. */
  guard: NetworkGuard;
  audit: AuditService;
  /** A user as they are now (role, scope, disabled): null when gone or disabled. */
  principalOf(userId: string): Promise<Principal | null>;
  /** A machine's current labels, for the scope check. */
  agentLabels(agentId: string): Promise<Labels | undefined>;
  /** Queues one outbox row per message (notify.service enqueuePush). */
  enqueue(messages: Array<{ subscriptionId: string; kind: string; payload: string; critical: boolean }>): Promise<void>;
  /** VAPID `sub` (RFC 8292 §2.1): a mailto: or https: contact for the push services. */
  contact: string;
  clock: Clock;
  logger: Logger;
}

/**
 * Browser notifications (issue #20): the VAPID key pair (made once, sealed in the database so
 * every hub of a shared database signs alike), each user's subscribed browsers, the fan-out of
 * alert notices to the browsers of users who may see them, and the sending of one encrypted
 * message (RFC 8291 aes128gcm, RFC 8292 VAPID) for the outbox, which retries it.
 */
export function createPushService(deps: PushServiceDeps) {
  const { repo, box, guard, audit, clock, logger } = deps;
  let vapid: Promise<VapidKeys> | undefined;

  function loadVapid(): Promise<VapidKeys> {
    vapid ??= (async () => {
      let sealed = await repo.getVapid();
      if (!sealed) {
        const fresh = webpush.generateVAPIDKeys();
        sealed = await repo.putVapidOnce(box.seal(JSON.stringify(fresh), VAPID_CONTEXT));
        logger.info('generated the Web Push (VAPID) key pair');
      }
      return JSON.parse(box.open(sealed, VAPID_CONTEXT)) as VapidKeys;
    })().catch((error: unknown) => {
      vapid = undefined;
      throw error;
    });
    return vapid;
  }

  function view(record: PushSubscriptionRecord): PushSubscription {
    return { id: record.id, endpoint: record.endpoint, userAgent: record.userAgent, createdAt: record.createdAt, lastSentAt: record.lastSentAt };
  }

  async function remove(record: PushSubscriptionRecord, actor: string, reason: string | null): Promise<void> {
    if (!(await repo.remove(record.id))) return;
    await audit.record({ actor, action: 'push.unsubscribe', details: { subscriptionId: record.id, user: record.userId, push: endpointOrigin(record.endpoint), browser: record.userAgent, ...(reason ? { reason } : {}) } });
  }

  const sender: PushSender = {
    async send(subscriptionId, payload, { deliveryId, timeoutMs }) {
      const subscription = await repo.findById(subscriptionId);
      if (!subscription) return { gone: 'the browser was unsubscribed' };
      const message = JSON.parse(payload) as PushMessage;
      // Again at send time: the user may have lost the role, the scope or the account since.
      const principal = await deps.principalOf(subscription.userId);
      const labels = message.notice.agentId ? await deps.agentLabels(message.notice.agentId) : undefined;
      if (!principal || !maySeeNotice(principal, message.notice, labels ?? message.notice.labels)) return { dropped: 'the user may no longer see this alert' };
      const keys = JSON.parse(box.open(subscription.keysSealed, keysContext(subscription.id))) as { p256dh: string; auth: string };
      const { publicKey, privateKey } = await loadVapid();
      let request: ReturnType<typeof webpush.generateRequestDetails>;
      try {
        request = webpush.generateRequestDetails({ endpoint: subscription.endpoint, keys }, payload, {
          vapidDetails: { subject: deps.contact, publicKey, privateKey },
          TTL: PUSH_TTL_SECONDS,
          urgency: message.notice.severity === 'critical' ? 'high' : 'normal',
          contentEncoding: 'aes128gcm',
        });
      } catch (error) {
        return { ok: false, retry: false, status: null, error: `could not encrypt the message for this browser: ${(error as Error).message}` };
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers)) if (name.toLowerCase() !== 'content-length') headers[name] = String(value);
      let outcome;
      try {
        outcome = classifyAnswer(await sendHttp(guard, { url: subscription.endpoint, headers, body: request.body ?? Buffer.alloc(0), timeoutMs }), clock.now());
      } catch (error) {
        outcome = classifyError(error);
      }
      if (outcome.ok) {
        await repo.markSent(subscription.id, clock.now());
        return outcome;
      }
      // RFC 8030 §7.3 / the push services: 404 and 410 mean the subscription is gone for good.
      if (outcome.status === 404 || outcome.status === 410) {
        await remove(subscription, 'hub', `the push service answered ${outcome.status}: the browser's subscription expired`);
        logger.info({ deliveryId, subscriptionId, push: endpointOrigin(subscription.endpoint), status: outcome.status }, 'removed an expired browser subscription');
        return { gone: `the browser's subscription expired (${outcome.status}); it was removed` };
      }
      return outcome;
    },
  };

  return {
    sender,

    async vapidPublicKey(): Promise<string> {
      return (await loadVapid()).publicKey;
    },

    /** Subscribes the caller's browser; the same browser again (same endpoint) replaces its row. */
    async subscribe(principal: Principal, input: PushSubscriptionCreate, userAgent: string | null): Promise<PushSubscription> {
      await guard.checkUrl(input.endpoint);
      const existing = await repo.findByEndpoint(input.endpoint);
      if (existing) await repo.remove(existing.id);
      if (!existing && (await repo.listOf(principal.id)).length >= MAX_SUBSCRIPTIONS_PER_USER) {
        throw new FarolError('conflict', `at most ${MAX_SUBSCRIPTIONS_PER_USER} browsers per user get notifications; turn one off first`);
      }
      const id = randomId('ps');
      const record: PushSubscriptionRecord = {
        id,
        userId: principal.id,
        endpoint: input.endpoint,
        keysSealed: box.seal(JSON.stringify(input.keys), keysContext(id)),
        userAgent: userAgent ? userAgent.slice(0, 200) : null,
        createdAt: clock.now(),
        lastSentAt: null,
      };
      await repo.insert(record);
      await audit.record({ actor: principal.name, action: 'push.subscribe', details: { subscriptionId: id, push: endpointOrigin(input.endpoint), browser: record.userAgent } });
      return view(record);
    },

    async list(principal: Principal): Promise<PushSubscription[]> {
      return (await repo.listOf(principal.id)).map(view);
    },

    /** Unsubscribes one of the caller's own browsers; another user's is as good as absent. */
    async unsubscribe(principal: Principal, id: string): Promise<void> {
      const record = await repo.findById(id);
      if (!record || record.userId !== principal.id) throw new FarolError('not_found', `no browser subscription ${id} of yours`);
      await remove(record, principal.name, null);
    },

    /** The alerts engine's hand-over: one outbox row per notice and browser of a user who may see it. */
    async push(notices: AlertNotice[]): Promise<void> {
      const subscriptions = await repo.listAll();
      if (subscriptions.length === 0) return;
      const principals = new Map<string, Promise<Principal | null>>();
      const labels = new Map<string, Promise<Labels | undefined>>();
      const messages: Array<{ subscriptionId: string; kind: string; payload: string; critical: boolean }> = [];
      for (const notice of notices) {
        const machine = notice.agentId;
        const current = machine ? await (labels.get(machine) ?? labels.set(machine, deps.agentLabels(machine)).get(machine)!) : undefined;
        const payload = JSON.stringify(pushMessageOf(notice));
        for (const subscription of subscriptions) {
          const principal = await (principals.get(subscription.userId) ?? principals.set(subscription.userId, deps.principalOf(subscription.userId)).get(subscription.userId)!);
          if (!principal || !maySeeNotice(principal, notice, current ?? notice.labels)) continue;
          messages.push({ subscriptionId: subscription.id, kind: 'alert', payload, critical: notice.severity === 'critical' });
        }
      }
      await deps.enqueue(messages);
    },
  };
}
export type PushService = ReturnType<typeof createPushService>;
