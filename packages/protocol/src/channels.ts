import { z } from 'zod';

/**
 * Notification channels (issue #4): where alerts, reports and tests are delivered. Secret
 * settings (bot tokens, webhook URLs that carry a token, passwords, API keys, HMAC secrets) are
 * write-only: the hub stores them encrypted and answers with a mask.
 */

export const CHANNEL_TYPES = ['telegram', 'discord', 'slack', 'whatsapp', 'email', 'ntfy', 'teams', 'webhook'] as const;
export const ChannelTypeSchema = z.enum(CHANNEL_TYPES);
export type ChannelType = z.infer<typeof ChannelTypeSchema>;

/** The settings of each type that are secrets: encrypted at rest, never returned in clear. */
export const CHANNEL_SECRET_FIELDS: Record<ChannelType, readonly string[]> = {
  telegram: ['botToken'],
  discord: ['webhookUrl'],
  slack: ['webhookUrl'],
  whatsapp: ['apiKey'],
  email: ['password'],
  ntfy: ['token'],
  teams: ['webhookUrl'],
  webhook: ['url', 'secret'],
};

/** What an API answer shows instead of a secret value. */
export const SECRET_MASK = '********';

export const ChannelNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'channel names use letters, digits, dot, dash and underscore, and start with a letter or digit');

const HttpUrl = z.url({ protocol: /^https?$/, error: 'use an http:// or https:// URL' });

export const TelegramSettingsSchema = z
  .object({
    botToken: z.string().regex(/^\d+:[A-Za-z0-9_-]{20,}$/, 'a Telegram bot token looks like 123456:ABC… (from @BotFather)'),
    chatId: z.union([z.string().min(1).max(64), z.number().int()]).transform(String).describe('chat, group or channel id (-100…) or @channelname'),
    apiBase: HttpUrl.default('https://api.telegram.org').describe('Bot API server; change only for a local Bot API server'),
  })
  .strict();
export const DiscordSettingsSchema = z
  .object({
    webhookUrl: HttpUrl.describe('Server Settings → Integrations → Webhooks → Copy Webhook URL'),
    username: z.string().min(1).max(80).optional().describe('name shown as the sender'),
  })
  .strict();
export const SlackSettingsSchema = z.object({ webhookUrl: HttpUrl.describe('incoming webhook URL (https://hooks.slack.com/services/…)') }).strict();
export const WhatsappSettingsSchema = z
  .object({
    baseUrl: HttpUrl.describe('Evolution API server, e.g. https://evolution.example.com'),
    instance: z.string().min(1).max(100).describe('Evolution instance name'),
    apiKey: z.string().min(1).max(500).describe('Evolution API key (apikey header)'),
    number: z.string().regex(/^(\d{8,15}|[\d-]+@g\.us)$/, 'the number is digits with the country code (5511999998888) or a group id (…@g.us)'),
  })
  .strict();
export const EmailSettingsSchema = z
  .object({
    host: z.string().min(1).max(253),
    port: z.number().int().min(1).max(65535).default(587),
    secure: z.boolean().default(false).describe('TLS from the first byte (port 465); otherwise STARTTLS when the server offers it'),
    username: z.string().min(1).max(200).optional(),
    password: z.string().min(1).max(500).optional(),
    from: z.string().min(3).max(200).describe('sender, e.g. "Farol <farol@example.com>"'),
    to: z.array(z.email()).min(1).max(50),
  })
  .strict();
export const NtfySettingsSchema = z
  .object({
    serverUrl: HttpUrl.default('https://ntfy.sh'),
    topic: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'ntfy topics use letters, digits, dash and underscore (at most 64)'),
    token: z.string().min(1).max(200).optional().describe('access token (Authorization: Bearer)'),
  })
  .strict();
export const TeamsSettingsSchema = z
  .object({
    webhookUrl: HttpUrl.describe('Workflows "post to a channel when a webhook request is received" URL, or a classic incoming webhook'),
    format: z.enum(['adaptive', 'messagecard']).default('adaptive').describe('adaptive: Adaptive Card (Workflows); messagecard: classic Office 365 connector'),
  })
  .strict();
