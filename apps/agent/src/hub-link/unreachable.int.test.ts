import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_NAMESPACE } from '@farol/protocol';
import { describeUnreachable } from './hub-link.client.js';

/*
 * The agent's "cannot reach the hub" warning says which of the usual mistakes it is (issue #12),
 * from the errors the real Socket.IO client gives against real local servers.
 */

const dir = mkdtempSync(path.join(tmpdir(), 'farol-unreachable-'));
const servers: Server[] = [];

function listen(server: Server): Promise<string> {
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function connectError(url: string): Promise<Error> {
  return new Promise((resolve) => {
    const socket = io(`${url}${AGENT_NAMESPACE}`, { transports: ['websocket'], reconnection: false, forceNew: true, timeout: 5_000, rejectUnauthorized: true });
    socket.once('connect_error', (error: Error) => {
      socket.close();
      resolve(error);
    });
  });
}

let webPage: string;
let selfSigned: string;
let closedPort: string;

beforeAll(async () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'self.key', '-out', 'self.pem', '-days', '2', '-subj', '/CN=localhost'], { cwd: dir, stdio: 'pipe' });
  webPage = await listen(createServer((_request, response) => response.writeHead(404).end('not here')));
  selfSigned = await listen(createHttpsServer({ key: readFileSync(path.join(dir, 'self.key')), cert: readFileSync(path.join(dir, 'self.pem')) }, (_request, response) => response.end()));
  const released = createServer();
  closedPort = await listen(released);
  await new Promise((resolve) => released.close(resolve));
});

afterAll(() => {
  for (const server of servers) server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('why the hub cannot be reached (#12)', () => {
  it('says nothing is listening when the port is closed (#12)', async () => {
    const url = `http://${closedPort}`;
    expect(describeUnreachable(await connectError(url), url)).toEqual({ kind: 'nothing_listening', text: expect.stringContaining(`nothing is listening at ${url}`) });
  });

  it('says it is not a Farol hub when HTTP answers but no hub does (#12)', async () => {
    const url = `http://${webPage}`;
    expect(describeUnreachable(await connectError(url), url)).toEqual({ kind: 'not_a_farol_hub', text: expect.stringContaining('answers HTTP 404 but is not a Farol hub') });
  });

  it('says TLS failed for a certificate it does not trust, and for https to a plain HTTP port (#12)', async () => {
    const untrusted = `https://${selfSigned}`;
    expect(describeUnreachable(await connectError(untrusted), untrusted)).toEqual({ kind: 'tls', text: expect.stringMatching(/TLS with .* failed: self-signed certificate.*--ca-file/) });
    const plain = `https://${webPage}`;
    expect(describeUnreachable(await connectError(plain), plain).kind).toBe('tls');
  });
});
