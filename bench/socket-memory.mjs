#!/usr/bin/env node
// What one WebSocket connection costs the hub's heap below Farol's own code: a Socket.IO server
// configured as the hub configures it (no compression, the engine's request dropped at
// connection) and N socket.io-client connections from another process, live heap measured after
// a full collection. Variants (apps/hub/src/infra/socket-memory.ts): `plain` (as before issue
// #16), `release` (engine.io's upgrade response unsubscribed), `current` (and ws's mask in four
// bytes of its own: what the hub does for dashboards and third-party agents), `lean` (the hub's
// lean agent server, which Farol's agent asks for, apps/hub/src/infra/lean-socket-server.ts). Live heap does not depend on the
// machine's load, so this runs on a busy machine where bench/heartbeats.mjs cannot connect
// thousands of agents.
//   node bench/socket-memory.mjs [--connections 2000] [--variants plain,release,current,lean]
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseArgs } from 'node:util';
import { importHubSource, machine, sleep } from './lib.mjs';
import { loadAverage } from './pg.mjs';

const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '2000' },
    variants: { type: 'string', default: 'plain,release,current,lean' },
    role: { type: 'string', default: 'main' },
    variant: { type: 'string', default: 'plain' },
    url: { type: 'string', default: '' },
  },
});
const connections = Number(args.connections);

if (args.role === 'clients') {
  // N clients in one process, 100 connecting at a time; reports when all are connected.
  const { io } = await import('socket.io-client');
  const sockets = [];
  for (let i = 0; i < connections; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, connections - i) }, () => new Promise((resolve, reject) => {
        const socket = io(`${args.url}/bench`, { transports: ['websocket'], reconnection: false, timeout: 60_000, ...(args.variant === 'lean' ? { query: { link: 'lean' } } : {}) });
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
        sockets.push(socket);
      })),
    );
  }
  process.send({ connected: sockets.length });
  process.on('message', () => {
    for (const socket of sockets) socket.close();
    process.exit(0);
  });
} else if (args.role === 'server') {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc');
  const { Server } = await import('socket.io');
  const { releaseUpgradeRequests, releaseReceivedChunks, LeanSocketServer, isLeanUpgrade, createLogger } = await importHubSource('socket-memory', [
    "export { releaseUpgradeRequests, releaseReceivedChunks } from './apps/hub/src/infra/socket-memory.ts';",
    "export { LeanSocketServer, isLeanUpgrade } from './apps/hub/src/infra/lean-socket-server.ts';",
    "export { createLogger } from './apps/hub/src/infra/logger.ts';",
  ]);
  const http = createServer();
  let connected = 0;
  let lean = null;
  if (args.variant === 'lean') {
    // The hub's lean agent server (server.ts sends it the upgrades that ask for it).
    lean = new LeanSocketServer({
      namespace: '/bench',
      admit: (_socket, next) => next(),
      onConnection: () => connected++,
      maxPayload: 1_000_000,
      pingIntervalMs: 25_000,
      pingTimeoutMs: 20_000,
      logger: createLogger('silent'),
    });
    http.on('upgrade', (request, socket, head) => {
      if (isLeanUpgrade(request)) lean.handleUpgrade(request, socket, head);
    });
  }
  const server = args.variant === 'lean' ? null : new Server(http, { perMessageDeflate: false, serveClient: false, pingInterval: 25_000, pingTimeout: 20_000 });
  server?.engine.on('connection', (rawSocket) => {
    rawSocket.request = null;
  });
  if (server && args.variant !== 'plain') releaseUpgradeRequests(server.engine);
  if (args.variant === 'current' || args.variant === 'lean') {
    const { Receiver } = await import('ws');
    releaseReceivedChunks(Receiver);
  }
  server?.of('/bench').on('connection', () => connected++);
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  const live = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await sleep(200);
    }
    return process.memoryUsage().heapUsed;
  };
  const idle = await live();
  const clients = fork(new URL(import.meta.url), ['--role', 'clients', '--variant', args.variant, '--connections', String(connections), '--url', `http://127.0.0.1:${http.address().port}`]);
  await new Promise((resolve) => clients.once('message', resolve));
  while (connected < connections) await sleep(100);
  const loaded = await live();
  const rss = process.memoryUsage().rss;
  clients.send('stop');
  await new Promise((resolve) => clients.once('exit', resolve));
  await server?.close();
  if (lean) {
    await lean.close();
    await new Promise((resolve) => http.close(resolve));
  }
  process.send({ variant: args.variant, idleHeapMiB: idle / 2 ** 20, heapMiB: loaded / 2 ** 20, rssMiB: rss / 2 ** 20, bytesPerConnection: (loaded - idle) / connections });
} else {
  const results = [];
  for (const variant of args.variants.split(',')) {
    const child = fork(new URL(import.meta.url), ['--role', 'server', '--variant', variant, '--connections', String(connections)]);
    const [result] = await Promise.all([new Promise((resolve) => child.once('message', resolve)), new Promise((resolve) => child.once('exit', resolve))]);
    results.push({
      variant,
      heapPerConnectionKiB: +(result.bytesPerConnection / 1024).toFixed(2),
      liveHeapMiB: +result.heapMiB.toFixed(1),
      idleHeapMiB: +result.idleHeapMiB.toFixed(1),
      rssMiB: +result.rssMiB.toFixed(1),
    });
  }
  console.log(JSON.stringify({ when: new Date().toISOString(), machine: machine(), loadAverage: loadAverage(), connections, results }, null, 2));
}
