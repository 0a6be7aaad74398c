import type { Bus } from './bus.js';
import { hubLeaseKey } from './hub-relay.js';
import type { Logger } from './logger.js';
import type { DirectoryHooks, HeldAgent, PresenceDirectory } from './presence-directory.js';
import type { RedisConnection } from './redis.js';

/** How long a hub's lease lives without renewal: a killed hub's agents stay online at most this long (plus one sweep). */
export const HUB_LEASE_MS = 15_000;
/** Lease renewal, mirror reload, last-heard push and the sweep of dead hubs' agents. */
export const DIRECTORY_TICK_MS = 5_000;

/** Deletes the agent's entry when `hubId` and `sessionId` still hold it; 1 when nobody holds it afterwards. */
const RELEASE = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return 1 end
local entry = cjson.decode(current)
if entry.hubId == ARGV[2] and entry.sessionId == ARGV[3] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0`;

/** Deletes every entry still held by the dead hub ARGV[1] among the fields given; returns those deleted. */
const SWEEP = `
local gone = {}
for i = 2, #ARGV do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  if current and cjson.decode(current).hubId == ARGV[1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
    gone[#gone + 1] = ARGV[i]
  end
end
return gone`;

/**
 * Writes this hub's entries (ARGV: hubId, then field/value pairs) unless another hub holds the
 * agent now; returns the fields that were missing (swept while this hub's lease had lapsed).
 */
const REFRESH = `
local regained = {}
for i = 2, #ARGV, 2 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  local mine = true
  if current then mine = cjson.decode(current).hubId == ARGV[1] else regained[#regained + 1] = ARGV[i] end
  if mine then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
return regained`;

const BATCH = 500;

/**
 * Presence across hubs (issue #14). One Redis hash, agent id → {hubId, sessionId, lastHeard,
 * intervalMs}, written on connect and disconnect (compare-and-delete, so a late close on the
 * hub an agent left cannot take it offline where it is now) and refreshed with last-heard
 * times every DIRECTORY_TICK_MS. Each hub holds a lease key (HUB_LEASE_MS, renewed every tick);
 * every hub sweeps every tick: the entries of hubs without a lease are deleted (each entry by
 * exactly one sweeper, the delete is atomic) and reported `lost`, so a killed hub's agents that
 * did not reconnect elsewhere go offline at most one tick after its lease expires. The sweep is
 * idempotent, so it needs no leader.
 *
 * Reads come from a mirror: the whole hash reloaded every tick, plus `presence.held` events on
 * the bus between reloads.
 */
export function createRedisPresenceDirectory({ redis, hubId, bus, logger }: { redis: RedisConnection; hubId: string; bus: Bus; logger: Logger }): PresenceDirectory {
  const key = `${redis.prefix}presence`;
  const lease = hubLeaseKey(redis.prefix, hubId);
  /** Every hub that renewed its lease, scored by when that lease ends (hubLoads lists a hub that holds no agent too). */
  const hubsKey = `${redis.prefix}hubs`;
  /** hub id → the URL it advertises to agents. */
  const urlsKey = `${redis.prefix}hub-urls`;
  /** Set by `announce`: this hub accepts agents (and where they reach it, when known). */
  let announced: { url: string | undefined } | null = null;
  /** Connections this hub holds (the source of its pushes). */
  const mine = new Map<string, HeldAgent>();
  /** Every hub's connections, as last read. */
  let mirror = new Map<string, HeldAgent>();
  let hooks: DirectoryHooks | null = null;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | null = null;
  let unsubscribe: (() => void) | null = null;

  async function renewLease(): Promise<void> {
    const now = Date.now();
    await redis.client.set(lease, String(now), 'PX', HUB_LEASE_MS);
    if (!announced) return;
    await redis.client.zadd(hubsKey, now + HUB_LEASE_MS, hubId);
    if (announced.url) await redis.client.hset(urlsKey, hubId, announced.url);
  }

  async function reload(): Promise<void> {
    const all = await redis.client.hgetall(key);
    const next = new Map<string, HeldAgent>();
    for (const [agentId, text] of Object.entries(all)) {
      try {
        next.set(agentId, JSON.parse(text) as HeldAgent);
      } catch (error) {
        logger.warn({ err: error, agentId }, 'ignoring an unreadable presence entry in Redis');
      }
    }
    // Ours are known best here (heartbeats since the last push).
    for (const [agentId, entry] of mine) next.set(agentId, entry);
    mirror = next;
  }

  async function push(): Promise<void> {
    const entries = [...mine];
    const regained: string[] = [];
    for (let i = 0; i < entries.length; i += BATCH) {
      const args = entries.slice(i, i + BATCH).flatMap(([agentId, entry]) => [agentId, JSON.stringify(entry)]);
      regained.push(...((await redis.client.eval(REFRESH, 1, key, hubId, ...args)) as string[]));
    }
    if (regained.length > 0) {
      logger.warn({ agents: regained.length }, 'agents connected here had been swept while this hub could not renew its lease; holding them again');
      await hooks?.regained(regained);
    }
  }

  async function sweep(): Promise<void> {
    const byHub = new Map<string, string[]>();
    for (const [agentId, entry] of mirror) {
      if (entry.hubId === hubId) continue;
      let list = byHub.get(entry.hubId);
      if (!list) byHub.set(entry.hubId, (list = []));
      list.push(agentId);
    }
    for (const [deadCandidate, agentIds] of byHub) {
      if ((await redis.client.exists(hubLeaseKey(redis.prefix, deadCandidate))) === 1) continue;
      const gone: string[] = [];
      for (let i = 0; i < agentIds.length; i += BATCH) {
        gone.push(...((await redis.client.eval(SWEEP, 1, key, deadCandidate, ...agentIds.slice(i, i + BATCH))) as string[]));
      }
      if (gone.length > 0) {
        logger.warn({ hub: deadCandidate, agents: gone.length }, 'a hub\'s lease expired; its agents that did not reconnect elsewhere are offline');
        // Stored offline first, while the mirror still has when each was last heard (its last
        // seen), and before this hub or any other that hears of it here shows it offline.
        await hooks?.lost(gone);
      }
      // The other hubs' mirrors learn it now, not at their next reload.
      for (const agentId of gone) {
        const entry = mirror.get(agentId);
        if (entry) bus.publish('presence.held', { agentId, hubId: null, sessionId: entry.sessionId, lastHeard: entry.lastHeard, intervalMs: entry.intervalMs });
      }
      // Whoever swept them, entries of a dead hub are stale (an agent that moved is listed under its new hub by now).
      for (const agentId of agentIds) if (mirror.get(agentId)?.hubId === deadCandidate) mirror.delete(agentId);
    }
  }

  /** Releases Redis refused (it was down): retried every tick, so no entry of ours outlives its connection. */
  const unreleased = new Map<string, string>();

  async function retryReleases(): Promise<void> {
    for (const [agentId, sessionId] of [...unreleased]) {
      await redis.client.eval(RELEASE, 1, key, agentId, hubId, sessionId);
      unreleased.delete(agentId);
    }
  }

  async function tick(): Promise<void> {
    await renewLease();
    await retryReleases();
    await push();
    await reload();
    await sweep();
  }

  const runTick = (): void => {
    if (ticking) return;
    ticking = tick()
      .catch((error: unknown) => logger.error({ err: error }, 'presence directory tick failed (Redis); retrying next tick'))
      .finally(() => {
        ticking = null;
      });
  };

  return {
    hubId,
    async hold(agentId, entry) {
      const held: HeldAgent = { hubId, ...entry };
      mine.set(agentId, held);
      mirror.set(agentId, held);
      unreleased.delete(agentId);
      try {
        await redis.client.hset(key, agentId, JSON.stringify(held));
      } catch (error) {
        // Redis is down: the agent is online here all the same; the next tick's refresh writes it.
        logger.warn({ err: error, agentId }, 'could not record an agent in the presence directory (Redis); the next refresh does');
      }
      bus.publish('presence.held', { agentId, hubId, sessionId: entry.sessionId, lastHeard: entry.lastHeard, intervalMs: entry.intervalMs });
    },
    async release(agentId, sessionId) {
      const entry = mine.get(agentId);
      if (entry?.sessionId === sessionId) mine.delete(agentId);
      let gone: boolean;
      try {
        gone = (await redis.client.eval(RELEASE, 1, key, agentId, hubId, sessionId)) === 1;
      } catch (error) {
        // Redis is down: whether the agent moved cannot be known now; it is offline as far as
        // this hub knows (a moved agent may flap once), and the entry is deleted when Redis is back.
        logger.warn({ err: error, agentId }, 'could not release an agent in the presence directory (Redis); retrying every tick');
        unreleased.set(agentId, sessionId);
        mirror.delete(agentId);
        return true;
      }
      if (gone) {
        if (mirror.get(agentId)?.hubId === hubId) mirror.delete(agentId);
        bus.publish('presence.held', { agentId, hubId: null, sessionId, lastHeard: entry?.lastHeard ?? Date.now(), intervalMs: entry?.intervalMs ?? 0 });
      }
      return gone;
    },
    handOver(agentId, sessionId) {
      // Off this hub's refreshes; the Redis entry stays under this hub (and its lease) until
      // the next holder's hold overwrites it, release drops it, or a sweep after this hub's
      // death takes it. Nothing to write: it cannot be lost to a Redis outage.
      if (mine.get(agentId)?.sessionId === sessionId) mine.delete(agentId);
    },
    heard(agentId, lastHeard, intervalMs) {
      const entry = mine.get(agentId);
      if (!entry) return;
      entry.lastHeard = lastHeard;
      entry.intervalMs = intervalMs;
    },
    holderOf: (agentId) => mine.get(agentId) ?? mirror.get(agentId),
    async heldElsewhere() {
      await reload();
      const alive = new Set<string>();
      const hubs = new Set([...mirror.values()].map((entry) => entry.hubId));
      for (const hub of hubs) if (hub !== hubId && (await redis.client.exists(hubLeaseKey(redis.prefix, hub))) === 1) alive.add(hub);
      return new Set([...mirror].filter(([, entry]) => alive.has(entry.hubId)).map(([agentId]) => agentId));
    },
    async hubLoads() {
      const now = Date.now();
      // Hubs whose lease ended are dropped here by whoever reads first (idempotent).
      await redis.client.zremrangebyscore(hubsKey, '-inf', now);
      const live = await redis.client.zrangebyscore(hubsKey, now, '+inf');
      const loads = new Map<string, number>(live.map((id) => [id, 0]));
      for (const entry of mirror.values()) {
        if (entry.hubId !== hubId && loads.has(entry.hubId)) loads.set(entry.hubId, loads.get(entry.hubId)! + 1);
      }
      loads.set(hubId, mine.size);
      return loads;
    },
    async announce(url) {
      announced = { url };
      await renewLease();
    },
    async hubUrls() {
      const live = new Set(await redis.client.zrangebyscore(hubsKey, Date.now(), '+inf'));
      const all = Object.entries(await redis.client.hgetall(urlsKey));
      // Hubs that died without dropping theirs (killed): gone for good once their lease is.
      const dead = all.filter(([id]) => !live.has(id)).map(([id]) => id);
      if (dead.length > 0) await redis.client.hdel(urlsKey, ...dead);
      return new Map(all.filter(([id]) => live.has(id)));
    },
    async start(nextHooks) {
      hooks = nextHooks;
      unsubscribe = bus.subscribe('presence.held', (event) => {
        if (event.hubId === hubId) return;
        if (event.hubId === null) {
          if (mirror.get(event.agentId)?.sessionId === event.sessionId) mirror.delete(event.agentId);
          return;
        }
        mirror.set(event.agentId, { hubId: event.hubId, sessionId: event.sessionId, lastHeard: event.lastHeard, intervalMs: event.intervalMs });
      });
      await renewLease();
      await reload();
      // Entries under this hub's id are from its previous life (a restart keeps the id): nobody holds them now.
      const stale = [...mirror].filter(([agentId, entry]) => entry.hubId === hubId && !mine.has(agentId)).map(([agentId]) => agentId);
      if (stale.length > 0) {
        const gone: string[] = [];
        for (let i = 0; i < stale.length; i += BATCH) gone.push(...((await redis.client.eval(SWEEP, 1, key, hubId, ...stale.slice(i, i + BATCH))) as string[]));
        for (const agentId of stale) mirror.delete(agentId);
        await hooks.lost(gone);
      }
      timer = setInterval(runTick, DIRECTORY_TICK_MS);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      unsubscribe?.();
      if (ticking) await ticking;
      // Gone at once, not after the lease: agents still listed here are swept by the next live hub's tick.
      // Off the live-hub list at once; otherwise its entry ends with its lease (hubLoads, hubUrls prune it).
      await redis.client.zrem(hubsKey, hubId).catch((error: unknown) => logger.warn({ err: error }, 'could not take this hub off the live-hub list (Redis); it drops off when its lease ends'));
      await redis.client.hdel(urlsKey, hubId).catch((error: unknown) => logger.warn({ err: error }, 'could not drop this hub\'s URL (Redis); it is pruned when its lease ends'));
      await redis.client.del(lease).catch((error: unknown) => logger.warn({ err: error }, 'could not drop this hub\'s lease (Redis); it expires by itself'));
    },
  };
}
