import { createHash } from 'node:crypto';
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
import { AGENT_NAMESPACE, FAROL_VERSION, MAX_MESSAGE_BYTES, UI_NAMESPACE, problemFor } from '@farol/protocol';
import type { Bus } from './infra/bus.js';
import type { Clock } from './infra/clock.js';
import { notifyRoutes } from './modules/notify/notify.routes.js';
import { alertsRoutes } from './modules/alerts/alerts.routes.js';
import type { AlertsService } from './modules/alerts/alerts.service.js';
import type { ChannelsService } from './modules/notify/channels.service.js';
import type { NotifyService } from './modules/notify/notify.service.js';
import type { WebhooksService } from './modules/notify/webhooks.service.js';
import { installHttpErrorHandling } from './infra/http-errors.js';
import type { Logger } from './infra/logger.js';
import type { Observability } from './infra/observability.js';
import type { HubTlsOptions } from './infra/tls.js';
import type { AgentsRepository } from './modules/agents/agents.repository.js';
import { attachAgentLinkGateway } from './modules/agents/agent-link.gateway.js';
import { agentsRoutes } from './modules/agents/agents.routes.js';
import type { AgentsService } from './modules/agents/agents.service.js';
import type { PresenceService } from './modules/agents/presence.service.js';
import { auditRoutes } from './modules/audit/audit.routes.js';
import { registerContainerMetrics } from './modules/containers/containers.metrics.js';
import { containersRoutes } from './modules/containers/containers.routes.js';
import type { AuditService } from './modules/audit/audit.service.js';
import type { AccountsService } from './modules/auth/accounts.service.js';
import { authorizeRequests } from './modules/auth/auth.hook.js';
import { authRoutes } from './modules/auth/auth.routes.js';
import type { Authorizer } from './modules/auth/authorizer.js';
import { corsHook } from './modules/auth/cors.hook.js';
import { attachUiGuard, keepSessionHeaders } from './modules/auth/ui-guard.js';
import { usersRoutes } from './modules/users/users.routes.js';
import type { AgentIdentityService } from './modules/enrollment/agent-identity.service.js';
import { enrollmentRoutes, joinTokensRoutes } from './modules/enrollment/enrollment.routes.js';
import type { EnrollmentService } from './modules/enrollment/enrollment.service.js';
import type { JoinTokensService } from './modules/enrollment/join-tokens.service.js';
import { installRoutes } from './modules/install/install.routes.js';
import { jobsRoutes } from './modules/jobs/jobs.routes.js';
import type { JobsService } from './modules/jobs/jobs.service.js';
import { screenshotsRoutes } from './modules/screenshots/screenshots.routes.js';
import type { ScreenshotsService } from './modules/screenshots/screenshots.service.js';
import { secretsRoutes } from './modules/secrets/secrets.routes.js';
import type { SecretsService } from './modules/secrets/secrets.service.js';
import { registerFleetMetrics } from './modules/system/fleet-metrics.js';
import { meRoutes, systemRoutes } from './modules/system/system.routes.js';
import { telemetryRoutes } from './modules/telemetry/telemetry.routes.js';
import type { LiveService } from './modules/telemetry/live.service.js';
import type { TelemetryService } from './modules/telemetry/telemetry.service.js';
import { terminalRoutes } from './modules/terminal/terminal.routes.js';
import type { TerminalService } from './modules/terminal/terminal.service.js';
import { attachUiGateway } from './modules/ui/ui.gateway.js';
import { BASELINE_SECURITY_HEADERS, securityHeaders } from './modules/web/security-headers.hook.js';
import { webRoutes } from './modules/web/web.routes.js';

export interface ServerDeps {
  logger: Logger;
  clock: Clock;
  bus: Bus;
  observability: Observability;
  /** Users, roles, API tokens, sessions (issue #6). */
  accounts: AccountsService;
  authorizer: Authorizer;
  /** Abuse limits: sign-ins per minute per IP, requests per minute per token or IP (0: off), CORS origins. */
  limits: { loginPerMinute: number; apiPerMinute: number; corsOrigins: string[]; jobFanOutLimit: number };
  identity: AgentIdentityService;
  agentsRepository: AgentsRepository;
  agents: AgentsService;
  presence: PresenceService;
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
  publicUrl: string | undefined;
  agentBundlePath: string;
  /** The built dashboard (apps/web/dist), served at `/`. */
  webDistPath: string;
  startedAt: number;
  /** Channels, event webhooks and the outbox (issue #4). */
  notify: { channels: ChannelsService; webhooks: WebhooksService; outbox: NotifyService };
  /** Alert rules, alerts and silences (issue #4). */
  alerts: AlertsService;
}

