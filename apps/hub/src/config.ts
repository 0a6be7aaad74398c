import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { parseDuration } from '@farol/protocol';

const Duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)$/, 'use a duration such as 500ms, 10s, 5m, 48h or 30d')
  .transform(parseDuration);

/** An address or CIDR (FAROL_NOTIFY_ALLOW_NETWORKS). */
function isCidr(text: string): boolean {
  return text.includes('/') ? ipaddr.isValidCIDR(text) : ipaddr.isValid(text);
}

/**
 * The hub's whole configuration: environment variables (FAROL_*) overridden by command-line
 * flags, parsed once at start. Every field is described; docs/configuration.md is generated
 * from this schema.
 */
export const HubConfigSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8080).describe('FAROL_PORT: TCP port for HTTP, Socket.IO and the dashboard (0 picks a free port)'),
  bind: z.string().min(1).default('127.0.0.1').describe('FAROL_BIND: address to listen on; 127.0.0.1 exposes nothing; use your Tailscale 100.x address to reach it over the tailnet'),
  dataDir: z.string().min(1).default('./data').describe('FAROL_DATA_DIR: where the SQLite database, the hub key and the admin token live'),
  publicUrl: z.url().optional().describe('FAROL_PUBLIC_URL: URL agents use to reach the hub (install scripts); default: taken from the request'),
  adminToken: z.string().min(24, 'FAROL_ADMIN_TOKEN must be at least 24 characters').optional().describe('FAROL_ADMIN_TOKEN: operator API token; generated on first start and stored in the data directory when unset'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('FAROL_LOG_LEVEL: fatal, error, warn, info, debug, trace or silent'),
  retentionRaw: Duration.prefault('48h').describe('FAROL_RETENTION_RAW: how long raw heartbeat samples are kept'),
  retention1m: Duration.prefault('30d').describe('FAROL_RETENTION_1M: how long 1-minute rollups are kept'),
  retention1h: Duration.prefault('365d').describe('FAROL_RETENTION_1H: how long 1-hour rollups are kept'),
  rollupInterval: Duration.prefault('60s').describe('FAROL_ROLLUP_INTERVAL: how often rollups and retention run'),
  screenshotMaxCount: z.coerce.number().int().min(1).max(100_000).default(200).describe('FAROL_SCREENSHOT_MAX_COUNT: screenshots kept in <data>/screenshots; the oldest go first'),
  screenshotMaxAge: Duration.prefault('7d').describe('FAROL_SCREENSHOT_MAX_AGE: screenshots older than this are deleted'),
  writeBatchWindow: Duration.prefault('2ms').describe('FAROL_WRITE_BATCH_WINDOW: heartbeats arriving within this window are committed in one transaction'),
  missedHeartbeats: z.coerce.number().int().min(2).max(20).default(3).describe('FAROL_MISSED_HEARTBEATS: an agent silent for this many intervals is marked offline'),
  agentBundle: z.string().optional().describe('FAROL_AGENT_BUNDLE: path of the one-file agent served at /download/farol-agent.mjs'),
  shutdownGrace: Duration.prefault('10s').describe('FAROL_SHUTDOWN_GRACE: how long SIGTERM waits for in-flight work'),
  secretKey: z.string().min(1).optional().describe('FAROL_SECRET_KEY: 32-byte key (64 hex chars or base64) sealing secrets at rest; default: <data>/secret.key, created on first start (back it up with the database)'),
  secretsBackend: z.enum(['hub', 'vault', 'infisical']).default('hub').describe('FAROL_SECRETS_BACKEND: hub (values sealed in the hub database) or vault / infisical (read through at every read; the hub stores only name, scope and reference)'),
  vaultAddr: z.url().optional().describe('FAROL_VAULT_ADDR: HashiCorp Vault address, e.g. https://vault.internal:8200'),
  vaultToken: z.string().min(1).optional().describe('FAROL_VAULT_TOKEN: Vault token sent as X-Vault-Token (read access to the KV v2 mount)'),
  vaultMount: z.string().regex(/^[A-Za-z0-9_-]+$/, 'a mount name: letters, digits, _ and -').default('secret').describe('FAROL_VAULT_MOUNT: KV v2 mount the secrets are read from'),
  infisicalUrl: z.url().optional().describe('FAROL_INFISICAL_URL: Infisical address, e.g. https://app.infisical.com'),
  infisicalToken: z.string().min(1).optional().describe('FAROL_INFISICAL_TOKEN: Infisical access token (machine identity), sent as a bearer token'),
  infisicalProjectId: z.string().min(1).optional().describe('FAROL_INFISICAL_PROJECT_ID: Infisical project (workspace) id the secrets are read from'),
  infisicalEnvironment: z.string().min(1).default('prod').describe('FAROL_INFISICAL_ENVIRONMENT: Infisical environment slug'),
  infisicalPath: z.string().startsWith('/').default('/').describe('FAROL_INFISICAL_PATH: Infisical folder path of the secrets'),
  tlsCert: z.string().min(1).optional().describe('FAROL_TLS_CERT: PEM certificate (chain) file; with FAROL_TLS_KEY the hub serves HTTPS and WSS'),
  tlsKey: z.string().min(1).optional().describe('FAROL_TLS_KEY: PEM private key file of FAROL_TLS_CERT'),
  trustProxy: z.string().optional().describe('FAROL_TRUST_PROXY: comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For/-Proto are honoured (client IP for rate limits and the audit log); default none'),
  sessionIdle: Duration.prefault('1h').describe('FAROL_SESSION_IDLE: a browser session unused this long ends'),
  sessionMax: Duration.prefault('12h').describe('FAROL_SESSION_MAX: a browser session ends this long after sign-in, used or not'),
  mfaMaxAge: Duration.prefault('10m').describe('FAROL_MFA_MAX_AGE: for users with two-factor sign-in, how old the second factor may be for shell commands, terminals and secret reads'),
  loginRateLimit: z.coerce.number().int().min(1).default(10).describe('FAROL_LOGIN_RATE_LIMIT: sign-in attempts per minute per IP address'),
  apiRateLimit: z.coerce.number().int().min(0).default(6000).describe('FAROL_API_RATE_LIMIT: HTTP requests per minute per API token (or per IP address without one); 0 turns it off'),
  lockoutThreshold: z.coerce.number().int().min(1).max(100).default(5).describe('FAROL_LOCKOUT_THRESHOLD: failed sign-ins before an account is locked; each further failure doubles the lock (30 s, 1 m, 2 m … up to 1 h)'),
  jobFanOutLimit: z.coerce.number().int().min(1).max(10_000).default(10_000).describe('FAROL_JOB_FANOUT_LIMIT: most machines one job of a non-admin user may target'),
  corsOrigins: z.string().optional().describe('FAROL_CORS_ORIGINS: comma-separated origins allowed to call the API from a browser (Access-Control-Allow-Origin); default none (CORS closed)'),
  terminalMaxPerAgent: z.coerce.number().int().min(0).max(1_000).default(4).describe('FAROL_TERMINAL_MAX_PER_AGENT: interactive terminal sessions open at once on one machine (0 turns terminals off)'),
  terminalMaxPerOperator: z.coerce.number().int().min(0).max(1_000).default(4).describe('FAROL_TERMINAL_MAX_PER_OPERATOR: interactive terminal sessions one operator may have open at once'),
  terminalIdleTimeout: Duration.prefault('15m').describe('FAROL_TERMINAL_IDLE_TIMEOUT: a terminal session without input for this long is closed'),
  terminalRecord: z.stringbool().default(false).describe('FAROL_TERMINAL_RECORD: record every terminal session (output only, never what is typed) as an asciicast v2 file under <data dir>/recordings'),
  notifyAllowNetworks: z
    .string()
    .optional()
    .refine((text) => text === undefined || text.split(',').every((part) => isCidr(part.trim())), 'a comma-separated list of addresses or CIDRs, e.g. 100.64.0.0/10,192.168.1.0/24')
    .describe('FAROL_NOTIFY_ALLOW_NETWORKS: private networks notification channels and webhooks may reach (comma-separated CIDRs, e.g. 100.64.0.0/10 for Tailscale, 192.168.1.0/24 for a LAN n8n); loopback, private, link-local and CGNAT addresses are refused otherwise'),
  notifyGiveUpAfter: Duration.prefault('24h').describe('FAROL_NOTIFY_GIVE_UP_AFTER: a notification still failing (429, 5xx, network) this long after it was queued is marked failed'),
  deadmanUrl: z.url({ protocol: /^https?$/ }).optional().describe('FAROL_DEADMAN_URL: the hub GETs this URL every FAROL_DEADMAN_INTERVAL (healthchecks.io, Uptime Kuma push, n8n), so something outside notices when the hub is down'),
  deadmanInterval: Duration.prefault('60s').describe('FAROL_DEADMAN_INTERVAL: how often the dead-man URL is pinged'),
  alertsFile: z.string().optional().describe('FAROL_ALERTS_FILE: YAML file with alert rules (and notification channels) as code; a file with errors stops the hub with every problem listed'),
  alertsChannels: z.string().optional().describe('FAROL_ALERTS_CHANNELS: comma-separated channel names for alert rules that name none (the default rules among them)'),
  alertsCooldown: Duration.prefault('30m').describe('FAROL_ALERTS_COOLDOWN: a still-firing, unacknowledged alert is sent again after this long, unless its rule says otherwise'),
  alertsGroupWindow: Duration.prefault('200ms').describe('FAROL_ALERTS_GROUP_WINDOW: alert notices produced within this window go out as one message per channel'),
  alertsReportEvery: Duration.optional().describe('FAROL_ALERTS_REPORT_EVERY: send a fleet report (machines, firing alerts, busiest machines) this often, e.g. 6h; unset: never'),
  alertsReportChannels: z.string().optional().describe('FAROL_ALERTS_REPORT_CHANNELS: comma-separated channel names for the fleet report; default FAROL_ALERTS_CHANNELS'),
});
export type HubConfig = z.infer<typeof HubConfigSchema>;

