import type { Namespace } from 'socket.io';
import {
  AgentHandshakeAuthSchema,
  agentToHubEvents,
  FarolError,
  MAX_PROTOCOL_VERSION,
  MIN_PROTOCOL_VERSION,
} from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import type { Observability } from '../../infra/observability.js';
import { connectRefusal, socketDispatcher, type DispatchSocket, type EventHandlersOf } from '../../infra/socket-dispatch.js';
import type { AgentCaller } from './agent-caller.js';
import type { AgentIdentityService } from '../enrollment/agent-identity.service.js';
import { jobsAgentHandlers } from '../jobs/jobs.gateway.js';
import type { JobsService } from '../jobs/jobs.service.js';
import { screenshotsAgentHandlers } from '../screenshots/screenshots.gateway.js';
import type { ScreenshotsService } from '../screenshots/screenshots.service.js';
import { secretsAgentHandlers } from '../secrets/secrets.gateway.js';
import { containersAgentHandlers } from '../containers/containers.gateway.js';
import type { AutoUpdateService } from '../containers/auto-update.service.js';
import type { SecretsService } from '../secrets/secrets.service.js';
import type { LiveService } from '../telemetry/live.service.js';
import type { TelemetryService } from '../telemetry/telemetry.service.js';
import { terminalAgentHandlers } from '../terminal/terminal.gateway.js';
import { checksAgentHandlers } from '../checks/checks.gateway.js';
import type { ChecksService } from '../checks/checks.service.js';
import { networkAgentHandlers } from '../network/network.gateway.js';
import type { HeartbeatSource, NetworkService } from '../network/network.service.js';
import type { TerminalService } from '../terminal/terminal.service.js';
import type { AgentRecord, AgentsService } from './agents.service.js';
import type { AgentSession, PresenceService } from './presence.service.js';
import { isStorageFailure } from '../../infra/storage-health.js';

/** Per-connection state, kept small: 10,000 of these live at once. */
interface AgentSocketData {
  agent: Pick<AgentRecord, 'seq' | 'id' | 'name' | 'heartbeatIntervalMs'>;
  greeted: boolean;
  /** An agent:hello arrived (set at once, so two hellos racing cannot both pass). */
  helloSeen: boolean;
}

/**
 * An agent's connection as this gateway uses it: a Socket.IO server socket on /agent, or a
 * connection of the lean agent server (infra/lean-socket-server.ts, ADR 0036), which serves the
 * same protocol with less memory per connection.
 */
export interface AgentSocket extends DispatchSocket {
  data: unknown;
  readonly handshake: { auth: unknown; address: string };
  readonly conn: HeartbeatSource & { readonly transport: { readonly name: string } };
  emit(event: string, ...args: unknown[]): unknown;
  on(event: 'disconnect', listener: (reason: string) => void): unknown;
}

/** Admits or refuses an /agent connection (a Socket.IO middleware's signature). */
export type AgentAdmission = (socket: AgentSocket, next: (error?: Error) => void) => void;

/** The gateway, for whichever server carries agent connections. */
export interface AgentLinkGateway {
  admit: AgentAdmission;
  connected(socket: AgentSocket): void;
}

/** An agent's connection as presence holds it: methods on the prototype, not closures per socket. */
class SocketSession implements AgentSession {
  readonly sessionId: string;

  constructor(private readonly socket: AgentSocket) {
    this.sessionId = socket.id;
  }

  disconnect(): void {
    this.socket.disconnect(true);
  }

  send(event: string, payload: unknown): void {
    this.socket.emit(event, payload);
  }
}

/** The caller every agent event handler gets: one small object per connection, no closures. */
class LinkedAgent implements AgentCaller {
  constructor(
    readonly agent: AgentSocketData['agent'],
    readonly data: AgentSocketData,
    private readonly presence: Pick<PresenceService, 'heard'>,
  ) {}

  get id(): string {
    return this.agent.id;
  }

  get name(): string {
    return this.agent.name;
  }

  heard(): void {
    if (!this.data.greeted) throw new FarolError('bad_request', 'send agent:hello first');
    this.presence.heard(this.agent.id);
  }
}

