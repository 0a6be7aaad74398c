import {
  SecretListSchema,
  SecretRevealSchema,
  SecretSummarySchema,
  type SecretList,
  type SecretPut,
  type SecretReveal,
  type SecretSummary,
} from '@farol/protocol';
import { contractFailure, networkFailure, responseFailure } from './api-error.js';
import { normalizeBaseUrl, type FarolClientOptions } from './http.client.js';

/** Operator secrets of a hub (issue #6). Every method throws FarolApiError on failure. */
export interface SecretsClient {
  listSecrets(): Promise<SecretList>;
  getSecret(name: string): Promise<SecretSummary>;
  /** Creates or replaces; the value is write-only from here on. */
  putSecret(name: string, input: SecretPut): Promise<SecretSummary>;
  deleteSecret(name: string): Promise<void>;
  /** The one read of a value: audited by the hub, needs `secrets:read`. */
  revealSecret(name: string): Promise<SecretReveal>;
}

interface Parser<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false; error: unknown };
}

export function createSecretsClient(options: FarolClientOptions): SecretsClient {
  const baseUrl = normalizeBaseUrl(options.baseUrl);
  const doFetch: typeof fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const timeoutMs = options.timeoutMs ?? 30_000;

  async function request<T>(method: 'GET' | 'PUT' | 'POST' | 'DELETE', name: string | null, suffix: string, body: unknown, schema: Parser<T> | null): Promise<T> {
    const path = `/api/secrets${name === null ? '' : `/${encodeURIComponent(name)}`}${suffix}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await doFetch(`${baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined,
      });
    } catch (error) {
      throw networkFailure(baseUrl, error);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw networkFailure(baseUrl, error);
    }
    let parsedBody: unknown = text;
    if (text !== '') {
      try {
        parsedBody = JSON.parse(text);
      } catch {
        // Not JSON (a proxy's error page): responseFailure describes it by status.
        parsedBody = text;
      }
    }
    if (!response.ok) throw responseFailure(baseUrl, response.status, response.statusText, parsedBody);
    if (!schema) return undefined as T;
    const parsed = schema.safeParse(parsedBody);
    if (!parsed.success) throw contractFailure(baseUrl, response.status, `${method} ${path}`, parsed.error);
    return parsed.data;
  }

  return {
    listSecrets: () => request('GET', null, '', undefined, SecretListSchema),
    getSecret: (name) => request('GET', name, '', undefined, SecretSummarySchema),
    putSecret: (name, input) => request('PUT', name, '', input, SecretSummarySchema),
    deleteSecret: (name) => request('DELETE', name, '', undefined, null),
    revealSecret: (name) => request('POST', name, '/reveal', undefined, SecretRevealSchema),
  };
}
