import { hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql, type Kysely } from 'kysely';
import { FarolError, FAROL_VERSION } from '@farol/protocol';
import { ConfigError, loadConfig, type HubOverrides } from './config.js';
import { limitHeapGrowth } from './infra/heap-growth.js';
import { createMemoryBus } from './infra/bus.js';
import { createLocalHubRelay, createRedisHubRelay } from './infra/hub-relay.js';
import { createMemoryPresenceDirectory } from './infra/presence-directory.js';
import { createRedisBus } from './infra/redis-bus.js';
import { createRedisPresenceDirectory } from './infra/redis-presence-directory.js';
import { systemClock } from './infra/clock.js';
import { checkDatabaseFile, DatabaseStartError, openSqliteDatabase, type DatabaseCheckReport } from './infra/database.js';
import { copySqliteToPostgres, type DatabaseCopyOptions, type DatabaseCopyReport } from './infra/db-copy.js';
import { openPostgresDatabase } from './infra/postgres.js';
import { acquireDataDirLock, DataDirLockedError } from './infra/data-dir-lock.js';
import { loadHubKey } from './infra/hub-key.js';
import { checkHubIdentity, HubIdentityError } from './infra/hub-identity.js';
import { connectRedis } from './infra/redis.js';
import { createMemorySharedCache, createRedisSharedCache } from './infra/shared-cache.js';
import { createHubSigner } from './infra/jws.js';
import { createLogger } from './infra/logger.js';
import { createSecretBox, loadSecretKey, secretKeyFingerprint } from './infra/secret-box.js';
import { loadTlsOptions, trustProxySetting } from './infra/tls.js';
import { createObservability } from './infra/observability.js';
import { createLeaseStore, createLocalLeadership, createSharedLeadership } from './infra/leadership.js';
import { randomId } from './infra/ids.js';
import { createTracing } from './infra/tracing.js';
import { createFencedUnitOfWork, createRepositories, createUnitOfWork } from './modules/repositories.js';
import { createAgentsService } from './modules/agents/agents.service.js';
import { createPresenceService, restartGraceMs } from './modules/agents/presence.service.js';
import { createAgentRebalancer } from './modules/agents/rebalance.js';
import { createLocalAgentChannel, createRelayedAgentChannel } from './modules/agents/agent-channel.js';
import { createAuditService } from './modules/audit/audit.service.js';
import { createBackupsRepository } from './modules/backups/backups.repository.js';
import { createBackupsService, type BackupSchedule } from './modules/backups/backups.service.js';
import { createAccountsService, DEFAULT_ACCOUNTS_SETTINGS } from './modules/auth/accounts.service.js';
import { resolveAdminToken } from './modules/auth/auth.service.js';
import { createAuthorizer } from './modules/auth/authorizer.js';
import { createRequestActors } from './modules/auth/request-actor.js';
import { OidcRoleMapError } from './modules/auth/oidc-role-map.js';
import { loadOidcSettings, oidcRoleProblems } from './modules/auth/oidc-settings.js';
import { createOidcService } from './modules/auth/oidc.service.js';
import { createAgentIdentityService } from './modules/enrollment/agent-identity.service.js';
import { createEnrollmentService } from './modules/enrollment/enrollment.service.js';
import { createJoinTokensService } from './modules/enrollment/join-tokens.service.js';
import { createJobsService } from './modules/jobs/jobs.service.js';
import { createDownloadSigner } from './modules/install/download-signature.js';
import { createAgentBuildCatalog } from './modules/updates/agent-builds.js';
import { createUpdatesRepository } from './modules/updates/updates.repository.js';
import { createUpdatesService } from './modules/updates/updates.service.js';
import { createAutoUpdateRepository } from './modules/containers/auto-update.repository.js';
import { createAutoUpdateService, defaultWindowOf } from './modules/containers/auto-update.service.js';
import { createTerminalService } from './modules/terminal/terminal.service.js';
import { createScreenshotsRepository, importScreenshotFiles } from './modules/screenshots/screenshots.repository.js';
import { createScreenshotsService } from './modules/screenshots/screenshots.service.js';
import { createInfisicalBackend, createVaultBackend, type SecretBackend } from './modules/secrets/backends.client.js';
import { createSecretRedactor } from './modules/secrets/secret-redactor.js';
import { createSecretsService } from './modules/secrets/secrets.service.js';
import { createChannelsService } from './modules/notify/channels.service.js';
import { openChannel } from './modules/notify/channel-store.js';
import { createChatActions } from './modules/chat/chat-actions.js';
import { createChatRepository, type ChatTables } from './modules/chat/chat.repository.js';
import { createChatService } from './modules/chat/chat.service.js';
import { createDeadmanService } from './modules/notify/deadman.service.js';
import { createNetworkGuard, parseNetworks } from './modules/notify/net-guard.js';
import { createNotifyService, type Notifier } from './modules/notify/notify.service.js';
import { createPushRepository } from './modules/push/push.repository.js';
import { createPushService } from './modules/push/push.service.js';
import { AlertsFileError, loadAlertsFile } from './modules/alerts/alerts-file.js';
import { createAlertsService } from './modules/alerts/alerts.service.js';
import { createContainerLogFetcher } from './modules/alerts/container-logs.js';
import { createChecksRepository } from './modules/checks/checks.repository.js';
import { createChecksService } from './modules/checks/checks.service.js';
import { ChecksFileError, loadChecksFile } from './modules/checks/checks-file.js';
import { createStatusPagesService } from './modules/checks/status-pages.service.js';
import { createNetworkRepository, type NetworkTables } from './modules/network/network.repository.js';
import { createNetworkService } from './modules/network/network.service.js';
import { isMetricsPublic } from './modules/system/metrics-access.js';
import { createWebhooksService } from './modules/notify/webhooks.service.js';
import { createLiveService } from './modules/telemetry/live.service.js';
import { createRollupService } from './modules/telemetry/rollup.service.js';
import { createTelemetryService } from './modules/telemetry/telemetry.service.js';
import { buildServer } from './server.js';

