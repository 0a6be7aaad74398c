import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { FAROL_VERSION } from '@farol/protocol';
import { ConfigError, loadConfig, type HubOverrides } from './config.js';
import { createMemoryBus } from './infra/bus.js';
import { systemClock } from './infra/clock.js';
import { openSqliteDatabase } from './infra/database.js';
import { loadHubKey } from './infra/hub-key.js';
import { createHubSigner } from './infra/jws.js';
import { createLogger } from './infra/logger.js';
import { createObservability } from './infra/observability.js';
import { createRepositories, createUnitOfWork } from './infra/repositories.js';
import { createAgentsService } from './modules/agents/agents.service.js';
import { createPresenceService } from './modules/agents/presence.service.js';
import { createAuditService } from './modules/audit/audit.service.js';
import { createAuthService, resolveAdminToken } from './modules/auth/auth.service.js';
import { createAgentIdentityService } from './modules/enrollment/agent-identity.service.js';
import { createEnrollmentService } from './modules/enrollment/enrollment.service.js';
import { createJoinTokensService } from './modules/enrollment/join-tokens.service.js';
import { createJobsService } from './modules/jobs/jobs.service.js';
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
  databaseFile: string;
  close(): Promise<void>;
}

/** Wiring only: config → infrastructure → services → server → listen. */
export async function startHub(overrides: HubOverrides = {}, env: NodeJS.ProcessEnv = process.env): Promise<RunningHub> {
  const config = loadConfig(env, overrides);
  const logger = createLogger(config.logLevel);
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

  const auth = createAuthService({ adminToken: admin.value });
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
  const jobs = createJobsService({
    jobs: repos.jobs,
    agents: repos.agents,
    audit,
    presence,
    signer: createHubSigner(hubKey),
    bus,
    clock,
    logger: logger.child({ component: 'jobs' }),
  });

  const wentOffline = await repos.agents.markAllOffline();
  if (wentOffline > 0) logger.info({ agents: wentOffline }, 'agents marked offline until they reconnect');

  const { app, io, detach } = await buildServer({
    logger,
    clock,
    bus,
    observability,
    auth,
    identity,
    agentsRepository: repos.agents,
    agents,
    presence,
    telemetry,
    live,
    jobs,
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
  });

  await app.listen({ port: config.port, host: config.bind });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const shownHost = config.bind === '0.0.0.0' || config.bind === '::' ? '127.0.0.1' : config.bind.includes(':') ? `[${config.bind}]` : config.bind;
  const url = `http://${shownHost}:${port}`;
  presence.start();
  await jobs.start();
  rollup.start(config.rollupInterval);
  logger.info({ url, version: FAROL_VERSION, dataDir: config.dataDir }, 'hub listening');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      logger.info('hub shutting down');
      await presence.stop();
      detach();
      // Closes every socket and the HTTP server; in-flight reports are still committed below.
      await new Promise<void>((resolve) => io.close(() => resolve()));
      await app.close();
      await telemetry.drain();
      await jobs.stop();
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
