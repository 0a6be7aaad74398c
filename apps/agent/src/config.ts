import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { MAX_HEARTBEAT_INTERVAL_MS, NewAgentNameSchema, parseDuration } from '@farol/protocol';
import { parseDockerHost } from './docker/docker-engine.client.js';
import { parseWatchList } from './docker/watch-list.js';
import { MAX_HUB_URLS, splitHubUrls } from './hub-link/hub-rotation.js';
import { LOG_LEVELS } from './logging/logger.js';

/** "50MB", "512KiB", "1GB", "1048576" → bytes. Units are binary: 1 KB = 1024 bytes. */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|k|mb|mib|m|gb|gib|g)?$/i.exec(text.trim());
  if (!match) throw new Error(`not a size: ${text}`);
  const unit = (match[2] ?? 'b').toLowerCase()[0] as 'b' | 'k' | 'm' | 'g';
  const factor = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[unit];
  return Math.floor(Number(match[1]) * factor);
}

const DurationText = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)$/, 'durations look like 10s, 5m, 24h or 7d')
  .transform((text) => parseDuration(text));

const SizeText = z
  .string()
  .regex(/^\d+(\.\d+)?\s*(b|kb|kib|k|mb|mib|m|gb|gib|g)?$/i, 'sizes look like 50MB, 512KB or 1GB')
  .transform((text) => parseSize(text));

const ONE_HUB_URL = /^https?:\/\/[^\s/,]+(\/[^\s,]*)?$/i;

/**
 * One hub URL, or several separated by commas (`https://a:8080,https://b:8080`): the agent
 * tries them in an order of its own and stays on the one that works. Normalized to the same
 * comma-separated text without trailing slashes, which identity.json keeps as it is.
 */
const HubUrl = z
  .string()
  .transform((text) => splitHubUrls(text))
  .superRefine((urls, context) => {
    if (urls.length === 0) context.addIssue({ code: 'custom', message: 'the hub URL looks like https://hub.example.com:8080' });
    if (urls.length > MAX_HUB_URLS) context.addIssue({ code: 'custom', message: `at most ${MAX_HUB_URLS} hub URLs` });
    for (const url of urls) {
      if (!ONE_HUB_URL.test(url)) context.addIssue({ code: 'custom', message: `the hub URL looks like https://hub.example.com:8080 (several: separated by commas), not "${url}"` });
    }
  })
  .transform((urls) => urls.join(','));

/** A zod refinement from a parser that throws with an operator-facing message. */
function refineWith(parse: (text: string) => unknown) {
  return (text: string, context: z.RefinementCtx): void => {
    try {
      parse(text);
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message });
    }
  };
}

