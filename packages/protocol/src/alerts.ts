import { z } from 'zod';
import { NoticeProcessSchema, SeveritySchema } from './notify.js';
import { parseDuration } from './tokens.js';

/**
 * Alert rules, alerts and silences (issue #4). Durations are accepted as milliseconds or as
 * text (`90s`, `5m`, `24h`) and always answered in milliseconds.
 */

/** ms, or a duration text such as `30s`, `5m`, `2h`, `1d`. */
export const DurationInputSchema = z
  .union([
    z.number().int().min(0).max(365 * 86_400_000),
    z
      .string()
      .regex(/^\d+(ms|s|m|h|d)$/, 'durations look like 0s, 90s, 5m, 2h or 1d (or a number of ms)')
      .transform((text) => parseDuration(text)),
  ])
  .describe('Milliseconds, or text such as 90s, 5m, 2h');

export const ComparatorSchema = z.enum(['>', '>=', '<', '<=', '==', '!=']);
export type Comparator = z.infer<typeof ComparatorSchema>;

/**
 * What a metric rule looks at. Named metrics: cpu, memory, swap, load1, load5, load15,
 * temperature, disk (one value per mount; `disk:/var` for one mount), gpu.utilization,
 * gpu.memory, gpu.temperature, gpu.power (one per GPU; `gpu.temperature:0` for GPU 0),
 * net.rx, net.tx, disk.read, disk.write, processes, uptime. Anything else is a dotted path to
 * a numeric field of the heartbeat sample, e.g. `memory.available` or `cpu.perCore.0`.
 */
export const MetricPathSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*(:\S+)?$/, 'a metric is a name (cpu, memory, disk, gpu.temperature, …), optionally `:instance` (disk:/var), or a dotted sample path (memory.available)')
  .describe('cpu, memory, swap, load1, disk, disk:/var, temperature, gpu.utilization, … or a dotted sample path');

export const MetricConditionSchema = z
  .object({
    kind: z.literal('metric'),
    metric: MetricPathSchema,
    op: ComparatorSchema.default('>'),
    threshold: z.number(),
    recovery: z.number().optional().describe('Clears only past this value (hysteresis); default: the threshold'),
    for: DurationInputSchema.default(0).describe('How long the condition must hold before firing'),
  })
  .strict();

export const OfflineConditionSchema = z
  .object({ kind: z.literal('offline'), for: DurationInputSchema.default(0).describe('Grace after the hub marks the machine offline') })
  .strict();

export const OnlineConditionSchema = z.object({ kind: z.literal('online') }).strict().describe('A machine that was offline came back (one notice)');

export const ContainerConditionSchema = z
  .object({
    kind: z.literal('container'),
    condition: z.enum(['down', 'unhealthy', 'restarting']),
    containers: z
      .array(z.string().min(1).max(256))
      .max(100)
      .optional()
      .describe('Container names; `*` for every container; default: the agent\'s watched containers'),
    for: DurationInputSchema.default(0),
    restarts: z.number().int().min(1).max(1000).default(3).describe('restarting: this many restarts within `window`'),
    window: DurationInputSchema.default(600_000).describe('restarting: the window the restarts are counted in'),
  })
  .strict();

export const JobFailedConditionSchema = z
  .object({
    kind: z.literal('job_failed'),
    states: z
      .array(z.enum(['failed', 'timed_out', 'refused', 'expired']))
      .min(1)
      .default(['failed', 'timed_out'])
      .describe('Final target states that count as a failure'),
  })
  .strict();

/**
 * Service checks (issue #19): `down` (CRITICAL from at least `minLocations` of the check's
 * locations), `latency` (above `threshold` ms), `certificate` (expires within `days`), `plugin`
 * (a WARNING or CRITICAL state). One alert per rule × check; `scope` does not apply.
 */
