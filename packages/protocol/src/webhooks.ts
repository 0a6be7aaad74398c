import { z } from 'zod';
import { AlertNoticeSchema } from './notify.js';

/**
 * Event webhooks (issue #4): a URL subscribed to hub events, delivered through the same outbox,
 * address guard and HMAC signature as the generic webhook channel. Fits n8n's Webhook node.
 */

export const WEBHOOK_EVENTS = ['agent.online', 'agent.offline', 'alert.firing', 'alert.resolved', 'job.finished'] as const;
export const WebhookEventTypeSchema = z.enum(WEBHOOK_EVENTS);
export type WebhookEventType = z.infer<typeof WebhookEventTypeSchema>;

/** Which machines an event must concern; an empty filter matches every machine (and fleet-wide events). */
export const WebhookSelectorSchema = z
  .object({
    labels: z.string().max(500).optional().describe('label selector: role=db,env!=dev (all terms must hold)'),
    names: z.array(z.string().min(1).max(64)).max(500).optional().describe('agent names; any of them'),
  })
  .strict();
export type WebhookSelector = z.infer<typeof WebhookSelectorSchema>;

const WebhookUrl = z.url({ protocol: /^https?$/, error: 'use an http:// or https:// URL' });

export const WebhookCreateSchema = z
  .object({
    name: z.string().min(1).max(64).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'names use letters, digits, dot, dash and underscore'),
    url: WebhookUrl,
    secret: z.string().min(16, 'an HMAC secret has at least 16 characters').max(200).optional(),
    events: z.array(WebhookEventTypeSchema).min(1),
    selector: WebhookSelectorSchema.default({}),
    enabled: z.boolean().default(true),
  })
  .strict()
  .meta({ id: 'WebhookCreate' });
export type WebhookCreateInput = z.input<typeof WebhookCreateSchema>;

export const WebhookPatchSchema = z
  .object({
    name: WebhookCreateSchema.shape.name.optional(),
    url: WebhookUrl.optional(),
    secret: z.string().min(16).max(200).nullable().optional().describe('null removes the signature'),
    events: z.array(WebhookEventTypeSchema).min(1).optional(),
    selector: WebhookSelectorSchema.optional(),
    enabled: z.boolean().optional(),
  })
  .strict()
  .meta({ id: 'WebhookPatch' });
export type WebhookPatch = z.infer<typeof WebhookPatchSchema>;

export const WebhookSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    url: z.string().describe('masked: origin followed by /********'),
    signed: z.boolean(),
    events: z.array(WebhookEventTypeSchema),
    selector: WebhookSelectorSchema,
    enabled: z.boolean(),
    createdAt: z.number().int(),
  })
  .meta({ id: 'Webhook' });
export type Webhook = z.infer<typeof WebhookSchema>;
export const WebhookListSchema = z.object({ webhooks: z.array(WebhookSchema) }).meta({ id: 'WebhookList' });

/**
 * The heartbeat fields of the design notes (the Vigilo agent's n8n payload), kept with their
 * snake_case names so existing n8n workflows read them unchanged.
 */
export const HeartbeatFieldsSchema = z.object({
  agent_name: z.string().nullable(),
  status: z.enum(['alive', 'offline', 'unknown']),
  timestamp: z.number().int().describe('seconds since epoch'),
  stats: z.object({
    cpu_percent: z.number().nullable(),
    ram_percent: z.number().nullable(),
    disk_percent: z.number().nullable(),
    uptime_seconds: z.number().nullable(),
  }),
});

/** The JSON body POSTed to a webhook subscription. */
export const WebhookEventPayloadSchema = HeartbeatFieldsSchema.extend({
  id: z.string().describe('delivery id, the same on a retry: receivers deduplicate with it'),
  event: WebhookEventTypeSchema.or(z.literal('test')),
  at: z.number().int().describe('ms epoch of the event'),
  agent: z.object({ id: z.string(), name: z.string(), labels: z.record(z.string(), z.string()) }).nullable(),
  alert: AlertNoticeSchema.optional(),
  job: z
    .object({ id: z.string(), state: z.string(), command: z.string(), total: z.number().int(), ok: z.number().int(), failed: z.number().int() })
    .optional(),
}).meta({ id: 'WebhookEventPayload' });
export type WebhookEventPayload = z.infer<typeof WebhookEventPayloadSchema>;
