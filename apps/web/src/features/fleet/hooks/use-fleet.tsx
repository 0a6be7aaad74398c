import { onUiEvent, type FarolClient } from '@farol/client';
import { AgentSummaryListSchema, summarizeAgent, type AgentSummaryList } from '@farol/protocol';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useSyncExternalStore, type ReactNode } from 'react';
import { useRealtime } from '../../../app/realtime.js';
import { useSignedIn } from '../../../app/session.js';
import { createFleetStore, SPARKLINE_POINTS, type FleetSnapshot, type FleetStore } from '../fleet-store.js';

export const AGENTS_QUERY_KEY = ['agents'] as const;

/** Beyond this many unknown machines at once, reload the list instead of fetching each. */
const FETCH_ONE_BY_ONE_LIMIT = 20;
const SEED_CONCURRENCY = 4;
const DEFAULT_INTERVAL_MS = 10_000;

interface Fleet {
  store: FleetStore;
  /** The agent list request, for its loading and error state. */
  list: { isPending: boolean; error: unknown; refetch(): unknown };
  /** Fills a machine's sparkline from history once it is on screen (each machine at most once). */
  seedWhenVisible(element: Element, agentId: string): () => void;
}

const FleetContext = createContext<Fleet | null>(null);

function logInvalid(event: string, error: Error): void {
  console.warn(`farol: ignored an invalid ${event} event from the hub`, error);
}

/**
 * Seeds sparklines of the cards that scroll into view: one shared IntersectionObserver, a few
 * history requests at a time, each machine once per session.
 */
function createSparklineSeeder(client: FarolClient, store: FleetStore) {
  const seeded = new Set<string>();
  const queue: string[] = [];
  let running = 0;

  const pump = () => {
    while (running < SEED_CONCURRENCY && queue.length > 0) {
      const agentId = queue.shift()!;
      const machine = store.getSnapshot().machines.get(agentId);
      if (!machine) continue;
      running += 1;
      const to = Date.now();
      const from = to - (SPARKLINE_POINTS + 2) * (machine.heartbeatIntervalMs ?? DEFAULT_INTERVAL_MS);
      client
        .getMetrics(agentId, { from, to, resolution: 'raw' })
        .then((history) => {
          const points = history.points.flatMap((point) => (point.values.cpu.avg === null ? [] : [{ ts: point.ts, value: point.values.cpu.avg }]));
          store.seedHistory(agentId, points);
        })
        .catch((error: unknown) => console.warn(`farol: no sparkline history for ${agentId}`, error))
        .finally(() => {
          running -= 1;
          pump();
        });
    }
  };

  const observer =
    typeof IntersectionObserver === 'undefined'
      ? null
      : new IntersectionObserver(
          (entries) => {
            for (const entry of entries) {
              if (!entry.isIntersecting) continue;
              observer?.unobserve(entry.target);
              const agentId = (entry.target as HTMLElement).dataset.agentId;
              if (!agentId || seeded.has(agentId)) continue;
              seeded.add(agentId);
              queue.push(agentId);
            }
            pump();
          },
          { rootMargin: '200px' },
        );

  return {
    seedWhenVisible(element: Element, agentId: string): () => void {
      if (!observer || seeded.has(agentId)) return () => undefined;
      (element as HTMLElement).dataset.agentId = agentId;
      observer.observe(element);
      return () => observer.unobserve(element);
    },
    dispose: () => observer?.disconnect(),
  };
}

interface FleetPrefetch {
  token: string;
  requestedAt: number;
  body: Promise<unknown>;
}

/**
 * The list public/fleet-prefetch.js asked for before the bundle loaded, once, if it was asked
 * with this token and matches the protocol; otherwise null and the caller asks itself.
 */
async function takePrefetchedList(token: string): Promise<({ requestedAt: number } & AgentSummaryList) | null> {
  const holder = globalThis as { __farolFleetPrefetch?: FleetPrefetch };
  const prefetch = holder.__farolFleetPrefetch;
  delete holder.__farolFleetPrefetch;
  if (!prefetch || prefetch.token !== token) return null;
  const parsed = AgentSummaryListSchema.safeParse(await prefetch.body);
  return parsed.success ? { requestedAt: prefetch.requestedAt, ...parsed.data } : null;
}

/**
 * The fleet for every page: the agent list from REST, kept current by /ui events through the
 * batching store. Reloads the list after each connect, since events may have been missed.
 */
