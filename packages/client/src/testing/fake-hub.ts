import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { problemFor } from '@farol/protocol';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Reply {
  status: number;
  /** JSON (objects), text (strings) or bytes; none for an empty answer. */
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

/** A node:http server that records each request and answers from a route table, like the hub. */
export async function startFakeHub(routes: Record<string, Reply>) {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      requests.push({ method: req.method ?? '', path: url.pathname, query: url.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const reply = routes[`${req.method} ${url.pathname}`] ?? { status: 404, body: problemFor('not_found', `no route ${url.pathname}`) };
      if (reply.body === undefined) {
        res.writeHead(reply.status, reply.headers).end();
        return;
      }
      const payload = reply.body instanceof Uint8Array ? reply.body : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      res.writeHead(reply.status, { 'content-type': reply.contentType ?? 'application/json', ...reply.headers }).end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type FakeHub = Awaited<ReturnType<typeof startFakeHub>>;
