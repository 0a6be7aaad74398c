import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { FarolError, FAROL_VERSION } from '@farol/protocol';
import { ConfigError, loadConfig, type HubOverrides } from './config.js';
import { createMemoryBus } from './infra/bus.js';
import { systemClock } from './infra/clock.js';
import { openSqliteDatabase } from './infra/database.js';
import { loadHubKey } from './infra/hub-key.js';
import { createHubSigner } from './infra/jws.js';
import { createLogger } from './infra/logger.js';
import { createSecretBox, loadSecretKey } from './infra/secret-box.js';
import { loadTlsOptions, trustProxySetting } from './infra/tls.js';
import { createObservability } from './infra/observability.js';
import { createRepositories, createUnitOfWork } from './infra/repositories.js';
import { createAgentsService } from './modules/agents/agents.service.js';
import { createPresenceService } from './modules/agents/presence.service.js';
import { createAuditService } from './modules/audit/audit.service.js';
import { createAccountsService } from './modules/auth/accounts.service.js';
import { resolveAdminToken } from './modules/auth/auth.service.js';
import { createAuthorizer } from './modules/auth/authorizer.js';
import { createAgentIdentityService } from './modules/enrollment/agent-identity.service.js';
import { createEnrollmentService } from './modules/enrollment/enrollment.service.js';
import { createJoinTokensService } from './modules/enrollment/join-tokens.service.js';
import { createJobsService } from './modules/jobs/jobs.service.js';
import { createTerminalService } from './modules/terminal/terminal.service.js';
import { openScreenshotsRepository } from './modules/screenshots/screenshots.repository.js';
import { createScreenshotsService } from './modules/screenshots/screenshots.service.js';
import { createInfisicalBackend, createVaultBackend, type SecretBackend } from './modules/secrets/backends.client.js';
import { createSecretRedactor } from './modules/secrets/secret-redactor.js';
import { createSecretsService } from './modules/secrets/secrets.service.js';
import { createChannelsService } from './modules/notify/channels.service.js';
import { createDeadmanService } from './modules/notify/deadman.service.js';
import { createNetworkGuard, parseNetworks } from './modules/notify/net-guard.js';
import { createNotifyService, type Notifier } from './modules/notify/notify.service.js';
import { AlertsFileError, loadAlertsFile } from './modules/alerts/alerts-file.js';
import { createAlertsService } from './modules/alerts/alerts.service.js';
import { createContainerLogFetcher } from './modules/alerts/container-logs.js';
import { createWebhooksService } from './modules/notify/webhooks.service.js';
import { createLiveService } from './modules/telemetry/live.service.js';
import { createRollupService } from './modules/telemetry/rollup.service.js';
import { createTelemetryService } from './modules/telemetry/telemetry.service.js';
import { buildServer } from './server.js';

