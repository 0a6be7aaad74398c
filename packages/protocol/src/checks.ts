import { z } from 'zod';
import { AgentIdSchema, ResolutionSchema } from './agents.js';
import { DurationInputSchema } from './alerts.js';

/**
 * Service checks (issue #19): HTTP(S), TCP, ICMP ping, DNS and Nagios-compatible plugins, run
 * by the hub itself or by agents (named machines or a label selector). Every run's result goes
 * to the hub (`check:results`), which keeps the history and computes uptime.
 */

export const CHECK_KINDS = ['http', 'tcp', 'ping', 'dns', 'command'] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];

/** Nagios states: `ok` and `warning` count as up, `critical` as down, `unknown` as neither. */
export const CheckStatusSchema = z.enum(['ok', 'warning', 'critical', 'unknown']);
export type CheckStatus = z.infer<typeof CheckStatusSchema>;

/** The shortest interval a check may run at. */
export const MIN_CHECK_INTERVAL_MS = 10_000;
export const MAX_CHECK_TIMEOUT_MS = 60_000;

const HostSchema = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9_.:[\]-]+$/, 'a host name or an IP address')
  .refine((host) => !host.startsWith('-'), 'a host cannot start with "-"');

export const HttpProbeSchema = z
  .object({
    kind: z.literal('http'),
    url: z.url({ protocol: /^https?$/ }).max(2048).describe('http:// or https:// URL'),
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
    expectStatus: z.array(z.number().int().min(100).max(599)).min(1).max(20).optional().describe('Accepted status codes; default any 2xx or 3xx'),
    keyword: z.string().min(1).max(1024).optional().describe('The body must contain this text'),
    maxLatencyMs: z.number().int().min(1).max(MAX_CHECK_TIMEOUT_MS).optional().describe('Slower than this: WARNING'),
    followRedirects: z.boolean().default(true).describe('Follow up to 5 redirects; false: a 3xx is the answer'),
    verifyTls: z.boolean().default(true).describe('false: accept any certificate (days left are still reported)'),
    certExpiryDays: z.number().int().min(1).max(3650).optional().describe('https: WARNING when the certificate expires within this many days'),
  })
  .strict();

export const TcpProbeSchema = z.object({ kind: z.literal('tcp'), host: HostSchema, port: z.number().int().min(1).max(65535) }).strict();

export const PingProbeSchema = z
  .object({ kind: z.literal('ping'), host: HostSchema, count: z.number().int().min(1).max(10).default(1).describe('Echo requests; up when any is answered') })
  .strict();

export const DNS_RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'NS'] as const;
export const DnsProbeSchema = z
  .object({
    kind: z.literal('dns'),
    name: z.string().min(1).max(253).regex(/^[A-Za-z0-9_.-]+$/, 'a DNS name'),
    type: z.enum(DNS_RECORD_TYPES).default('A'),
    expect: z.string().min(1).max(1024).optional().describe('One answer must equal this (an address, a host name, TXT text)'),
    server: z
      .string()
      .max(64)
      .regex(/^(\d{1,3}(\.\d{1,3}){3}|\[[0-9A-Fa-f:]+\])(:\d{1,5})?$/, 'an IP address, optionally :port ([::1]:53 for IPv6)')
      .optional()
      .describe('Ask this resolver instead of the system\'s'),
  })
  .strict();

/**
 * A Nagios-compatible plugin: exit 0-3 is OK/WARNING/CRITICAL/UNKNOWN, the first line of its
 * output the message, performance data after `|`. Run as argv (never through a shell), and only
 * on agents whose local policy.json allows `checks.command`; never on the hub.
 */
export const CommandProbeSchema = z
  .object({
    kind: z.literal('command'),
    argv: z
      .array(z.string().min(1).max(4096).refine((arg) => !arg.includes('\0'), 'no NUL characters'))
      .min(1)
      .max(64)
      .refine((argv) => argv[0]!.startsWith('/'), 'argv[0] must be an absolute path to the plugin (no shell, no PATH lookup)')
      .describe('The plugin and its arguments, e.g. ["/usr/lib/nagios/plugins/check_disk", "-w", "20%"]'),
  })
  .strict();

export const CheckProbeSchema = z.discriminatedUnion('kind', [HttpProbeSchema, TcpProbeSchema, PingProbeSchema, DnsProbeSchema, CommandProbeSchema]).meta({ id: 'CheckProbe' });
export type CheckProbe = z.infer<typeof CheckProbeSchema>;

