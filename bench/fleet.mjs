// Several hubs for benchmarks (issue #14): hub processes sharing one PostgreSQL database and
// one Redis and one hub identity, and the simulator's link log (which hub each simulated agent
// is linked to, and when it linked). Used by bench/several-hubs.mjs.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { farolBin, freePort, sleep, waitExit } from './lib.mjs';

/**
 * `count` hubs on fixed ports and data directories under `work` (so each can be started again),
 * all with the first hub's keys. Hub ids are `<name>-<runId>-<index>`. Without `databaseUrl` and
 * `redisUrl` a hub runs on SQLite and an in-memory bus (one hub). `env` is added to every hub's
 * environment.
 */
// FAROL_BENCH_HUB_NODE_ARGS adds Node flags to every hub, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
const hubNodeArgs = (process.env.FAROL_BENCH_HUB_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** This process's hard open-file limit (`ulimit -Hn`), or Infinity when unlimited. */
function hardFileLimit() {
  const hard = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  return hard === 'unlimited' ? Infinity : Number(hard);
}

/**
 * Spawns the simulator with room for one socket per agent: a process at its open-file limit
 * cannot open the last agents' sockets (20,000 agents under a limit of 20,000 left 20 of them
 * retrying forever, which the simulator says only at warn level, and the bench waited 30 min for
 * them). The soft limit is raised in a shell first; above the hard limit (which only a process
 * with CAP_SYS_RESOURCE may raise) the bench stops at once and says so.
 */
export function spawnSimulator(argv, agents, options) {
  const files = agents + 1024;
  const hard = hardFileLimit();
  if (hard < files) {
    throw new Error(`${agents} simulated agents need ${files} open files in one process; the hard limit here is ${hard} (ulimit -Hn): run at most ${hard - 1024} agents, or raise the hard limit`);
  }
  return spawn('sh', ['-c', `ulimit -n ${files} && exec "$@"`, 'sh', process.execPath, ...argv], options);
}

/**
 * How many agents each simulator process runs: as few processes as the hard open-file limit
 * allows, the agents shared evenly (20,000 agents under a limit of 20,000 → 10,000 and 10,000).
 */
export function simulatorShares(agents) {
  const perProcess = hardFileLimit() - 1024;
  if (perProcess < 1) throw new Error('the hard open-file limit (ulimit -Hn) leaves no room for simulated agents');
  const processes = Math.ceil(agents / perProcess);
  return Array.from({ length: processes }, (_, i) => Math.floor(agents / processes) + (i < agents % processes ? 1 : 0));
}

export async function createFleet({ count, work, databaseUrl, redisUrl, runId, name = 'fleet', env = {} }) {
  const adminToken = `fat_bench_${name}_${Math.random().toString(36).slice(2)}_0123456789`;
  const hubs = [];
  for (let index = 0; index < count; index++) {
    const port = await freePort();
    hubs.push({ index, id: `${name}-${runId}-${index}`, port, url: `http://127.0.0.1:${port}`, dataDir: path.join(work, `hub-${index}`), child: null });
  }

  async function start(hub) {
    const startedAt = performance.now();
    hub.child = spawn(process.execPath, [...hubNodeArgs, farolBin, 'hub', '--port', String(hub.port), '--data', hub.dataDir], {
      env: {
        ...process.env,
        FAROL_ADMIN_TOKEN: adminToken,
        FAROL_LOG_LEVEL: 'warn',
        // Every simulated agent shares 127.0.0.1, which a real fleet does not.
        FAROL_API_RATE_LIMIT: '0',
        FAROL_DATABASE_URL: databaseUrl,
        FAROL_REDIS_URL: redisUrl,
        FAROL_HUB_ID: hub.id,
        ...env,
      },
      // The hubs' logs go to stderr: stdout is the bench's JSON.
      stdio: ['ignore', process.stderr, 'inherit'],
    });
    for (const deadline = Date.now() + 180_000; ; await sleep(100)) {
      try {
        if ((await fetch(`${hub.url}/ready`)).ok) break;
      } catch {
        // not listening yet
      }
      if (hub.child.exitCode !== null) throw new Error(`hub ${hub.index} exited with ${hub.child.exitCode}`);
      if (Date.now() > deadline) throw new Error(`hub ${hub.index} did not become ready in 3 min`);
    }
    return performance.now() - startedAt;
  }

  /** SIGKILL by default; SIGTERM lets the hub shut down (and write a --cpu-prof profile). */
  async function kill(hub, signal = 'SIGKILL') {
    if (hub.child?.exitCode !== null || hub.child.signalCode !== null) return;
    hub.child.kill(signal);
    await waitExit(hub.child);
  }

  /** Starts every hub: the first, then the others with its keys (docs/scaling.md: one hub identity). */
  async function startAll() {
    await start(hubs[0]);
    for (const hub of hubs.slice(1)) {
      mkdirSync(hub.dataDir, { recursive: true });
      for (const file of ['hub-key.json', 'secret.key']) copyFileSync(path.join(hubs[0].dataDir, file), path.join(hub.dataDir, file));
      await start(hub);
    }
  }

  async function api(hub, method, route, body) {
    const response = await fetch(`${hub.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!response.ok) throw new Error(`${method} ${hub.url}${route}: ${response.status} ${await response.text()}`);
    return response.status === 204 ? null : response.json();
  }

  return { hubs, adminToken, start, kill, startAll, api };
}

/**
 * Reads the simulators' `--link-log` files as they grow: the hub URL each agent is linked to now,
 * and every event. With several simulator processes, `files` lists each one's log and the number
 * its agents start at (`{ file, offset }`), so agent numbers stay unique across processes.
 */
export function createLinkLog(files) {
  const sources = (Array.isArray(files) ? files : [{ file: files, offset: 0 }]).map((source) => ({ ...source, read: 0 }));
  const links = { events: [], holder: new Map() };
  function read() {
    const before = links.events.length;
    for (const source of sources) {
      if (!existsSync(source.file)) continue;
      const text = readFileSync(source.file, 'utf8');
      const fresh = text.slice(source.read, text.lastIndexOf('\n') + 1);
      source.read += fresh.length;
      for (const line of fresh.split('\n')) {
        if (!line) continue;
        const event = JSON.parse(line);
        event.agent += source.offset;
        links.events.push(event);
        if (event.event === 'linked') links.holder.set(event.agent, event.hubUrl);
        else links.holder.delete(event.agent);
      }
    }
    // Events of several files interleave: kept in time order for the measurements.
    if (sources.length > 1 && links.events.length > before) links.events.sort((a, b) => a.at - b.at);
    return links;
  }
  async function waitUntil(condition, timeoutMs, what) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      read();
      if (condition(links)) return true;
      if (Date.now() > deadline) {
        console.error(`bench: gave up waiting for ${what}`);
        return false;
      }
      await sleep(200);
    }
  }
  return { links, read, waitUntil };
}

/**
 * First links after `since` of the agents in `affected`: the first `linked` event of each agent
 * (by agent), their times after `since` in ms (ascending) and how many fell in each whole second.
 */
export function firstLinksAfter(links, since, affected) {
  const firstLink = new Map();
  for (const event of links.events) {
    if (event.at < since || event.event !== 'linked' || !affected.has(event.agent) || firstLink.has(event.agent)) continue;
    firstLink.set(event.agent, event);
  }
  const times = [...firstLink.values()].map((event) => event.at - since).sort((a, b) => a - b);
  const perSecond = new Map();
  for (const t of times) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
  return { firstLink, times, perSecond };
}

/**
 * First links after `since` of the agents in `affected`: peak links per second and seconds
 * until 50 / 99 / 100 % of them were linked again.
 */
export function measureReturn(links, since, affected) {
  const { firstLink, times, perSecond } = firstLinksAfter(links, since, affected);
  const at = (share) => {
    const needed = Math.ceil(affected.size * share);
    return times.length >= needed ? +(times[needed - 1] / 1000).toFixed(2) : null;
  };
  return {
    affected: affected.size,
    back: firstLink.size,
    peakLinksPerSecond: Math.max(0, ...perSecond.values()),
    secondsTo50: at(0.5),
    secondsTo99: at(0.99),
    secondsTo100: at(1),
  };
}

/** Bucket counts of a Prometheus histogram, summed over several /metrics texts (several hubs). */
export function histogramBuckets(texts, name) {
  const sums = new Map();
  for (const text of texts) {
    for (const match of text.matchAll(new RegExp(`^${name}_bucket\\{[^}]*\\ble="([^"]+)"[^}]*\\} (\\S+)`, 'gm'))) {
      const le = match[1] === '+Inf' ? Infinity : Number(match[1]);
      sums.set(le, (sums.get(le) ?? 0) + Number(match[2]));
    }
  }
  return [...sums].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count }));
}

/**
 * Quantile in ms between two bucket snapshots, interpolated linearly inside the bucket; a
 * string such as ">5000" when it lies beyond the last finite bucket.
 */
export function quantileMs(after, before, q) {
  const buckets = after.map((bucket, i) => ({ le: bucket.le, count: bucket.count - (before[i]?.count ?? 0) }));
  const total = buckets.at(-1)?.count ?? 0;
  if (!total) return null;
  const rank = q * total;
  let previous = { le: 0, count: 0 };
  for (const bucket of buckets) {
    if (bucket.count >= rank) {
      if (bucket.le === Infinity) return `>${previous.le * 1000}`;
      const share = (rank - previous.count) / Math.max(1, bucket.count - previous.count);
      return +((previous.le + (bucket.le - previous.le) * share) * 1000).toFixed(1);
    }
    previous = bucket;
  }
  return null;
}

export function percentileOf(sorted, p) {
  if (sorted.length === 0) return null;
  return +sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)].toFixed(1);
}
