import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import fastifyCookie from '@fastify/cookie';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { Server as SocketServer } from 'socket.io';
import WebSocket from 'ws';
import { AGENT_NAMESPACE, buildProtocolSchema, FAROL_VERSION, MAX_MESSAGE_BYTES, PROTOCOL_SCHEMA_PATH, UI_NAMESPACE, problemFor } from '@farol/protocol';
import type { Redis } from 'ioredis';
import type { Bus } from './infra/bus.js';
import { isLeanUpgrade, LeanSocketServer } from './infra/lean-socket-server.js';
import type { Clock } from './infra/clock.js';
import { notifyRoutes } from './modules/notify/notify.routes.js';
import { pushRoutes } from './modules/push/push.routes.js';
import type { PushService } from './modules/push/push.service.js';
import { registerAlertMetrics } from './modules/alerts/alerts.metrics.js';
import { alertsRoutes } from './modules/alerts/alerts.routes.js';
import { checksRoutes } from './modules/checks/checks.routes.js';
import type { ChecksService } from './modules/checks/checks.service.js';
import { statusPagesRoutes } from './modules/checks/status-pages.routes.js';
import type { StatusPagesService } from './modules/checks/status-pages.service.js';
import { chatRoutes } from './modules/chat/chat.routes.js';
import type { ChatService } from './modules/chat/chat.service.js';
import type { AlertsService } from './modules/alerts/alerts.service.js';
import type { ChannelsService } from './modules/notify/channels.service.js';
import type { NotifyService } from './modules/notify/notify.service.js';
import type { WebhooksService } from './modules/notify/webhooks.service.js';
import { installHttpErrorHandling } from './infra/http-errors.js';
import { releaseReceivedChunks, releaseUpgradeRequests, type FrameReceiverClass, type UpgradeHandlingEngine } from './infra/socket-memory.js';
import type { Logger } from './infra/logger.js';
import type { Observability } from './infra/observability.js';
import type { Tracing } from './infra/tracing.js';
import type { StorageHealth } from './infra/storage-health.js';
import type { RedisStatus } from './infra/redis.js';
import type { HubTlsOptions } from './infra/tls.js';
import { attachAgentLinkGateway } from './modules/agents/agent-link.gateway.js';
import { agentsRoutes } from './modules/agents/agents.routes.js';
import type { AgentsService } from './modules/agents/agents.service.js';
import type { PresenceService } from './modules/agents/presence.service.js';
import { auditRoutes } from './modules/audit/audit.routes.js';
import { backupsRoutes } from './modules/backups/backups.routes.js';
import type { AgentBuildCatalog } from './modules/updates/agent-builds.js';
import { updatesRoutes } from './modules/updates/updates.routes.js';
import type { UpdatesService } from './modules/updates/updates.service.js';
import type { BackupsService } from './modules/backups/backups.service.js';
import { registerContainerMetrics } from './modules/containers/containers.metrics.js';
import { containersRoutes } from './modules/containers/containers.routes.js';
import type { AutoUpdateService } from './modules/containers/auto-update.service.js';
import type { AuditService } from './modules/audit/audit.service.js';
import type { AccountsService } from './modules/auth/accounts.service.js';
import { authorizeRequests, bearerFrom } from './modules/auth/auth.hook.js';
import { authRoutes } from './modules/auth/auth.routes.js';
import { oidcRoutes } from './modules/auth/oidc.routes.js';
import type { OidcService } from './modules/auth/oidc.service.js';
import type { Authorizer } from './modules/auth/authorizer.js';
import { corsHook } from './modules/auth/cors.hook.js';
import { routeAccess } from './modules/auth/permissions.js';
import type { RequestActors } from './modules/auth/request-actor.js';
import { attachUiGuard, keepSessionHeaders } from './modules/auth/ui-guard.js';
import { usersRoutes } from './modules/users/users.routes.js';
import type { AgentIdentityService } from './modules/enrollment/agent-identity.service.js';
import { enrollmentRoutes, joinTokensRoutes } from './modules/enrollment/enrollment.routes.js';
import type { EnrollmentService } from './modules/enrollment/enrollment.service.js';
import type { JoinTokensService } from './modules/enrollment/join-tokens.service.js';
import type { DownloadSigner } from './modules/install/download-signature.js';
import { installRoutes } from './modules/install/install.routes.js';
import { jobsRoutes } from './modules/jobs/jobs.routes.js';
import type { JobsService } from './modules/jobs/jobs.service.js';
import { screenshotsRoutes } from './modules/screenshots/screenshots.routes.js';
import type { ScreenshotsService } from './modules/screenshots/screenshots.service.js';
import { secretsRoutes } from './modules/secrets/secrets.routes.js';
import type { SecretsService } from './modules/secrets/secrets.service.js';
import { registerFleetMetrics } from './modules/system/fleet-metrics.js';
import { registerNetworkMetrics } from './modules/network/network-metrics.js';
import { networkRoutes } from './modules/network/network.routes.js';
import type { NetworkService } from './modules/network/network.service.js';
import { meRoutes, systemRoutes } from './modules/system/system.routes.js';
import { telemetryRoutes } from './modules/telemetry/telemetry.routes.js';
import type { LiveService } from './modules/telemetry/live.service.js';
import type { TelemetryService } from './modules/telemetry/telemetry.service.js';
import { terminalRoutes } from './modules/terminal/terminal.routes.js';
import type { TerminalService } from './modules/terminal/terminal.service.js';
import { attachUiGateway } from './modules/ui/ui.gateway.js';
import { baselineSecurityHeaders, securityHeaders } from './modules/web/security-headers.hook.js';
import { webRoutes } from './modules/web/web.routes.js';