/** Flags from `farol hub` that override the environment. */
export interface HubOverrides {
  port?: number | undefined;
  bind?: string | undefined;
  dataDir?: string | undefined;
  publicUrl?: string | undefined;
  logLevel?: string | undefined;
}

const ENV_KEYS: Record<keyof HubConfig, string> = {
  port: 'FAROL_PORT',
  bind: 'FAROL_BIND',
  dataDir: 'FAROL_DATA_DIR',
  publicUrl: 'FAROL_PUBLIC_URL',
  adminToken: 'FAROL_ADMIN_TOKEN',
  logLevel: 'FAROL_LOG_LEVEL',
  retentionRaw: 'FAROL_RETENTION_RAW',
  retention1m: 'FAROL_RETENTION_1M',
  retention1h: 'FAROL_RETENTION_1H',
  rollupInterval: 'FAROL_ROLLUP_INTERVAL',
  screenshotMaxCount: 'FAROL_SCREENSHOT_MAX_COUNT',
  screenshotMaxAge: 'FAROL_SCREENSHOT_MAX_AGE',
  writeBatchWindow: 'FAROL_WRITE_BATCH_WINDOW',
  missedHeartbeats: 'FAROL_MISSED_HEARTBEATS',
  agentBundle: 'FAROL_AGENT_BUNDLE',
  shutdownGrace: 'FAROL_SHUTDOWN_GRACE',
  secretKey: 'FAROL_SECRET_KEY',
  secretsBackend: 'FAROL_SECRETS_BACKEND',
  vaultAddr: 'FAROL_VAULT_ADDR',
  vaultToken: 'FAROL_VAULT_TOKEN',
  vaultMount: 'FAROL_VAULT_MOUNT',
  infisicalUrl: 'FAROL_INFISICAL_URL',
  infisicalToken: 'FAROL_INFISICAL_TOKEN',
  infisicalProjectId: 'FAROL_INFISICAL_PROJECT_ID',
  infisicalEnvironment: 'FAROL_INFISICAL_ENVIRONMENT',
  infisicalPath: 'FAROL_INFISICAL_PATH',
  tlsCert: 'FAROL_TLS_CERT',
  tlsKey: 'FAROL_TLS_KEY',
  trustProxy: 'FAROL_TRUST_PROXY',
  sessionIdle: 'FAROL_SESSION_IDLE',
  sessionMax: 'FAROL_SESSION_MAX',
  mfaMaxAge: 'FAROL_MFA_MAX_AGE',
  loginRateLimit: 'FAROL_LOGIN_RATE_LIMIT',
  apiRateLimit: 'FAROL_API_RATE_LIMIT',
  lockoutThreshold: 'FAROL_LOCKOUT_THRESHOLD',
  jobFanOutLimit: 'FAROL_JOB_FANOUT_LIMIT',
  corsOrigins: 'FAROL_CORS_ORIGINS',
  terminalMaxPerAgent: 'FAROL_TERMINAL_MAX_PER_AGENT',
  terminalMaxPerOperator: 'FAROL_TERMINAL_MAX_PER_OPERATOR',
  terminalIdleTimeout: 'FAROL_TERMINAL_IDLE_TIMEOUT',
  terminalRecord: 'FAROL_TERMINAL_RECORD',
  notifyAllowNetworks: 'FAROL_NOTIFY_ALLOW_NETWORKS',
  notifyGiveUpAfter: 'FAROL_NOTIFY_GIVE_UP_AFTER',
  deadmanUrl: 'FAROL_DEADMAN_URL',
  deadmanInterval: 'FAROL_DEADMAN_INTERVAL',
  alertsFile: 'FAROL_ALERTS_FILE',
  alertsChannels: 'FAROL_ALERTS_CHANNELS',
  alertsCooldown: 'FAROL_ALERTS_COOLDOWN',
  alertsGroupWindow: 'FAROL_ALERTS_GROUP_WINDOW',
  alertsReportEvery: 'FAROL_ALERTS_REPORT_EVERY',
  alertsReportChannels: 'FAROL_ALERTS_REPORT_CHANNELS',
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses env + overrides; throws ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv, overrides: HubOverrides = {}): HubConfig {
  const raw: Record<string, unknown> = {};
  for (const [key, envName] of Object.entries(ENV_KEYS)) {
    const value = env[envName];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) raw[key] = value;
  const parsed = HubConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const key = issue.path[0] as keyof HubConfig | undefined;
        const name = key ? `${ENV_KEYS[key]} (--${String(key)})` : 'config';
        return `${name}: ${issue.message}`;
      }),
    );
  }
  const related = relatedSettingProblems(parsed.data);
  if (related.length > 0) throw new ConfigError(related);
  return { ...parsed.data, dataDir: path.resolve(parsed.data.dataDir) };
}

