import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { problemFor } from '@farol/protocol';

/** One request as the fake hub saw it. */
export interface RecordedRequest {
  method: string;
  /** The path as sent, still percent-encoded: `/api/agents/web%201`. */
  rawPath: string;
  /** The path decoded: `/api/agents/web 1`. */
  path: string;
  searchParams: URLSearchParams;
  /** The query as an object: a repeated key gives an array. */
  query: Record<string, string | string[]>;
  headers: IncomingHttpHeaders;
  authorization: string | undefined;
  /** The body as text ('' for none). */
  text: string;
  /** The body parsed as JSON; the text when it is not JSON; undefined when empty. */
  body: unknown;
}

/** An answer: JSON (objects), text (strings) or bytes; none for an empty answer (204). */
export interface ReplyValue {
  status: number;
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

/** A fixed answer, or one computed from the request. */
export type Reply = ReplyValue | ((request: RecordedRequest) => ReplyValue);

export interface FakeHubOptions {
  /** When set, requests without `Authorization: Bearer <token>` get a 401 (except /health). */
  token?: string;
}

/** A node:http server on 127.0.0.1 that speaks the hub's API from a route table and records every request. */
export interface FakeHub {
  url: string;
  requests: RecordedRequest[];
  /** `METHOD /path` of each request, the quickest thing to assert on. */
  calls(): string[];
  close(): Promise<void>;
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Not JSON: tests of text and binary bodies read it as it came.
    return text;
  }
}

/**
 * Starts a fake hub on a free port. Routes are keyed `METHOD /path`, the path either as sent
 * (encoded) or decoded; unknown routes answer a 404 problem body like the hub's.
 */
export async function startFakeHub(routes: Record<string, Reply>, options: FakeHubOptions = {}): Promise<FakeHub> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    readBody(req).then(
      (text) => {
        const url = new URL(req.url ?? '/', 'http://fake');
        const query: Record<string, string | string[]> = {};
        for (const key of new Set(url.searchParams.keys())) {
          const values = url.searchParams.getAll(key);
          query[key] = values.length === 1 ? values[0]! : values;
        }
        const request: RecordedRequest = {
          method: req.method ?? '',
          rawPath: url.pathname,
          path: decodeURIComponent(url.pathname),
          searchParams: url.searchParams,
          query,
          headers: req.headers,
          authorization: req.headers.authorization,
          text,
          body: parseBody(text),
        };
        requests.push(request);
        if (options.token !== undefined && request.authorization !== `Bearer ${options.token}` && !request.path.startsWith('/health')) {
          res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify(problemFor('token_invalid', 'unknown token')));
          return;
        }
        const route = routes[`${request.method} ${request.rawPath}`] ?? routes[`${request.method} ${request.path}`];
        const reply = (typeof route === 'function' ? route(request) : route) ?? { status: 404, body: problemFor('not_found', `no route ${request.path}`) };
        if (reply.body === undefined) {
          res.writeHead(reply.status, reply.headers).end();
          return;
        }
        const payload = reply.body instanceof Uint8Array ? reply.body : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
        res.writeHead(reply.status, { 'content-type': reply.contentType ?? 'application/json', ...reply.headers }).end(payload);
      },
      (error: unknown) => {
        // The request broke off mid-body: answer what a hub would, the test sees the 500.
        res.writeHead(500).end(String(error));
      },
    );
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