/** Engine.IO's heartbeat on every socket, agents' and dashboards': a ping every 25 s, a pong within 20 s. */
const SOCKET_PING_INTERVAL_MS = 25_000;
const SOCKET_PING_TIMEOUT_MS = 20_000;

/** Rate-limit buckets in Redis, shared by every hub of a fleet. */
export interface SharedRateLimitStore {
  redis: Redis;
  prefix: string;
}

/**
 * ws's frame receiver is patched while any hub of this process serves (tests run several hubs in
 * one process, one after another), and restored when the last one closes.
 */
let chunkReleaseHolders = 0;
let restoreReceivedChunks: (() => void) | null = null;
/** Holds the patch until the returned function is called (once, when the hub closes). */
function holdChunkRelease(): () => void {
  if (chunkReleaseHolders++ === 0) restoreReceivedChunks = releaseReceivedChunks((WebSocket as unknown as { Receiver: FrameReceiverClass }).Receiver);
  return () => {
    if (--chunkReleaseHolders === 0) {
      restoreReceivedChunks?.();
      restoreReceivedChunks = null;
    }
  };
}

export interface ServerDeps {
  logger: Logger;
  clock: Clock;
  bus: Bus;
  observability: Observability;
  /** Spans per request when FAROL_OTLP_ENDPOINT is set (issue #20); absent or off: no hook at all. */
  tracing?: Tracing;
  /** Users, roles, API tokens, sessions (issue #6). */
  accounts: AccountsService;
  authorizer: Authorizer;
  /** Single sign-on (issue #20); absent or null: not configured (its routes answer 404). */
  oidc?: OidcService | null;
  /** false: FAROL_LOCAL_SIGNIN=off (password sign-in refused); default true. */
  passwordSignIn?: boolean;
  /** Which credential each request acts through, for the audit log's `via` (issue #11). */
  requestActors: RequestActors;
  /** Abuse limits: requests per minute per token or IP (0: off), CORS origins. Sign-ins are limited by `accounts`. */
  limits: { apiPerMinute: number; corsOrigins: string[]; jobFanOutLimit: number; shared?: SharedRateLimitStore };
  identity: AgentIdentityService;
  agents: AgentsService;
  presence: PresenceService;
  /**
   * Several hubs (issue #14): the leader's /metrics also reports the machines connected to no
   * hub. Absent: this hub is the only one and reports them.
   */
  metricsLeader?: { isLeader(): boolean };
  telemetry: TelemetryService;
  live: LiveService;
  jobs: JobsService;
  terminals: TerminalService;
  audit: AuditService;
  joinTokens: JoinTokensService;
  enrollment: EnrollmentService;
  secrets: SecretsService;
  screenshots: ScreenshotsService;
  /** Serve HTTPS/WSS with this certificate (FAROL_TLS_CERT/KEY); null or absent: plain HTTP. */
  https?: HubTlsOptions | null;
  /** Reverse proxies whose X-Forwarded-* headers are honoured (FAROL_TRUST_PROXY); default none. */
  trustProxy?: string[] | false;
  checkDatabase: () => Promise<void>;
  /** Write failures and the start-up integrity check, for /ready and /metrics (issue #12). */
  storage?: StorageHealth;
  /** Several hubs (issue #14): the shared Redis's health, for /ready. */
  redisHealth?: { status(): RedisStatus };
  publicUrl: string | undefined;
  /** GET /metrics without a token (isMetricsPublic: loopback bind or FAROL_METRICS_PUBLIC); default true. */
  metricsPublic?: boolean;
  agentBundlePath: string;
  /** The one-file agents of scripts/build-agent-exe.mjs (FAROL_AGENT_EXE_DIR, issue #15); absent: none served. */
  agentExeDir?: string | null;
  /** Signs the agent downloads with the hub key (ADR 0024); absent: install.sh can only check SHA-256. */
  downloadSigner?: DownloadSigner | null;
  /** The built dashboard (apps/web/dist), served at `/`. */
  webDistPath: string;
  startedAt: number;
  /** Channels, event webhooks and the outbox (issue #4). */
  notify: { channels: ChannelsService; webhooks: WebhooksService; outbox: NotifyService };
  /** Browser notifications (issue #20); absent: no /api/push routes. */
  push?: PushService;
  /** Alert rules, alerts and silences (issue #4). */
  alerts: AlertsService;
  /** Service checks (issue #19); absent: no /api/checks and agents get no checks. */
  checks?: ChecksService;
  /** Public status pages of chosen checks (issue #19); absent: no /status/:slug. */
  statusPages?: StatusPagesService;
  /** The network view (issue #19); absent: no /api/network routes and no hub round trips measured. */
  network?: NetworkService;
  /** Acting on alerts from the chat (issue #20); absent: no /api/chat routes. */
  chat?: ChatService;
  /** Agent updates (issue #15); absent: no /api/agent-updates routes. */
  updates?: { service: UpdatesService; catalog: AgentBuildCatalog };
  /** Container auto-update (issue #18); absent: no /api/container-updates routes. */
  containerAutoUpdate?: AutoUpdateService;
  /** Online backups (issue #15); absent: no POST /api/backups. */
  backups?: BackupsService;
}

