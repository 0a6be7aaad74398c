import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect, createServer, type Server, type Socket as NetSocket } from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UI_NAMESPACE, type Agent, type Job, type MetricsResponse, type TerminalOpenAck } from '@farol/protocol';
import { emitAck } from '../../apps/hub/src/testing/protocol-peer.js';
import { enrollMachine, uiSocket, type MachinePeer } from './support/machine-peer.js';
import { agentBundle, api, freePort, joinToken, run, tempDir, waitFor, type Proc } from './support/processes.js';
import { HUB_LEASE_MS, severalHubsSkipReason, startSeveralHubs, type SeveralHubs } from './support/several-hubs.js';

/*
 * Issue #14: three real hubs through the loss of what they share, and through their own restarts.
 *   - Redis restarted: a private redis-server of this file (loopback, its own port and
 *     directory, no persistence: every key is lost with it), killed and started again. The hubs
 *     reconnect by themselves; a command made while Redis is down, for an agent on another hub,
 *     is delivered once (it is durable in PostgreSQL); presence comes back; agents stay connected.
 *   - PostgreSQL unreachable for 10 s: a TCP proxy in this process between the hubs and the
 *     machine's PostgreSQL, cut (its connections dropped, new ones refused) and restored. Agents
 *     stay connected, /ready goes false and comes back, no hub restarts (same pids), and the
 *     heartbeats of the outage are stored afterwards.
 *   - Terminal sessions: a starting hub ends only the sessions of hubs whose presence lease is
 *     gone, and those of its own previous run; another live hub's session goes on.
 */

if (severalHubsSkipReason) console.warn(`several-hubs-outages: skipped: ${severalHubsSkipReason}`);

/** The private Redis: killed and started again on the same port and directory. */
interface PrivateRedis {
  url: string;
  start(): Promise<void>;
  kill(): Promise<void>;
}

async function privateRedis(dir: string): Promise<PrivateRedis> {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  let child: ChildProcess | null = null;
  const url = `redis://127.0.0.1:${port}`;
  return {
    url,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      await waitFor(async () => {
        const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        // Refused until the server listens: connect() rejects with it, so the event is not printed too.
        probe.on('error', () => undefined);
        try {
          await probe.connect();
          return (await probe.ping()) === 'PONG' || undefined;
        } catch {
          return undefined;
        } finally {
          probe.disconnect();
        }
      }, 15_000, 'the private redis-server');
    },
    async kill() {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGKILL');
      await exited;
    },
  };
}