/**
 * The /agent namespace: who may connect (a verified agent token, a supported protocol version,
 * WebSocket only) and what an agent may say once connected. The agent's identity is the one
 * proven at connect, never an id inside a payload.
 */
export function attachAgentLinkGateway(namespace: Namespace, deps: AgentLinkGatewayDeps): AgentLinkGateway {
  const gateway = createAgentLinkGateway(deps);
  namespace.use((socket, next) => gateway.admit(socket, next));
  namespace.on('connection', (socket) => gateway.connected(socket));
  return gateway;
}

export interface AgentLinkGatewayDeps {
  identity: AgentIdentityService;
  agents: Pick<AgentsService, 'recordHello' | 'findRecord' | 'setSystem'>;
  presence: PresenceService;
  telemetry: TelemetryService;
  live: LiveService;
  jobs: JobsService;
  terminals: TerminalService;
  secrets: SecretsService;
  screenshots: ScreenshotsService;
  /** Service checks (issue #19); absent: `check:results` is refused as unavailable. */
  checks?: ChecksService;
  /** The network view (issue #19); absent: no round trips measured, `tailscale:report` refused as unavailable. */
  network?: NetworkService;
  /** Container auto-update: answers `registry:credentials` (ADR 0023); absent: refused as unavailable. */
  containerAutoUpdate?: AutoUpdateService | undefined;
  observability: Observability;
  clock: Clock;
  logger: Logger;
}