/** Where the agent keeps its identity and buffer when --state is not given. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env, isRoot = process.getuid?.() === 0): string {
  if (process.platform === 'win32') return path.join(env.ProgramData ?? 'C:\\ProgramData', 'farol-agent');
  if (isRoot) return '/var/lib/farol-agent';
  const stateHome = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(os.homedir(), '.local', 'state');
  return path.join(stateHome, 'farol-agent');
}

/** Configuration of `farol-agent run` and `farol-agent enroll`: flags, then environment, then defaults. */
export const AgentConfigSchema = z.object({
  hubUrl: HubUrl.optional().describe('Hub base URL, e.g. https://hub.example.com:8080, or several hubs separated by commas (https://a:8080,https://b:8080: the agent fails over between them). Needed to enroll; afterwards the enrolled URLs are the default'),
  joinToken: z.string().min(1).max(256).optional().describe('Join token from `farol join-tokens create`; used only when the state dir holds no identity yet'),
  stateDir: z.string().min(1).describe('Directory for identity.json and the sample buffer. Default /var/lib/farol-agent as root, else $XDG_STATE_HOME/farol-agent or ~/.local/state/farol-agent'),
  name: NewAgentNameSchema.optional().describe('Name asked for at enrollment; default the hostname. Never shaped like an id (ag_…)'),
  heartbeatIntervalMs: DurationText.pipe(
    // The hub honours at most MAX_HEARTBEAT_INTERVAL_MS (5 min) when it decides a machine is offline.
    z.number().min(1_000, 'the interval is at least 1s').max(MAX_HEARTBEAT_INTERVAL_MS, 'the interval is at most 5m'),
  ).describe('How often a sample is taken and sent (default 10s)'),
  reconnectMaxDelayMs: DurationText.pipe(
    z.number().min(1_000, 'the reconnect delay cap is at least 1s').max(86_400_000, 'the reconnect delay cap is at most 1d'),
  ).describe('Cap of the exponential reconnect backoff (default 60s)'),
  bufferMaxAgeMs: DurationText.pipe(z.number().min(60_000, 'keep samples at least 1m')).describe(
    'Samples older than this are dropped from the offline buffer (default 24h)',
  ),
  bufferMaxBytes: SizeText.pipe(z.number().min(1024 * 1024, 'the buffer needs at least 1MB')).describe(
    'Disk space the offline buffer may use; the oldest samples go first (default 50MB)',
  ),
  logLevel: z.enum(LOG_LEVELS).describe('trace, debug, info, warn, error, fatal or silent (default info)'),
  policyFile: z.string().min(1).optional().describe('What remote commands this machine allows (the hub cannot change it). Default <state>/policy.json; no file allows every command'),
  caFile: z.string().min(1).optional().describe('PEM file of the CA that signed the hub\'s certificate (a private CA); enrollment and the hub link then trust it, and only it, for an https hub'),
  dockerHost: z.string().max(1024).superRefine(refineWith(parseDockerHost)).optional().describe('Docker engine: unix:///var/run/docker.sock (default) or tcp://host:port; DOCKER_HOST is honoured'),
  watchContainers: z
    .string()
    .max(8192)
    .superRefine(refineWith(parseWatchList))
    .optional()
    .describe('Containers whose absence or ill health matters: names or globs, comma-separated (FAROL_WATCH_CONTAINERS, or WATCH_CONTAINERS as in the design notes)'),
  containerUpdateCheckMs: DurationText.pipe(z.number().min(1_000, 'at least 1s').max(86_400_000, 'at most 1d')).describe(
    'How often the registry is asked for newer digests of the containers\' image tags, reported as "update available" (default 5m)',
  ),
  terminalMaxSessions: z.coerce
    .number({ error: 'a whole number of sessions' })
    .int('a whole number of sessions')
    .min(0, 'at least 0 (0 refuses every terminal)')
    .max(256)
    .describe('Interactive terminal sessions this machine runs at once (default 8)'),
  terminalIdleTimeoutMs: DurationText.pipe(z.number().min(1_000, 'at least 1s')).describe('A terminal without input for this long is closed (default 30m)'),
});
export type AgentConfig = z.infer<typeof AgentConfigSchema>;
type AgentConfigKey = keyof AgentConfig;

/** The flag and environment variable behind each field, for messages and generated docs. */
export const AGENT_CONFIG_SOURCES: Record<AgentConfigKey, { flag: string; env?: string; default?: string }> = {
  hubUrl: { flag: '--hub', env: 'FAROL_HUB_URL' },
  joinToken: { flag: '--token', env: 'FAROL_JOIN_TOKEN' },
  stateDir: { flag: '--state', env: 'FAROL_AGENT_STATE_DIR' },
  name: { flag: '--name' },
  heartbeatIntervalMs: { flag: '--interval', env: 'FAROL_HEARTBEAT_INTERVAL', default: '10s' },
  reconnectMaxDelayMs: { flag: '--reconnect-max', env: 'FAROL_RECONNECT_MAX_DELAY', default: '60s' },
  bufferMaxAgeMs: { flag: '--buffer-max-age', env: 'FAROL_BUFFER_MAX_AGE', default: '24h' },
  bufferMaxBytes: { flag: '--buffer-max-bytes', env: 'FAROL_BUFFER_MAX_BYTES', default: '50MB' },
  logLevel: { flag: '--log-level', env: 'FAROL_LOG_LEVEL', default: 'info' },
  policyFile: { flag: '--policy', env: 'FAROL_AGENT_POLICY' },
  caFile: { flag: '--ca-file', env: 'FAROL_CA_FILE' },
  dockerHost: { flag: '--docker-host', env: 'DOCKER_HOST' },
  watchContainers: { flag: '--watch-containers', env: 'FAROL_WATCH_CONTAINERS' },
  containerUpdateCheckMs: { flag: '--container-update-check', env: 'FAROL_CONTAINER_UPDATE_CHECK', default: '5m' },
  terminalMaxSessions: { flag: '--terminal-max-sessions', env: 'FAROL_TERMINAL_MAX_SESSIONS', default: '8' },
  terminalIdleTimeoutMs: { flag: '--terminal-idle-timeout', env: 'FAROL_TERMINAL_IDLE_TIMEOUT', default: '30m' },
};

