import { EventEmitter } from 'node:events';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Labels } from '@farol/protocol';
import { createMemoryBus, type Bus } from '../../infra/bus.js';
import type { Db } from '../../infra/database.js';
import { createLogger } from '../../infra/logger.js';
import { openTestDatabase } from '../../testing/test-database.js';
import type { AgentRecord } from '../agents/machines.js';
import { createNetworkRepository, type NetworkRepository, type NetworkTables } from './network.repository.js';
import { createNetworkService, type NetworkService } from './network.service.js';

// Hub round trips over a simulated day, on the real repository (SQLite in `int`, PostgreSQL in
// `int-pg`): kept per minute and per hour, and a machine flagged when its last 15 minutes are
// well above its usual (issue #19).

const MINUTE = 60_000;
const START = Date.UTC(2026, 0, 1, 0, 0, 30);
let db: Db;
let close: () => Promise<void>;
let now = START;
let mono = 0;
let network: NetworkService;
let bus: Bus;

const record = (id: string, name: string): AgentRecord => ({ seq: 1, id, name, hostname: name, publicKey: '', keyFingerprint: id, labels: {} as Labels, system: null, heartbeatIntervalMs: 10_000, status: 'online', createdAt: START, lastSeen: START });
const machines = [record('ag_steady0000000001', 'steady'), record('ag_slower0000000001', 'slower')];
const MACHINES = [...machines];

beforeEach(async () => {
  ({ db, close } = await openTestDatabase('network'));
  now = START;
  machines.splice(0, machines.length, ...MACHINES);
  bus = createMemoryBus(createLogger('silent'));
  network = networkOver(createNetworkRepository((db as Kysely<unknown>).withTables<NetworkTables>()), machines);
});

/** The service over a repository and a list of machines, on the test's clocks; jobs are unused. */
function networkOver(repo: NetworkRepository, fleet: AgentRecord[]): NetworkService {
  return createNetworkService({
    repo,
    agents: { list: async () => fleet, findByIdOrName: async (ref) => fleet.find((m) => m.id === ref || m.name === ref) },
    jobs: { create: () => Promise.reject(new Error('unused')), isConnected: () => false, waitForFinal: () => Promise.resolve(false), get: () => Promise.reject(new Error('unused')) },
    audit: { record: async () => {} },
    bus,
    clock: { now: () => now },
    logger: createLogger('silent'),
    monotonic: () => mono,
  });
}

afterEach(async () => {
  await network.stop();
  await close();
});

/** One Engine.IO heartbeat on a fake connection: ping at `now`, pong `ms` later. */
function heartbeat(connection: EventEmitter, ms: number): void {
  connection.emit('packetCreate', { type: 'ping' });
  mono += ms;
  connection.emit('packet', { type: 'pong' });
}

describe('hub round trips over a day (#19)', () => {
  it('keeps them per minute and per hour and flags the machine whose last 15 minutes got much slower', async () => {
    const steady = new EventEmitter();
    const slower = new EventEmitter();
    const stopSteady = network.watchConnection({ id: machines[0]!.id, name: 'steady' }, steady, '203.0.113.5');
    const stopSlower = network.watchConnection({ id: machines[1]!.id, name: 'slower' }, slower, '10.0.0.9');
    // 25 hours at 30 ms (two heartbeats a minute), then 15 minutes where `slower` takes 120 ms.
    const minutes = 25 * 60 + 15;
    for (let minute = 0; minute < minutes; minute++) {
      // The hub's timer writes finished minutes every minute; here every half hour is enough.
      if (minute % 30 === 0) await network.flush();
      const late = minute >= 25 * 60;
      for (const offset of [0, 25_000]) {
        now = START + minute * MINUTE + offset;
        heartbeat(steady, 30);
        heartbeat(slower, late ? 120 : 30 + (minute % 3));
      }
    }
    expect(network.heldRtts().map((r) => [r.name, r.ms])).toEqual([
      ['steady', 30],
      ['slower', 120],
    ]);
    // Both connections end: what is in memory is stored.
    stopSteady();
    stopSlower();
    now = START + minutes * MINUTE;
    const status = await waitForStatus();
    const slow = status.machines.find((m) => m.name === 'slower')!;
    expect(slow.worse).toBe(true);
    expect(slow.hubRtt).toMatchObject({ lastMs: 120, recentP50Ms: 120, baselineP50Ms: 31 });
    expect(slow.reasons).toEqual([{ code: 'hub_rtt_up', recentP50Ms: 120, baselineP50Ms: 31 }]);
    expect(slow.publicAddress).toBeNull();
    const calm = status.machines.find((m) => m.name === 'steady')!;
    expect(calm).toMatchObject({ worse: false, publicAddress: '203.0.113.5', hubRtt: { recentP50Ms: 30, baselineP50Ms: 30 } });

    const perMinute = await network.rttHistory(machines[1]!.id, 2);
    expect(perMinute.resolution).toBe('1m');
    expect(perMinute.points.at(-1)).toEqual({ ts: START - 30_000 + (minutes - 1) * MINUTE, p50Ms: 120, minMs: 120, maxMs: 120, n: 2 });
    const perHour = await network.rttHistory(machines[0]!.id, 72);
    expect(perHour.resolution).toBe('1h');
    expect(perHour.points).toHaveLength(26);
    expect(perHour.points[0]).toEqual({ ts: START - 30_000, p50Ms: 30, minMs: 30, maxMs: 30, n: 120 });
  }, 60_000);
});