/** Builds HTTP and realtime on one server without listening (tests inject requests). */
export async function buildServer(deps: ServerDeps): Promise<{ app: FastifyInstance; io: SocketServer; detach: () => void; routes: readonly string[] }> {
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
  app.addHook('onSend', securityHeaders());

  // Access control for every route, in one place (modules/auth/permissions.ts): cookies, rate
  // limits, then the permission table. Registered before any route so each one inherits it.
  const routes: string[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push(`${method} ${route.url}`);
  });
  await app.register(fastifyCookie);
  app.decorateRequest('principal', undefined);
  app.decorateRequest('auth', undefined);
  app.addHook('onRequest', corsHook(deps.limits.corsOrigins));
  await app.register(fastifyRateLimit, {
    global: deps.limits.apiPerMinute > 0,
    max: Math.max(1, deps.limits.apiPerMinute),
    timeWindow: 60_000,
    // Per API token when one is sent (hashed: the key is kept in memory), else per address.
    keyGenerator: (request) => {
      const header = request.headers.authorization;
      return header ? `t:${createHash('sha256').update(header).digest('base64url')}` : `ip:${request.ip}`;
    },
  });
  app.addHook('onRequest', authorizeRequests({ accounts: deps.accounts, authorizer: deps.authorizer }));

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

  const typed = app.withTypeProvider<ZodTypeProvider>();
  await typed.register(systemRoutes({ registry: deps.observability.registry, checkDatabase: deps.checkDatabase, clock: deps.clock, startedAt: deps.startedAt }));
  await typed.register(enrollmentRoutes({ enrollment: deps.enrollment }));
  await typed.register(installRoutes({ publicUrl: deps.publicUrl, agentBundlePath: deps.agentBundlePath }));
  await typed.register(webRoutes({ distPath: deps.webDistPath }));
  await typed.register(async (operator) => {
    await operator.register(authRoutes({ accounts: deps.accounts, loginRateLimit: { max: deps.limits.loginPerMinute, timeWindow: 60_000 } }));
    await operator.register(usersRoutes({ accounts: deps.accounts }));
    await operator.register(meRoutes());
    await operator.register(agentsRoutes({ agents: deps.agents, authorizer: deps.authorizer }));
    await operator.register(telemetryRoutes({ agents: deps.agents, telemetry: deps.telemetry }));
    await operator.register(containersRoutes({ agents: deps.agents, telemetry: deps.telemetry }));
    await operator.register(joinTokensRoutes({ joinTokens: deps.joinTokens }));
    await operator.register(jobsRoutes({ jobs: deps.jobs, authorizer: deps.authorizer, fanOutLimit: deps.limits.jobFanOutLimit }));
    await operator.register(screenshotsRoutes({ screenshots: deps.screenshots, authorizer: deps.authorizer }));
    await operator.register(auditRoutes({ audit: deps.audit, agents: deps.agentsRepository }));
    await operator.register(terminalRoutes({ terminals: deps.terminals, authorizer: deps.authorizer }));
    await operator.register(notifyRoutes({ channels: deps.notify.channels, webhooks: deps.notify.webhooks, notify: deps.notify.outbox }));
    await operator.register(alertsRoutes({ alerts: deps.alerts, authorizer: deps.authorizer }));
    await operator.register(secretsRoutes({ secrets: deps.secrets, stepUp: deps.authorizer.requireRecentMfa }));
  });
  registerFleetMetrics(deps.observability.registry, deps.agents);
  const detachContainerMetrics = registerContainerMetrics(deps.observability.registry, deps.bus);

  const io = new SocketServer(app.server, {
    maxHttpBufferSize: MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
    serveClient: false,
    pingInterval: 25_000,
    pingTimeout: 20_000,
  });
  // Socket.IO keeps each session's first HTTP request unless told not to; nothing here needs it
  // after the handshake, and with 10,000 agents it is megabytes (Socket.IO's memory guide).
  io.engine.on('connection', (rawSocket: { request: { headers: Record<string, string | string[] | undefined> } | null }) => {
    keepSessionHeaders(rawSocket);
    rawSocket.request = null;
  });
  // Socket.IO answers its polling requests itself, outside Fastify's hooks.
  io.engine.on('headers', (headers: Record<string, string>) => Object.assign(headers, BASELINE_SECURITY_HEADERS));
  attachAgentLinkGateway(io.of(AGENT_NAMESPACE), {
    identity: deps.identity,
    agents: deps.agentsRepository,
    presence: deps.presence,
    telemetry: deps.telemetry,
    live: deps.live,
    jobs: deps.jobs,
    terminals: deps.terminals,
    secrets: deps.secrets,
    screenshots: deps.screenshots,
    observability: deps.observability,
    clock: deps.clock,
    logger: deps.logger.child({ component: 'agent-link' }),
  });
  const detachUiGuard = attachUiGuard(io.of(UI_NAMESPACE), {
    accounts: deps.accounts,
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
    agents: deps.agentsRepository,
    terminals: deps.terminals,
  });
  return {
    app,
    io,
    routes,
    detach: () => {
      detachContainerMetrics();
      detachUiGuard();
      detachUi();
    },
  };
}