/** Options as commander hands them over (all strings). */
export interface AgentFlags {
  hub?: string;
  token?: string;
  state?: string;
  name?: string;
  interval?: string;
  reconnectMax?: string;
  bufferMaxAge?: string;
  bufferMaxBytes?: string;
  logLevel?: string;
  policy?: string;
  caFile?: string;
  dockerHost?: string;
  watchContainers?: string;
  containerUpdateCheck?: string;
  terminalMaxSessions?: string;
  terminalIdleTimeout?: string;
}

const FLAG_KEYS: Record<AgentConfigKey, keyof AgentFlags> = {
  hubUrl: 'hub',
  joinToken: 'token',
  stateDir: 'state',
  name: 'name',
  heartbeatIntervalMs: 'interval',
  reconnectMaxDelayMs: 'reconnectMax',
  bufferMaxAgeMs: 'bufferMaxAge',
  bufferMaxBytes: 'bufferMaxBytes',
  logLevel: 'logLevel',
  policyFile: 'policy',
  caFile: 'caFile',
  dockerHost: 'dockerHost',
  watchContainers: 'watchContainers',
  containerUpdateCheckMs: 'containerUpdateCheck',
  terminalMaxSessions: 'terminalMaxSessions',
  terminalIdleTimeoutMs: 'terminalIdleTimeout',
};

/** Bad configuration: every problem, one per line, each naming its flag and variable. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Formats zod issues with the flag/env names an operator actually typed. */
export function describeIssues(
  error: z.ZodError,
  sources: Record<string, { flag: string; env?: string }>,
  raw: Record<string, unknown>,
): string[] {
  return error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '');
    const source = sources[key];
    const where = source ? `${source.flag}${source.env ? ` / ${source.env}` : ''}` : key || 'config';
    const value = raw[key];
    if (value === undefined) return `${where}: required`;
    const shown = key === 'joinToken' ? '' : ` (got "${String(value)}")`;
    return `${where}: ${issue.message}${shown}`;
  });
}

/** Builds the config from flags, then env, then defaults; throws ConfigError listing every problem. */
export function loadAgentConfig(flags: AgentFlags, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const raw: Record<string, string | undefined> = {};
  for (const key of Object.keys(AGENT_CONFIG_SOURCES) as AgentConfigKey[]) {
    const source = AGENT_CONFIG_SOURCES[key];
    const fromEnv = source.env === undefined ? undefined : env[source.env];
    raw[key] = flags[FLAG_KEYS[key]] ?? (fromEnv === '' ? undefined : fromEnv) ?? source.default;
  }
  raw.stateDir ??= defaultStateDir(env);
  // The design notes' name for the watch list, still honoured when the FAROL_ one is not set.
  raw.watchContainers ??= env.WATCH_CONTAINERS === '' ? undefined : env.WATCH_CONTAINERS;
  const parsed = AgentConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error, AGENT_CONFIG_SOURCES, raw));
  return parsed.data;
}