export const CheckConditionSchema = z
  .object({
    kind: z.literal('check'),
    condition: z.enum(['down', 'latency', 'certificate', 'plugin']),
    checks: z.array(z.string().min(1).max(128)).max(100).optional().describe('Check names or ids; default every check'),
    minLocations: z.number().int().min(1).max(1000).default(1).describe('down/latency/plugin: from at least this many locations at once'),
    threshold: z.number().min(0).optional().describe('latency: milliseconds'),
    days: z.number().int().min(0).max(3650).default(14).describe('certificate: alert when it expires within this many days'),
    states: z.array(z.enum(['warning', 'critical'])).min(1).default(['warning', 'critical']).describe('plugin: which states count'),
    for: DurationInputSchema.default(0),
  })
  .strict();

export const RuleConditionSchema = z.discriminatedUnion('kind', [
  CheckConditionSchema,
  MetricConditionSchema,
  OfflineConditionSchema,
  OnlineConditionSchema,
  ContainerConditionSchema,
  JobFailedConditionSchema,
]);
export type RuleCondition = z.infer<typeof RuleConditionSchema>;
export type RuleKind = RuleCondition['kind'];

/** Which machines a rule (or silence) covers. */
export const AlertScopeSchema = z
  .union([
    z.object({ all: z.literal(true) }).strict(),
    z.object({ agents: z.array(z.string().min(1).max(128)).min(1).max(1000).describe('Agent ids or names') }).strict(),
    z.object({ selector: z.string().min(1).max(1024).describe('Label selector, e.g. role=gpu,env!=dev') }).strict(),
  ])
  .meta({ id: 'AlertScope' });
export type AlertScope = z.infer<typeof AlertScopeSchema>;

export const RuleNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._:-]{0,79}$/, 'rule names are 1-80 chars of letters, digits, space . _ : -');

const ChannelRefs = z.array(z.string().min(1).max(128)).max(50).describe('Channel names or ids');

export const EscalationSchema = z
  .object({
    after: DurationInputSchema.describe('Unacknowledged this long after firing'),
    channels: ChannelRefs.min(1),
  })
  .strict();

export const AlertRuleInputSchema = z
  .object({
    name: RuleNameSchema,
    description: z.string().max(500).optional(),
    condition: RuleConditionSchema,
    scope: AlertScopeSchema.default({ all: true }),
    severity: SeveritySchema.default('warning'),
    channels: ChannelRefs.default([]).describe('Where notices go; empty: the hub\'s default channels (FAROL_ALERTS_CHANNELS)'),
    escalation: EscalationSchema.nullable().optional(),
    cooldown: DurationInputSchema.optional().describe('Repeat a still-firing alert after this long; 0 never repeats; default FAROL_ALERTS_COOLDOWN'),
    enabled: z.boolean().default(true),
  })
  .strict()
  .meta({ id: 'AlertRuleCreate' });
export type AlertRuleInput = z.input<typeof AlertRuleInputSchema>;
export type AlertRuleSpec = z.infer<typeof AlertRuleInputSchema>;

/** PATCH: any field of a rule; `condition` is replaced whole. */
export const AlertRulePatchSchema = z
  .object({
    name: RuleNameSchema.optional(),
    description: z.string().max(500).nullable().optional(),
    condition: RuleConditionSchema.optional(),
    scope: AlertScopeSchema.optional(),
    severity: SeveritySchema.optional(),
    channels: ChannelRefs.optional(),
    escalation: EscalationSchema.nullable().optional(),
    cooldown: DurationInputSchema.nullable().optional().describe('null: back to the hub default'),
    enabled: z.boolean().optional(),
  })
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, { message: 'give at least one field' })
  .meta({ id: 'AlertRulePatch' });
export type AlertRulePatch = z.input<typeof AlertRulePatchSchema>;

export const RuleSourceSchema = z.enum(['default', 'api', 'file']).describe('default: created on first start; file: FAROL_ALERTS_FILE (read-only through the API)');