/** A TCP proxy on loopback in front of the machine's PostgreSQL, which can be cut. */
interface Proxy {
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

async function postgresProxy(target: { host: string; port: number }): Promise<Proxy> {
  const open = new Set<NetSocket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      socket.on('error', drop);
      socket.on('close', drop);
    }
    client.pipe(upstream).pipe(client);
  });
  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as { port: number }).port;
  return {
    port,
    async cut() {
      // No new connections (refused: nothing listens), and every open one dropped.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of open) socket.destroy();
      open.clear();
      await closed;
    },
    restore: () => listen(port),
    async close() {
      for (const socket of open) socket.destroy();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let fleet: SeveralHubs;
let redis: PrivateRedis;
const redisDir = tempDir('outages-redis');
let proxy: Proxy;
const sockets: Socket[] = [];
const agents: Proc[] = [];
let onB: MachinePeer;
let onC: MachinePeer;
/** The command made on A, for the machine on B, while Redis was down. */
let whileDown: { jobId: string; commandId: string } | undefined;

const USER_PASSWORD = 'outage-password-9f3k2';
const hubUrl = (name: string): string => fleet.hub(name).url;
const ready = async (name: string): Promise<{ status: number; body: { status: string; database?: string; redis?: string } }> => {
  const response = await fetch(`${hubUrl(name)}/ready`);
  return { status: response.status, body: (await response.json()) as { status: string; database?: string; redis?: string } };
};
const agentOn = async (name: string, ref: string): Promise<Agent> => (await api<Agent>(hubUrl(name), 'GET', `/api/agents/${ref}`)).body;

beforeAll(async () => {
  if (severalHubsSkipReason) return;
  const pgUrl = new URL(process.env.FAROL_TEST_DATABASE_URL!);
  proxy = await postgresProxy({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
  redis = await privateRedis(redisDir.path);
  await redis.start();
  fleet = await startSeveralHubs({
    idPrefix: 'outage',
    redisDb: 0,
    redisBaseUrl: redis.url,
    start: ['a', 'b', 'c'],
    databaseServerUrl: (url) => {
      const proxied = new URL(url);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(proxy.port);
      return proxied.toString();
    },
    env: { FAROL_TERMINAL_RECORD: 'false' },
  });
  onB = await enrollMachine(hubUrl('b'), `bravo-${fleet.runId}`);
  onC = await enrollMachine(hubUrl('c'), `charlie-${fleet.runId}`);
  sockets.push(onB.socket, onC.socket);
}, 240_000);

afterAll(async () => {
  for (const socket of sockets) socket.disconnect();
  for (const agent of agents) await agent.stop('SIGKILL');
  await fleet?.close();
  await redis?.kill();
  await proxy?.close();
  redisDir.remove();
});

describe.skipIf(severalHubsSkipReason !== null)('three hubs when Redis or PostgreSQL goes away', () => {
  it('Redis restarted empty: the hubs reconnect by themselves, accept commands meanwhile, presence and routing come back, agents stay connected', async () => {
    for (const peer of [onB, onC]) await waitFor(async () => ((await agentOn('a', peer.peer.agentId)).status === 'online' ? true : undefined), 15_000, `${peer.peer.name} online on A`);
    // A user whose dashboard is open on B, disabled on A while Redis is down (below).
    const username = `outage-user-${fleet.runId}`;
    const user = await api<{ id: string }>(hubUrl('a'), 'POST', '/api/users', { username, password: USER_PASSWORD, role: 'operator' });
    expect(user.status, JSON.stringify(user.body)).toBe(201);
    const login = await api<{ token: { token: string } }>(hubUrl('a'), 'POST', '/api/auth/login', { username, password: USER_PASSWORD, issue: 'token' });
    expect(login.status).toBe(200);
    const dashboardOnB = io(`${hubUrl('b')}${UI_NAMESPACE}`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token: login.body.token.token } });
    sockets.push(dashboardOnB);
    await new Promise<void>((resolve, reject) => {
      dashboardOnB.once('connect', () => resolve());
      dashboardOnB.once('connect_error', reject);
    });
    const dashboardClosed = new Promise<string>((resolve) => dashboardOnB.once('disconnect', (reason) => resolve(reason)));
    const ruleName = `made while Redis was down ${fleet.runId}`;
    // An admin's dashboard on C: told to read its lists again once C has Redis back.
    const dashboardOnC = await uiSocket(hubUrl('c'));
    sockets.push(dashboardOnC);
    const resyncs: Array<{ lostForMs: number }> = [];
    dashboardOnC.on('hub:resync', (event: { lostForMs: number }) => resyncs.push(event));

    await redis.kill();
    const killedAt = Date.now();
    await waitFor(async () => {
      for (const name of ['a', 'b', 'c']) if ((await ready(name)).body.redis !== 'lost') return undefined;
      return true;
    }, 30_000, 'every hub saying Redis is lost');
    for (const name of ['a', 'b', 'c']) expect((await ready(name)).status).toBe(503);

    // Made on A for the machine on B while no hub can reach another: stored, acknowledged.
    const queued = await api<Job>(hubUrl('a'), 'POST', `/api/agents/${onB.peer.agentId}/command?wait=false`, { command: { kind: 'shell', argv: ['/bin/echo', 'while down'] }, ttlMs: 300_000 });
    expect(queued.status, JSON.stringify(queued.body)).toBe(202);
    whileDown = { jobId: queued.body.id, commandId: queued.body.targets[0]!.commandId };
    // Changes whose broadcasts cannot reach the other hubs: B and C must learn them all the same.
    expect((await api(hubUrl('a'), 'PATCH', `/api/users/${user.body.id}`, { disabled: true })).status).toBe(200);
    expect((await api(hubUrl('a'), 'POST', '/api/alert-rules', { name: ruleName, condition: { kind: 'metric', metric: 'cpu', op: '>', threshold: 99, for: '5m' } })).status).toBe(201);

    await redis.start();
    const restartedAt = Date.now();
    await waitFor(async () => {
      for (const name of ['a', 'b', 'c']) if ((await ready(name)).status !== 200) return undefined;
      return true;
    }, 60_000, 'every hub ready again');
    const reconnectedAfterMs = Date.now() - restartedAt;

    // What A announced while Redis was down, missed by B and C, is read again there: the disabled
    // user's dashboard on B is closed, and the rule made on A is known on B and C.
    expect(await Promise.race([dashboardClosed, new Promise((resolve) => setTimeout(() => resolve('still open after 20 s'), 20_000))])).toBe('io server disconnect');
    await waitFor(async () => (resyncs.length > 0 ? true : undefined), 10_000, 'hub:resync on the dashboard on C');
    expect(resyncs[0]!.lostForMs).toBeGreaterThan(0);
    expect(resyncs[0]!.lostForMs).toBeLessThan(Date.now() - killedAt + 1_000);
    for (const name of ['b', 'c']) {
      await waitFor(async () => {
        const { body } = await api<{ rules: Array<{ name: string }> }>(hubUrl(name), 'GET', '/api/alert-rules');
        return body.rules.some((rule) => rule.name === ruleName) ? true : undefined;
      }, 20_000, `the rule made while Redis was down, known on ${name.toUpperCase()}`);
    }


    // Presence, lost with Redis's keys, is written again by the hubs that hold the machines.
    for (const name of ['a', 'b', 'c']) {
      await waitFor(async () => ((await agentOn(name, onB.peer.agentId)).hub === fleet.hub('b').id ? true : undefined), 20_000, `bravo held by B, as hub ${name} sees it`);
      await waitFor(async () => ((await agentOn(name, onC.peer.agentId)).hub === fleet.hub('c').id ? true : undefined), 20_000, `charlie held by C, as hub ${name} sees it`);
    }
    // Routing works again: a command from A reaches the machine on C, once.
    const after = await api<Job>(hubUrl('a'), 'POST', `/api/agents/${onC.peer.agentId}/command?wait=false`, { command: { kind: 'shell', argv: ['/bin/echo', 'after'] }, ttlMs: 300_000 });
    expect(after.status).toBe(202);
    const afterDone = await waitFor(async () => {
      const { body } = await api<Job>(hubUrl('a'), 'GET', `/api/jobs/${after.body.id}`);
      return body.targets[0]!.state === 'succeeded' ? body : undefined;
    }, 60_000, 'the command made after the restart, delivered');
    expect(afterDone.targets[0]).toMatchObject({ state: 'succeeded', stdout: `${onC.peer.name}: /bin/echo after\n` });
    expect(onC.runs.filter((id) => id === after.body.targets[0]!.commandId)).toHaveLength(1);
    // The agents never lost their connections; every hub still runs.
    expect([onB.disconnects, onC.disconnects]).toEqual([0, 0]);
    for (const hub of fleet.hubs) expect(hub.isAlive()).toBe(true);
    console.log(`several-hubs-outages: Redis down ${((restartedAt - killedAt) / 1000).toFixed(1)} s; every hub ready ${(reconnectedAfterMs / 1000).toFixed(1)} s after it came back`);
  }, 240_000);

  // Delivered by the sweeper (job-dispatch.ts, retryFailedSends): the agent stays connected and
  // ready, so no hello comes to send it, and the directory may name no hub for it for a moment
  // after Redis comes back empty.
  it('delivers, once, the command made while Redis was down (sent again while its agent stays connected)', async () => {
    const done = await waitFor(async () => {
      const { body } = await api<Job>(hubUrl('c'), 'GET', `/api/jobs/${whileDown!.jobId}`);
      return body.targets[0]!.state === 'succeeded' ? body : undefined;
    }, 60_000, 'the command made while Redis was down, delivered');
    expect(done.targets[0]!.stdout).toBe(`${onB.peer.name}: /bin/echo while down\n`);
    expect(onB.runs.filter((id) => id === whileDown!.commandId)).toHaveLength(1);
  }, 90_000);

  it('PostgreSQL unreachable for 10 s: agents stay connected, /ready goes false and comes back, no hub restarts, the heartbeats of the outage are stored', async () => {
    const token = await joinToken(hubUrl('a'), { uses: 2 });
    for (const name of ['a', 'b']) {
      agents.push(run([agentBundle, 'run', '--hub', hubUrl(name), '--token', token, '--name', `beat-${name}-${fleet.runId}`, '--state', path.join(fleet.dir, `agent-${name}`), '--interval', '1s'], { env: { FAROL_LOG_LEVEL: 'info' } }));
    }
    const links = (agent: Proc): number => agent.output().split('\n').filter((line) => line.includes('"msg":"connected to hub"')).length;
    await waitFor(() => (agents.every((agent) => links(agent) === 1) ? true : undefined), 30_000, 'both agents connected');
    const ids = await waitFor(async () => {
      const found = await Promise.all(['a', 'b'].map((name) => agentOn('c', `beat-${name}-${fleet.runId}`)));
      return found.every((agent) => agent.status === 'online') ? found.map((agent) => agent.id) : undefined;
    }, 30_000, 'both agents online');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const pids = fleet.hubs.map((hub) => hub.proc.child.pid);

    await proxy.cut();
    const cutAt = Date.now();
    const notReady = new Set<string>();
    while (Date.now() - cutAt < 10_000) {
      for (const name of ['a', 'b', 'c']) {
        const answer = await ready(name).catch(() => null);
        if (answer?.status === 503 && answer.body.database === 'error') notReady.add(name);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await proxy.restore();
    const restoredAt = Date.now();
    expect([...notReady].toSorted()).toEqual(['a', 'b', 'c']);

    await waitFor(async () => {
      for (const name of ['a', 'b', 'c']) if ((await ready(name)).status !== 200) return undefined;
      return true;
    }, 60_000, 'every hub ready again');
    const readyAfterMs = Date.now() - restoredAt;
    // The same processes: none exited or was restarted.
    expect(fleet.hubs.map((hub) => hub.proc.child.pid)).toEqual(pids);
    for (const hub of fleet.hubs) expect(hub.isAlive()).toBe(true);
    // The agents kept their connections (no second link), the peers too.
    expect(agents.map(links)).toEqual([1, 1]);
    expect([onB.disconnects, onC.disconnects]).toEqual([0, 0]);

    // The heartbeats of the outage: stored afterwards, with no hole.
    for (const id of ids) {
      const points = await waitFor(async () => {
        const { body } = await api<MetricsResponse>(hubUrl('c'), 'GET', `/api/agents/${id}/metrics?from=${cutAt - 3_000}&to=${restoredAt + 3_000}&resolution=raw`);
        const last = body.points.at(-1);
        return last && last.ts >= restoredAt + 1_000 ? body.points : undefined;
      }, 60_000, `the heartbeats of ${id}`);
      const gaps = points.slice(1).map((point, i) => point.ts - points[i]!.ts);
      expect(points.some((point) => point.ts > cutAt + 2_000 && point.ts < restoredAt - 2_000)).toBe(true);
      expect(Math.max(...gaps)).toBeLessThan(2_500);
    }
    console.log(`several-hubs-outages: PostgreSQL cut for ${((restoredAt - cutAt) / 1000).toFixed(1)} s; every hub ready ${(readyAfterMs / 1000).toFixed(1)} s after it came back`);
  }, 180_000);

  it('a starting hub ends the terminal sessions of hubs whose lease is gone and of its own previous run, not those of live hubs', async () => {
    const open = async (name: string): Promise<{ sessionId: string; operator: Socket }> => {
      const operator = await uiSocket(hubUrl(name));
      sockets.push(operator);
      const answer = await emitAck<TerminalOpenAck>(operator, 'terminal:open', { agentId: onB.peer.agentId, cols: 80, rows: 24 });
      if (!answer.ok) throw new Error(`terminal:open refused: ${answer.error.code} ${answer.error.message}`);
      return { sessionId: answer.data.sessionId, operator };
    };
    const session = async (id: string): Promise<{ closed_at: string | null; close_reason: string | null }> =>
      (await fleet.query<{ closed_at: string | null; close_reason: string | null }>('select closed_at, close_reason from terminal_sessions where id = $1', [id]))[0]!;
    // One session held by A, one by C, both to the machine on B.
    const { sessionId: onA, operator } = await open('a');
    const { sessionId: onCSession } = await open('c');
    await fleet.hub('c').proc.stop('SIGKILL');
    const probe = new Redis(fleet.redisUrl);
    try {
      await waitFor(async () => ((await probe.exists(`farol:0:hub:${fleet.hub('c').id}`)) === 0 ? true : undefined), HUB_LEASE_MS + 10_000, 'hub C\'s lease gone');
    } finally {
      probe.disconnect();
    }
    // A new hub: C's session is an orphan, A's is not (both decided in one pass, just after the hub answers /ready).
    await fleet.start('d');
    const ended = async (id: string): Promise<true | undefined> => ((await session(id)).closed_at !== null ? true : undefined);
    await waitFor(() => ended(onCSession), 30_000, 'hub C\'s session ended by hub D');
    expect(await session(onCSession)).toMatchObject({ close_reason: 'hub_shutdown' });
    expect(await session(onA)).toMatchObject({ closed_at: null, close_reason: null });
    // A's session still works both ways.
    const output: Buffer[] = [];
    operator.on('terminal:output', (payload: { data: Buffer }, ack: () => void) => {
      output.push(Buffer.from(payload.data));
      ack();
    });
    expect((await emitAck(operator, 'terminal:input', { sessionId: onA, data: Buffer.from('still here\r') })).ok).toBe(true);
    await waitFor(() => (Buffer.concat(output).toString() === 'echo: still here\r' ? true : undefined), 10_000, 'the echo back on A');

    // A killed and started again under its id: its previous run's session is ended by itself.
    await fleet.hub('a').proc.stop('SIGKILL');
    await fleet.start('a');
    await waitFor(() => ended(onA), 30_000, 'hub A\'s previous session ended by hub A');
    expect(await session(onA)).toMatchObject({ close_reason: 'hub_shutdown' });
  }, 240_000);
});
