import type { Namespace, Socket } from 'socket.io';
import { uiToHubEvents, type Labels, type Principal } from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';
import type { Clock } from '../../infra/clock.js';
import type { Logger } from '../../infra/logger.js';
import type { Observability } from '../../infra/observability.js';
import { dispatchSocketEvents } from '../../infra/socket-dispatch.js';
import type { AgentsService } from '../agents/agents.service.js';
import type { Authorizer } from '../auth/authorizer.js';
import { outsideScope } from '../auth/object-scope.js';
import type { UiSocketAuth } from '../auth/ui-guard.js';
import { jobForReader, maskCommandEnv } from '../jobs/env-mask.js';
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
  }: { bus: Bus; clock: Clock; logger: Logger; observability: Observability; live: LiveService; jobs: JobsService; agents: Pick<AgentsService, 'labelsOf'>; terminals: TerminalService; authorizer?: Authorizer },
): () => void {
  const isWatched = (jobId: string): boolean => (namespace.adapter.rooms.get(jobRoom(jobId))?.size ?? 0) > 0;

  /**
   * Issue #6: fleet-wide events go to the room of unscoped sockets in one broadcast; a socket
   * whose role is limited to a label selector gets them only for machines in its scope (and
   * none that name no machine). Labels are cached per agent and follow `agent.updated`.
   */
  const scopedSockets = new Map<string, { socket: Socket; principal: Principal }>();
  const labelsOf = new Map<string, Labels>();
  /**
   * Whether a dashboard watches the whole fleet here. Rooms are this hub's own (other hubs get
   * events from the bus), and an empty room is dropped: a hub nobody watches skips Socket.IO's
   * broadcast, which costs its packet and sets per event (a thousand heartbeats a second).
   */
  const fleetWatched = (): boolean => namespace.adapter.rooms.has(FLEET_ROOM);

  function emitFleet(agentId: string | null, event: string, payload: unknown): void {
    if (fleetWatched()) namespace.to(FLEET_ROOM).emit(event, payload);
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
    agents.labelsOf(agentId).then(
      (labels) => {
        if (!labels) return;
        labelsOf.set(agentId, labels);
        deliver(labels);
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
  function emitFleetAll(agentIds: readonly string[], event: string, payload: unknown, payloadFor?: (principal: Principal | undefined) => unknown): void {
    // With `payloadFor`, each socket gets the payload its principal may read (one emit per socket).
    if (payloadFor) {
      for (const socket of namespace.sockets.values()) if (socket.rooms.has(FLEET_ROOM)) socket.emit(event, payloadFor(principalOf(socket)));
    } else if (fleetWatched()) namespace.to(FLEET_ROOM).emit(event, payload);
    if (scopedSockets.size === 0 || agentIds.length === 0 || !authorizer) return;
    const scopedAuthorizer = authorizer;
    scopedQueue = scopedQueue
      .then(async () => {
        const labels: Labels[] = [];
        for (const agentId of agentIds) {
          let known = labelsOf.get(agentId);
          if (!known) {
            const found = await agents.labelsOf(agentId);
            if (!found) return; // a removed machine is outside every scope
            labelsOf.set(agentId, (known = found));
          }
          labels.push(known);
        }
        for (const { socket, principal } of scopedSockets.values()) {
          if (labels.every((l) => scopedAuthorizer.inScope(principal, l))) socket.emit(event, payloadFor ? payloadFor(principal) : payload);
        }
      })
      .catch((error: unknown) => logger.error({ err: error, event }, 'could not read labels for scoped sockets'));
  }

  /** The principal of a socket as the guard holds it now (re-read after a role change). */
  const principalOf = (socket: Socket): Principal | undefined => (socket.data as { uiAuth?: UiSocketAuth }).uiAuth?.principal;

  /** Labels of a machine a socket holds a terminal or a watch on: cached, kept fresh by `agent.updated`. */
  async function knownLabels(agentId: string): Promise<Labels | undefined> {
    const cached = labelsOf.get(agentId);
    if (cached) return cached;
    const labels = await agents.labelsOf(agentId);
    if (labels) labelsOf.set(agentId, labels);
    return labels;
  }

  /**
   * Issue #11: a socket keeps a terminal or a live view only while the machine is within its
   * scope. Called when a machine's labels change: what fell out of scope is closed at once.
   */
  async function dropOutOfScope(socket: Socket, agentId: string, labels: Labels): Promise<void> {
    const principal = principalOf(socket);
    if (!principal || !authorizer || authorizer.inScope(principal, labels)) return;
    if (socket.rooms.has(watchRoom(agentId))) {
      await socket.leave(watchRoom(agentId));
      live.unwatch(agentId, socket.id);
      socket.emit('agent:removed', { agentId });
    }
    const closed = await terminals.revokeOn(socket.id, agentId, 'the machine is no longer within your scope');
    if (closed > 0) logger.info({ socketId: socket.id, agentId, user: principal.name, sessions: closed }, 'closed terminals on a machine that left the operator\'s scope');
  }

  /**
   * Issue #11: every terminal:input and terminal:resize is checked against the machine's labels
   * as they are now, not only at open (the labels come from the cache `agent.updated` keeps).
   */
  async function checkTerminalScope(socket: Socket, sessionId: string): Promise<void> {
    const principal = principalOf(socket);
    if (!principal || principal.scope === null || !authorizer) return;
    const agentId = terminals.agentOf(socket.id, sessionId);
    const labels = await knownLabels(agentId);
    if (labels === undefined || !authorizer.inScope(principal, labels)) {
      await terminals.revokeOn(socket.id, agentId, 'the machine is no longer within your scope');
      throw outsideScope(principal);
    }
  }

  // Authentication at connect and authorization of every event: modules/auth/ui-guard.ts.
  namespace.on('connection', (socket) => {
    observability.socketConnections.inc({ namespace: 'ui' });
    const principal = (socket.data as { uiAuth?: UiSocketAuth }).uiAuth?.principal;
    if (principal && principal.scope !== null && authorizer) scopedSockets.set(socket.id, { socket, principal });
    else void socket.join(FLEET_ROOM);
    const terminalHandlers = terminalUiHandlers(terminals, socket, logger);
    dispatchSocketEvents(
      socket,
      uiToHubEvents,
      {
        'agent:watch': async ({ agentId }) => {
          const exists = (await knownLabels(agentId)) !== undefined;
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
            // Issue #11: `env` values only for those who may run commands.
            return { ...answer, job: jobForReader(answer.job, principal) };
          } catch (error) {
            await socket.leave(jobRoom(jobId));
            throw error;
          }
        },
        'job:unwatch': async ({ jobId }) => {
          await socket.leave(jobRoom(jobId));
          return {};
        },
        ...terminalHandlers,
        'terminal:open': async (request) => {
          const opened = await terminalHandlers['terminal:open'](request);
          await knownLabels(opened.agentId);
          return opened;
        },
        'terminal:input': async (input) => {
          await checkTerminalScope(socket, input.sessionId);
          return terminalHandlers['terminal:input'](input);
        },
        'terminal:resize': async (resize) => {
          await checkTerminalScope(socket, resize.sessionId);
          return terminalHandlers['terminal:resize'](resize);
        },
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
      // Issue #11: scope loss closes terminals and live views at once.
      for (const { socket } of scopedSockets.values()) {
        dropOutOfScope(socket, event.agentId, event.labels).catch((error: unknown) => logger.error({ err: error, socketId: socket.id, agentId: event.agentId }, 'could not close what left a socket\'s scope'));
      }
    }),
    bus.subscribe('metrics.live', (event) => namespace.to(watchRoom(event.agentId)).emit('metrics:live', event)),
    // The in-process extras (agentIds, labels) stay in the hub: /ui gets the protocol payload.
    bus.subscribe('job.update', ({ job, agentIds }) => {
      // Issue #11: a summary with `env` values goes to each socket as its principal may read it.
      if (maskCommandEnv(job.command) === job.command) emitFleetAll(agentIds, 'job:update', { job });
      else emitFleetAll(agentIds, 'job:update', { job }, (principal) => ({ job: jobForReader(job, principal) }));
    }),
    // A fleet-wide alert (no machine) reaches only unscoped sockets (emitFleet with null).
    bus.subscribe('alert.changed', ({ event, alert }) => emitFleet(alert.agentId, 'alert:changed', { event, alert })),
    // Checked first: Socket.IO encodes a packet even for an empty room, and a 10,000-machine
    // job changes 10,000 targets.
    bus.subscribe('job.target', (event) => isWatched(event.jobId) && namespace.to(jobRoom(event.jobId)).emit('job:target', event)),
    bus.subscribe('job.output', (event) => isWatched(event.jobId) && namespace.to(jobRoom(event.jobId)).emit('job:output', event)),
    // Redis came back: relabels announced meanwhile were missed (the scope cache is read again),
    // and every dashboard reads again what it shows.
    bus.subscribe('broadcasts.resumed', ({ lostForMs }) => {
      labelsOf.clear();
      namespace.emit('hub:resync', { lostForMs: Math.max(0, Math.round(lostForMs)) });
    }),
  ];
  return () => unsubscribers.forEach((unsubscribe) => unsubscribe());
}