export type { HubOverrides } from './config.js';

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
  // Before the logger: every line it writes goes through the redactor of known secret values.
  const secretRedactor = createSecretRedactor();
  const logger = createLogger(config.logLevel, { redactLine: secretRedactor.redact, ...(seams.logDestination ? { destination: seams.logDestination } : {}) });
  const tls = loadTlsOptions(config);
  const clock = systemClock;
  const startedAt = clock.now();

  const { db, file: databaseFile } = await openSqliteDatabase(config.dataDir);
  const hubKey = await loadHubKey(config.dataDir);
  const admin = resolveAdminToken(config.dataDir, config.adminToken);
  const repos = createRepositories(db);
  const unitOfWork = createUnitOfWork(db);
  const bus = createMemoryBus(logger);
  const observability = createObservability();
  const retention = { raw: config.retentionRaw, minute: config.retention1m, hour: config.retention1h };

  const identity = createAgentIdentityService({ agents: repos.agents, hubKey, clock });
  const joinTokens = createJoinTokensService({ joinTokens: repos.joinTokens, clock });
  const enrollment = createEnrollmentService({ unitOfWork, joinTokens, hubKey, clock });
  const presence = createPresenceService({ agents: repos.agents, bus, clock, logger, missedHeartbeats: config.missedHeartbeats });
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
  const rollup = createRollupService({ telemetry: repos.telemetry, unitOfWork, clock, logger, retention });
  const agents = createAgentsService({ agents: repos.agents, presence, telemetry, bus, clock, logger });
  const live = createLiveService({ presence, bus, logger });
  const audit = createAuditService({ audit: repos.audit, unitOfWork, clock, logger });
  // The one secret box of the hub: every value sealed at rest goes through it.
  const secretBox = createSecretBox(loadSecretKey(config.dataDir, config.secretKey));
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
    clock,
    logger: logger.child({ component: 'secrets' }),
  });
  await secrets.primeRedactor();
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
      issuer: 'Farol',
    },
  });
  const { adminPassword } = await accounts.bootstrap({ adminToken: admin.value });
  const authorizer = createAuthorizer({
    targetLabels: async (ref) => (await repos.agents.findByIdOrName(ref))?.labels,
    clock,
    mfaMaxAgeMs: config.mfaMaxAge,
  });
  const jobs = createJobsService({
    jobs: repos.jobs,
    agents: repos.agents,
    audit,
    presence,
    signer: createHubSigner(hubKey),
    bus,
    clock,
    logger: logger.child({ component: 'jobs' }),
    secrets,
    observability,
  });

  const terminals = createTerminalService({
    sessions: repos.terminalSessions,
    agents: repos.agents,
    presence,
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

  const screenshots = createScreenshotsService({
    store: await openScreenshotsRepository(path.join(config.dataDir, 'screenshots'), (file, error) => logger.error({ err: error, file }, 'skipping a damaged screenshot record')),
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
  const channels = createChannelsService(notifyDeps);
  const outbox = createNotifyService({ ...notifyDeps, policy: { maxAgeMs: config.notifyGiveUpAfter } });
  const webhooks = createWebhooksService({
    ...notifyDeps,
    bus,
    agents: {
      findById: (id) => repos.agents.findById(id),
      latestSample: async (seq) => (await telemetry.latestSamples([seq])).get(seq),
    },
    enqueue: outbox.enqueueWebhook,
  });
  /** What the alerts engine calls: durable notify() and the channels of the configuration file. */
  const notifier: Notifier = { notify: outbox.notify, applyChannelsConfig: channels.applyChannelsConfig };
  // The dead-man URL comes from the hub's own configuration, not from an API user: any address.
  const deadman = config.deadmanUrl
    ? createDeadmanService({ url: config.deadmanUrl, intervalMs: config.deadmanInterval, guard: createNetworkGuard({ allow: parseNetworks('0.0.0.0/0,::/0') }), clock, logger: notifyLogger })
    : null;
  const detachWebhooks = webhooks.attach();

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
    fetchContainerLogs: createContainerLogFetcher(jobs),
    bus,
    clock,
    logger: logger.child({ component: 'alerts' }),
    options: {
      defaultCooldownMs: config.alertsCooldown,
      defaultChannels: alertChannels,
      groupWindowMs: config.alertsGroupWindow,
      // Machines that were online before a restart get the same time to come back as presence gives a silent one.
      startupGraceMs: config.missedHeartbeats * 10_000,
      publicUrl: config.publicUrl,
      report: config.alertsReportEvery
        ? { everyMs: config.alertsReportEvery, channels: config.alertsReportChannels ? commaList(config.alertsReportChannels) : alertChannels }
        : null,
    },
  });
  await alerts.start();
  if (alertsFile) {
    try {
      if (alertsFile.channels) await notifier.applyChannelsConfig(alertsFile.channels);
      const applied = await alerts.applyFileRules(alertsFile.rules);
      logger.info({ file: config.alertsFile, ...applied }, 'alert rules loaded from the configuration file');
    } catch (error) {
      await alerts.stop();
      await db.destroy();
      if (error instanceof FarolError) {
        throw new ConfigError((error.issues ?? [{ path: '', message: error.message }]).map((i) => `FAROL_ALERTS_FILE ${config.alertsFile}: ${i.path}: ${i.message}`));
      }
      throw error;
    }
  }

  const wentOffline = await repos.agents.markAllOffline();
  if (wentOffline > 0) logger.info({ agents: wentOffline }, 'agents marked offline until they reconnect');

  const { app, io, detach, routes } = await buildServer({
    secrets,
    screenshots,
    https: tls,
    trustProxy: trustProxySetting(config.trustProxy),
    logger,
    clock,
    bus,
    observability,
    accounts,
    authorizer,
    limits: {
      loginPerMinute: config.loginRateLimit,
      apiPerMinute: config.apiRateLimit,
      jobFanOutLimit: config.jobFanOutLimit,
      corsOrigins: (config.corsOrigins ?? '').split(',').map((o) => o.trim()).filter(Boolean),
    },
    identity,
    agentsRepository: repos.agents,
    agents,
    presence,
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
    publicUrl: config.publicUrl,
    agentBundlePath: config.agentBundle ?? fileURLToPath(new URL('../../agent/dist/farol-agent.mjs', import.meta.url)),
    webDistPath: fileURLToPath(new URL('../../web/dist/', import.meta.url)),
    startedAt,
    notify: { channels, webhooks, outbox },
    alerts,
  });

  await app.listen({ port: config.port, host: config.bind });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const shownHost = config.bind === '0.0.0.0' || config.bind === '::' ? '127.0.0.1' : config.bind.includes(':') ? `[${config.bind}]` : config.bind;
  const url = `${tls ? 'https' : 'http'}://${shownHost}:${port}`;
  presence.start();
  await jobs.start();
  await terminals.start();
  await screenshots.start();
  rollup.start(config.rollupInterval);
  // Expired sessions are refused when presented; this only keeps the table small.
  const sessionPruner = setInterval(() => {
    accounts.pruneSessions().catch((error: unknown) => logger.error({ err: error }, 'pruning expired sessions failed'));
  }, 10 * 60_000);
  sessionPruner.unref();
  await outbox.start();
  deadman?.start();
  logger.info({ url, version: FAROL_VERSION, dataDir: config.dataDir }, 'hub listening');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      logger.info('hub shutting down');
      // First, while the sockets are open: agents kill the shells, operators see why, the ends are stored.
      await terminals.stop();
      await presence.stop();
      clearInterval(sessionPruner);
      detach();
      // Closes every socket and the HTTP server; in-flight reports are still committed below.
      await new Promise<void>((resolve) => io.close(() => resolve()));
      await app.close();
      await telemetry.drain();
      await jobs.stop();
      // Before the outbox stops: the last notices are handed over (and committed) first.
      await alerts.stop();
      detachWebhooks();
      await deadman?.stop();
      await outbox.stop();
      await rollup.stop();
      await db.destroy();
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
    throw error;
  }
  printBanner(hub);
  installShutdown(hub, Number(loadConfig(process.env, overrides).shutdownGrace));
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