export type { HubOverrides } from './config.js';

/**
 * `farol db check`: a full integrity check of the database of the hub's data directory
 * (`dataDir` from the overrides, else FAROL_DATA_DIR, else ./data).
 */
export function checkDatabase(overrides: HubOverrides = {}, env: NodeJS.ProcessEnv = process.env): DatabaseCheckReport {
  const config = loadConfig(env, overrides);
  if (config.databaseUrl) {
    throw new DatabaseStartError(`this hub keeps its data in PostgreSQL (FAROL_DATABASE_URL), not in ${config.dataDir}; check it with PostgreSQL's own tools (pg_amcheck)`);
  }
  return checkDatabaseFile(config.dataDir);
}

/** `farol backup restore` (issue #15): an encrypted backup into a new, empty data directory. */
export { restoreBackup } from './modules/backups/backup-restore.js';

/**
 * `farol db copy` (issue #13): a SQLite hub's database into an empty PostgreSQL, whose audit
 * chain is then walked with the audit module's own rules.
 */
export function copyDatabase(options: Omit<DatabaseCopyOptions, 'verifyAudit'>): Promise<DatabaseCopyReport> {
  const logger = options.logger ?? createLogger('silent');
  return copySqliteToPostgres({
    ...options,
    verifyAudit: (target) => createAuditService({ audit: createRepositories(target).audit, unitOfWork: createUnitOfWork(target), clock: systemClock, logger }).verify(),
  });
}
export { DatabaseCopyError } from './infra/db-copy.js';

/** FAROL_BACKUP_EVERY and its companions; null when scheduled backups are off. */
function backupScheduleOf(config: ReturnType<typeof loadConfig>): BackupSchedule | null {
  if (!config.backupEvery) return null;
  const passphrase = config.backupPassphrase ?? readFileSync(config.backupPassphraseFile!, 'utf8').replace(/\r?\n$/, '');
  return { everyMs: config.backupEvery, keep: config.backupKeep, dir: path.resolve(config.backupDir ?? path.join(config.dataDir, 'backups')), passphrase };
}

/** A running hub, as `farol dev`, tests and benchmarks hold it. */
export interface RunningHub {
  url: string;
  port: number;
  adminToken: string;
  adminTokenGenerated: boolean;
  adminTokenPath: string | null;
  /** The first start's generated password of the `admin` user; null on every later start. */
  adminPassword: string | null;
  /** Every `METHOD /path` the server registered (the permission-table test checks each is mapped). */
  routes: readonly string[];
  databaseFile: string;
  close(): Promise<void>;
}

/** Test seams of `startHub`; production passes none. */
export interface HubSeams {
  /** Where the hub's log lines go instead of stdout (tests read them back). */
  logDestination?: NodeJS.WritableStream;
}

/** Wiring only: config → infrastructure → services → server → listen. */