/** The connect and disconnect write without being awaited: poll until both machines' rows are there. */
async function waitForStatus() {
  for (let tries = 0; tries < 100; tries++) {
    const status = await network.status(() => true);
    // Every table written: the windows, the addresses and each machine's newest round trip.
    const stored = status.machines.every((m) => m.hubRtt.recentP50Ms !== null && m.hubRtt.baselineP50Ms !== null && m.hubRtt.lastMs === (m.name === 'slower' ? 120 : 30));
    if (stored && status.machines.some((m) => m.publicAddress !== null)) return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The windows are shared for 10 s of the hub's clock: let it pass.
    now += 10_001;
  }
  throw new Error('the round trips were not stored');
}

/** Rows of one machine in each network table. */
async function rowsOf(agentId: string): Promise<Record<string, number>> {
  const tables = (db as Kysely<unknown>).withTables<NetworkTables>();
  const count = async (table: keyof NetworkTables) => Number((await tables.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).where('agent_id', '=', agentId).executeTakeFirstOrThrow()).n);
  return { rtt1m: await count('network_rtt_1m'), rtt1h: await count('network_rtt_1h'), agents: await count('network_agents'), peerLinks: await count('network_peer_links') };
}

describe('machines leaving at once (#16)', () => {
  it('stores the held round trips of machines that disconnect in the same moment in one write', async () => {
    const fleet = Array.from({ length: 5 }, (_, i) => record(`ag_leaving00000000${i}`, `leaving-${i}`));
    const repo = createNetworkRepository((db as Kysely<unknown>).withTables<NetworkTables>());
    const writes: number[] = [];
    const counting: NetworkRepository = { ...repo, addRttMinutes: (minutes, last) => (writes.push(last.size), repo.addRttMinutes(minutes, last)) };
    await network.stop();
    network = networkOver(counting, fleet);
    const stops = fleet.map((machine, i) => {
      const connection = new EventEmitter();
      const stop = network.watchConnection({ id: machine.id, name: machine.name }, connection, `10.0.1.${i + 1}`);
      heartbeat(connection, 10 + i);
      return stop;
    });
    stops.forEach((stop) => stop());
    await network.stop();
    expect(writes).toEqual([5]);
    for (const machine of fleet) expect((await rowsOf(machine.id)).rtt1m).toBe(1);
  });
});

