import { contractFailure, networkFailure, responseFailure } from './api-error.js';

/**
 * The one place that talks HTTP to a hub. Every feature client (`createFarolClient`,
 * `createAlertsClient`, ...) declares its calls as {@link RequestSpec}s and hands them to a
 * {@link Transport}; the transport builds the URL and headers, applies the timeout, and turns
 * what came back into data or a FarolApiError (network failure, problem body, contract break).
 */

/** How to reach a hub. */
export interface FarolClientOptions {
  /** The hub's base URL, e.g. `http://127.0.0.1:8080` (a path prefix is kept). */
  baseUrl: string;
  /** An operator token, sent as `Authorization: Bearer`. Only health and ready work without. */
  token?: string | undefined;
  /** A fetch implementation; default the global one (Node 20 and browsers). */
  fetch?: typeof fetch;
  /** Abort a request that has not answered after this long; default 30 s, 0 for never. */
  timeoutMs?: number;
  /**
   * Extra headers for each request, by method: the dashboard's cookie session sends its CSRF
   * token on unsafe methods this way (issue #21: no patched global fetch).
   */
  headers?: ((method: HttpMethod) => Record<string, string>) | undefined;
  /** Whether the browser sends cookies (`same-origin` by default in browsers); unused in Node. */
  credentials?: 'omit' | 'same-origin' | 'include' | undefined;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type QueryValue = string | number | boolean | string[] | undefined;

/** The part of a zod schema the transport uses to check a response. */
export interface ResponseSchema<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false; error: unknown };
}

export interface RequestSpec<T> {
  method: HttpMethod;
  /** Path below the base URL, already encoded (see {@link segment}). */
  path: string;
  /** Appended as a query string; `undefined` values are left out, arrays repeat the key. */
  query?: Record<string, QueryValue>;
  /** Sent as JSON when defined. */
  body?: unknown;
  /** Schema of a 2xx body; omitted for answers without one (204). */
  schema?: ResponseSchema<T>;
  /** Overrides the transport's timeout (requests that wait for a command or a capture). */
  timeoutMs?: number;
  /** The Accept header; default `application/json`. */
  accept?: string;
}

export interface TransportDefaults {
  /** The timeout when the caller's options give none. */
  timeoutMs?: number;
  /** Extra headers for one request (CSRF, step-up OTP), computed per method. */
  headers?: (method: HttpMethod) => Record<string, string>;
}

export interface Transport {
  /** The normalised base URL (no trailing slash). */
  readonly baseUrl: string;
  /** The effective default timeout in ms (0: none). */
  readonly timeoutMs: number;
  /** Sends a request and returns its JSON body checked against `spec.schema` (undefined without one). */
  request: <T>(spec: RequestSpec<T>) => Promise<T>;
  /** Sends a request and returns the 2xx response unread, for binary bodies (PNGs, recordings): see readBody. */
  send: (spec: RequestSpec<unknown>) => Promise<Response>;
  /** Reads a 2xx response's body (`(r) => r.blob()`, ...); a body that breaks off mid-way is a network failure. */
  readBody: <T>(response: Response, read: (response: Response) => Promise<T>) => Promise<T>;
  /** The error for a 2xx response that is not what the protocol says (wrong content type, say). */
  contractBreak: (response: Response, spec: RequestSpec<unknown>, cause: unknown) => Error;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Removes trailing slashes so paths can be appended: `http://hub/` → `http://hub`. */
export function normalizeBaseUrl(baseUrl: string): string {
  return baseUrl.trim().replace(/\/+$/, '');
}

/** One path segment from an id or name, encoded: `segment('a/b')` → `a%2Fb`. */
export function segment(value: string): string {
  return encodeURIComponent(value);
}

/**
 * Creates a transport for one hub. Uses only `fetch`, `URL` and `AbortSignal`, so the same code
 * runs in the CLI (Node 20) and the dashboard (browser).
 */
export function createTransport(options: FarolClientOptions, defaults: TransportDefaults = {}): Transport {
  const baseUrl = normalizeBaseUrl(options.baseUrl);
  // Wrapped rather than stored: browsers throw "Illegal invocation" when fetch is called as a
  // method of another object.
  const doFetch: typeof fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const timeoutMs = options.timeoutMs ?? defaults.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const describe = (spec: RequestSpec<unknown>): string => `${spec.method} ${spec.path}`;

  async function send(spec: RequestSpec<unknown>): Promise<Response> {
    const headers: Record<string, string> = { accept: spec.accept ?? 'application/json' };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (defaults.headers) Object.assign(headers, defaults.headers(spec.method));
    if (options.headers) Object.assign(headers, options.headers(spec.method));
    if (spec.body !== undefined) headers['content-type'] = 'application/json';
    const wait = spec.timeoutMs ?? timeoutMs;

    let response: Response;
    try {
      response = await doFetch(buildUrl(baseUrl, spec.path, spec.query), {
        method: spec.method,
        headers,
        body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
        signal: wait > 0 ? AbortSignal.timeout(wait) : undefined,
        ...(options.credentials ? { credentials: options.credentials } : {}),
      });
    } catch (error) {
      throw networkFailure(baseUrl, error);
    }
    if (response.ok) return response;
    const body = parseJson(await readText(response, baseUrl));
    throw responseFailure(baseUrl, response.status, response.statusText, body);
  }

  return {
    baseUrl,
    timeoutMs,
    send,
    request: async <T>(spec: RequestSpec<T>): Promise<T> => {
      const response = await send(spec);
      const body = parseJson(await readText(response, baseUrl));
      if (!spec.schema) return undefined as T;
      const parsed = spec.schema.safeParse(body);
      if (!parsed.success) throw contractFailure(baseUrl, response.status, describe(spec), parsed.error);
      return parsed.data;
    },
    readBody: async <T>(response: Response, read: (response: Response) => Promise<T>): Promise<T> => {
      try {
        return await read(response);
      } catch (error) {
        throw networkFailure(baseUrl, error);
      }
    },
    contractBreak: (response, spec, cause) => contractFailure(baseUrl, response.status, describe(spec), cause),
  };
}

function buildUrl(baseUrl: string, path: string, query: Record<string, QueryValue> | undefined): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) params.append(key, String(item));
  }
  const search = params.toString();
  return `${baseUrl}${path}${search ? `?${search}` : ''}`;
}

async function readText(response: Response, baseUrl: string): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    // The status line arrived but the body did not: the connection dropped or timed out mid-way.
    throw networkFailure(baseUrl, error);
  }
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Not JSON (an HTML error page from a proxy, say): callers report it by status instead.
    return text;
  }
}