export function FleetProvider({ children }: { children: ReactNode }) {
  const { client, token } = useSignedIn();
  const { socket } = useRealtime();
  const queryClient = useQueryClient();

  const { store, seeder } = useMemo(() => {
    const pending = new Set<string>();
    const fleetStore = createFleetStore({
      onUnknownAgents: (agentIds) => {
        const fresh = agentIds.filter((id) => !pending.has(id));
        if (fresh.length > FETCH_ONE_BY_ONE_LIMIT) {
          void queryClient.invalidateQueries({ queryKey: AGENTS_QUERY_KEY });
          return;
        }
        for (const agentId of fresh) {
          pending.add(agentId);
          client
            .getAgent(agentId)
            .then((agent) => fleetStore.upsert(summarizeAgent(agent)))
            .catch((error: unknown) => console.warn(`farol: cannot load new machine ${agentId}`, error))
            .finally(() => pending.delete(agentId));
        }
      },
    });
    return { store: fleetStore, seeder: createSparklineSeeder(client, fleetStore) };
  }, [client, queryClient]);

  useEffect(() => () => seeder.dispose(), [seeder]);

  const list = useQuery({
    queryKey: AGENTS_QUERY_KEY,
    queryFn: async () => {
      const early = await takePrefetchedList(token);
      if (early) return early;
      const requestedAt = Date.now();
      return { requestedAt, ...(await client.listAgentSummaries()) };
    },
  });
  const loaded = list.data;
  useEffect(() => {
    if (loaded) store.load(loaded.agents, loaded.requestedAt);
  }, [loaded, store]);

  useEffect(() => {
    // Events are heard only while connected: on every connect, the first included, a list asked
    // for before it is read again (a rename between the list and the connect would be missed).
    // The fleet shows the first list meanwhile; the store merges the second with the events.
    const onConnect = () => {
      const listed = queryClient.getQueryState(AGENTS_QUERY_KEY);
      if (listed && (listed.dataUpdatedAt > 0 || listed.fetchStatus === 'fetching')) void queryClient.invalidateQueries({ queryKey: AGENTS_QUERY_KEY });
    };
    socket.on('connect', onConnect);
    const unsubscribers = [
      onUiEvent(socket, 'agent:status', (event) => store.enqueue({ type: 'status', event, receivedAt: Date.now() }), logInvalid),
      onUiEvent(socket, 'metrics:update', (event) => store.enqueue({ type: 'metrics', event, receivedAt: Date.now() }), logInvalid),
      onUiEvent(socket, 'agent:removed', ({ agentId }) => store.enqueue({ type: 'removed', agentId }), logInvalid),
      onUiEvent(socket, 'agent:updated', (event) => store.enqueue({ type: 'updated', event }), logInvalid),
      // The hub was cut off from the others (several hubs): events may be missing, so every list
      // shown (the fleet's, alerts, jobs) is read again; the store merges the fleet's.
      onUiEvent(socket, 'hub:resync', () => void queryClient.invalidateQueries(), logInvalid),
    ];
    return () => {
      socket.off('connect', onConnect);
      unsubscribers.forEach((unsubscribe) => unsubscribe());
    };
  }, [socket, store, queryClient]);

  const value = useMemo<Fleet>(
    () => ({
      store,
      list: { isPending: list.isPending, error: list.error, refetch: list.refetch },
      seedWhenVisible: seeder.seedWhenVisible,
    }),
    [store, seeder, list.isPending, list.error, list.refetch],
  );
  return <FleetContext.Provider value={value}>{children}</FleetContext.Provider>;
}

export function useFleet(): Fleet {
  const context = useContext(FleetContext);
  if (!context) throw new Error('useFleet outside FleetProvider');
  return context;
}

/** The fleet snapshot; re-renders at most once per store flush. */
export function useFleetSnapshot(): FleetSnapshot {
  const { store } = useFleet();
  return useSyncExternalStore(store.subscribe, store.getSnapshot);
}

/** A callback ref that seeds the machine's sparkline when its card first scrolls into view. */
export function useSeedWhenVisible(agentId: string): (element: Element | null) => void {
  const { seedWhenVisible } = useFleet();
  return useCallback((element: Element | null) => (element ? seedWhenVisible(element, agentId) : undefined), [seedWhenVisible, agentId]);
}
