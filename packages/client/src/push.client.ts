import {
  PushSubscriptionListSchema,
  PushSubscriptionSchema,
  PushVapidKeySchema,
  type PushSubscription,
  type PushSubscriptionCreate,
  type PushSubscriptionList,
} from '@farol/protocol';
import { createTransport, segment, type FarolClientOptions } from './transport.js';

/** Browser notifications (issue #20): the hub's VAPID key and the caller's own subscribed browsers. */
export interface PushClient {
  vapidPublicKey(): Promise<string>;
  listSubscriptions(): Promise<PushSubscriptionList>;
  /** The browser's PushSubscription (`toJSON()`); the same endpoint again replaces it. */
  subscribe(input: PushSubscriptionCreate): Promise<PushSubscription>;
  unsubscribe(id: string): Promise<void>;
}

export function createPushClient(options: FarolClientOptions): PushClient {
  const { request } = createTransport(options);
  return {
    vapidPublicKey: async () => (await request({ method: 'GET', path: '/api/push/vapid-public-key', schema: PushVapidKeySchema })).publicKey,
    listSubscriptions: () => request({ method: 'GET', path: '/api/push/subscriptions', schema: PushSubscriptionListSchema }),
    subscribe: (input) => request({ method: 'POST', path: '/api/push/subscriptions', body: input, schema: PushSubscriptionSchema }),
    unsubscribe: (id) => request<void>({ method: 'DELETE', path: `/api/push/subscriptions/${segment(id)}` }),
  };
}
