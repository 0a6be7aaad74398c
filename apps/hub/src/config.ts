import path from 'node:path';
import { z } from 'zod';
import { parseDuration } from '@farol/protocol';

const Duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)$/, 'use a duration such as 500ms, 10s, 5m, 48h or 30d')
  .transform(parseDuration);

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
  writeBatchWindow: Duration.prefault('2ms').describe('FAROL_WRITE_BATCH_WINDOW: heartbeats arriving within this window are committed in one transaction'),
  missedHeartbeats: z.coerce.number().int().min(2).max(20).default(3).describe('FAROL_MISSED_HEARTBEATS: an agent silent for this many intervals is marked offline'),
  agentBundle: z.string().optional().describe('FAROL_AGENT_BUNDLE: path of the one-file agent served at /download/farol-agent.mjs'),
  shutdownGrace: Duration.prefault('10s').describe('FAROL_SHUTDOWN_GRACE: how long SIGTERM waits for in-flight work'),
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
  writeBatchWindow: 'FAROL_WRITE_BATCH_WINDOW',
  missedHeartbeats: 'FAROL_MISSED_HEARTBEATS',
  agentBundle: 'FAROL_AGENT_BUNDLE',
  shutdownGrace: 'FAROL_SHUTDOWN_GRACE',
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
  return { ...parsed.data, dataDir: path.resolve(parsed.data.dataDir) };
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