/** Configuration of `farol-agent simulate`. */
export const SimulateConfigSchema = z.object({
  hubUrl: HubUrl.describe('Hub base URL, or several separated by commas (each simulated agent picks its own order)'),
  joinToken: z.string().min(1).max(256).optional().describe('Join token allowing at least --agents enrollments; not needed when cached identities suffice'),
  agents: z.coerce.number({ error: 'a whole number of agents' }).int('a whole number of agents').min(1, 'simulate at least 1 agent').max(100_000).describe('How many agents to simulate'),
  heartbeatIntervalMs: DurationText.pipe(z.number().min(1_000).max(3_600_000)).describe('Heartbeat interval of each simulated agent (default 10s)'),
  stateDir: z.string().min(1).describe('Where sim-identities.json caches the enrolled identities (default ./farol-sim)'),
  durationMs: DurationText.pipe(z.number().min(1_000)).optional().describe('Stop after this long; default: run until Ctrl-C'),
  reportJson: z.string().min(1).optional().describe('Also write the summary as JSON to this file'),
  linkLog: z.string().min(1).optional().describe('Append every link and unlink of a simulated agent to this file, one JSON object a line (at, agent, event, hubUrl): the reconnect-storm benchmark reads it'),
  connectConcurrency: z.coerce.number({ error: 'a whole number' }).int('a whole number').min(1).max(10_000).describe('Connections being set up at once (default 200)'),
  logLevel: z.enum(LOG_LEVELS).describe('Log level (default warn: thousands of agents are noisy)'),
});
export type SimulateConfig = z.infer<typeof SimulateConfigSchema>;

/** The flag and environment variable behind each simulator field. */
export const SIMULATE_CONFIG_SOURCES: Record<keyof SimulateConfig, { flag: string; env?: string; default?: string }> = {
  hubUrl: { flag: '--hub', env: 'FAROL_HUB_URL' },
  joinToken: { flag: '--token', env: 'FAROL_JOIN_TOKEN' },
  agents: { flag: '--agents' },
  heartbeatIntervalMs: { flag: '--interval', env: 'FAROL_HEARTBEAT_INTERVAL', default: '10s' },
  stateDir: { flag: '--state', default: 'farol-sim' },
  durationMs: { flag: '--duration' },
  reportJson: { flag: '--report-json' },
  linkLog: { flag: '--link-log' },
  connectConcurrency: { flag: '--connect-concurrency', default: '200' },
  logLevel: { flag: '--log-level', env: 'FAROL_LOG_LEVEL', default: 'warn' },
};

/** Simulator options as commander hands them over (all strings). */
export interface SimulateFlags {
  hub?: string;
  token?: string;
  agents?: string;
  interval?: string;
  state?: string;
  duration?: string;
  reportJson?: string;
  linkLog?: string;
  connectConcurrency?: string;
  logLevel?: string;
}

const SIMULATE_FLAG_KEYS: Record<keyof SimulateConfig, keyof SimulateFlags> = {
  hubUrl: 'hub',
  joinToken: 'token',
  agents: 'agents',
  heartbeatIntervalMs: 'interval',
  stateDir: 'state',
  durationMs: 'duration',
  reportJson: 'reportJson',
  linkLog: 'linkLog',
  connectConcurrency: 'connectConcurrency',
  logLevel: 'logLevel',
};

/** Builds the simulator config from flags, env and defaults; throws ConfigError listing every problem. */
export function loadSimulateConfig(flags: SimulateFlags, env: NodeJS.ProcessEnv = process.env): SimulateConfig {
  const raw: Record<string, string | undefined> = {};
  for (const key of Object.keys(SIMULATE_CONFIG_SOURCES) as Array<keyof SimulateConfig>) {
    const source = SIMULATE_CONFIG_SOURCES[key];
    const fromEnv = source.env === undefined ? undefined : env[source.env];
    raw[key] = flags[SIMULATE_FLAG_KEYS[key]] ?? (fromEnv === '' ? undefined : fromEnv) ?? source.default;
  }
  const parsed = SimulateConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error, SIMULATE_CONFIG_SOURCES, raw));
  return parsed.data;
}
