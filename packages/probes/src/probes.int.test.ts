import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpProbeSchema, PingProbeSchema } from '@farol/protocol';
import { runCommandProbe, runHttpProbe, runPingProbe, runProbe } from './index.js';

let server: http.Server;
let base: string;
const dir = mkdtempSync(path.join(tmpdir(), 'farol-probes-'));

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/moved') {
      res.writeHead(302, { location: '/target' }).end();
    } else if (req.url === '/slow') {
      setTimeout(() => res.end('late'), 150);
    } else if (req.url === '/missing') {
      res.writeHead(404).end('no');
    } else res.end(`you asked for ${req.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const httpProbe = (input: Record<string, unknown>) => HttpProbeSchema.parse({ kind: 'http', ...input });

describe('probes against loopback (#19)', () => {
  it('follows redirects, or takes the 3xx as the answer when told not to', async () => {
    expect(await runHttpProbe(httpProbe({ url: `${base}/moved`, keyword: '/target' }), 2_000)).toMatchObject({ status: 'ok' });
    expect(await runHttpProbe(httpProbe({ url: `${base}/moved`, followRedirects: false, expectStatus: [200] }), 2_000)).toMatchObject({ status: 'critical', message: 'HTTP 302, expected 200' });
  });

  it('connects where the pin says and never resolves the name itself; a refusing pin stops the run before any connection (#19)', async () => {
    const port = (server.address() as AddressInfo).port;
    const asked: string[] = [];
    const pin = (host: string) => {
      asked.push(host);
      return Promise.resolve('127.0.0.1');
    };
    // `.invalid` never resolves (RFC 6761): only the pin can make these reach the loopback server.
    expect(await runProbe(httpProbe({ url: `http://farol-pinned.invalid:${port}/pinned`, keyword: '/pinned' }), 2_000, { allowCommand: false, pinHost: pin })).toMatchObject({ status: 'ok' });
    expect(await runProbe({ kind: 'tcp', host: 'farol-pinned.invalid', port }, 2_000, { allowCommand: false, pinHost: pin })).toMatchObject({ status: 'ok' });
    expect(asked).toEqual(['farol-pinned.invalid', 'farol-pinned.invalid']);
    let connections = 0;
    const count = () => (connections += 1);
    server.on('connection', count);
    const refuse = () => Promise.reject(new Error('is linkLocal; checks run by the hub never go there'));
    const refused = await runProbe(httpProbe({ url: `${base}/never` }), 2_000, { allowCommand: false, pinHost: refuse });
    const refusedTcp = await runProbe({ kind: 'tcp', host: '127.0.0.1', port }, 2_000, { allowCommand: false, pinHost: refuse });
    server.off('connection', count);
    expect([refused.status, refused.message, refusedTcp.status]).toEqual(['critical', 'is linkLocal; checks run by the hub never go there', 'critical']);
    expect(connections).toBe(0);
  });

  it('says WARNING above the latency threshold, CRITICAL on an unexpected status or a timeout', async () => {
    expect(await runHttpProbe(httpProbe({ url: `${base}/slow`, maxLatencyMs: 50 }), 2_000)).toMatchObject({ status: 'warning', message: expect.stringContaining('slower than 50 ms') });
    expect(await runHttpProbe(httpProbe({ url: `${base}/missing` }), 2_000)).toMatchObject({ status: 'critical', message: 'HTTP 404, expected 2xx or 3xx' });
    expect(await runHttpProbe(httpProbe({ url: `${base}/slow` }), 50)).toMatchObject({ status: 'critical', message: 'no answer within 50 ms' });
  });

  it('pings 127.0.0.1 through the system\'s ping, and says UNKNOWN when there is no ping', async () => {
    const result = await runPingProbe(PingProbeSchema.parse({ kind: 'ping', host: '127.0.0.1', count: 2 }), 3_000);
    expect(result).toMatchObject({ status: 'ok', message: expect.stringMatching(/^127\.0\.0\.1: 2\/2 replies/) });
    expect(result.perfdata.map((p) => p.label)).toEqual(['rta', 'pl']);
    expect(await runPingProbe(PingProbeSchema.parse({ kind: 'ping', host: '127.0.0.1' }), 1_000, path.join(dir, 'no-ping-here'))).toMatchObject({ status: 'unknown', message: expect.stringContaining('iputils-ping') });
  });

  it('runs a plugin as argv with its state, kills it at the timeout, and refuses it when not allowed', async () => {
    const plugin = path.join(dir, 'check_args.sh');
    writeFileSync(plugin, '#!/bin/sh\necho "CRITICAL - got $# args: $1 | n=$#"\nexit 2\n');
    chmodSync(plugin, 0o755);
    // A shell would split and expand this argument; argv passes it whole.
    expect(await runCommandProbe({ kind: 'command', argv: [plugin, '$(id) ; x'] }, 2_000)).toMatchObject({
      status: 'critical',
      message: 'CRITICAL - got 1 args: $(id) ; x',
      perfdata: [{ label: 'n', value: 1, unit: null, warn: null, crit: null, min: null, max: null }],
    });
    const sleeper = path.join(dir, 'check_sleep.sh');
    writeFileSync(sleeper, '#!/bin/sh\nsleep 5\n');
    chmodSync(sleeper, 0o755);
    expect(await runCommandProbe({ kind: 'command', argv: [sleeper] }, 200)).toMatchObject({ status: 'unknown', message: 'the plugin did not finish within 200 ms' });
    expect(await runProbe({ kind: 'command', argv: [plugin] }, 1_000, { allowCommand: false, refusal: 'not here' })).toMatchObject({ status: 'unknown', message: 'not here' });
  });
});