/** Where a check runs: the hub itself, named machines, or every machine a label selector matches. */
export const CheckRunOnSchema = z
  .union([
    z.object({ hub: z.literal(true) }).strict(),
    z.object({ agents: z.array(z.string().min(1).max(128)).min(1).max(1000).describe('Agent ids or names') }).strict(),
    z.object({ selector: z.string().min(1).max(1024).describe('Label selector, e.g. role=edge') }).strict(),
  ])
  .meta({ id: 'CheckRunOn' });
export type CheckRunOn = z.infer<typeof CheckRunOnSchema>;

export const CheckNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 ._:-]{0,79}$/, 'check names are 1-80 chars of letters, digits, space . _ : -');

export const CheckInputSchema = z
  .object({
    name: CheckNameSchema,
    description: z.string().max(500).optional(),
    probe: CheckProbeSchema,
    interval: DurationInputSchema.default(60_000).describe(`How often it runs; at least ${MIN_CHECK_INTERVAL_MS / 1000} s`),
    timeout: DurationInputSchema.default(10_000).describe(`Give up after this long (at most ${MAX_CHECK_TIMEOUT_MS / 1000} s, less than the interval)`),
    runOn: CheckRunOnSchema.default({ hub: true }),
    enabled: z.boolean().default(true),
  })
  .strict()
  .superRefine((check, ctx) => {
    if (check.interval < MIN_CHECK_INTERVAL_MS) ctx.addIssue({ code: 'custom', path: ['interval'], message: `at least ${MIN_CHECK_INTERVAL_MS / 1000} s` });
    if (check.timeout < 100 || check.timeout > MAX_CHECK_TIMEOUT_MS) ctx.addIssue({ code: 'custom', path: ['timeout'], message: `between 100 ms and ${MAX_CHECK_TIMEOUT_MS / 1000} s` });
    else if (check.timeout >= check.interval) ctx.addIssue({ code: 'custom', path: ['timeout'], message: 'must be shorter than the interval' });
    if (check.probe.kind === 'command' && 'hub' in check.runOn) ctx.addIssue({ code: 'custom', path: ['runOn'], message: 'command checks run on agents only (their policy.json must allow checks.command), never on the hub' });
  })
  .meta({ id: 'CheckCreate' });
export type CheckInput = z.input<typeof CheckInputSchema>;
export type CheckSpec = z.infer<typeof CheckInputSchema>;

export const PerfDataSchema = z.object({
  label: z.string().max(128),
  value: z.number(),
  unit: z.string().max(16).nullable(),
  warn: z.number().nullable(),
  crit: z.number().nullable(),
  min: z.number().nullable(),
  max: z.number().nullable(),
});
export type PerfData = z.infer<typeof PerfDataSchema>;

/** One run of one check at one place. */
export const CheckRunResultSchema = z.object({
  status: CheckStatusSchema,
  latencyMs: z.number().min(0).max(3_600_000).nullable().describe('Time to the answer; null when there was none'),
  message: z.string().max(1024),
  certDaysLeft: z.number().nullable().describe('https: days until the certificate expires (negative once expired)'),
  perfdata: z.array(PerfDataSchema).max(32),
});
export type CheckRunResult = z.infer<typeof CheckRunResultSchema>;

// ---- agent protocol -----------------------------------------------------------------------------

/** What an agent is told to run: the whole list, replacing the previous one. */
export const CheckAssignmentSchema = z.object({
  id: z.string().min(1).max(64),
  name: z.string().max(80),
  probe: CheckProbeSchema,
  intervalMs: z.number().int().min(MIN_CHECK_INTERVAL_MS),
  timeoutMs: z.number().int().min(100).max(MAX_CHECK_TIMEOUT_MS),
});
export type CheckAssignment = z.infer<typeof CheckAssignmentSchema>;

export const ChecksAssignSchema = z
  .object({ checks: z.array(CheckAssignmentSchema).max(1000) })
  .describe('Hub → agent, after every hello and whenever the checks of this agent change: the complete list (an empty list stops them all)');
export type ChecksAssign = z.infer<typeof ChecksAssignSchema>;

export const ChecksRunNowSchema = z.object({ checkIds: z.array(z.string().min(1).max(64)).min(1).max(1000) }).describe('Hub → agent: run these assigned checks now (`farol checks run`)');
export type ChecksRunNow = z.infer<typeof ChecksRunNowSchema>;