export async function startHub(overrides: HubOverrides = {}, env: NodeJS.ProcessEnv = process.env, seams: HubSeams = {}): Promise<RunningHub> {
  const config = loadConfig(env, overrides);
  // Configuration as code is checked before anything starts: a bad file stops the hub with every problem.
  let alertsFile: ReturnType<typeof loadAlertsFile> | null = null;
  try {
    alertsFile = config.alertsFile ? loadAlertsFile(config.alertsFile) : null;
  } catch (error) {
    if (error instanceof AlertsFileError) throw new ConfigError(error.problems.map((p) => `FAROL_ALERTS_FILE ${error.file}: ${p}`));
    throw error;
  }
  let checksFile: ReturnType<typeof loadChecksFile> | null = null;
  try {
    checksFile = config.checksFile ? loadChecksFile(config.checksFile) : null;
  } catch (error) {
    if (error instanceof ChecksFileError) throw new ConfigError(error.problems.map((p) => `FAROL_CHECKS_FILE ${error.file}: ${p}`));
    throw error;
  }
  // Single sign-on (issue #20): the role mapping is checked now; its roles once the database is open.
  let oidcSettings: ReturnType<typeof loadOidcSettings> = null;
  try {
    oidcSettings = loadOidcSettings(config);
  } catch (error) {
    if (error instanceof OidcRoleMapError) throw new ConfigError(error.problems);
    throw error;
  }
  // Before the logger: every line it writes goes through the redactor of known secret values.
  const secretRedactor = createSecretRedactor();
  const logger = createLogger(config.logLevel, { redactLine: secretRedactor.redact, ...(seams.logDestination ? { destination: seams.logDestination } : {}) });
  const tls = loadTlsOptions(config);
  const clock = systemClock;
  const startedAt = clock.now();

  // Traces (issue #20): off unless FAROL_OTLP_ENDPOINT is set; then the OpenTelemetry SDK is loaded.
  const tracing = await createTracing({
    endpoint: config.otlpEndpoint,
    headers: config.otlpHeaders,
    serviceName: config.otlpServiceName,
    serviceVersion: FAROL_VERSION,
    databaseSystem: config.databaseUrl ? 'postgresql' : 'sqlite',
  });
  const onQuery = tracing.enabled ? tracing.recordQuery : undefined;

  // Before anything in the data directory is written: one data directory, one hub (issue #12).
  const dataDirLock = acquireDataDirLock(config.dataDir);
  let opened: Awaited<ReturnType<typeof openSqliteDatabase>>;
  try {
    const databaseLogger = logger.child({ component: 'database' });
    opened = config.databaseUrl
      ? await openPostgresDatabase({ url: config.databaseUrl, caFile: config.databaseCaFile, poolSize: config.databasePoolSize }, { logger: databaseLogger, ...(onQuery ? { onQuery } : {}) }).then(
          ({ db, label, storage }) => ({ db, file: label, storage }),
        )
      : await openSqliteDatabase(config.dataDir, { logger: databaseLogger, ...(onQuery ? { onQuery } : {}) });
  } catch (error) {
    dataDirLock.release();
    throw error;
  }
  const { db, file: databaseFile, storage } = opened;
  const hubKey = await loadHubKey(config.dataDir, config.hubKeyFile);
  const secretKey = loadSecretKey(config.dataDir, config.secretKey, config.secretKeyFile);
  if (config.databaseUrl) {
    // Issue #14: every hub sharing this database must hold the same hub key and secret key.
    try {
      await checkHubIdentity(
        db,
        { hubKey: hubKey.fingerprint, secretKey: secretKeyFingerprint(secretKey) },
        {
          hubKey: config.hubKeyFile ?? path.join(config.dataDir, 'hub-key.json'),
          secretKey: config.secretKey ? 'FAROL_SECRET_KEY' : (config.secretKeyFile ?? path.join(config.dataDir, 'secret.key')),
        },
      );
    } catch (error) {
      await db.destroy();
      dataDirLock.release();
      throw error;
    }
  }
  // Several hubs (issue #14): the Redis they share. Reuse this connection; do not open another.
  const redis = config.redisUrl ? connectRedis({ url: config.redisUrl, logger: logger.child({ component: 'redis' }) }) : null;
  if (redis) {
    try {
      await redis.ready();
    } catch (error) {
      await redis.close();
      await db.destroy();
      dataDirLock.release();
      throw new DatabaseStartError(`${(error as Error).message}: check FAROL_REDIS_URL and that Redis is running`);
    }
  }
  /** One-time values every hub must agree on (connect-token jtis). */
  const sharedCache = redis ? createRedisSharedCache(redis.client, redis.prefix) : createMemorySharedCache(clock);
  const admin = resolveAdminToken(config.dataDir, config.adminToken);
  const repos = createRepositories(db);
  const unitOfWork = createUnitOfWork(db);
  // Several hubs (issue #14): this hub's name among them, the bus whose broadcast topics reach
  // every hub, requests between hubs, and the directory of which hub holds each agent. Without
  // Redis: one process, in memory, as before.
  const hubId = config.hubId ?? `${hostname()}:${config.port === 0 ? `pid${process.pid}` : config.port}`;
  const clusterLogger = logger.child({ component: 'several-hubs', hub: hubId });
  const redisBus = redis ? createRedisBus({ redis, hubId, logger: clusterLogger }) : null;
  const bus = redisBus ?? createMemoryBus(logger);
  // Broadcasts sent while Redis was away are not replayed: whatever follows them re-reads its state.
  redis?.onRegained((lostForMs) => {
    clusterLogger.warn({ lostForMs }, 'Redis is back; re-reading what other hubs may have announced meanwhile');
    bus.publish('broadcasts.resumed', { lostForMs });
  });
  const redisRelay = redis ? createRedisHubRelay({ redis, hubId, logger: clusterLogger }) : null;
  const relay = redisRelay ?? createLocalHubRelay(hubId);
  const directory = redis ? createRedisPresenceDirectory({ redis, hubId, bus, logger: clusterLogger }) : createMemoryPresenceDirectory(hubId);
  const observability = createObservability({ hubId });
  // Leadership (issue #14, ADR 0011): duties that must run once in the fleet run on the holder of
  // a lease row in PostgreSQL; one hub is always the leader. A hub that loses Redis stops leading.
  const leaderHolder = `${hubId}/${randomId('run', 8)}`;
  const leadershipLogger = logger.child({ component: 'leadership', hub: hubId });
  const leadership = redis
    ? createSharedLeadership({ store: createLeaseStore(db), holder: leaderHolder, clock, logger: leadershipLogger, isHealthy: () => redis.status().state === 'ok' })
    : createLocalLeadership({ logger: leadershipLogger, holder: leaderHolder });
  const retention = { raw: config.retentionRaw, minute: config.retention1m, hour: config.retention1h };

  const requestActors = createRequestActors();
  const audit = createAuditService({ audit: repos.audit, unitOfWork, clock, logger, viaFor: requestActors.viaFor, clientFor: requestActors.clientFor });
  const identity = createAgentIdentityService({ agents: repos.agents, hubKey, clock, seen: sharedCache });
  const joinTokens = createJoinTokensService({ joinTokens: repos.joinTokens, clock, audit, hubKeyFingerprint: hubKey.fingerprint });
  const enrollment = createEnrollmentService({ unitOfWork, joinTokens, hubKey, clock, audit });
  const presence = createPresenceService({ agents: repos.agents, bus, clock, logger, missedHeartbeats: config.missedHeartbeats, directory });
  /** Every message to an agent goes through this, wherever the agent is connected. */
  const agentChannel = redis ? createRelayedAgentChannel({ presence, relay, logger: clusterLogger }) : createLocalAgentChannel({ presence, logger });
  const telemetry = createTelemetryService({
    telemetry: repos.telemetry,
    unitOfWork,
    bus,
    clock,
    logger,
    observability,
    writeBatchWindowMs: config.writeBatchWindow,
    retention,
  });
  // Its watermark is a fenced write: a leader whose term ended cannot move it (issue #14).
  const rollup = createRollupService({ telemetry: repos.telemetry, unitOfWork: createFencedUnitOfWork(db, leadership), clock, logger, retention });
  const agents = createAgentsService({ agents: repos.agents, presence, telemetry, bus, clock, logger, audit });
  const live = createLiveService({ channel: agentChannel, hubId, bus, logger });
  // The one secret box of the hub: every value sealed at rest goes through it.
  const secretBox = createSecretBox(secretKey);
  let secretBackend: SecretBackend | null = null;
  if (config.secretsBackend === 'vault') secretBackend = createVaultBackend({ addr: config.vaultAddr!, token: config.vaultToken!, mount: config.vaultMount });
  if (config.secretsBackend === 'infisical') {
    secretBackend = createInfisicalBackend({
      url: config.infisicalUrl!,
      token: config.infisicalToken!,
      projectId: config.infisicalProjectId!,
      environment: config.infisicalEnvironment,
      secretPath: config.infisicalPath,
    });
  }
  const secrets = createSecretsService({
    secrets: repos.secrets,
    agents: repos.agents,
    jobs: repos.jobs,
    audit,
    box: secretBox,
    backend: secretBackend,
    redactor: secretRedactor,
    bus,
    clock,
    logger: logger.child({ component: 'secrets' }),
  });
  const stopFollowingSecrets = secrets.followOtherHubs();
  await secrets.primeRedactor();
  // Backups (issue #15): online copies of a SQLite hub, on demand (POST /api/backups) and on a schedule.
  const backups = createBackupsService({
    repo: createBackupsRepository(db),
    dataDir: config.dataDir,
    isSqlite: !config.databaseUrl,
    keysFromEnvironment: [
      ...(config.secretKey ? ['FAROL_SECRET_KEY'] : []),
      ...(config.secretKeyFile ? ['FAROL_SECRET_KEY_FILE'] : []),
      ...(config.hubKeyFile ? ['FAROL_HUB_KEY_FILE'] : []),
      ...(config.adminToken ? ['FAROL_ADMIN_TOKEN'] : []),
    ],
    audit,
    clock,
    logger: logger.child({ component: 'backups' }),
  });
  const accounts = createAccountsService({
    accounts: repos.accounts,
    audit,
    bus,
    clock,
    logger: logger.child({ component: 'accounts' }),
    secretBox,
    settings: {
      sessionIdleMs: config.sessionIdle,
      sessionMaxMs: config.sessionMax,
      mfaMaxAgeMs: config.mfaMaxAge,
      lockoutThreshold: config.lockoutThreshold,
      lockoutBaseMs: 30_000,
      lockoutMaxMs: 3_600_000,
      loginPerAddressPerMinute: config.loginRateLimit,
      authNoiseWindowMs: DEFAULT_ACCOUNTS_SETTINGS.authNoiseWindowMs,
      authNoiseRetentionMs: DEFAULT_ACCOUNTS_SETTINGS.authNoiseRetentionMs,
      issuer: 'Farol',
      passwordSignIn: config.localSignIn === 'on',
    },
  });
  const { adminPassword } = await accounts.bootstrap({ adminToken: admin.value });
  const oidcProblems = oidcSettings ? oidcRoleProblems(oidcSettings, accounts.roleExists) : [];
  if (oidcProblems.length > 0) {
    await db.destroy();
    await redis?.close();
    dataDirLock.release();
    throw new ConfigError(oidcProblems);
  }
  const oidc = oidcSettings ? createOidcService({ settings: oidcSettings, sso: accounts.sso, secretBox, clock, logger: logger.child({ component: 'oidc' }) }) : null;
  const authorizer = createAuthorizer({
    targetLabels: async (ref) => (await repos.agents.findByIdOrName(ref))?.labels,
    clock,
    mfaMaxAgeMs: config.mfaMaxAge,
  });
  const jobs = createJobsService({
    jobs: repos.jobs,
    agents,
    audit,
    channel: agentChannel,
    relay,
    signer: createHubSigner(hubKey),
    bus,
    clock,
    logger: logger.child({ component: 'jobs' }),
    secrets,
    observability,
    tracing,
  });

  const terminals = createTerminalService({
    sessions: repos.terminalSessions,
    agents: repos.agents,
    agentChannel,
    relay,
    audit,
    signer: createHubSigner(hubKey),
    clock,
    logger: logger.child({ component: 'terminal' }),
    settings: {
      maxPerAgent: config.terminalMaxPerAgent,
      maxPerOperator: config.terminalMaxPerOperator,
      idleTimeoutMs: config.terminalIdleTimeout,
      recordingsDir: config.terminalRecord ? path.join(config.dataDir, 'recordings') : null,
    },
  });

  // Several hubs (issue #14): an agent that went offline on another hub ends the terminals held here.
  const stopTerminalFollow = redis
    ? bus.subscribe('agent.status', (event) => {
        if (event.status === 'offline') terminals.agentOffline(event.agentId).catch((error: unknown) => logger.error({ err: error, agentId: event.agentId }, 'could not end the terminals of an agent gone offline'));
      })
    : () => {};
  // Issue #14: screenshots live in the database (every hub serves them); files of older versions move in once.
  const screenshotStore = createScreenshotsRepository(db, { clock, onDamaged: (what, error) => logger.error({ err: error, screenshot: what }, 'skipping a damaged screenshot record') });
  const movedScreenshots = await importScreenshotFiles(path.join(config.dataDir, 'screenshots'), screenshotStore, (file, error) => logger.error({ err: error, file }, 'skipping a damaged screenshot file'));
  if (movedScreenshots > 0) logger.info({ screenshots: movedScreenshots }, 'screenshots moved from the data directory into the database');
  const screenshots = createScreenshotsService({
    store: screenshotStore,
    jobs,
    audit,
    clock,
    logger: logger.child({ component: 'screenshots' }),
    retention: { maxCount: config.screenshotMaxCount, maxAgeMs: config.screenshotMaxAge },
  });
  jobs.addResultHook(screenshots.resultHook);

  // Notifications (issue #4): channels, event webhooks and the outbox both deliver through.
  const notifyLogger = logger.child({ component: 'notify' });
  const notifyGuard = createNetworkGuard({ allow: parseNetworks(config.notifyAllowNetworks ?? '') });
  const notifyDeps = { repo: repos.notify, box: secretBox, guard: notifyGuard, clock, logger: notifyLogger };
  const channels = createChannelsService({ ...notifyDeps, audit });
  // Chat actions (issue #20): alert messages offer buttons and links whose tokens are MACed with a
  // key derived from the secret key, which every hub of a cluster shares.
  const chatRepo = createChatRepository((db as Kysely<unknown>).withTables<ChatTables>());
  const chatActions = createChatActions({ repo: chatRepo, macKey: Buffer.from(hkdfSync('sha256', secretKey, Buffer.alloc(0), 'farol chat actions v1', 32)), clock, publicUrl: config.publicUrl, ttlMs: config.chatActionTtl });
  // Browser notifications (issue #20): Web Push through the same outbox and network guard.
  const push = createPushService({
    repo: createPushRepository(db),
    box: secretBox,
    guard: notifyGuard,
    audit,
    principalOf: (userId) => accounts.principalOfUser(userId),
    agentLabels: async (agentId) => (await repos.agents.findById(agentId))?.labels,
    enqueue: (messages) => outbox.enqueuePush(messages),
    contact: config.pushContact ?? (config.publicUrl?.startsWith('https:') ? config.publicUrl : 'mailto:farol@localhost'),
    clock,
    logger: notifyLogger,
  });
  const outbox = createNotifyService({
    ...notifyDeps,
    tracing,
    chatActions,
    push: push.sender,
    policy: { maxAgeMs: config.notifyGiveUpAfter },
    // Several hubs: rows queued here are delivered by the leader's worker, told at once, and
    // claimed only while its leader term holds (issue #14, ADR 0011).
    ...(redis ? { onQueued: () => bus.publish('outbox.queued', { origin: leaderHolder }), fence: leadership.fence } : {}),
  });
  const stopOutboxWakeups = bus.subscribe('outbox.queued', ({ origin }) => {
    if (origin !== leaderHolder) outbox.wake();
  });
  const webhooks = createWebhooksService({
    ...notifyDeps,
    audit,
    bus,
    agents: {
      findById: (id) => repos.agents.findById(id),
      latestSample: async (seq) => (await telemetry.latestSamples([seq])).get(seq),
    },
    enqueue: outbox.enqueueWebhook,
  });
  /** What the alerts engine calls: durable notify() and the channels of the configuration file. */
  const notifier: Notifier = { notify: outbox.notify, applyChannelsConfig: channels.applyChannelsConfig, push: push.push };
  // The dead-man URL comes from the hub's own configuration, not from an API user: any address.
  const deadman = config.deadmanUrl
    ? createDeadmanService({ url: config.deadmanUrl, intervalMs: config.deadmanInterval, guard: createNetworkGuard({ allow: parseNetworks('0.0.0.0/0,::/0') }), clock, logger: notifyLogger })
    : null;

  // Alerts (issue #4): rules evaluated in memory from the bus, notices handed to the notifier.
  const commaList = (text: string | undefined): string[] => (text ?? '').split(',').map((part) => part.trim()).filter(Boolean);
  const alertChannels = commaList(config.alertsChannels);
  const alerts = createAlertsService({
    alerts: repos.alerts,
    unitOfWork,
    agents: repos.agents,
    isOnline: (agentId) => presence.isOnline(agentId),
    latestValues: (agentId) => telemetry.latestValues(agentId),
    notifier,
    fetchContainerLogs: createContainerLogFetcher(jobs, logger.child({ component: 'alerts' })),
    audit,
    bus,
    clock,
    logger: logger.child({ component: 'alerts' }),
    origin: leaderHolder,
    engineUnitOfWork: createFencedUnitOfWork(db, leadership),
    // Several hubs: the engine runs on the leader, which reads back the samples other hubs stored.
    ...(redis ? { storedSamples: telemetry.samplesStoredSince } : {}),
    options: {
      defaultCooldownMs: config.alertsCooldown,
      defaultChannels: alertChannels,
      groupWindowMs: config.alertsGroupWindow,
      // Machines that were online before a restart get the time their agents' backoff may take (issue #12).
      startupGraceMs: restartGraceMs(config.missedHeartbeats),
      publicUrl: config.publicUrl,
      report: config.alertsReportEvery
        ? { everyMs: config.alertsReportEvery, channels: config.alertsReportChannels ? commaList(config.alertsReportChannels) : alertChannels }
        : null,
    },
  });
  // Every hub loads rules and silences (the API reads them); the engine and the event webhooks run on the leader.
  await alerts.load();
  await leadership.start();
  let detachWebhooks: (() => void) | undefined;
  await leadership.whileLeader(
    'event webhooks',
    () => void (detachWebhooks = webhooks.attach()),
    () => detachWebhooks?.(),
  );
  await leadership.whileLeader('alerts engine', () => alerts.engage(), () => alerts.disengage());
  if (alertsFile) {
    try {
      if (alertsFile.channels) await notifier.applyChannelsConfig(alertsFile.channels);
      const applied = await alerts.applyFileRules(alertsFile.rules);
      logger.info({ file: config.alertsFile, ...applied }, 'alert rules loaded from the configuration file');
    } catch (error) {
      await alerts.stop();
      await leadership.stop();
      await db.destroy();
      await redis?.close();
      dataDirLock.release();
      if (error instanceof FarolError) {
        throw new ConfigError((error.issues ?? [{ path: '', message: error.message }]).map((i) => `FAROL_ALERTS_FILE ${config.alertsFile}: ${i.path}: ${i.message}`));
      }
      throw error;
    }
  }

  // Service checks (issue #19): after the alerts engine, which follows their state on the bus.
  const checksRepo = createChecksRepository(db);
  const checks = createChecksService({
    repo: checksRepo,
    agents: repos.agents,
    send: (agentId, event, payload) => {
      const session = presence.sessionOf(agentId);
      session?.send(event, payload);
      return session !== undefined;
    },
    bus,
    clock,
    logger: logger.child({ component: 'checks' }),
    audit,
    retention: {
      rawMs: config.retentionRaw,
      minuteMs: Math.max(config.retention1m, config.retentionRaw),
      hourMs: Math.max(config.retention1h, 31 * 86_400_000),
    },
    rollupEveryMs: config.rollupInterval,
    ...(redis ? { fence: leadership.fence, followStored: true } : {}),
  });
  await checks.start({ hubDuties: false });
  const statusPages = createStatusPagesService({ repo: checksRepo, checks, audit, clock });
  // The network view (issue #19): hub round trips, tailnet views, network ping.
  const network = createNetworkService({
    repo: createNetworkRepository((db as Kysely<unknown>).withTables<NetworkTables>()),
    agents: repos.agents,
    jobs,
    audit,
    bus,
    clock,
    logger: logger.child({ component: 'network' }),
  });
  network.start();
  if (checksFile) {
    try {
      const applied = await checks.applyFileChecks(checksFile.checks, config.checksFile!);
      const pages = await statusPages.applyFilePages(checksFile.statusPages, config.checksFile!);
      logger.info({ file: config.checksFile, checks: applied, statusPages: pages }, 'checks loaded from the configuration file');
    } catch (error) {
      await checks.stop();
      await alerts.stop();
      await leadership.stop();
      await db.destroy();
      await redis?.close();
      dataDirLock.release();
      if (error instanceof FarolError) {
        throw new ConfigError((error.issues ?? [{ path: '', message: error.message }]).map((i) => `FAROL_CHECKS_FILE ${config.checksFile}: ${i.path}: ${i.message}`));
      }
      throw error;
    }
  }
  // The checks the hub runs itself (location "hub") and their retention: once per fleet (issue #14).
  await leadership.whileLeader('hub checks', () => checks.leadHubDuties(), () => checks.stopHubDuties());

  const chat = createChatService({
    repo: chatRepo,
    actions: chatActions,
    alerts,
    jobs,
    accounts,
    authorizer,
    audit,
    runVia: requestActors.runVia,
    channel: async (id) => {
      const row = await repos.notify.findChannel(id);
      if (!row) return undefined;
      const open = openChannel(row, secretBox);
      const settings = open.settings as { botToken?: string; apiBase?: string };
      return { id: open.id, name: open.name, type: open.type, ...(open.type === 'telegram' ? { botToken: settings.botToken, apiBase: settings.apiBase } : {}) };
    },
    guard: notifyGuard,
    clock,
    logger: logger.child({ component: 'chat' }),
    publicUrl: config.publicUrl,
    webhookKey: Buffer.from(hkdfSync('sha256', secretKey, Buffer.alloc(0), 'farol telegram webhook v1', 32)),
  });

  await redisBus?.start();
  await redisRelay?.start();
  await presence.startDirectory();
  const wentOffline = await presence.reconcileAtStart();
  if (wentOffline > 0) logger.info({ agents: wentOffline }, 'agents marked offline until they reconnect');

  // Agent updates (issue #15): this hub's own agent build plus FAROL_AGENT_UPDATES_DIR, rolled out in waves.
  const agentBundlePath = config.agentBundle ?? fileURLToPath(new URL('../../agent/dist/farol-agent.mjs', import.meta.url));
  const agentBuilds = createAgentBuildCatalog({ version: FAROL_VERSION, ownBundle: agentBundlePath, exeDir: config.agentExeDir ?? null, updatesDir: config.agentUpdatesDir ?? null });
  const updates = createUpdatesService({
    updates: createUpdatesRepository(db),
    agents: repos.agents,
    jobs,
    audit,
    catalog: agentBuilds,
    clock,
    logger: logger.child({ component: 'updates' }),
    autoUpdate: config.agentAutoUpdate ?? null,
  });
  // Container auto-update (issue #18): rollouts of new digests in waves, driven by the leader only.
  const containerAutoUpdate = createAutoUpdateService({
    repo: createAutoUpdateRepository(db),
    agents: repos.agents,
    telemetry,
    jobs,
    audit,
    notifier: outbox,
    clock,
    logger: logger.child({ component: 'container-updates' }),
    secrets,
    defaultWindow: defaultWindowOf(config.containerUpdateWindow),
    scanEveryMs: config.containerUpdateScan,
  });

  const { app, io, agentLink, detach, routes } = await buildServer({
    secrets,
    screenshots,
    https: tls,
    trustProxy: trustProxySetting(config.trustProxy),
    logger,
    clock,
    bus,
    observability,
    tracing,
    accounts,
    authorizer,
    oidc,
    passwordSignIn: config.localSignIn === 'on',
    requestActors,
    limits: {
      apiPerMinute: config.apiRateLimit,
      jobFanOutLimit: config.jobFanOutLimit,
      corsOrigins: (config.corsOrigins ?? '').split(',').map((o) => o.trim()).filter(Boolean),
      ...(redis ? { shared: { redis: redis.client, prefix: redis.prefix } } : {}),
    },
    identity,
    agents,
    presence,
    // The leader's /metrics also reports the machines connected to no hub (issue #14).
    metricsLeader: leadership,
    telemetry,
    live,
    jobs,
    terminals,
    audit,
    joinTokens,
    enrollment,
    checkDatabase: async () => {
      await sql`select 1`.execute(db);
    },
    storage,
    ...(redis ? { redisHealth: redis } : {}),
    publicUrl: config.publicUrl,
    metricsPublic: isMetricsPublic(config),
    agentBundlePath,
    agentExeDir: config.agentExeDir ?? null,
    downloadSigner: createDownloadSigner(hubKey),
    webDistPath: fileURLToPath(new URL('../../web/dist/', import.meta.url)),
    startedAt,
    notify: { channels, webhooks, outbox },
    push,
    alerts,
    backups,
    checks,
    statusPages,
    network,
    updates: { service: updates, catalog: agentBuilds },
    containerAutoUpdate,
    chat,
  });

  try {
    // Issue #11: before any agent connects, names from before the rule that they cannot look like ids.
    await agents.renameIdShapedNames();
    await app.listen({ port: config.port, host: config.bind });
  } catch (error) {
    await leadership.stop();
    await redis?.close();
    dataDirLock.release();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const shownHost = config.bind === '0.0.0.0' || config.bind === '::' ? '127.0.0.1' : config.bind.includes(':') ? `[${config.bind}]` : config.bind;
  const url = `${tls ? 'https' : 'http'}://${shownHost}:${port}`;
  // Listed among the live hubs only now that it accepts agents; rebalancing points them at
  // FAROL_PUBLIC_URL, else the address it listens on (ADR 0033).
  await directory.announce(config.publicUrl ?? url);
  presence.start();
  // Several hubs: each evens out what it holds against the others' counts (ADR 0033).
  const rebalancer =
    redis && config.agentRebalanceInterval > 0
      ? createAgentRebalancer({
          presence,
          directory,
          busyAgents: async () => new Set([...(await terminals.agentsWithOpenSessions()), ...live.watchedAgents()]),
          recentMoves: sharedCache,
          logger: logger.child({ component: 'rebalance' }),
          intervalMs: config.agentRebalanceInterval,
          tolerancePercent: config.agentRebalanceTolerance,
          onMoved: (count) => observability.agentsRebalanced.inc(count),
        })
      : null;
  rebalancer?.start();
  await jobs.start();
  updates.startTicking();
  await terminals.start();
  await screenshots.start();
  await leadership.whileLeader('rollups and retention', () => rollup.start(config.rollupInterval), () => rollup.stop());
  // Expired sessions are refused when presented; this only keeps the table small (the leader's sweeper).
  let sessionPruner: NodeJS.Timeout | undefined;
  await leadership.whileLeader(
    'session pruning',
    () => {
      sessionPruner = setInterval(() => {
        accounts.pruneSessions().catch((error: unknown) => logger.error({ err: error }, 'pruning expired sessions failed'));
      }, 10 * 60_000);
      sessionPruner.unref();
    },
    () => clearInterval(sessionPruner),
  );
  await leadership.whileLeader('notification outbox', (term) => outbox.start(term), () => outbox.stop());
  await leadership.whileLeader('container auto-update', () => containerAutoUpdate.start(), () => containerAutoUpdate.stop());
  // Chat actions (issue #20): pruning expired actions and polling Telegram, once per fleet.
  const telegramPoller = chat.createPoller();
  let stopChatPruning: (() => void) | undefined;
  await leadership.whileLeader(
    'chat actions',
    () => {
      stopChatPruning = chat.startPruning();
      telegramPoller.start();
    },
    async () => {
      stopChatPruning?.();
      await telegramPoller.stop();
    },
  );
  // Once per fleet: the service outside watches the fleet's control plane, not one process (ADR 0011).
  if (deadman) await leadership.whileLeader('dead-man ping', () => deadman.start(), () => deadman.stop());
  const backupSchedule = backupScheduleOf(config);
  const stopBackups = backupSchedule && !config.databaseUrl ? backups.startSchedule(backupSchedule) : null;
  if (backupSchedule && config.databaseUrl) logger.warn('FAROL_BACKUP_EVERY is ignored on PostgreSQL: back it up with pg_dump (docs/operations.md)');
  logger.info({ url, version: FAROL_VERSION, dataDir: config.dataDir }, 'hub listening');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      logger.info('hub shutting down');
      await rebalancer?.stop();
      // First, while the sockets are open: agents kill the shells, operators see why, the ends are stored.
      await terminals.stop();
      stopTerminalFollow();
      live.stop();
      await presence.stop();
      clearInterval(sessionPruner);
      stopBackups?.();
      detach();
      // Closes every socket and the HTTP server; in-flight reports are still committed below.
      await agentLink.close();
      await new Promise<void>((resolve) => io.close(() => resolve()));
      await app.close();
      await telemetry.drain();
      await checks.stop();
      await network.stop();
      await updates.stop();
      await jobs.stop();
      // Before the outbox stops: the last notices are handed over (and committed) first.
      await alerts.stop();
      // The leader's duties (webhooks, dead-man ping, outbox, rollups), and the lease given up.
      await leadership.stop();
      stopOutboxWakeups();
      stopFollowingSecrets();
      await db.destroy();
      await redisRelay?.stop();
      await redisBus?.stop();
      await redis?.close();
      // Last: the spans of the shutdown itself are sent too.
      await tracing.shutdown().catch((error: unknown) => logger.warn({ err: error }, 'sending the last traces failed'));
      dataDirLock.release();
      logger.info('hub stopped');
    })());

  return {
    url,
    port,
    adminToken: admin.value,
    adminTokenGenerated: admin.created,
    adminTokenPath: admin.file,
    adminPassword,
    routes,
    databaseFile,
    close,
  };
}