export const AlertRuleSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    condition: RuleConditionSchema,
    scope: AlertScopeSchema,
    severity: SeveritySchema,
    channels: z.array(z.string()),
    escalation: z.object({ after: z.number().int(), channels: z.array(z.string()) }).nullable(),
    cooldown: z.number().int().nullable().describe('ms; null: the hub default'),
    enabled: z.boolean(),
    source: RuleSourceSchema,
    createdAt: z.number().int(),
    updatedAt: z.number().int(),
  })
  .meta({ id: 'AlertRule' });
export type AlertRule = z.infer<typeof AlertRuleSchema>;

export const AlertRuleListSchema = z.object({ rules: z.array(AlertRuleSchema) }).meta({ id: 'AlertRuleList' });
export type AlertRuleList = z.infer<typeof AlertRuleListSchema>;
export const RuleRefParamsSchema = z.object({ id: z.string().min(1).max(128).describe('Rule id or name') });

// ---- alerts ------------------------------------------------------------------------------------

export const AlertStateSchema = z.enum(['pending', 'firing', 'resolved']);
export type AlertState = z.infer<typeof AlertStateSchema>;

export const AlertSchema = z
  .object({
    id: z.string(),
    ruleId: z.string(),
    ruleName: z.string(),
    kind: z.enum(['metric', 'offline', 'online', 'container', 'job_failed', 'check']),
    severity: SeveritySchema,
    state: AlertStateSchema,
    agentId: z.string().nullable(),
    agentName: z.string().nullable(),
    instance: z.string().describe('The mount, GPU, container or command the alert is about; empty for the machine'),
    subject: z.string(),
    summary: z.string(),
    value: z.number().nullable(),
    threshold: z.number().nullable(),
    comparator: ComparatorSchema.nullable(),
    unit: z.string().nullable(),
    since: z.number().int().describe('When the condition started to hold'),
    firedAt: z.number().int().nullable(),
    resolvedAt: z.number().int().nullable(),
    lastNotifiedAt: z.number().int().nullable(),
    notifications: z.number().int().describe('Notices sent (firing, repeats, escalation, resolved)'),
    escalatedAt: z.number().int().nullable(),
    acknowledgedAt: z.number().int().nullable(),
    acknowledgedBy: z.string().nullable(),
    acknowledgeNote: z.string().nullable(),
    silenced: z.boolean().describe('A silence covers it now: tracked, not sent'),
    topProcesses: z.array(NoticeProcessSchema).optional(),
  })
  .meta({ id: 'Alert' });
export type Alert = z.infer<typeof AlertSchema>;

/** `cleared`: a pending alert whose condition went away before `for` (never sent, not kept). */
export const ALERT_EVENT_KINDS = ['pending', 'firing', 'repeat', 'escalated', 'resolved', 'acknowledged', 'cleared'] as const;
export const AlertEventKindSchema = z.enum(ALERT_EVENT_KINDS);
export type AlertEventKind = z.infer<typeof AlertEventKindSchema>;

export const AlertEventSchema = z.object({
  event: AlertEventKindSchema,
  at: z.number().int(),
  channels: z.array(z.string()).describe('Where it was sent; empty when nothing was sent'),
  silencedBy: z.string().nullable().describe('The silence that kept it from being sent'),
  actor: z.string().nullable(),
  note: z.string().nullable(),
});
export type AlertEvent = z.infer<typeof AlertEventSchema>;

export const AlertDetailSchema = AlertSchema.extend({ events: z.array(AlertEventSchema) }).meta({ id: 'AlertDetail' });
export type AlertDetail = z.infer<typeof AlertDetailSchema>;

export const AlertListQuerySchema = z.object({
  state: z.enum(['pending', 'firing', 'resolved', 'active', 'all']).optional().describe('active = pending + firing (default)'),
  agent: z.string().max(128).optional().describe('Agent id or name'),
  rule: z.string().max(128).optional().describe('Rule id or name'),
  severity: SeveritySchema.optional(),
  since: z.coerce.number().int().nonnegative().optional().describe('Only alerts whose condition started at or after this (ms)'),
  limit: z.coerce.number().int().min(1).max(1000).optional().describe('Default 100'),
  cursor: z.string().regex(/^\d+$/).optional().describe('`nextCursor` of the previous page'),
});
export type AlertListQuery = z.infer<typeof AlertListQuerySchema>;

