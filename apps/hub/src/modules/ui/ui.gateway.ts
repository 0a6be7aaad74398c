import type { Namespace } from 'socket.io';
import { FarolError, UiHandshakeAuthSchema } from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import type { Observability } from '../../infra/observability.js';
import { connectRefusal, dispatchSocketEvents } from '../../infra/socket-dispatch.js';
import type { AuthService } from '../auth/auth.service.js';

/**
 * The /ui namespace for dashboards and the CLI: operator authentication at connect, then the
 * fleet's live events from the bus. It accepts no events from clients yet.
 */
export function attachUiGateway(
  namespace: Namespace,
  { auth, bus, clock, logger, observability }: { auth: AuthService; bus: Bus; clock: Clock; logger: Logger; observability: Observability },
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
    dispatchSocketEvents(socket, {}, {}, { logger, clock, onBadMessage: () => observability.badMessages.inc() });
    socket.on('disconnect', () => observability.socketConnections.dec({ namespace: 'ui' }));
  });

  const unsubscribers = [
    bus.subscribe('agent.status', (event) => namespace.emit('agent:status', event)),
    bus.subscribe('metrics.update', (event) => namespace.emit('metrics:update', event)),
    bus.subscribe('agent.removed', (event) => namespace.emit('agent:removed', event)),
  ];
  return () => unsubscribers.forEach((unsubscribe) => unsubscribe());
}