/** The /agent rules, independent of the server that carries the connections. */
export function createAgentLinkGateway({
  identity,
  agents,
  presence,
  telemetry,
  live,
  jobs,
  terminals,
  secrets,
  screenshots,
  checks,
  network,
  containerAutoUpdate,
  observability,
  clock,
  logger,
}: AgentLinkGatewayDeps): AgentLinkGateway {
  const admit: AgentAdmission = (socket, next) => {
    const auth = AgentHandshakeAuthSchema.safeParse(socket.handshake.auth);
    if (!auth.success) {
      next(connectRefusal('bad_request', 'the handshake auth must be { protocolVersion, token }'));
      return;
    }
    const { protocolVersion, token } = auth.data;
    if (protocolVersion < MIN_PROTOCOL_VERSION || protocolVersion > MAX_PROTOCOL_VERSION) {
      next(
        connectRefusal(
          'protocol_version_unsupported',
          `this hub speaks protocol versions ${MIN_PROTOCOL_VERSION} to ${MAX_PROTOCOL_VERSION}; the agent speaks ${protocolVersion}. Upgrade the ${protocolVersion > MAX_PROTOCOL_VERSION ? 'hub' : 'agent'}.`,
          { supportedProtocolVersions: { min: MIN_PROTOCOL_VERSION, max: MAX_PROTOCOL_VERSION } },
        ),
      );
      return;
    }
    if (socket.conn.transport.name !== 'websocket') {
      next(connectRefusal('bad_request', 'agents connect over WebSocket only'));
      return;
    }
    identity.verifyConnectToken(token).then(
      (agent) => {
        (socket.data as AgentSocketData) = {
          agent: { seq: agent.seq, id: agent.id, name: agent.name, heartbeatIntervalMs: agent.heartbeatIntervalMs },
          greeted: false,
          helloSeen: false,
        };
        // The token has served its purpose; do not keep it for the life of the connection.
        socket.handshake.auth = {};
        next();
      },
      (error: unknown) => {
        if (error instanceof FarolError) {
          logger.warn({ code: error.code, address: socket.handshake.address }, 'agent connection refused');
          next(connectRefusal(error.code, error.message));
        } else {
          logger.error({ err: error }, 'agent authentication failed');
          next(connectRefusal('internal', 'the hub could not check the token; see its log'));
        }
      },
    );
  };

  // One handler table for the namespace; each socket passes its own caller (issue #16).
  const handlers: EventHandlersOf<typeof agentToHubEvents, LinkedAgent> = {
    'agent:hello': async (hello, link) => {
      const { agent, data } = link;
      // One hello per connection (docs/protocol.md): commands were redelivered and the hub
      // proven once; a peer that wants to start over (or whose hello failed) reconnects.
      if (data.helloSeen) throw new FarolError('bad_request', 'agent:hello was already sent on this connection; reconnect to start over');
      data.helloSeen = true;
      presence.heard(agent.id, hello.heartbeatIntervalMs);
      let current: AgentRecord | undefined;
      try {
        current = await agents.recordHello(agent.seq, hello.system, hello.heartbeatIntervalMs);
      } catch (error) {
        // A full disk must not keep agents out (issue #12): they stay connected and keep their buffers.
        if (!isStorageFailure(error)) throw error;
        logger.warn({ agentId: agent.id, err: error }, 'could not store the agent\'s system info; accepting its hello anyway');
        current = await agents.findRecord(agent.id);
      }
      if (!current) throw new FarolError('agent_deleted', 'this agent was removed from the hub');
      data.greeted = true;
      logger.info({ agentId: agent.id, name: current.name, version: hello.system.agentVersion }, 'agent said hello');
      const ack = {
        agentId: agent.id,
        name: current.name,
        labels: current.labels,
        proof: await identity.proveHub(agent.id, hello.challenge),
        serverTime: clock.now(),
      };
      // After the ack, so the agent has verified the hub before it is asked for anything.
      setImmediate(() => {
        live.agentReady(agent.id);
        jobs.agentReady(agent.id);
        checks?.agentReady({ id: agent.id, name: ack.name, labels: ack.labels });
      });
      return ack;
    },
    'metrics:report': async (report, link) => {
      link.heard();
      return telemetry.record(link.agent, report.samples);
    },
    'metrics:live': async ({ sample }, link) => {
      link.heard();
      live.relay(link.id, sample);
      return {};
    },
    'agent:info': async (system, link) => {
      link.heard();
      await agents.setSystem(link.agent.seq, system);
      return {};
    },
    ...jobsAgentHandlers(jobs),
    ...terminalAgentHandlers(terminals),
    ...secretsAgentHandlers(secrets),
    ...containersAgentHandlers(containerAutoUpdate),
    ...screenshotsAgentHandlers(screenshots),
    ...(checks
      ? checksAgentHandlers(checks)
      : {
          'check:results': () => {
            throw new FarolError('unavailable', 'this hub does not take check results');
          },
        }),
    ...(network
      ? networkAgentHandlers(network)
      : {
          'tailscale:report': () => {
            throw new FarolError('unavailable', 'this hub does not take tailscale reports');
          },
        }),
  };
  const dispatch = socketDispatcher(agentToHubEvents, handlers, {
    logger,
    clock,
    onBadMessage: () => observability.badMessages.inc(),
    strikeOn: (event, code) => code === 'forbidden' && (event.startsWith('command:') || event === 'screenshot:upload'),
  });

  const connected = (socket: AgentSocket): void => {
    const data = socket.data as AgentSocketData;
    const { agent } = data;
    observability.socketConnections.inc({ namespace: 'agent' });

    const session = new SocketSession(socket);
    // Issue #19: hub round trips from the Engine.IO heartbeat every client already answers.
    const stopRtt = network?.watchConnection(agent, socket.conn, socket.handshake.address);
    presence.connected(agent, session).catch((error: unknown) => {
      logger.error({ err: error, agentId: agent.id }, 'could not record agent as online');
    });

    dispatch(socket, new LinkedAgent(agent, data, presence));

    socket.on('disconnect', (reason) => {
      observability.socketConnections.dec({ namespace: 'agent' });
      logger.debug({ agentId: agent.id, reason }, 'agent disconnected');
      checks?.agentGone(agent.id);
      stopRtt?.();
      terminals.agentGone(agent.id, socket.id).catch((error: unknown) => {
        logger.error({ err: error, agentId: agent.id }, 'could not end the terminals of a disconnected agent');
      });
      presence.disconnected(agent.id, socket.id).catch((error: unknown) => {
        logger.error({ err: error, agentId: agent.id }, 'could not record agent as offline');
      });
    });
  };
  return { admit, connected };
}
