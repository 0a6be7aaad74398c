import { ScreenshotInfoSchema, SCREENSHOT_MEDIA_TYPE, type ScreenshotInfo, type ScreenshotRequest } from '@farol/protocol';
import { createTransport, segment, type FarolClientOptions, type RequestSpec } from './transport.js';

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
  // A capture plus its upload takes up to 30 s on the hub's side, then some.
  const transport = createTransport(options, { timeoutMs: 45_000 });
  const capture = (agentRef: string, request: ScreenshotRequest, accept: string): RequestSpec<unknown> => ({
    method: 'POST',
    path: `/api/agents/${segment(agentRef)}/screenshot`,
    body: request,
    accept,
    // A capture asked to wait longer than the client's timeout gets its wait plus 10 s.
    timeoutMs: transport.timeoutMs > 0 ? Math.max(transport.timeoutMs, (request.timeoutMs ?? 0) + 10_000) : 0,
  });

  /** Sends a request for a PNG and checks that a PNG came back. */
  async function image(spec: RequestSpec<unknown>): Promise<ScreenshotImage> {
    const response = await transport.send(spec);
    const type = response.headers.get('content-type') ?? '';
    if (!type.startsWith(SCREENSHOT_MEDIA_TYPE)) throw transport.contractBreak(response, spec, new Error(`expected ${SCREENSHOT_MEDIA_TYPE}, got ${type || 'no content type'}`));
    const png = new Uint8Array(await transport.readBody(response, (body) => body.arrayBuffer()));
    return { id: response.headers.get('x-farol-screenshot-id') ?? '', jobId: response.headers.get('x-farol-job-id'), png };
  }

  return {
    takeScreenshot: (agentRef, request = {}) => image(capture(agentRef, request, SCREENSHOT_MEDIA_TYPE)),
    takeScreenshotInfo: (agentRef, request = {}) => transport.request({ ...capture(agentRef, request, 'application/json'), schema: ScreenshotInfoSchema }),
    getScreenshot: (id) => image({ method: 'GET', path: `/api/screenshots/${segment(id)}`, accept: SCREENSHOT_MEDIA_TYPE }),
  };
}
