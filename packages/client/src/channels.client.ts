import {
  ChannelListSchema,
  ChannelSchema,
  DeliveryResultSchema,
  OutboxListSchema,
  WebhookListSchema,
  WebhookSchema,
  type Channel,
  type ChannelCreateInput,
  type ChannelList,
  type ChannelPatch,
  type DeliveryResult,
  type OutboxList,
  type OutboxState,
  type Webhook,
  type WebhookCreateInput,
  type WebhookPatch,
} from '@farol/protocol';
import { contractFailure, networkFailure, responseFailure } from './api-error.js';
import { normalizeBaseUrl, type FarolClientOptions } from './http.client.js';

/** Notification channels, event webhooks and the outbox of a hub (issue #4). Throws FarolApiError on failure. */
export interface ChannelsClient {
  listChannels(): Promise<ChannelList>;
  getChannel(ref: string): Promise<Channel>;
  createChannel(input: ChannelCreateInput): Promise<Channel>;
  updateChannel(ref: string, patch: ChannelPatch): Promise<Channel>;
  deleteChannel(ref: string): Promise<void>;
  /** Sends a test message now; the answer is the provider's, not the hub's. */
  testChannel(ref: string): Promise<DeliveryResult>;
  listWebhooks(): Promise<{ webhooks: Webhook[] }>;
  createWebhook(input: WebhookCreateInput): Promise<Webhook>;
  updateWebhook(ref: string, patch: WebhookPatch): Promise<Webhook>;
  deleteWebhook(ref: string): Promise<void>;
  testWebhook(ref: string): Promise<DeliveryResult>;
  listOutbox(query?: { state?: OutboxState; limit?: number }): Promise<OutboxList>;
}

interface Parser<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false; error: unknown };
}

export function createChannelsClient(options: FarolClientOptions): ChannelsClient {
  const baseUrl = normalizeBaseUrl(options.baseUrl);
  const doFetch: typeof fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const timeoutMs = options.timeoutMs ?? 30_000;

  async function request<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body: unknown, schema: Parser<T> | null): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    let text: string;
    try {
      response = await doFetch(`${baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined,
      });
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

  const channel = (ref: string) => `/api/channels/${encodeURIComponent(ref)}`;
  const webhook = (ref: string) => `/api/webhooks/${encodeURIComponent(ref)}`;
  return {
    listChannels: () => request('GET', '/api/channels', undefined, ChannelListSchema),
    getChannel: (ref) => request('GET', channel(ref), undefined, ChannelSchema),
    createChannel: (input) => request('POST', '/api/channels', input, ChannelSchema),
    updateChannel: (ref, patch) => request('PATCH', channel(ref), patch, ChannelSchema),
    deleteChannel: (ref) => request('DELETE', channel(ref), undefined, null),
    testChannel: (ref) => request('POST', `${channel(ref)}/test`, undefined, DeliveryResultSchema),
    listWebhooks: () => request('GET', '/api/webhooks', undefined, WebhookListSchema),
    createWebhook: (input) => request('POST', '/api/webhooks', input, WebhookSchema),
    updateWebhook: (ref, patch) => request('PATCH', webhook(ref), patch, WebhookSchema),
    deleteWebhook: (ref) => request('DELETE', webhook(ref), undefined, null),
    testWebhook: (ref) => request('POST', `${webhook(ref)}/test`, undefined, DeliveryResultSchema),
    listOutbox: (query = {}) => {
      const params = new URLSearchParams();
      if (query.state) params.set('state', query.state);
      if (query.limit !== undefined) params.set('limit', String(query.limit));
      const search = params.toString();
      return request('GET', `/api/notify/outbox${search ? `?${search}` : ''}`, undefined, OutboxListSchema);
    },
  };
}
