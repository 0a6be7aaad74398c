import { existsSync } from 'node:fs';
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { parseDuration, parseLabelSelector, parseUpdateWindowLabel } from '@farol/protocol';

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
  dataDir: z.string().min(1).default('./data').describe('FAROL_DATA_DIR: where the SQLite database, the hub key, the secret key and the admin token live (unless given by FAROL_HUB_KEY_FILE, FAROL_SECRET_KEY_FILE, FAROL_ADMIN_TOKEN)'),
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\/[^\s]+$/, 'a PostgreSQL URL such as postgres://farol@127.0.0.1:5432/farol')
    .optional()
    .describe('FAROL_DATABASE_URL: PostgreSQL to store everything in instead of SQLite in the data directory, e.g. postgres://farol:password@db:5432/farol?sslmode=verify-full (the hub key and admin token stay in the data directory); unset: SQLite'),
  databaseCaFile: z.string().min(1).optional().describe('FAROL_DATABASE_CA_FILE: PEM file of the CA that signed the PostgreSQL server certificate; implies sslmode=verify-full unless FAROL_DATABASE_URL names an sslmode'),
  redisUrl: z
    .string()
    .regex(/^rediss?:\/\/[^\s]+$/, 'a Redis URL such as redis://127.0.0.1:6379')
    .optional()
    .describe('FAROL_REDIS_URL: Redis that several hubs share for presence, routing to agents and shared caches (needs FAROL_DATABASE_URL); unset: one hub, all in memory'),
  hubId: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,62}$/, 'letters, digits and . _ : - (at most 63), e.g. hub-a')
    .optional()
    .describe('FAROL_HUB_ID: this hub\'s name among several hubs (in presence, metrics and logs); default: <hostname>:<port>'),
  databasePoolSize: z.coerce.number().int().min(1).max(200).default(10).describe('FAROL_DATABASE_POOL_SIZE: most PostgreSQL connections the hub holds open'),
  publicUrl: z.url().optional().describe('FAROL_PUBLIC_URL: URL agents use to reach the hub (install scripts); default: the address and port the request reached (never its Host header)'),
  adminToken: z.string().min(24, 'FAROL_ADMIN_TOKEN must be at least 24 characters').optional().describe('FAROL_ADMIN_TOKEN: operator API token; generated on first start and stored in the data directory when unset'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('FAROL_LOG_LEVEL: fatal, error, warn, info, debug, trace or silent'),
  retentionRaw: Duration.prefault('48h').describe('FAROL_RETENTION_RAW: how long raw heartbeat samples and check results are kept'),
  retention1m: Duration.prefault('30d').describe('FAROL_RETENTION_1M: how long 1-minute rollups (of samples and check results) are kept; checks keep theirs at least as long as raw results'),
  retention1h: Duration.prefault('365d').describe('FAROL_RETENTION_1H: how long 1-hour rollups are kept; checks keep theirs at least 31 days (30-day uptime)'),
  rollupInterval: Duration.prefault('60s').describe('FAROL_ROLLUP_INTERVAL: how often rollups and retention run'),
  screenshotMaxCount: z.coerce.number().int().min(1).max(100_000).default(200).describe('FAROL_SCREENSHOT_MAX_COUNT: screenshots kept (in the database, so every hub serves them); the oldest go first'),
  screenshotMaxAge: Duration.prefault('7d').describe('FAROL_SCREENSHOT_MAX_AGE: screenshots older than this are deleted'),
  writeBatchWindow: Duration.prefault('10ms').describe('FAROL_WRITE_BATCH_WINDOW: heartbeats arriving within this window are committed in one transaction (a longer window: fewer transactions, less CPU, later acks; docs/adr/0035-heartbeat-batch-window.md)'),
  missedHeartbeats: z.coerce.number().int().min(2).max(20).default(3).describe('FAROL_MISSED_HEARTBEATS: an agent silent for this many intervals is marked offline'),
  agentRebalanceInterval: Duration.prefault('60s').describe('FAROL_AGENT_REBALANCE_INTERVAL: with several hubs (FAROL_REDIS_URL), how often each hub compares how many agents the hubs hold and asks its excess to reconnect to another hub (after every hub restarted, or a rolling upgrade); 0s turns it off (docs/scaling.md, "Rebalancing")'),
  agentRebalanceTolerance: z.coerce.number().int().min(0).max(1000).default(20).describe('FAROL_AGENT_REBALANCE_TOLERANCE: a hub moves agents only when it holds more than this percent over an even share (and at least 10 agents over it)'),
  agentBundle: z.string().optional().describe('FAROL_AGENT_BUNDLE: path of the one-file agent served at /download/farol-agent.mjs'),
  agentAutoUpdate: z
    .string()
    .min(1)
    .optional()
    .refine((text) => {
      if (text === undefined || text === 'all') return true;
      try {
        parseLabelSelector(text);
        return true;
      } catch {
        // Said by the message below; the value is the operator's to fix.
        return false;
      }
    }, 'a label selector such as ring=canary, or all')
    .describe("FAROL_AGENT_AUTO_UPDATE: machines (label selector, or `all`) that the hub updates by itself, in waves, to its own version when they run an older one; a machine that failed an update to a version is not tried again for it. Unset: updates only on request (farol agents update)"),
  containerUpdateScan: Duration.prefault('30s').describe('FAROL_CONTAINER_UPDATE_SCAN: how often the leader hub looks for opted-in containers whose agents report an update available, and starts their rollouts'),
  containerUpdateWindow: z
    .string()
    .optional()
    .refine((text) => text === undefined || typeof parseUpdateWindowLabel(text) !== 'string', 'HH:MM-HH:MM (UTC) or HH:MM-HH:MM Area/City, start and end different')
    .describe("FAROL_CONTAINER_UPDATE_WINDOW: daily window in which containers opted in by label alone (farol.auto-update=true, no rule and no farol.auto-update.window label of their own) are updated, e.g. '02:00-04:00' (UTC) or '02:00-04:00 Europe/Lisbon'; unset: any time"),
  agentUpdatesDir: z.string().min(1).optional().describe('FAROL_AGENT_UPDATES_DIR: folder of agent builds of other versions (farol-agent-<version>.mjs, farol-agent-<version>-<os>-<arch>) that `farol agents update --version` can roll out; unset: only this hub\'s own version'),
  agentExeDir: z.string().min(1).optional().describe('FAROL_AGENT_EXE_DIR: folder of the single-executable agents built by scripts/build-agent-exe.mjs (e.g. dist/agents), served at /download/farol-agent-<os>-<arch> for machines without Node.js; unset: none'),
  shutdownGrace: Duration.prefault('10s').describe('FAROL_SHUTDOWN_GRACE: how long SIGTERM waits for in-flight work'),
  heapGrowth: z.coerce.number().int().min(0).max(300).default(60).describe('FAROL_HEAP_GROWTH: how far, in percent of what the hub holds after a full garbage collection, its heap may grow before the next one (`farol hub` only); lower keeps memory closer to what the hub uses at the cost of more collections; 0 leaves it to V8, which lets the heap grow to several times that (docs/adr/0030-hub-heap-and-connections.md)'),
  secretKey: z.string().min(1).optional().describe('FAROL_SECRET_KEY: 32-byte key (64 hex chars or base64) sealing secrets at rest; default: <data>/secret.key, created on first start (back it up with the database)'),
  secretKeyFile: z.string().min(1).optional().describe('FAROL_SECRET_KEY_FILE: file holding the secret key (as FAROL_SECRET_KEY), e.g. a systemd credential or a Kubernetes secret; several hubs need the same key (docs/operations.md, "Hub identity")'),
  hubKeyFile: z.string().min(1).optional().describe('FAROL_HUB_KEY_FILE: file holding the hub\'s Ed25519 private key (a JWK, as <data>/hub-key.json) that agents pin; several hubs need the same key (docs/operations.md, "Hub identity"); default: <data>/hub-key.json, created on first start'),
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
  apiRateLimit: z.coerce.number().int().min(0).default(6000).describe('FAROL_API_RATE_LIMIT: HTTP requests per minute per API token (however the Bearer header is spelled), or per IP address without one and on public routes; counted once for all hubs sharing FAROL_REDIS_URL; 0 turns it off'),
  lockoutThreshold: z.coerce.number().int().min(1).max(100).default(5).describe('FAROL_LOCKOUT_THRESHOLD: failed sign-ins before a username is locked (whether or not it exists), and wrong second-factor codes before a user\'s second factor is; each further failure doubles the lock (30 s, 1 m, 2 m … up to 1 h)'),
  jobFanOutLimit: z.coerce.number().int().min(1).max(10_000).default(10_000).describe('FAROL_JOB_FANOUT_LIMIT: most machines one job of a non-admin user may target'),
  metricsPublic: z.stringbool().optional().describe('FAROL_METRICS_PUBLIC: true: GET /metrics answers anyone; false: it needs a bearer token with metrics:read; default: public only while FAROL_BIND is a loopback address'),
  corsOrigins: z.string().optional().describe('FAROL_CORS_ORIGINS: comma-separated origins allowed to call the API from a browser (Access-Control-Allow-Origin); default none (CORS closed)'),
  // Single sign-on (issue #20, docs/sso.md).
  oidcIssuer: z.url({ protocol: /^https?$/ }).optional().describe('FAROL_OIDC_ISSUER: OpenID Connect issuer URL (discovery at <issuer>/.well-known/openid-configuration), e.g. https://auth.example.com/application/o/farol/; http only on a loopback address; unset: no single sign-on'),
  oidcClientId: z.string().min(1).optional().describe('FAROL_OIDC_CLIENT_ID: the client id Farol is registered with at the provider'),
  oidcClientSecret: z.string().min(1).optional().describe('FAROL_OIDC_CLIENT_SECRET: its client secret (prefer FAROL_OIDC_CLIENT_SECRET_FILE); unset with no file: a public client (PKCE only)'),
  oidcClientSecretFile: z.string().min(1).optional().describe('FAROL_OIDC_CLIENT_SECRET_FILE: file holding the client secret (e.g. a systemd credential)'),
  oidcRedirectUrl: z.url({ protocol: /^https?$/ }).optional().describe('FAROL_OIDC_REDIRECT_URL: the redirect URL registered at the provider; default <FAROL_PUBLIC_URL>/api/auth/oidc/callback'),
  oidcScopes: z.string().regex(/^[\x21-\x7e]+( [\x21-\x7e]+)*$/, 'space-separated scopes, e.g. openid profile email groups').default('openid profile email').describe('FAROL_OIDC_SCOPES: scopes asked for (openid is added when missing), e.g. openid profile email groups'),
  oidcName: z.string().min(1).max(60).optional().describe('FAROL_OIDC_NAME: the provider\'s name on the sign-in button ("Sign in with <name>"); default the issuer\'s host'),
  oidcRoleClaim: z.string().min(1).max(200).default('groups').describe('FAROL_OIDC_ROLE_CLAIM: the ID-token (or userinfo) claim whose values map to a role, e.g. groups, roles; a dotted path reaches nested claims (realm_access.roles)'),
  oidcUsernameClaim: z.string().min(1).max(200).default('preferred_username').describe('FAROL_OIDC_USERNAME_CLAIM: the claim a new user\'s name is taken from (then email, then the subject); the account stays linked by issuer + subject'),
  oidcRoleMap: z.string().min(1).optional().describe('FAROL_OIDC_ROLE_MAP: JSON or YAML list mapping claim values to a role and label scope, first match wins, e.g. [{"match":"farol-admins","role":"admin"},{"match":"staging-ops","role":"operator","scope":"env=staging"}]; no match: the sign-in is refused'),
  oidcRoleMapFile: z.string().min(1).optional().describe('FAROL_OIDC_ROLE_MAP_FILE: the same mapping in a JSON or YAML file'),
  localSignIn: z.enum(['on', 'off']).default('on').describe('FAROL_LOCAL_SIGNIN: off refuses username + password sign-in (403 password_signin_off) so people sign in only through FAROL_OIDC_ISSUER; API tokens, the admin token among them, still work (the break-glass)'),
  terminalMaxPerAgent: z.coerce.number().int().min(0).max(1_000).default(4).describe('FAROL_TERMINAL_MAX_PER_AGENT: interactive terminal sessions open at once on one machine (0 turns terminals off)'),
  terminalMaxPerOperator: z.coerce.number().int().min(0).max(1_000).default(4).describe('FAROL_TERMINAL_MAX_PER_OPERATOR: interactive terminal sessions one operator may have open at once'),
  terminalIdleTimeout: Duration.prefault('15m').describe('FAROL_TERMINAL_IDLE_TIMEOUT: a terminal session without input for this long is closed'),
  terminalRecord: z.stringbool().default(false).describe('FAROL_TERMINAL_RECORD: record every terminal session (output only, never what is typed) as asciicast v2, spooled under <data dir>/recordings while the session is open and stored in the database when it ends (every hub serves it)'),
  notifyAllowNetworks: z
    .string()
    .optional()
    .refine((text) => text === undefined || text.split(',').every((part) => isCidr(part.trim())), 'a comma-separated list of addresses or CIDRs, e.g. 100.64.0.0/10,192.168.1.0/24')
    .describe('FAROL_NOTIFY_ALLOW_NETWORKS: private networks notification channels and webhooks may reach (comma-separated CIDRs, e.g. 100.64.0.0/10 for Tailscale, 192.168.1.0/24 for a LAN n8n); loopback, private, link-local and CGNAT addresses are refused otherwise'),
  notifyGiveUpAfter: Duration.prefault('24h').describe('FAROL_NOTIFY_GIVE_UP_AFTER: a notification still failing (429, 5xx, network) this long after it was queued is marked failed'),
  chatActionTtl: Duration.prefault('24h').describe('FAROL_CHAT_ACTION_TTL: how long the buttons and links of an alert message (acknowledge, silence, restart) stay valid'),
  otlpEndpoint: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('FAROL_OTLP_ENDPOINT: OpenTelemetry collector (OTLP/HTTP, JSON) the hub sends traces to, e.g. http://127.0.0.1:4318 (the hub appends /v1/traces unless the URL already ends with it); unset: no tracing, nothing loaded'),
  otlpHeaders: z
    .string()
    .optional()
    .refine((text) => text === undefined || text.split(',').every((part) => /^[A-Za-z0-9-]+=.+$/.test(part.trim())), 'comma-separated name=value pairs, e.g. authorization=Bearer abc')
    .describe('FAROL_OTLP_HEADERS: extra headers for the OTLP endpoint, comma-separated name=value (e.g. an API key of a hosted collector); never logged'),
  pushContact: z
    .string()
    .regex(/^(mailto:\S+@\S+|https:\/\/\S+)$/, 'a mailto: address or an https: URL, e.g. mailto:ops@example.com')
    .optional()
    .describe('FAROL_PUSH_CONTACT: the contact browser push services may use about this hub\'s browser notifications (VAPID subject, RFC 8292); default: FAROL_PUBLIC_URL when it is https, else mailto:farol@localhost'),
  otlpServiceName: z.string().min(1).max(100).default('farol-hub').describe('FAROL_OTLP_SERVICE_NAME: the service.name of the hub\'s spans'),
  deadmanUrl: z.url({ protocol: /^https?$/ }).optional().describe('FAROL_DEADMAN_URL: the hub GETs this URL every FAROL_DEADMAN_INTERVAL (healthchecks.io, Uptime Kuma push, n8n), so something outside notices when the hub is down'),
  deadmanInterval: Duration.prefault('60s').describe('FAROL_DEADMAN_INTERVAL: how often the dead-man URL is pinged'),
  alertsFile: z.string().optional().describe('FAROL_ALERTS_FILE: YAML file with alert rules (and notification channels) as code; a file with errors stops the hub with every problem listed'),
  checksFile: z.string().optional().describe('FAROL_CHECKS_FILE: YAML file with service checks (and public status pages) as code, read-only through the API; a file with errors stops the hub with every problem listed'),
  alertsChannels: z.string().optional().describe('FAROL_ALERTS_CHANNELS: comma-separated channel names for alert rules that name none (the default rules among them)'),
  alertsCooldown: Duration.prefault('30m').describe('FAROL_ALERTS_COOLDOWN: a still-firing, unacknowledged alert is sent again after this long, unless its rule says otherwise'),
  alertsGroupWindow: Duration.prefault('200ms').describe('FAROL_ALERTS_GROUP_WINDOW: alert notices produced within this window go out as one message per channel'),
  alertsReportEvery: Duration.optional().describe('FAROL_ALERTS_REPORT_EVERY: send a fleet report (machines, firing alerts, busiest machines) this often, e.g. 6h; unset: never'),
  alertsReportChannels: z.string().optional().describe('FAROL_ALERTS_REPORT_CHANNELS: comma-separated channel names for the fleet report; default FAROL_ALERTS_CHANNELS'),
  backupEvery: Duration.optional().describe('FAROL_BACKUP_EVERY: take an encrypted backup (database and key files) this often, e.g. 24h; needs FAROL_BACKUP_PASSPHRASE or FAROL_BACKUP_PASSPHRASE_FILE; SQLite only; unset: never'),
  backupKeep: z.coerce.number().int().min(1).max(10_000).default(7).describe('FAROL_BACKUP_KEEP: scheduled backups kept in FAROL_BACKUP_DIR; older ones are deleted'),
  backupDir: z.string().min(1).optional().describe('FAROL_BACKUP_DIR: where scheduled backups are written; default <data dir>/backups (better: another disk)'),
  backupPassphrase: z.string().min(12, 'at least 12 characters').optional().describe('FAROL_BACKUP_PASSPHRASE: passphrase scheduled backups are encrypted with (scrypt, AES-256-GCM); prefer FAROL_BACKUP_PASSPHRASE_FILE'),
  backupPassphraseFile: z.string().min(1).optional().describe('FAROL_BACKUP_PASSPHRASE_FILE: file holding the backup passphrase (e.g. a systemd credential)'),
});
export type HubConfig = z.infer<typeof HubConfigSchema>;