export const CheckResultReportSchema = CheckRunResultSchema.extend({
  checkId: z.string().min(1).max(64),
  ts: z.number().int().describe('When the run started, ms since epoch'),
});
export type CheckResultReport = z.infer<typeof CheckResultReportSchema>;

export const CheckResultsSchema = z.object({
  results: z.array(CheckResultReportSchema).min(1).max(500).describe('Live or backfilled from the agent\'s buffer, oldest first'),
});
export type CheckResults = z.infer<typeof CheckResultsSchema>;

export const CheckResultsAckSchema = z.object({
  stored: z.number().int(),
  ignored: z.number().int().describe('Results of checks this agent is not assigned (deleted or moved since): dropped; do not resend'),
});
export type CheckResultsAck = z.infer<typeof CheckResultsAckSchema>;

// ---- REST ---------------------------------------------------------------------------------------

export const UptimeSchema = z.object({
  h24: z.number().nullable().describe('Percent of ok/warning runs among runs with a verdict, last 24 h; null: no runs'),
  d7: z.number().nullable(),
  d30: z.number().nullable(),
});
export type Uptime = z.infer<typeof UptimeSchema>;

export const CheckLocationStateSchema = z.object({
  location: z.string().describe('`hub`, or the machine\'s name'),
  agentId: AgentIdSchema.nullable(),
  status: CheckStatusSchema,
  latencyMs: z.number().nullable(),
  message: z.string(),
  certDaysLeft: z.number().nullable(),
  at: z.number().int(),
});
export type CheckLocationState = z.infer<typeof CheckLocationStateSchema>;

export const CheckSourceSchema = z.enum(['api', 'file']).describe('file: defined in FAROL_CHECKS_FILE (read-only through the API; change it there)');
export type CheckSource = z.infer<typeof CheckSourceSchema>;

export const CheckSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    probe: CheckProbeSchema,
    intervalMs: z.number().int(),
    timeoutMs: z.number().int(),
    runOn: CheckRunOnSchema,
    enabled: z.boolean(),
    createdAt: z.number().int(),
    updatedAt: z.number().int(),
    source: CheckSourceSchema,
    status: CheckStatusSchema.nullable().describe('Worst current status over its locations; null before the first result'),
    locations: z.array(CheckLocationStateSchema),
    uptime: UptimeSchema,
  })
  .meta({ id: 'Check' });
export type Check = z.infer<typeof CheckSchema>;

export const CheckListSchema = z.object({ checks: z.array(CheckSchema) }).meta({ id: 'CheckList' });
export const CheckRefParamsSchema = z.object({ id: z.string().min(1).max(128).describe('Check id or name') });

export const CheckResultSchema = CheckRunResultSchema.extend({
  checkId: z.string(),
  location: z.string(),
  agentId: AgentIdSchema.nullable(),
  ts: z.number().int(),
}).meta({ id: 'CheckResult' });
export type CheckResult = z.infer<typeof CheckResultSchema>;

export const CheckResultsQuerySchema = z.object({
  since: z.coerce.number().int().min(0).optional().describe('ms since epoch; default 24 h ago'),
  location: z.string().min(1).max(128).optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
});

export const CheckHistorySchema = z
  .object({
    results: z.array(CheckResultSchema).describe('Newest first'),
    uptime: UptimeSchema,
    locations: z.array(z.object({ location: z.string(), agentId: AgentIdSchema.nullable(), uptime: UptimeSchema })),
  })
  .meta({ id: 'CheckHistory' });
export type CheckHistory = z.infer<typeof CheckHistorySchema>;

export const CheckSeriesQuerySchema = z.object({
  since: z.coerce.number().int().min(0).optional().describe('ms since epoch; default 24 h before `until`'),
  until: z.coerce.number().int().min(0).optional().describe('ms since epoch; default now'),
  location: z.string().min(1).max(128).optional().describe('`hub` or a machine name; default every location'),
  resolution: ResolutionSchema.optional().describe('Force a tier; default: raw up to 3 h, 1-minute rollups up to 2 days, hourly beyond'),
});
export type CheckSeriesQuery = z.infer<typeof CheckSeriesQuerySchema>;

