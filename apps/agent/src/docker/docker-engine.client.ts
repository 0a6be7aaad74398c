import http from 'node:http';
import { isContainerRef } from '@farol/protocol';

/** The Engine API version the agent speaks: 1.41 (Docker 20.10) is the first with `one-shot` stats. */
export const DOCKER_API_VERSION = 'v1.41';
export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';
/** Largest JSON answer read from the engine (a `containers/json` of hundreds of containers fits). */
const MAX_JSON_BYTES = 16 * 1024 * 1024;

/** Where the engine listens: a unix socket, or host:port over plain TCP. */
export type DockerEndpoint = { kind: 'unix'; socketPath: string; label: string } | { kind: 'tcp'; host: string; port: number; label: string };

/**
 * Reads the endpoint the way the docker CLI does: `unix:///path` or `tcp://host:port`; a bare
 * absolute path is taken as a socket. Empty means the default socket. TLS endpoints
 * (DOCKER_TLS_VERIFY) are not supported: the agent refuses them rather than talk in clear.
 */
export function parseDockerHost(value: string | undefined, env: NodeJS.ProcessEnv = {}): DockerEndpoint {
  const text = value?.trim() ?? '';
  if (text === '') return { kind: 'unix', socketPath: DEFAULT_DOCKER_SOCKET, label: `unix://${DEFAULT_DOCKER_SOCKET}` };
  if (text.startsWith('/')) return { kind: 'unix', socketPath: text, label: `unix://${text}` };
  if (text.startsWith('unix://')) {
    const socketPath = text.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw new Error(`DOCKER_HOST ${text}: a unix socket needs an absolute path (unix:///var/run/docker.sock)`);
    return { kind: 'unix', socketPath, label: text };
  }
  if (text.startsWith('tcp://')) {
    if (env.DOCKER_TLS_VERIFY) throw new Error('DOCKER_TLS_VERIFY is set: TLS to the Docker engine is not supported by the agent; use a unix socket or a plain tcp:// endpoint on a trusted network');
    const url = new URL(`http://${text.slice('tcp://'.length)}`);
    const port = url.port === '' ? 2375 : Number(url.port);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    return { kind: 'tcp', host, port, label: `tcp://${url.host}` };
  }
  throw new Error(`DOCKER_HOST ${text}: use unix:///path/to/docker.sock or tcp://host:port`);
}

/** An Engine API answer that is not 2xx. `status` 404 means "no such container". */
export class DockerApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'DockerApiError';
    this.status = status;
  }
}

/** The engine cannot be reached at all (no socket, connection refused, permission denied). */
export class DockerUnavailableError extends Error {
  readonly code: string | undefined;
  constructor(message: string, options: { cause: unknown; code: string | undefined }) {
    super(message, { cause: options.cause });
    this.name = 'DockerUnavailableError';
    this.code = options.code;
  }
}

export interface DockerRequest {
  method?: 'GET' | 'POST' | 'DELETE';
  /** A JSON body (container create); only ever a value this agent built from a validated command. */
  body?: unknown;
  /** Path below the API version, e.g. `/containers/json`. Only built by this module's helpers. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** `X-Registry-Auth` (a pull, a distribution lookup): a private registry's login; never logged (ADR 0023). */
  registryAuth?: string | undefined;
}

/** The few Engine API calls the agent makes, over plain node:http (no dependency). */
export interface DockerClient {
  readonly endpoint: DockerEndpoint;
  /** A JSON answer (throws DockerApiError on non-2xx, DockerUnavailableError when unreachable). */
  json<T>(request: DockerRequest): Promise<T>;
  /** A raw answer body as a stream (logs). */
  stream(request: DockerRequest): Promise<http.IncomingMessage>;
  /** `POST` (or `DELETE`) that answers 2xx or 304 (restart/stop/start/remove); true unless 304 "nothing to do". */
  action(request: DockerRequest): Promise<boolean>;
}

const UNREACHABLE_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'EPERM', 'ENOTSOCK', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT']);

/**
 * The API path of one container. The reference is checked again here (the protocol schema
 * checked it already): this is the last line before a path, so nothing odd reaches the engine.
 */
export function containerPath(ref: string, suffix = ''): string {
  if (!isContainerRef(ref)) throw new Error(`not a container name or id: ${JSON.stringify(ref).slice(0, 80)}`);
  return `/containers/${ref}${suffix}`;
}

export function createDockerClient(endpoint: DockerEndpoint): DockerClient {
  function open(request: DockerRequest): Promise<http.IncomingMessage> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(request.query ?? {})) if (value !== undefined) query.set(key, String(value));
    const search = query.size > 0 ? `?${query.toString()}` : '';
    const path = `/${DOCKER_API_VERSION}${request.path}${search}`;
    return new Promise((resolve, reject) => {
      const body = request.body === undefined ? null : Buffer.from(JSON.stringify(request.body), 'utf8');
      const req = http.request({
        ...(endpoint.kind === 'unix' ? { socketPath: endpoint.socketPath } : { host: endpoint.host, port: endpoint.port }),
        // The engine checks Host like any HTTP server; over a socket any name will do.
        headers: {
          host: 'docker',
          accept: 'application/json',
          ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
          ...(request.registryAuth ? { 'x-registry-auth': request.registryAuth } : {}),
        },
        method: request.method ?? 'GET',
        path,
        agent: false,
        ...(request.signal ? { signal: request.signal } : {}),
        ...(request.timeoutMs ? { timeout: request.timeoutMs } : {}),
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`the Docker engine did not answer within ${request.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('response', resolve);
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code && UNREACHABLE_CODES.has(error.code)) {
          reject(new DockerUnavailableError(`no Docker engine at ${endpoint.label} (${error.code})`, { cause: error, code: error.code }));
        } else reject(error);
      });
      req.end(body ?? undefined);
    });
  }

  async function readBody(response: http.IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_JSON_BYTES) {
        response.destroy();
        throw new Error(`the Docker engine answered more than ${MAX_JSON_BYTES} bytes`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  async function failure(response: http.IncomingMessage): Promise<DockerApiError> {
    const text = await readBody(response);
    let message = text.trim();
    try {
      const parsed = JSON.parse(text) as { message?: unknown };
      if (typeof parsed.message === 'string') message = parsed.message;
    } catch (error) {
      // Not JSON (a proxy's error page): keep the text as it came.
      message = `${message || `HTTP ${response.statusCode}`}${error instanceof SyntaxError ? '' : ` (${String(error)})`}`;
    }
    return new DockerApiError(response.statusCode ?? 0, message.slice(0, 500));
  }

  return {
    endpoint,
    async json<T>(request: DockerRequest): Promise<T> {
      const response = await open(request);
      const status = response.statusCode ?? 0;
      if (status < 200 || status >= 300) throw await failure(response);
      return JSON.parse(await readBody(response)) as T;
    },
    async stream(request) {
      const response = await open(request);
      const status = response.statusCode ?? 0;
      if (status < 200 || status >= 300) throw await failure(response);
      return response;
    },
    async action(request) {
      const response = await open({ ...request, method: request.method ?? 'POST' });
      const status = response.statusCode ?? 0;
      if (status === 304) {
        response.resume();
        return false;
      }
      if (status < 200 || status >= 300) throw await failure(response);
      response.resume();
      return true;
    },
  };
}