export const WebhookSettingsSchema = z
  .object({
    url: HttpUrl,
    secret: z.string().min(16, 'an HMAC secret has at least 16 characters').max(200).optional().describe('signs each request: X-Farol-Signature: sha256=HMAC(secret, timestamp + "." + body)'),
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/), z.string().max(500)).optional().describe('extra request headers'),
  })
  .strict();

export const CHANNEL_SETTINGS_SCHEMAS = {
  telegram: TelegramSettingsSchema,
  discord: DiscordSettingsSchema,
  slack: SlackSettingsSchema,
  whatsapp: WhatsappSettingsSchema,
  email: EmailSettingsSchema,
  ntfy: NtfySettingsSchema,
  teams: TeamsSettingsSchema,
  webhook: WebhookSettingsSchema,
} as const;
export type ChannelSettings<T extends ChannelType = ChannelType> = z.infer<(typeof CHANNEL_SETTINGS_SCHEMAS)[T]>;

/**
 * Per-channel text. Placeholders are `{{name}}`; every value is escaped for the channel's format,
 * the template's own text is sent as written.
 */
export const ChannelTemplateSchema = z
  .object({
    title: z.string().max(300).optional().describe('heading of a message; placeholders: count, event, severity, hub'),
    alert: z.string().max(1000).optional().describe('one line per alert; placeholders: icon, event, severity, agent, subject, summary, rule, value, threshold, since, duration'),
  })
  .strict();
export type ChannelTemplate = z.infer<typeof ChannelTemplateSchema>;

const Clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'use HH:MM (24 h)');
export const QuietHoursSchema = z
  .object({
    start: Clock,
    end: Clock,
    timezone: z
      .string()
      .default('UTC')
      .refine((tz) => {
        try {
          new Intl.DateTimeFormat('en', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, 'an IANA time zone such as Europe/Lisbon or America/Sao_Paulo'),
  })
  .strict()
  .describe('every day from start to end: critical alerts go out, everything else is held until the end');
export type QuietHours = z.infer<typeof QuietHoursSchema>;

export const MaintenanceWindowSchema = z
  .object({
    start: z.number().int().describe('ms epoch'),
    end: z.number().int().describe('ms epoch'),
    reason: z.string().max(200).optional(),
  })
  .strict()
  .refine((w) => w.end > w.start, { message: 'end must be after start', path: ['end'] })
  .describe('nothing is sent: critical alerts are held until the end, everything else is dropped');
export type MaintenanceWindow = z.infer<typeof MaintenanceWindowSchema>;

export const RateLimitSchema = z
  .object({
    count: z.number().int().min(1).max(10_000),
    perSeconds: z.number().int().min(1).max(86_400),
  })
  .strict()
  .describe('at most `count` messages every `perSeconds`; more wait (never dropped)');
export type RateLimit = z.infer<typeof RateLimitSchema>;

const ChannelCommon = {
  name: ChannelNameSchema,
  enabled: z.boolean().default(true),
  template: ChannelTemplateSchema.optional(),
  rateLimit: RateLimitSchema.optional().describe('default 20 per 60 s'),
  quietHours: QuietHoursSchema.nullable().optional(),
  maintenance: z.array(MaintenanceWindowSchema).max(50).optional(),
};

export const ChannelCreateSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('telegram'), settings: TelegramSettingsSchema, ...ChannelCommon }).strict(),
    z.object({ type: z.literal('discord'), settings: DiscordSettingsSchema, ...ChannelCommon }).strict(),
    z.object({ type: z.literal('slack'), settings: SlackSettingsSchema, ...ChannelCommon }).strict(),
    z.object({ type: z.literal('whatsapp'), settings: WhatsappSettingsSchema, ...ChannelCommon }).strict(),
    z.object({ type: z.literal('email'), settings: EmailSettingsSchema, ...ChannelCommon }).strict(),
    z.object({ type: z.literal('ntfy'), settings: NtfySettingsSchema, ...ChannelCommon }).strict(),
    z.object({ type: z.literal('teams'), settings: TeamsSettingsSchema, ...ChannelCommon }).strict(),
    z.object({ type: z.literal('webhook'), settings: WebhookSettingsSchema, ...ChannelCommon }).strict(),
  ])
  .meta({ id: 'ChannelCreate' });