/**
 * `farol hub`: starts the hub, prints where it is (and the admin token when it was just
 * generated), and shuts down cleanly on SIGTERM/SIGINT.
 */
export async function runHub(overrides: HubOverrides = {}): Promise<void> {
  let hub: RunningHub;
  try {
    hub = await startHub(overrides);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`farol hub: ${error.message}`);
      process.exit(2);
    }
    // Printed whatever the log level: the cause and what to do, not a stack (issue #12).
    if (error instanceof DatabaseStartError || error instanceof DataDirLockedError || error instanceof HubIdentityError) {
      console.error(`farol hub: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  printBanner(hub);
  const config = loadConfig(process.env, overrides);
  limitHeapGrowth(config.heapGrowth);
  installShutdown(hub, Number(config.shutdownGrace));
}

export function printBanner(hub: RunningHub): void {
  const lines = [`Farol hub ${FAROL_VERSION} at ${hub.url}`, `  API docs: ${hub.url}/api/docs`];
  if (hub.adminPassword !== null) {
    lines.push('  Sign in as admin with this password (shown once; change it in Settings):', `    ${hub.adminPassword}`);
  }
  if (hub.adminTokenGenerated) {
    lines.push(`  Admin token (shown once; stored in ${hub.adminTokenPath}, mode 0600):`, `    ${hub.adminToken}`);
  } else if (hub.adminTokenPath) {
    lines.push(`  Admin token: in ${hub.adminTokenPath}`);
  } else {
    lines.push('  Admin token: from FAROL_ADMIN_TOKEN');
  }
  process.stderr.write(`${lines.join('\n')}\n`);
}

/** SIGTERM/SIGINT drain and close; a second signal or the grace period forces the exit. */
export function installShutdown(hub: RunningHub, graceMs: number, before?: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) process.exit(1);
    stopping = true;
    const force = setTimeout(() => {
      console.error(`farol hub: did not stop within ${graceMs} ms after ${signal}; exiting`);
      process.exit(1);
    }, graceMs);
    force.unref();
    (before ? before() : Promise.resolve())
      .then(() => hub.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          console.error('farol hub: error while stopping', error);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