describe('a removed machine (#19)', () => {
  it('charts the minute not yet written, and deletes every row of a machine when it is removed or found gone', async () => {
    network.start();
    const gone = record('ag_gone00000000000001', 'gone');
    const left = record('ag_left00000000000001', 'left');
    machines.push(gone, left);
    const connection = new EventEmitter();
    const stop = network.watchConnection({ id: gone.id, name: 'gone' }, connection, '10.0.0.7');
    for (let minute = 0; minute < 3; minute++) {
      now = START + minute * MINUTE;
      heartbeat(connection, 12);
      await network.flush();
    }
    // Minutes 0 and 1 are stored; minute 2 is still in memory, and the chart shows it too.
    now = START + 2 * MINUTE + 20_000;
    heartbeat(connection, 18);
    const history = await network.rttHistory(gone.id, 1);
    expect(history.points.map((p) => [p.ts - (START - 30_000), p.n, p.minMs, p.maxMs])).toEqual([
      [0, 1, 12, 12],
      [MINUTE, 1, 12, 12],
      [2 * MINUTE, 2, 12, 18],
    ]);
    // Per hour too: the stored hour (minutes 0-1, median 12) with the held minute (median 15).
    expect((await network.rttHistory(gone.id, 72)).points).toEqual([{ ts: START - 30_000, p50Ms: 13.5, minMs: 12, maxMs: 18, n: 4 }]);
    await network.ingestTailscale(gone.id, { backendState: 'Running', tailnet: 't.ts.net', self: { hostName: 'gone', dnsName: '', os: 'linux', tailscaleIps: ['100.64.0.9'], online: true, relay: '', curAddr: '', latencyMs: null, lastHandshake: null }, peers: [{ hostName: 'x', dnsName: '', os: 'linux', tailscaleIps: ['100.64.0.8'], online: true, relay: 'fra', curAddr: '1.2.3.4:41641', latencyMs: null, lastHandshake: null }], peersCut: false });
    expect(await rowsOf(gone.id)).toEqual({ rtt1m: 2, rtt1h: 1, agents: 1, peerLinks: 1 });

    // Removed: the agents service publishes agent.removed and drops the connection.
    machines.splice(machines.indexOf(gone), 1);
    bus.publish('agent.removed', { agentId: gone.id });
    stop();
    await expect.poll(() => rowsOf(gone.id), { timeout: 10_000 }).toEqual({ rtt1m: 0, rtt1h: 0, agents: 0, peerLinks: 0 });
    expect((await network.rttHistory(gone.id, 1)).points).toEqual([]);

    // Removed while no hub was listening: the hourly pass finds its rows and deletes them.
    for (const [agent, ms] of [[left, 9], [machines[0]!, 30]] as const) {
      const other = new EventEmitter();
      const stopOther = network.watchConnection({ id: agent.id, name: agent.name }, other, '10.0.0.8');
      heartbeat(other, ms);
      stopOther();
      await expect.poll(() => rowsOf(agent.id), { timeout: 10_000 }).toMatchObject({ rtt1m: 1, agents: 1 });
    }
    machines.splice(machines.indexOf(left), 1);
    now += 3_600_000;
    await network.flush();
    expect(await rowsOf(left.id)).toEqual({ rtt1m: 0, rtt1h: 0, agents: 0, peerLinks: 0 });
    // A machine that still exists keeps its rows.
    expect(await rowsOf(machines[0]!.id)).toMatchObject({ rtt1m: 1, agents: 1 });
  }, 30_000);
});

describe('a large fleet\'s round trips (#16)', () => {
  it('stores a minute of 2,300 machines in transactions of 1,000, every machine\'s row kept', async () => {
    const repo = createNetworkRepository((db as Kysely<unknown>).withTables<NetworkTables>());
    const writes: number[] = [];
    const counted: typeof repo = {
      ...repo,
      addRttMinutes: async (minutes, last) => {
        writes.push(last.size);
        await repo.addRttMinutes(minutes, last);
      },
    };
    const fleet = Array.from({ length: 2_300 }, (_, i) => record(`ag_fleet${String(i).padStart(11, '0')}`, `fleet-${i}`));
    const large = networkOver(counted, fleet);
    try {
      for (const [i, machine] of fleet.entries()) {
        const connection = new EventEmitter();
        large.watchConnection({ id: machine.id, name: machine.name }, connection, '203.0.113.5');
        heartbeat(connection, 10 + (i % 7));
      }
      now += MINUTE;
      await large.flush();
      expect(writes).toEqual([1_000, 1_000, 300]);
      const tables = (db as Kysely<unknown>).withTables<NetworkTables>();
      const stored = await tables.selectFrom('network_rtt_1m').select(['agent_id', 'p50_ms']).where('agent_id', 'like', 'ag_fleet%').execute();
      expect(stored).toHaveLength(2_300);
      expect(stored.find((row) => row.agent_id === fleet[9]!.id)?.p50_ms).toBe(12);
    } finally {
      await large.stop();
    }
  });
});
