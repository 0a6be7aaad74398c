import type { Namespace } from 'socket.io';
import { FarolError, UiHandshakeAuthSchema, uiToHubEvents } from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import type { Observability } from '../../infra/observability.js';
import { connectRefusal, dispatchSocketEvents } from '../../infra/socket-dispatch.js';
import type { AgentsRepository } from '../agents/agents.repository.js';
import type { AuthService } from '../auth/auth.service.js';
import type { LiveService } from '../telemetry/live.service.js';

const watchRoom = (agentId: string): string => `watch:${agentId}`;

/**
 * The /ui namespace for dashboards and the CLI: operator authentication at connect, the
 * fleet's events from the bus, and live mode for the machines a dashboard watches.
 */
export function attachUiGateway(
  namespace: Namespace,
  {
    auth,
    bus,
    clock,
    logger,
    observability,
    live,
    agents,
  }: { auth: AuthService; bus: Bus; clock: Clock; logger: Logger; observability: Observability; live: LiveService; agents: AgentsRepository },
): () => void {
  namespace.use((socket, next) => {
    const parsed = UiHandshakeAuthSchema.safeParse(socket.handshake.auth);
    try {
      socket.data = { principal: auth.authenticate(parsed.success ? parsed.data.token : undefined) };
      next();
    } catch (error) {
      if (error instanceof FarolError) next(connectRefusal(error.code, error.message));
      else next(connectRefusal('internal', 'authentication failed'));
    }
  });

  namespace.on('connection', (socket) => {
    observability.socketConnections.inc({ namespace: 'ui' });
    dispatchSocketEvents(
      socket,
      uiToHubEvents,
      {
        'agent:watch': async ({ agentId }) => {
          const exists = (await agents.findById(agentId)) !== undefined;
          const answer = live.watch(agentId, socket.id, exists);
          await socket.join(watchRoom(agentId));
          return answer;
        },
        'agent:unwatch': async ({ agentId }) => {
          await socket.leave(watchRoom(agentId));
          live.unwatch(agentId, socket.id);
          return {};
        },
      },
      { logger, clock, onBadMessage: () => observability.badMessages.inc() },
    );
    socket.on('disconnect', () => {
      observability.socketConnections.dec({ namespace: 'ui' });
      live.unwatchAll(socket.id);
    });
  });

  const unsubscribers = [
    bus.subscribe('agent.status', (event) => namespace.emit('agent:status', event)),
    bus.subscribe('metrics.update', (event) => namespace.emit('metrics:update', event)),
    bus.subscribe('agent.removed', (event) => namespace.emit('agent:removed', event)),
    bus.subscribe('metrics.live', (event) => namespace.to(watchRoom(event.agentId)).emit('metrics:live', event)),
  ];
  return () => unsubscribers.forEach((unsubscribe) => unsubscribe());
}
