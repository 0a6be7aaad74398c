import type { Namespace } from 'socket.io';
import { FarolError, UiHandshakeAuthSchema, uiToHubEvents } from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import type { Observability } from '../../infra/observability.js';
import { connectRefusal, dispatchSocketEvents } from '../../infra/socket-dispatch.js';
import type { AgentsRepository } from '../agents/agents.repository.js';
import type { AuthService } from '../auth/auth.service.js';
import type { JobsService } from '../jobs/jobs.service.js';
import type { LiveService } from '../telemetry/live.service.js';

const watchRoom = (agentId: string): string => `watch:${agentId}`;
const jobRoom = (jobId: string): string => `job:${jobId}`;

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
    jobs,
    agents,
  }: { auth: AuthService; bus: Bus; clock: Clock; logger: Logger; observability: Observability; live: LiveService; jobs: JobsService; agents: AgentsRepository },
): () => void {
  const isWatched = (jobId: string): boolean => (namespace.adapter.rooms.get(jobRoom(jobId))?.size ?? 0) > 0;

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
        'job:watch': async ({ jobId }) => {
          // Joined before the snapshot is taken, in the same tick: no chunk falls in between.
          const joined = socket.join(jobRoom(jobId));
          try {
            const answer = await jobs.watch(jobId);
            await joined;
            return answer;
          } catch (error) {
            await socket.leave(jobRoom(jobId));
            throw error;
          }
        },
        'job:unwatch': async ({ jobId }) => {
          await socket.leave(jobRoom(jobId));
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
    bus.subscribe('job.update', (event) => namespace.emit('job:update', event)),
    // Checked first: Socket.IO encodes a packet even for an empty room, and a 10,000-machine
    // job changes 10,000 targets.
    bus.subscribe('job.target', (event) => isWatched(event.jobId) && namespace.to(jobRoom(event.jobId)).emit('job:target', event)),
    bus.subscribe('job.output', (event) => isWatched(event.jobId) && namespace.to(jobRoom(event.jobId)).emit('job:output', event)),
  ];
  return () => unsubscribers.forEach((unsubscribe) => unsubscribe());
}