/** Builds HTTP and realtime on one server without listening (tests inject requests). */
export async function buildServer(deps: ServerDeps): Promise<{ app: FastifyInstance; io: SocketServer; agentLink: LeanSocketServer; detach: () => void; routes: readonly string[] }> {
  // Request lines only at debug: errors are logged by the error handler with context.
  const httpLogger = deps.logger.child({ component: 'http' }, { level: deps.logger.level === 'debug' || deps.logger.level === 'trace' ? deps.logger.level : 'warn' });
  // With `https`, Fastify (and Socket.IO on app.server) speak TLS on the one port. The cast:
  // Fastify's https overload types the instance by server; the hub only uses the common surface.
  const app = Fastify({
    loggerInstance: httpLogger as FastifyBaseLogger,
    bodyLimit: MAX_MESSAGE_BYTES,
    trustProxy: deps.trustProxy ?? false,
    ...(deps.https ? { https: deps.https } : {}),
    // Errors the router raises before any route or hook (a malformed URL, an over-long path
    // segment) get a problem body like every other refusal (found by tests/fuzz).
    frameworkErrors: (error, _request, reply) => {
      const problem = problemFor('bad_request', error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path segment of the URL is too long' : 'the URL is malformed');
      // No route matched yet, so the reply has no schema-derived type to satisfy.
      void (reply as unknown as FastifyReply).status(problem.status).type('application/problem+json').send(problem);
    },
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installHttpErrorHandling(app, deps.logger);
  // First of the request hooks, so a request's span covers authentication and rate limits.
  if (deps.tracing?.enabled) deps.tracing.instrumentHttp(app);
  app.addHook('onSend', securityHeaders({ tls: Boolean(deps.https) }));

  // Access control for every route, in one place (modules/auth/permissions.ts): cookies, rate
  // limits, then the permission table. Registered before any route so each one inherits it.
  const routes: string[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push(`${method} ${route.url}`);
  });
  await app.register(fastifyCookie);
  app.decorateRequest('principal', undefined);
  app.decorateRequest('auth', undefined);
  app.addHook('onRequest', deps.requestActors.enter);
  app.addHook('preValidation', deps.requestActors.resume);
  app.addHook('onRequest', corsHook(deps.limits.corsOrigins));
  await app.register(fastifyRateLimit, {
    global: deps.limits.apiPerMinute > 0,
    max: Math.max(1, deps.limits.apiPerMinute),
    timeWindow: 60_000,
    // Several hubs (issue #14): one bucket per key in Redis, so N hubs do not multiply the limit.
    // A Redis that does not answer does not lock everyone out: the request goes on, logged.
    ...(deps.limits.shared ? { redis: deps.limits.shared.redis, nameSpace: `${deps.limits.shared.prefix}rate:`, skipOnError: true } : {}),
    // Per API token, parsed the way authentication parses it (scheme in any case, any blanks), so
    // `bearer x`, `Bearer  x` and `BEARER\tx` share one bucket (hashed: the key is kept in
    // memory); per address for public routes (sign-in, enrolment) and anything else, so a made-up
    // header never buys a fresh bucket (issue #11). The buckets are per hub (memory store) unless
    // several hubs share Redis.
    keyGenerator: (request) => {
      const url = request.routeOptions.url;
      const isPublic = url === undefined || routeAccess(request.method === 'HEAD' ? 'GET' : request.method, url)?.kind === 'public';
      const bearer = isPublic ? undefined : bearerFrom(request.headers.authorization);
      return bearer ? `t:${createHash('sha256').update(bearer).digest('base64url')}` : `ip:${request.ip}`;
    },
  });
  app.addHook('onRequest', authorizeRequests({ accounts: deps.accounts, authorizer: deps.authorizer, actors: deps.requestActors, publicRoutes: new Set(deps.metricsPublic === false ? [] : ['GET /metrics']) }));

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Farol hub API', version: FAROL_VERSION, description: 'Operator REST API of the Farol hub. Authenticate with `Authorization: Bearer <API token>`, or the session cookie of `POST /api/auth/login` (then send `X-CSRF-Token` on unsafe methods).' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/api/docs' });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // The agent and /ui protocol as JSON Schema (docs/protocol.md): for agents in other languages.
  const protocolSchema = buildProtocolSchema();
  app.get(PROTOCOL_SCHEMA_PATH, { schema: { hide: true } }, async () => protocolSchema);

  const typed = app.withTypeProvider<ZodTypeProvider>();
  await typed.register(systemRoutes({ registry: deps.observability.registry, metricsText: deps.observability.metricsText, checkDatabase: deps.checkDatabase, ...(deps.storage ? { storage: deps.storage } : {}), ...(deps.redisHealth ? { redis: deps.redisHealth } : {}), clock: deps.clock, startedAt: deps.startedAt }));
  await typed.register(enrollmentRoutes({ enrollment: deps.enrollment }));
  await typed.register(installRoutes({ publicUrl: deps.publicUrl, agentBundlePath: deps.agentBundlePath, agentExeDir: deps.agentExeDir ?? null, signer: deps.downloadSigner ?? null }));
  await typed.register(webRoutes({ distPath: deps.webDistPath }));
  await typed.register(async (operator) => {
    await operator.register(authRoutes({ accounts: deps.accounts }));
    await operator.register(oidcRoutes({ oidc: deps.oidc ?? null, accounts: deps.accounts, passwordSignIn: deps.passwordSignIn ?? true }));
    await operator.register(usersRoutes({ accounts: deps.accounts }));
    await operator.register(meRoutes());
    await operator.register(agentsRoutes({ agents: deps.agents, authorizer: deps.authorizer }));
    await operator.register(telemetryRoutes({ agents: deps.agents, telemetry: deps.telemetry }));
    await operator.register(containersRoutes({ agents: deps.agents, telemetry: deps.telemetry, autoUpdate: deps.containerAutoUpdate }));
    await operator.register(joinTokensRoutes({ joinTokens: deps.joinTokens }));
    await operator.register(jobsRoutes({ jobs: deps.jobs, authorizer: deps.authorizer, fanOutLimit: deps.limits.jobFanOutLimit, secrets: deps.secrets }));
    await operator.register(screenshotsRoutes({ screenshots: deps.screenshots, authorizer: deps.authorizer }));
    await operator.register(auditRoutes({ audit: deps.audit, agents: deps.agents }));
    await operator.register(terminalRoutes({ terminals: deps.terminals, authorizer: deps.authorizer }));
    await operator.register(notifyRoutes({ channels: deps.notify.channels, webhooks: deps.notify.webhooks, notify: deps.notify.outbox }));
    await operator.register(alertsRoutes({ alerts: deps.alerts, authorizer: deps.authorizer }));
    await operator.register(secretsRoutes({ secrets: deps.secrets, stepUp: deps.authorizer.requireRecentMfa }));
    if (deps.push) await operator.register(pushRoutes({ push: deps.push }));
    if (deps.backups) await operator.register(backupsRoutes({ backups: deps.backups }));
    if (deps.updates) await operator.register(updatesRoutes({ updates: deps.updates.service, catalog: deps.updates.catalog }));
    if (deps.checks) await operator.register(checksRoutes({ checks: deps.checks, authorizer: deps.authorizer }));
    if (deps.statusPages) await operator.register(statusPagesRoutes({ statusPages: deps.statusPages }));
    if (deps.network) await operator.register(networkRoutes({ network: deps.network, authorizer: deps.authorizer }));
    if (deps.chat) await operator.register(chatRoutes({ chat: deps.chat }));
  });
  // Each hub reports the agents connected to it (issue #14); the leader also the offline ones.
  const heldHere = (agentId: string): boolean => deps.presence.sessionOf(agentId) !== undefined;
  registerFleetMetrics(deps.observability, deps.agents, { heldHere, reportsUnheld: () => deps.metricsLeader?.isLeader() ?? true });
  registerAlertMetrics(deps.observability.registry, deps.alerts, () => deps.metricsLeader?.isLeader() ?? true);
  const detachContainerMetrics = registerContainerMetrics(deps.observability, deps.bus, heldHere);
  if (deps.network) registerNetworkMetrics(deps.observability, deps.network);

  const upgradeListenersBefore = new Set(app.server.listeners('upgrade'));
  const io = new SocketServer(app.server, {
    maxHttpBufferSize: MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
    serveClient: false,
    pingInterval: SOCKET_PING_INTERVAL_MS,
    pingTimeout: SOCKET_PING_TIMEOUT_MS,
  });
  // Socket.IO keeps each session's first HTTP request unless told not to; nothing here needs it
  // after the handshake, and with 10,000 agents it is megabytes (Socket.IO's memory guide).
  io.engine.on('connection', (rawSocket: { request: { headers: Record<string, string | string[] | undefined> } | null }) => {
    keepSessionHeaders(rawSocket);
    rawSocket.request = null;
  });
  // …and engine.io's upgrade response would keep it anyway (issue #16), as would ws the last
  // chunk each connection received.
  releaseUpgradeRequests(io.engine as unknown as UpgradeHandlingEngine);
  const letChunksGo = holdChunkRelease();
  app.addHook('onClose', async () => letChunksGo());
  // Socket.IO answers its polling requests itself, outside Fastify's hooks.
  const engineHeaders = baselineSecurityHeaders({ tls: Boolean(deps.https) });
  io.engine.on('headers', (headers: Record<string, string>) => Object.assign(headers, engineHeaders));
  const agentGateway = attachAgentLinkGateway(io.of(AGENT_NAMESPACE), {
    identity: deps.identity,
    agents: deps.agents,
    presence: deps.presence,
    telemetry: deps.telemetry,
    live: deps.live,
    jobs: deps.jobs,
    terminals: deps.terminals,
    secrets: deps.secrets,
    screenshots: deps.screenshots,
    ...(deps.checks ? { checks: deps.checks } : {}),
    ...(deps.network ? { network: deps.network } : {}),
    containerAutoUpdate: deps.containerAutoUpdate,
    observability: deps.observability,
    clock: deps.clock,
    logger: deps.logger.child({ component: 'agent-link' }),
  });
  // Agents that ask for it (`link=lean`, as Farol's own agent does) are served the same protocol
  // without Engine.IO's and Socket.IO's objects per connection (issue #16, ADR 0036); every other
  // upgrade (dashboards, the CLI, third-party agents) goes to Socket.IO as before.
  const agentLink = new LeanSocketServer({
    namespace: AGENT_NAMESPACE,
    admit: agentGateway.admit,
    onConnection: agentGateway.connected,
    maxPayload: MAX_MESSAGE_BYTES,
    pingIntervalMs: SOCKET_PING_INTERVAL_MS,
    pingTimeoutMs: SOCKET_PING_TIMEOUT_MS,
    logger: deps.logger.child({ component: 'agent-link' }),
  });
  const engineUpgrades = app.server.listeners('upgrade').filter((listener) => !upgradeListenersBefore.has(listener)) as Array<(request: IncomingMessage, socket: Duplex, head: Buffer) => void>;
  for (const listener of engineUpgrades) app.server.removeListener('upgrade', listener);
  app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (isLeanUpgrade(request)) agentLink.handleUpgrade(request, socket, head);
    else for (const listener of engineUpgrades) listener.call(app.server, request, socket, head);
  });
  const detachUiGuard = attachUiGuard(io.of(UI_NAMESPACE), {
    accounts: deps.accounts,
    actors: deps.requestActors,
    authorizer: deps.authorizer,
    bus: deps.bus,
    clock: deps.clock,
    logger: deps.logger.child({ component: 'ui-auth' }),
  });
  const detachUi = attachUiGateway(io.of(UI_NAMESPACE), {
    authorizer: deps.authorizer,
    bus: deps.bus,
    clock: deps.clock,
    logger: deps.logger.child({ component: 'ui' }),
    observability: deps.observability,
    live: deps.live,
    jobs: deps.jobs,
    agents: deps.agents,
    terminals: deps.terminals,
  });
  return {
    app,
    io,
    agentLink,
    routes,
    detach: () => {
      detachContainerMetrics();
      detachUiGuard();
      detachUi();
    },
  };
}
