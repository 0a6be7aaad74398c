import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { Server as SocketServer } from 'socket.io';
import { AGENT_NAMESPACE, FAROL_VERSION, MAX_MESSAGE_BYTES, UI_NAMESPACE } from '@farol/protocol';
import type { Bus } from './infra/bus.js';
import type { Clock } from './infra/clock.js';
import { installHttpErrorHandling } from './infra/http-errors.js';
import type { Logger } from './infra/logger.js';
import type { Observability } from './infra/observability.js';
import type { AgentsRepository } from './modules/agents/agents.repository.js';
import { attachAgentLinkGateway } from './modules/agents/agent-link.gateway.js';
import { agentsRoutes } from './modules/agents/agents.routes.js';
import type { AgentsService } from './modules/agents/agents.service.js';
import type { PresenceService } from './modules/agents/presence.service.js';
import { auditRoutes } from './modules/audit/audit.routes.js';
import type { AuditService } from './modules/audit/audit.service.js';
import { requireOperator } from './modules/auth/auth.hook.js';
import type { AuthService } from './modules/auth/auth.service.js';
import type { AgentIdentityService } from './modules/enrollment/agent-identity.service.js';
import { enrollmentRoutes, joinTokensRoutes } from './modules/enrollment/enrollment.routes.js';
import type { EnrollmentService } from './modules/enrollment/enrollment.service.js';
import type { JoinTokensService } from './modules/enrollment/join-tokens.service.js';
import { installRoutes } from './modules/install/install.routes.js';
import { jobsRoutes } from './modules/jobs/jobs.routes.js';
import type { JobsService } from './modules/jobs/jobs.service.js';
import { registerFleetMetrics } from './modules/system/fleet-metrics.js';
import { meRoutes, systemRoutes } from './modules/system/system.routes.js';
import { telemetryRoutes } from './modules/telemetry/telemetry.routes.js';
import type { LiveService } from './modules/telemetry/live.service.js';
import type { TelemetryService } from './modules/telemetry/telemetry.service.js';
import { attachUiGateway } from './modules/ui/ui.gateway.js';
import { BASELINE_SECURITY_HEADERS, securityHeaders } from './modules/web/security-headers.hook.js';
import { webRoutes } from './modules/web/web.routes.js';

export interface ServerDeps {
  logger: Logger;
  clock: Clock;
  bus: Bus;
  observability: Observability;
  auth: AuthService;
  identity: AgentIdentityService;
  agentsRepository: AgentsRepository;
  agents: AgentsService;
  presence: PresenceService;
  telemetry: TelemetryService;
  live: LiveService;
  jobs: JobsService;
  audit: AuditService;
  joinTokens: JoinTokensService;
  enrollment: EnrollmentService;
  checkDatabase: () => Promise<void>;
  publicUrl: string | undefined;
  agentBundlePath: string;
  /** The built dashboard (apps/web/dist), served at `/`. */
  webDistPath: string;
  startedAt: number;
}

/** Builds HTTP and realtime on one server without listening (tests inject requests). */
export async function buildServer(deps: ServerDeps): Promise<{ app: FastifyInstance; io: SocketServer; detach: () => void }> {
  // Request lines only at debug: errors are logged by the error handler with context.
  const httpLogger = deps.logger.child({ component: 'http' }, { level: deps.logger.level === 'debug' || deps.logger.level === 'trace' ? deps.logger.level : 'warn' });
  const app = Fastify({ loggerInstance: httpLogger as FastifyBaseLogger, bodyLimit: MAX_MESSAGE_BYTES });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installHttpErrorHandling(app, deps.logger);
  app.addHook('onSend', securityHeaders());

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Farol hub API', version: FAROL_VERSION, description: 'Operator REST API of the Farol hub. Authenticate with `Authorization: Bearer <token>`.' },
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
    operator.decorateRequest('principal', undefined);
    operator.addHook('onRequest', requireOperator(deps.auth));
    await operator.register(meRoutes());
    await operator.register(agentsRoutes({ agents: deps.agents }));
    await operator.register(telemetryRoutes({ agents: deps.agents, telemetry: deps.telemetry }));
    await operator.register(joinTokensRoutes({ joinTokens: deps.joinTokens }));
    await operator.register(jobsRoutes({ jobs: deps.jobs }));
    await operator.register(auditRoutes({ audit: deps.audit, agents: deps.agentsRepository }));
  });
  registerFleetMetrics(deps.observability.registry, deps.agents);

  const io = new SocketServer(app.server, {
    maxHttpBufferSize: MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
    serveClient: false,
    pingInterval: 25_000,
    pingTimeout: 20_000,
  });
  // Socket.IO keeps each session's first HTTP request unless told not to; nothing here needs it
  // after the handshake, and with 10,000 agents it is megabytes (Socket.IO's memory guide).
  io.engine.on('connection', (rawSocket: { request: unknown }) => {
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
    observability: deps.observability,
    clock: deps.clock,
    logger: deps.logger.child({ component: 'agent-link' }),
  });
  const detachUi = attachUiGateway(io.of(UI_NAMESPACE), {
    auth: deps.auth,
    bus: deps.bus,
    clock: deps.clock,
    logger: deps.logger.child({ component: 'ui' }),
    observability: deps.observability,
    live: deps.live,
    jobs: deps.jobs,
    agents: deps.agentsRepository,
  });
  return { app, io, detach: detachUi };
}
