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
import { createTransport, segment, type FarolClientOptions } from './transport.js';

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

export function createChannelsClient(options: FarolClientOptions): ChannelsClient {
  const { request } = createTransport(options);
  const channel = (ref: string) => `/api/channels/${segment(ref)}`;
  const webhook = (ref: string) => `/api/webhooks/${segment(ref)}`;
  return {
    listChannels: () => request({ method: 'GET', path: '/api/channels', schema: ChannelListSchema }),
    getChannel: (ref) => request({ method: 'GET', path: channel(ref), schema: ChannelSchema }),
    createChannel: (input) => request({ method: 'POST', path: '/api/channels', body: input, schema: ChannelSchema }),
    updateChannel: (ref, patch) => request({ method: 'PATCH', path: channel(ref), body: patch, schema: ChannelSchema }),
    deleteChannel: (ref) => request<void>({ method: 'DELETE', path: channel(ref) }),
    testChannel: (ref) => request({ method: 'POST', path: `${channel(ref)}/test`, schema: DeliveryResultSchema }),
    listWebhooks: () => request({ method: 'GET', path: '/api/webhooks', schema: WebhookListSchema }),
    createWebhook: (input) => request({ method: 'POST', path: '/api/webhooks', body: input, schema: WebhookSchema }),
    updateWebhook: (ref, patch) => request({ method: 'PATCH', path: webhook(ref), body: patch, schema: WebhookSchema }),
    deleteWebhook: (ref) => request<void>({ method: 'DELETE', path: webhook(ref) }),
    testWebhook: (ref) => request({ method: 'POST', path: `${webhook(ref)}/test`, schema: DeliveryResultSchema }),
    listOutbox: (query = {}) =>
      request({ method: 'GET', path: '/api/notify/outbox', query: { state: query.state, limit: query.limit }, schema: OutboxListSchema }),
  };
}