/** Flags from `farol hub` that override the environment. */
export interface HubOverrides {
  port?: number | undefined;
  bind?: string | undefined;
  dataDir?: string | undefined;
  databaseUrl?: string | undefined;
  redisUrl?: string | undefined;
  hubId?: string | undefined;
  publicUrl?: string | undefined;
  logLevel?: string | undefined;
}

const ENV_KEYS: Record<keyof HubConfig, string> = {
  port: 'FAROL_PORT',
  bind: 'FAROL_BIND',
  dataDir: 'FAROL_DATA_DIR',
  databaseUrl: 'FAROL_DATABASE_URL',
  databaseCaFile: 'FAROL_DATABASE_CA_FILE',
  databasePoolSize: 'FAROL_DATABASE_POOL_SIZE',
  redisUrl: 'FAROL_REDIS_URL',
  hubId: 'FAROL_HUB_ID',
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
  agentRebalanceInterval: 'FAROL_AGENT_REBALANCE_INTERVAL',
  agentRebalanceTolerance: 'FAROL_AGENT_REBALANCE_TOLERANCE',
  agentBundle: 'FAROL_AGENT_BUNDLE',
  agentExeDir: 'FAROL_AGENT_EXE_DIR',
  agentUpdatesDir: 'FAROL_AGENT_UPDATES_DIR',
  agentAutoUpdate: 'FAROL_AGENT_AUTO_UPDATE',
  containerUpdateScan: 'FAROL_CONTAINER_UPDATE_SCAN',
  containerUpdateWindow: 'FAROL_CONTAINER_UPDATE_WINDOW',
  shutdownGrace: 'FAROL_SHUTDOWN_GRACE',
  heapGrowth: 'FAROL_HEAP_GROWTH',
  secretKey: 'FAROL_SECRET_KEY',
  secretKeyFile: 'FAROL_SECRET_KEY_FILE',
  hubKeyFile: 'FAROL_HUB_KEY_FILE',
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
  metricsPublic: 'FAROL_METRICS_PUBLIC',
  corsOrigins: 'FAROL_CORS_ORIGINS',
  oidcIssuer: 'FAROL_OIDC_ISSUER',
  oidcClientId: 'FAROL_OIDC_CLIENT_ID',
  oidcClientSecret: 'FAROL_OIDC_CLIENT_SECRET',
  oidcClientSecretFile: 'FAROL_OIDC_CLIENT_SECRET_FILE',
  oidcRedirectUrl: 'FAROL_OIDC_REDIRECT_URL',
  oidcScopes: 'FAROL_OIDC_SCOPES',
  oidcName: 'FAROL_OIDC_NAME',
  oidcRoleClaim: 'FAROL_OIDC_ROLE_CLAIM',
  oidcUsernameClaim: 'FAROL_OIDC_USERNAME_CLAIM',
  oidcRoleMap: 'FAROL_OIDC_ROLE_MAP',
  oidcRoleMapFile: 'FAROL_OIDC_ROLE_MAP_FILE',
  localSignIn: 'FAROL_LOCAL_SIGNIN',
  terminalMaxPerAgent: 'FAROL_TERMINAL_MAX_PER_AGENT',
  terminalMaxPerOperator: 'FAROL_TERMINAL_MAX_PER_OPERATOR',
  terminalIdleTimeout: 'FAROL_TERMINAL_IDLE_TIMEOUT',
  terminalRecord: 'FAROL_TERMINAL_RECORD',
  notifyAllowNetworks: 'FAROL_NOTIFY_ALLOW_NETWORKS',
  notifyGiveUpAfter: 'FAROL_NOTIFY_GIVE_UP_AFTER',
  chatActionTtl: 'FAROL_CHAT_ACTION_TTL',
  otlpEndpoint: 'FAROL_OTLP_ENDPOINT',
  otlpHeaders: 'FAROL_OTLP_HEADERS',
  otlpServiceName: 'FAROL_OTLP_SERVICE_NAME',
  pushContact: 'FAROL_PUSH_CONTACT',
  deadmanUrl: 'FAROL_DEADMAN_URL',
  deadmanInterval: 'FAROL_DEADMAN_INTERVAL',
  alertsFile: 'FAROL_ALERTS_FILE',
  checksFile: 'FAROL_CHECKS_FILE',
  alertsChannels: 'FAROL_ALERTS_CHANNELS',
  alertsCooldown: 'FAROL_ALERTS_COOLDOWN',
  alertsGroupWindow: 'FAROL_ALERTS_GROUP_WINDOW',
  alertsReportEvery: 'FAROL_ALERTS_REPORT_EVERY',
  alertsReportChannels: 'FAROL_ALERTS_REPORT_CHANNELS',
  backupEvery: 'FAROL_BACKUP_EVERY',
  backupKeep: 'FAROL_BACKUP_KEEP',
  backupDir: 'FAROL_BACKUP_DIR',
  backupPassphrase: 'FAROL_BACKUP_PASSPHRASE',
  backupPassphraseFile: 'FAROL_BACKUP_PASSPHRASE_FILE',
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
  if (config.databaseCaFile !== undefined && config.databaseUrl === undefined) problems.push('FAROL_DATABASE_CA_FILE needs FAROL_DATABASE_URL (it is the CA of the PostgreSQL server)');
  if (config.redisUrl !== undefined && config.databaseUrl === undefined) problems.push('FAROL_REDIS_URL needs FAROL_DATABASE_URL: several hubs share one PostgreSQL database (SQLite is one process\'s file)');
  if (config.secretKey !== undefined && config.secretKeyFile !== undefined) problems.push('FAROL_SECRET_KEY and FAROL_SECRET_KEY_FILE: set one, not both');
  for (const [name, file] of [['FAROL_SECRET_KEY_FILE', config.secretKeyFile], ['FAROL_HUB_KEY_FILE', config.hubKeyFile]] as const) {
    if (file !== undefined && !existsSync(file)) problems.push(`${name}: no file ${file}`);
  }
  if (config.secretsBackend === 'vault' && (!config.vaultAddr || !config.vaultToken)) problems.push('FAROL_SECRETS_BACKEND=vault needs FAROL_VAULT_ADDR and FAROL_VAULT_TOKEN');
  if (config.secretsBackend === 'infisical' && (!config.infisicalUrl || !config.infisicalToken || !config.infisicalProjectId)) {
    problems.push('FAROL_SECRETS_BACKEND=infisical needs FAROL_INFISICAL_URL, FAROL_INFISICAL_TOKEN and FAROL_INFISICAL_PROJECT_ID');
  }
  if (config.backupEvery !== undefined && config.backupPassphrase === undefined && config.backupPassphraseFile === undefined) {
    problems.push('FAROL_BACKUP_EVERY needs FAROL_BACKUP_PASSPHRASE or FAROL_BACKUP_PASSPHRASE_FILE (the backups are encrypted)');
  }
  if (config.backupPassphraseFile !== undefined && !existsSync(config.backupPassphraseFile)) problems.push(`FAROL_BACKUP_PASSPHRASE_FILE: no file ${config.backupPassphraseFile}`);
  problems.push(...oidcSettingProblems(config));
  if (config.trustProxy !== undefined) {
    for (const entry of config.trustProxy.split(',').map((e) => e.trim())) {
      if (!/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(entry)) problems.push(`FAROL_TRUST_PROXY: "${entry}" is not an address or CIDR (e.g. 127.0.0.1,10.0.0.0/8)`);
    }
  }
  return problems;
}

