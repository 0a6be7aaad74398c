import type { Namespace, Socket } from 'socket.io';
import { uiToHubEvents, type Labels, type Principal } from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import type { Observability } from '../../infra/observability.js';
import { dispatchSocketEvents } from '../../infra/socket-dispatch.js';
import type { AgentsRepository } from '../agents/agents.repository.js';
import type { Authorizer } from '../auth/authorizer.js';
import type { UiSocketAuth } from '../auth/ui-guard.js';
import type { JobsService } from '../jobs/jobs.service.js';
import type { LiveService } from '../telemetry/live.service.js';
import { terminalUiHandlers } from '../terminal/terminal.gateway.js';
import type { TerminalService } from '../terminal/terminal.service.js';

const watchRoom = (agentId: string): string => `watch:${agentId}`;
const jobRoom = (jobId: string): string => `job:${jobId}`;
/** Sockets that see the whole fleet (no scope limit on their role). */
const FLEET_ROOM = 'fleet';

/**
 * The /ui namespace for dashboards and the CLI (guarded by modules/auth/ui-guard.ts): the
 * fleet's events from the bus, and live mode for the machines a dashboard watches.
 */
export function attachUiGateway(
  namespace: Namespace,
  {
    bus,
    clock,
    logger,
    observability,
    live,
    jobs,
    agents,
    terminals,
    authorizer,
  }: { bus: Bus; clock: Clock; logger: Logger; observability: Observability; live: LiveService; jobs: JobsService; agents: AgentsRepository; terminals: TerminalService; authorizer?: Authorizer },
): () => void {
  const isWatched = (jobId: string): boolean => (namespace.adapter.rooms.get(jobRoom(jobId))?.size ?? 0) > 0;

  /**
   * Issue #6: fleet-wide events go to the room of unscoped sockets in one broadcast; a socket
   * whose role is limited to a label selector gets them only for machines in its scope (and
   * none that name no machine). Labels are cached per agent and follow `agent.updated`.
   */
  const scopedSockets = new Map<string, { socket: Socket; principal: Principal }>();
  const labelsOf = new Map<string, Labels>();
  function emitFleet(agentId: string | null, event: string, payload: unknown): void {
    namespace.to(FLEET_ROOM).emit(event, payload);
    if (scopedSockets.size === 0 || agentId === null || !authorizer) return;
    const scopedAuthorizer = authorizer;
    const deliver = (labels: Labels): void => {
      for (const { socket, principal } of scopedSockets.values()) if (scopedAuthorizer.inScope(principal, labels)) socket.emit(event, payload);
    };
    const cached = labelsOf.get(agentId);
    if (cached) {
      deliver(cached);
      return;
    }
    agents.findById(agentId).then(
      (agent) => {
        if (!agent) return;
        labelsOf.set(agentId, agent.labels);
        deliver(agent.labels);
      },
      (error: unknown) => logger.error({ err: error, agentId }, 'could not read labels for scoped sockets'),
    );
  }

  /**
   * For events about several machines (a job's summary): a scoped socket gets it only when
   * every machine is within its scope, the rule of `GET /api/jobs/:id` and `job:watch`. Queued,
   * so summaries of a job reach scoped sockets in the order they were published.
   */
  let scopedQueue: Promise<void> = Promise.resolve();
  function emitFleetAll(agentIds: readonly string[], event: string, payload: unknown): void {
    namespace.to(FLEET_ROOM).emit(event, payload);
    if (scopedSockets.size === 0 || agentIds.length === 0 || !authorizer) return;
    const scopedAuthorizer = authorizer;
    scopedQueue = scopedQueue
      .then(async () => {
        const labels: Labels[] = [];
        for (const agentId of agentIds) {
          let known = labelsOf.get(agentId);
          if (!known) {
            const agent = await agents.findById(agentId);
            if (!agent) return; // a removed machine is outside every scope
            labelsOf.set(agentId, (known = agent.labels));
          }
          labels.push(known);
        }
        for (const { socket, principal } of scopedSockets.values()) {
          if (labels.every((l) => scopedAuthorizer.inScope(principal, l))) socket.emit(event, payload);
        }
      })
      .catch((error: unknown) => logger.error({ err: error, event }, 'could not read labels for scoped sockets'));
  }

  // Authentication at connect and authorization of every event: modules/auth/ui-guard.ts.
  namespace.on('connection', (socket) => {
    observability.socketConnections.inc({ namespace: 'ui' });
    const principal = (socket.data as { uiAuth?: UiSocketAuth }).uiAuth?.principal;
    if (principal && principal.scope !== null && authorizer) scopedSockets.set(socket.id, { socket, principal });
    else void socket.join(FLEET_ROOM);
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
            // Issue #6: a scoped operator watches a job only if every machine in it is within scope.
            const principal = (socket.data as { uiAuth?: UiSocketAuth }).uiAuth?.principal;
            if (principal && authorizer) await authorizer.checkAll(principal, answer.job.targets.map((target) => target.agentId));
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
        ...terminalUiHandlers(terminals, socket, logger),
      },
      { logger, clock, onBadMessage: () => observability.badMessages.inc() },
    );
    socket.on('disconnect', () => {
      scopedSockets.delete(socket.id);
      observability.socketConnections.dec({ namespace: 'ui' });
      live.unwatchAll(socket.id);
    });
  });

  const unsubscribers = [
    bus.subscribe('agent.status', (event) => emitFleet(event.agentId, 'agent:status', event)),
    bus.subscribe('metrics.update', (event) => emitFleet(event.agentId, 'metrics:update', event)),
    bus.subscribe('agent.removed', (event) => {
      emitFleet(event.agentId, 'agent:removed', event);
      labelsOf.delete(event.agentId);
    }),
    bus.subscribe('agent.updated', (event) => {
      if (labelsOf.has(event.agentId)) labelsOf.set(event.agentId, event.labels);
      emitFleet(event.agentId, 'agent:updated', event);
    }),
    bus.subscribe('metrics.live', (event) => namespace.to(watchRoom(event.agentId)).emit('metrics:live', event)),
    // The in-process extras (agentIds, labels) stay in the hub: /ui gets the protocol payload.
    bus.subscribe('job.update', ({ job, agentIds }) => emitFleetAll(agentIds, 'job:update', { job })),
    // A fleet-wide alert (no machine) reaches only unscoped sockets (emitFleet with null).
    bus.subscribe('alert.changed', ({ event, alert }) => emitFleet(alert.agentId, 'alert:changed', { event, alert })),
    // Checked first: Socket.IO encodes a packet even for an empty room, and a 10,000-machine
    // job changes 10,000 targets.
    bus.subscribe('job.target', (event) => isWatched(event.jobId) && namespace.to(jobRoom(event.jobId)).emit('job:target', event)),
    bus.subscribe('job.output', (event) => isWatched(event.jobId) && namespace.to(jobRoom(event.jobId)).emit('job:output', event)),
  ];
  return () => unsubscribers.forEach((unsubscribe) => unsubscribe());
}