export type ChannelCreateInput = z.input<typeof ChannelCreateSchema>;
export type ChannelCreate = z.infer<typeof ChannelCreateSchema>;

/** A partial change; `settings` is merged into the stored ones, so an omitted secret is kept. */
export const ChannelPatchSchema = z
  .object({
    name: ChannelNameSchema.optional(),
    enabled: z.boolean().optional(),
    settings: z.record(z.string(), z.unknown()).optional(),
    template: ChannelTemplateSchema.nullable().optional(),
    rateLimit: RateLimitSchema.nullable().optional(),
    quietHours: QuietHoursSchema.nullable().optional(),
    maintenance: z.array(MaintenanceWindowSchema).max(50).optional(),
  })
  .strict()
  .meta({ id: 'ChannelPatch' });
export type ChannelPatch = z.infer<typeof ChannelPatchSchema>;

export const ChannelSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    type: ChannelTypeSchema,
    enabled: z.boolean(),
    settings: z.record(z.string(), z.unknown()).describe('secret fields show as ******** (or the URL origin followed by /********)'),
    template: ChannelTemplateSchema.nullable(),
    rateLimit: RateLimitSchema,
    quietHours: QuietHoursSchema.nullable(),
    maintenance: z.array(MaintenanceWindowSchema),
    source: z.enum(['api', 'file']).describe('file: managed by the configuration file; change it there'),
    createdAt: z.number().int(),
    updatedAt: z.number().int(),
  })
  .meta({ id: 'Channel' });
export type Channel = z.infer<typeof ChannelSchema>;

export const ChannelListSchema = z.object({ channels: z.array(ChannelSchema) }).meta({ id: 'ChannelList' });
export type ChannelList = z.infer<typeof ChannelListSchema>;

/** `:id` of the channel and webhook routes: an id (ch_…, wh_…) or a name. */
export const NotifyRefParamsSchema = z.object({ id: z.string().min(1).max(64).describe('id or name') });

/** The outcome of "send test": sent straight away, outside the outbox, so the operator sees the provider's answer. */
export const DeliveryResultSchema = z
  .object({
    ok: z.boolean(),
    status: z.number().int().nullable().describe('HTTP status (or SMTP reply code) of the provider, null when nothing answered'),
    error: z.string().nullable(),
    durationMs: z.number().int(),
  })
  .meta({ id: 'DeliveryResult' });
export type DeliveryResult = z.infer<typeof DeliveryResultSchema>;

export const OUTBOX_STATES = ['pending', 'sending', 'sent', 'failed', 'dropped'] as const;
export const OutboxStateSchema = z.enum(OUTBOX_STATES);
export type OutboxState = z.infer<typeof OutboxStateSchema>;

/** One delivery in the outbox: a message to a channel, or an event to a webhook subscription. */
export const OutboxEntrySchema = z
  .object({
    id: z.string(),
    target: z.enum(['channel', 'webhook', 'push']).describe('push: a browser notification (issue #20)'),
    targetId: z.string(),
    kind: z.string().describe('alerts, report, test, or the webhook event type'),
    state: OutboxStateSchema,
    critical: z.boolean(),
    attempts: z.number().int(),
    createdAt: z.number().int(),
    nextAttemptAt: z.number().int().nullable(),
    sentAt: z.number().int().nullable(),
    lastError: z.string().nullable(),
  })
  .meta({ id: 'OutboxEntry' });
export type OutboxEntry = z.infer<typeof OutboxEntrySchema>;

export const OutboxQuerySchema = z.object({
  state: OutboxStateSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export const OutboxListSchema = z.object({ entries: z.array(OutboxEntrySchema) }).meta({ id: 'OutboxList' });
export type OutboxList = z.infer<typeof OutboxListSchema>;