/** Single sign-on settings that only make sense together (issue #20); the role map's content is checked at start (oidc-settings.ts). */
function oidcSettingProblems(config: HubConfig): string[] {
  const problems: string[] = [];
  if (config.oidcIssuer === undefined) {
    if (config.localSignIn === 'off') problems.push('FAROL_LOCAL_SIGNIN=off needs single sign-on (FAROL_OIDC_ISSUER): people would have no way to sign in to the dashboard');
    return problems;
  }
  const host = new URL(config.oidcIssuer).hostname;
  if (config.oidcIssuer.startsWith('http:') && !(host === 'localhost' || /^127\./.test(host) || host === '[::1]')) {
    problems.push('FAROL_OIDC_ISSUER: use https (plain http only for a provider on a loopback address)');
  }
  if (config.oidcClientId === undefined) problems.push('FAROL_OIDC_ISSUER needs FAROL_OIDC_CLIENT_ID');
  if (config.oidcClientSecret !== undefined && config.oidcClientSecretFile !== undefined) problems.push('FAROL_OIDC_CLIENT_SECRET and FAROL_OIDC_CLIENT_SECRET_FILE: set one, not both');
  if (config.oidcClientSecretFile !== undefined && !existsSync(config.oidcClientSecretFile)) problems.push(`FAROL_OIDC_CLIENT_SECRET_FILE: no file ${config.oidcClientSecretFile}`);
  if (config.oidcRedirectUrl === undefined && config.publicUrl === undefined) problems.push('FAROL_OIDC_ISSUER needs FAROL_OIDC_REDIRECT_URL or FAROL_PUBLIC_URL (the redirect URL is <FAROL_PUBLIC_URL>/api/auth/oidc/callback)');
  if ((config.oidcRoleMap === undefined) === (config.oidcRoleMapFile === undefined)) problems.push('FAROL_OIDC_ISSUER needs the role mapping: FAROL_OIDC_ROLE_MAP or FAROL_OIDC_ROLE_MAP_FILE (one of them)');
  if (config.oidcRoleMapFile !== undefined && !existsSync(config.oidcRoleMapFile)) problems.push(`FAROL_OIDC_ROLE_MAP_FILE: no file ${config.oidcRoleMapFile}`);
  return problems;
}

/** Flags of `farol hub` (apps/cli) and the setting each overrides. */
const FLAGS: Partial<Record<keyof HubConfig, string>> = {
  port: '--port',
  bind: '--bind',
  dataDir: '--data',
  databaseUrl: '--database-url',
  redisUrl: '--redis-url',
  hubId: '--hub-id',
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