export const AlertListSchema = z
  .object({ alerts: z.array(AlertSchema), nextCursor: z.string().nullable() })
  .meta({ id: 'AlertList' });
export type AlertList = z.infer<typeof AlertListSchema>;

export const AlertIdParamsSchema = z.object({ id: z.string().regex(/^al_[a-z0-9]{16}$/, 'alert ids look like al_ followed by 16 chars') });

export const AlertAckSchema = z.object({ note: z.string().max(500).optional() }).strict().meta({ id: 'AlertAck' });
export type AlertAck = z.infer<typeof AlertAckSchema>;

/** `/ui` `alert:changed` and the bus topic `alert.changed`: an alert changed state or was sent again. */
export const AlertChangedEventSchema = z.object({ event: AlertEventKindSchema, alert: AlertSchema });
export type AlertChangedEvent = z.infer<typeof AlertChangedEventSchema>;

// ---- silences ----------------------------------------------------------------------------------

/** What a silence covers: every given part must match (agents, label selector, rules). */
export const SilenceMatcherSchema = z
  .object({
    agents: z.array(z.string().min(1).max(128)).min(1).max(1000).optional().describe('Agent ids or names'),
    selector: z.string().min(1).max(1024).optional().describe('Label selector'),
    rules: z.array(z.string().min(1).max(128)).min(1).max(100).optional().describe('Rule ids or names'),
    all: z.literal(true).optional().describe('Everything (a fleet-wide maintenance window)'),
  })
  .strict()
  .refine((m) => m.all === true || m.agents !== undefined || m.selector !== undefined || m.rules !== undefined, {
    message: 'a silence needs agents, selector, rules or all: true',
  });
export type SilenceMatcher = z.infer<typeof SilenceMatcherSchema>;

export const SilenceCreateSchema = z
  .object({
    matcher: SilenceMatcherSchema,
    startsAt: z.number().int().nonnegative().optional().describe('ms; default now'),
    endsAt: z.number().int().positive().optional().describe('ms; give this or duration'),
    duration: DurationInputSchema.optional().describe('From startsAt; give this or endsAt'),
    reason: z.string().min(1).max(500),
  })
  .strict()
  .refine((s) => (s.endsAt === undefined) !== (s.duration === undefined), { message: 'give exactly one of endsAt and duration' })
  .meta({ id: 'SilenceCreate' });
export type SilenceCreate = z.input<typeof SilenceCreateSchema>;

export const SilenceSchema = z
  .object({
    id: z.string(),
    matcher: SilenceMatcherSchema,
    startsAt: z.number().int(),
    endsAt: z.number().int(),
    reason: z.string(),
    createdBy: z.string(),
    createdAt: z.number().int(),
    active: z.boolean(),
  })
  .meta({ id: 'Silence' });
export type Silence = z.infer<typeof SilenceSchema>;

export const SilenceListQuerySchema = z.object({
  all: z.enum(['true', 'false']).optional().transform((v) => v === 'true').describe('Include expired silences'),
});
export const SilenceListSchema = z.object({ silences: z.array(SilenceSchema) }).meta({ id: 'SilenceList' });
export const SilenceIdParamsSchema = z.object({ id: z.string().regex(/^sil_[a-z0-9]{16}$/, 'silence ids look like sil_ followed by 16 chars') });

// ---- configuration as code ---------------------------------------------------------------------

/**
 * FAROL_ALERTS_FILE: rules (and channels, handed to the notifier) as YAML. Rules from the file
 * replace, by name, those the file created before; rules made through the API are left alone.
 */
export const AlertsFileSchema = z
  .object({
    rules: z.array(AlertRuleInputSchema).max(1000).default([]),
    channels: z.unknown().optional().describe('Passed to the notifier as is'),
  })
  .strict();
export type AlertsFile = z.infer<typeof AlertsFileSchema>;
