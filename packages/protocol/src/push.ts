import { z } from 'zod';
import { AlertNoticeSchema } from './notify.js';

/**
 * Browser notifications (issue #20): Web Push (RFC 8030) with VAPID (RFC 8292) and message
 * encryption (RFC 8291, aes128gcm). A signed-in user subscribes each browser; alert notices
 * then reach it through its browser's push service, even with no Mission Control tab open.
 */

const Base64Url = (bytes: number) => z.string().regex(new RegExp(`^[A-Za-z0-9_-]{${Math.ceil((bytes * 4) / 3)}}={0,2}$`), `${bytes} bytes, base64url`);

/** `GET /api/push/vapid-public-key`: the application server key for PushManager.subscribe. */
export const PushVapidKeySchema = z
  .object({ publicKey: Base64Url(65).describe('The hub\'s VAPID public key: an uncompressed P-256 point, base64url (applicationServerKey)') })
  .meta({ id: 'PushVapidKey' });
export type PushVapidKey = z.infer<typeof PushVapidKeySchema>;

/** `POST /api/push/subscriptions`: a browser's PushSubscription as `toJSON()` gives it. */
export const PushSubscriptionCreateSchema = z
  .object({
    endpoint: z.url({ protocol: /^https?$/ }).max(2_048).describe('The push service URL of this browser (a capability: whoever has it may send to the browser)'),
    expirationTime: z.number().int().nullable().optional(),
    keys: z
      .object({
        p256dh: Base64Url(65).describe('The browser\'s P-256 public key (uncompressed point)'),
        auth: Base64Url(16).describe('The 16-byte authentication secret'),
      })
      .strict(),
  })
  .strict()
  .meta({ id: 'PushSubscriptionCreate' });
export type PushSubscriptionCreate = z.infer<typeof PushSubscriptionCreateSchema>;

export const PushSubscriptionIdSchema = z.string().regex(/^ps_[a-z0-9]{16}$/, 'push subscription ids look like ps_ followed by 16 chars');

/** One of the caller's subscribed browsers (only ever shown to its owner). */
export const PushSubscriptionSchema = z
  .object({
    id: PushSubscriptionIdSchema,
    endpoint: z.string(),
    userAgent: z.string().nullable().describe('The browser that subscribed, as it said (User-Agent), to tell them apart'),
    createdAt: z.number().int(),
    lastSentAt: z.number().int().nullable(),
  })
  .meta({ id: 'PushSubscription' });
export type PushSubscription = z.infer<typeof PushSubscriptionSchema>;

export const PushSubscriptionListSchema = z.object({ subscriptions: z.array(PushSubscriptionSchema) }).meta({ id: 'PushSubscriptionList' });
export type PushSubscriptionList = z.infer<typeof PushSubscriptionListSchema>;
export const PushSubscriptionParamsSchema = z.object({ id: PushSubscriptionIdSchema });

/** Push messages carry at most about 4 KB once encrypted (RFC 8291 §4): long fields are cut. */
export const MAX_PUSH_PAYLOAD_BYTES = 3_800;

/**
 * What the service worker receives, decrypted: one alert notice, without its top processes and
 * log lines (the page of the alert has them).
 */
export const PushMessageSchema = z
  .object({ kind: z.literal('alert'), notice: AlertNoticeSchema.omit({ topProcesses: true, logLines: true }) })
  .meta({ id: 'PushMessage' });
export type PushMessage = z.infer<typeof PushMessageSchema>;
