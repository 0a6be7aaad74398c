import { ScreenshotInfoSchema, SCREENSHOT_MEDIA_TYPE, type ScreenshotInfo, type ScreenshotRequest } from '@farol/protocol';
import { contractFailure, networkFailure, responseFailure } from './api-error.js';
import { normalizeBaseUrl, type FarolClientOptions } from './http.client.js';

/** A PNG and what the hub says about it. */
export interface ScreenshotImage {
  /** The stored screenshot's id, for `getScreenshot`. */
  id: string;
  jobId: string | null;
  png: Uint8Array;
}

/** Screenshots (issue #3). Throws FarolApiError on failure (no_display, command_refused, agent_offline ...). */
export interface ScreenshotsClient {
  /** Takes one now and returns the PNG (`POST /api/agents/:id/screenshot`). */
  takeScreenshot(agentRef: string, request?: ScreenshotRequest): Promise<ScreenshotImage>;
  /** Takes one now and returns its metadata, with the URL of the image. */
  takeScreenshotInfo(agentRef: string, request?: ScreenshotRequest): Promise<ScreenshotInfo>;
  /** A stored screenshot's PNG. */
  getScreenshot(id: string): Promise<ScreenshotImage>;
}

export function createScreenshotsClient(options: FarolClientOptions): ScreenshotsClient {
  const baseUrl = normalizeBaseUrl(options.baseUrl);
  const doFetch: typeof fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  // A capture plus its upload takes up to 30 s on the hub's side, then some.
  const timeoutMs = options.timeoutMs ?? 45_000;

  async function call(method: 'GET' | 'POST', path: string, accept: string, body?: ScreenshotRequest): Promise<Response> {
    const headers: Record<string, string> = { accept };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await doFetch(`${baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: timeoutMs > 0 ? AbortSignal.timeout(Math.max(timeoutMs, (body?.timeoutMs ?? 0) + 10_000)) : undefined,
      });
    } catch (error) {
      throw networkFailure(baseUrl, error);
    }
    if (response.ok) return response;
    let text = '';
    try {
      text = await response.text();
    } catch (error) {
      throw networkFailure(baseUrl, error);
    }
    let parsed: unknown = text;
    try {
      parsed = text === '' ? text : JSON.parse(text);
    } catch (error) {
      // Not JSON (a proxy's error page): responseFailure describes it by status.
      if (!(error instanceof SyntaxError)) throw error;
    }
    throw responseFailure(baseUrl, response.status, response.statusText, parsed);
  }

  async function image(response: Response, what: string): Promise<ScreenshotImage> {
    const type = response.headers.get('content-type') ?? '';
    if (!type.startsWith(SCREENSHOT_MEDIA_TYPE)) throw contractFailure(baseUrl, response.status, what, new Error(`expected ${SCREENSHOT_MEDIA_TYPE}, got ${type || 'no content type'}`));
    let png: Uint8Array;
    try {
      png = new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      throw networkFailure(baseUrl, error);
    }
    return { id: response.headers.get('x-farol-screenshot-id') ?? '', jobId: response.headers.get('x-farol-job-id'), png };
  }

  return {
    async takeScreenshot(agentRef, request = {}) {
      const path = `/api/agents/${encodeURIComponent(agentRef)}/screenshot`;
      return image(await call('POST', path, SCREENSHOT_MEDIA_TYPE, request), `POST ${path}`);
    },
    async takeScreenshotInfo(agentRef, request = {}) {
      const path = `/api/agents/${encodeURIComponent(agentRef)}/screenshot`;
      const response = await call('POST', path, 'application/json', request);
      let body: unknown;
      try {
        body = await response.json();
      } catch (error) {
        throw contractFailure(baseUrl, response.status, `POST ${path}`, error);
      }
      const parsed = ScreenshotInfoSchema.safeParse(body);
      if (!parsed.success) throw contractFailure(baseUrl, response.status, `POST ${path}`, parsed.error);
      return parsed.data;
    },
    async getScreenshot(id) {
      const path = `/api/screenshots/${encodeURIComponent(id)}`;
      return image(await call('GET', path, SCREENSHOT_MEDIA_TYPE), `GET ${path}`);
    },
  };
}