/** Settings that only make sense together (TLS pair, the secrets backend's connection). */
function relatedSettingProblems(config: HubConfig): string[] {
  const problems: string[] = [];
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) problems.push('FAROL_TLS_CERT and FAROL_TLS_KEY: set both (HTTPS) or neither');
  if (config.secretsBackend === 'vault' && (!config.vaultAddr || !config.vaultToken)) problems.push('FAROL_SECRETS_BACKEND=vault needs FAROL_VAULT_ADDR and FAROL_VAULT_TOKEN');
  if (config.secretsBackend === 'infisical' && (!config.infisicalUrl || !config.infisicalToken || !config.infisicalProjectId)) {
    problems.push('FAROL_SECRETS_BACKEND=infisical needs FAROL_INFISICAL_URL, FAROL_INFISICAL_TOKEN and FAROL_INFISICAL_PROJECT_ID');
  }
  if (config.trustProxy !== undefined) {
    for (const entry of config.trustProxy.split(',').map((e) => e.trim())) {
      if (!/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(entry)) problems.push(`FAROL_TRUST_PROXY: "${entry}" is not an address or CIDR (e.g. 127.0.0.1,10.0.0.0/8)`);
    }
  }
  return problems;
}

/** Flags of `farol hub` (apps/cli) and the setting each overrides. */
const FLAGS: Partial<Record<keyof HubConfig, string>> = {
  port: '--port',
  bind: '--bind',
  dataDir: '--data',
  publicUrl: '--public-url',
  logLevel: '--log-level',
};

/** Markdown table of every setting, for docs/configuration.md. */
export function describeConfig(): string {
  const rows = Object.entries(HubConfigSchema.shape).map(([key, schema]) => {
    const [envName, ...rest] = (schema.description ?? '').split(': ');
    const def = (schema as unknown as { def: { type: string; defaultValue?: unknown } }).def;
    const shown = def.type === 'default' || def.type === 'prefault' ? `\`${String(def.defaultValue)}\`` : '';
    const flag = FLAGS[key as keyof HubConfig];
    return `| \`${envName}\` | ${flag ? `\`${flag}\`` : ''} | ${rest.join(': ')} | ${shown} |`;
  });
  return ['| variable | flag | meaning | default |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