export const CheckSeriesPointSchema = z.object({
  location: z.string().describe('`hub`, or the machine\'s name'),
  agentId: AgentIdSchema.nullable(),
  ts: z.number().int().describe('Start of the bucket (a raw point: the run itself)'),
  ok: z.number().int(),
  warning: z.number().int(),
  critical: z.number().int(),
  unknown: z.number().int(),
  latencyAvg: z.number().nullable().describe('ms, over the runs that measured one'),
  latencyMin: z.number().nullable(),
  latencyMax: z.number().nullable(),
});
export type CheckSeriesPoint = z.infer<typeof CheckSeriesPointSchema>;

export const CheckSeriesSchema = z
  .object({
    resolution: ResolutionSchema,
    points: z.array(CheckSeriesPointSchema).describe('Oldest first'),
  })
  .meta({ id: 'CheckSeries' });
export type CheckSeries = z.infer<typeof CheckSeriesSchema>;

export const CheckRunResponseSchema = z
  .object({
    results: z.array(CheckResultSchema).describe('Runs finished by the hub itself'),
    requested: z.array(z.string()).describe('Machines asked to run it now (their results arrive as usual)'),
    offline: z.array(z.string()).describe('Target machines that are offline'),
  })
  .meta({ id: 'CheckRunResponse' });
export type CheckRunResponse = z.infer<typeof CheckRunResponseSchema>;

// ---- status pages -------------------------------------------------------------------------------

/**
 * A public status page (issue #19): chosen checks under names the operator picks, served without
 * sign-in at `/status/<slug>`. Nothing about a check but its display name, its current status and
 * its daily uptime is shown: no check names, targets, hosts or machines.
 */
export const StatusPageSlugSchema = z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/, 'slugs are 1-64 chars of a-z, 0-9 and -, not starting or ending with -');

const DisplayTextSchema = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((text) => [...text].every((char) => char.charCodeAt(0) >= 0x20 && char.charCodeAt(0) !== 0x7f), 'no control characters');

/**
 * The language of a public page: `auto` follows each visitor's browser (Accept-Language:
 * Portuguese → pt-BR, anything else → English); `en` / `pt-BR` fix it for everyone.
 */
export const StatusPageLanguageSchema = z.enum(['auto', 'en', 'pt-BR']);
export type StatusPageLanguage = z.infer<typeof StatusPageLanguageSchema>;

export const StatusPageEntryInputSchema = z
  .object({
    check: z.string().min(1).max(128).describe('Check id or name (never shown on the page)'),
    name: DisplayTextSchema(80).describe('What the public page calls it'),
  })
  .strict();

export const StatusPageInputSchema = z
  .object({
    slug: StatusPageSlugSchema.describe('The page is served at /status/<slug>'),
    title: DisplayTextSchema(120),
    description: z.string().trim().max(500).optional(),
    language: StatusPageLanguageSchema.default('auto').describe('auto: English or Brazilian Portuguese by the visitor\'s Accept-Language; en / pt-BR: always that'),
    checks: z.array(StatusPageEntryInputSchema).min(1).max(50),
  })
  .strict()
  .superRefine((page, ctx) => {
    const seen = new Set<string>();
    page.checks.forEach((entry, index) => {
      if (seen.has(entry.check)) ctx.addIssue({ code: 'custom', path: ['checks', index, 'check'], message: `"${entry.check}" is listed twice` });
      seen.add(entry.check);
    });
  })
  .meta({ id: 'StatusPageCreate' });
export type StatusPageInput = z.input<typeof StatusPageInputSchema>;
export type StatusPageSpec = z.infer<typeof StatusPageInputSchema>;

export const StatusPageSchema = z
  .object({
    id: z.string(),
    slug: z.string(),
    title: z.string(),
    description: z.string().nullable(),
    language: StatusPageLanguageSchema,
    checks: z.array(z.object({ checkId: z.string(), checkName: z.string().nullable().describe('null: the check was deleted (the page leaves it out)'), name: z.string() })),
    source: CheckSourceSchema,
    path: z.string().describe('Where the public page is served, e.g. /status/main'),
    createdAt: z.number().int(),
    updatedAt: z.number().int(),
  })
  .meta({ id: 'StatusPage' });
export type StatusPage = z.infer<typeof StatusPageSchema>;

export const StatusPageListSchema = z.object({ pages: z.array(StatusPageSchema) }).meta({ id: 'StatusPageList' });
export const StatusPageRefParamsSchema = z.object({ slug: z.string().min(1).max(128).describe('Status page slug or id') });
