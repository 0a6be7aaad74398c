import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { problemFor, type Agent } from '@farol/protocol';

/** One request as the fake hub saw it. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  authorization: string | undefined;
  body: unknown;
}

/** An answer: a status and a JSON body (none for 204), or a function of the request. */
export type Reply = { status: number; body?: unknown } | ((request: RecordedRequest) => { status: number; body?: unknown });

/** A node:http server that speaks the hub's API from a route table and records every request. */
export interface FakeHub {
  url: string;
  requests: RecordedRequest[];
  /** `METHOD /path` of each request, the quickest thing to assert on. */
  calls(): string[];
  close(): Promise<void>;
}

/** Starts a fake hub on 127.0.0.1 with a free port. Unknown routes answer a 404 problem. */
export async function startFakeHub(routes: Record<string, Reply>, options: { token?: string } = {}): Promise<FakeHub> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    readBody(req).then((text) => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const query: Record<string, string | string[]> = {};
      for (const key of new Set(url.searchParams.keys())) {
        const values = url.searchParams.getAll(key);
        query[key] = values.length === 1 ? values[0]! : values;
      }
      const request: RecordedRequest = {
        method: req.method ?? '',
        path: decodeURIComponent(url.pathname),
        query,
        authorization: req.headers.authorization,
        body: text ? (JSON.parse(text) as unknown) : undefined,
      };
      requests.push(request);
      const send = (status: number, body?: unknown) => {
        if (body === undefined) res.writeHead(status).end();
        else res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      if (options.token !== undefined && request.authorization !== `Bearer ${options.token}` && !request.path.startsWith('/health')) {
        send(401, problemFor('token_invalid', 'unknown token'));
        return;
      }
      const route = routes[`${request.method} ${request.path}`];
      const reply = typeof route === 'function' ? route(request) : route;
      if (reply) send(reply.status, reply.body);
      else send(404, problemFor('not_found', `nothing at ${request.path}`));
    }, (error: unknown) => {
      res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    calls: () => requests.map((r) => `${r.method} ${r.path}`),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Fixed "now" of the CLI tests: 2026-01-01 00:00:00 UTC. */
export const NOW = Date.UTC(2026, 0, 1);

/** An online agent with every kind of detail filled in. */
export function sampleAgent(overrides: Partial<Agent> = {}): Agent {
  return {
    id: 'ag_0123456789abcdef',
    name: 'web-1',
    hostname: 'web-1.lan',
    status: 'online',
    labels: { role: 'web', env: 'prod' },
    createdAt: NOW - 86_400_000,
    lastSeen: NOW - 12_000,
    keyFingerprint: 'q1w2e3r4',
    heartbeatIntervalMs: 5000,
    system: {
      hostname: 'web-1.lan',
      os: 'linux',
      distro: 'Debian GNU/Linux',
      release: '12',
      kernel: '6.1.0-18-amd64',
      arch: 'x64',
      cpuModel: 'AMD EPYC 7302',
      cpuCores: 16,
      memoryTotal: 64 * 1024 ** 3,
      agentVersion: '0.1.0',
      ips: [
        { interface: 'eth0', address: '192.168.1.10', family: 'IPv4', isTailscale: false },
        { interface: 'tailscale0', address: '100.101.102.103', family: 'IPv4', isTailscale: true },
      ],
    },
    latest: {
      ts: NOW - 12_000,
      cpu: { total: 12.4, perCore: [10, 14.8], load: [0.5, 0.4, 0.3] },
      memory: {
        total: 64 * 1024 ** 3,
        used: 29 * 1024 ** 3,
        available: 35 * 1024 ** 3,
        percent: 45.3,
        swapTotal: 0,
        swapUsed: 0,
        swapPercent: 0,
      },
      filesystems: [
        { mount: '/', device: '/dev/sda1', type: 'ext4', size: 100 * 1024 ** 3, used: 71 * 1024 ** 3, percent: 71 },
        { mount: '/data', device: '/dev/sdb1', type: 'xfs', size: 1024 ** 4, used: 100 * 1024 ** 3, percent: 9.8 },
      ],
      diskIo: { readBps: 1024 * 1024, writeBps: 2048 },
      network: { rxBps: 5000, txBps: 7000, interfaces: [] },
      uptimeSeconds: 90_061,
      processCount: 312,
      topCpu: [{ pid: 4242, name: 'postgres', user: 'postgres', cpu: 55.5, memory: 12.1, rss: 512 * 1024 ** 2 }],
      topMemory: [{ pid: 4242, name: 'postgres', user: 'postgres', cpu: 55.5, memory: 12.1, rss: 512 * 1024 ** 2 }],
      temperatures: { cpu: 48, max: 61 },
      gpus: [{ index: 0, name: 'NVIDIA RTX A4000', utilization: 37, memoryUsed: 4 * 1024 ** 3, memoryTotal: 16 * 1024 ** 3, temperature: 55, powerWatts: 70 }],
    },
    ...overrides,
  };
}
