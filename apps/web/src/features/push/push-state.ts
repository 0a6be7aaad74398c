import type { PushClient } from '@farol/client';
import type { PushSubscriptionCreate } from '@farol/protocol';

/**
 * Browser notifications (issue #20) from the browser's side: the service worker, the browser's
 * PushSubscription and the hub's record of it, kept in step.
 */
export type PushState = 'unsupported' | 'denied' | 'off' | 'on';

/** Served by the hub from the dashboard's root, so its scope is every page. */
export const PUSH_WORKER_URL = '/push-sw.js';

/** What the browser offers; push needs a secure context (HTTPS, or localhost). */
export interface PushPlatform {
  isSecureContext: boolean;
  hasServiceWorker: boolean;
  hasPushManager: boolean;
  /** Notification.permission, or null without the Notification API. */
  permission: NotificationPermission | null;
}

export function platformOf(scope: typeof globalThis = globalThis): PushPlatform {
  return {
    isSecureContext: scope.isSecureContext === true,
    hasServiceWorker: typeof navigator !== 'undefined' && 'serviceWorker' in navigator,
    hasPushManager: 'PushManager' in scope,
    permission: 'Notification' in scope ? Notification.permission : null,
  };
}

/** The state shown: what the browser allows first, then whether the hub has this browser's subscription. */
export function pushStateOf(platform: PushPlatform, subscribedHere: boolean): PushState {
  if (!platform.isSecureContext || !platform.hasServiceWorker || !platform.hasPushManager || platform.permission === null) return 'unsupported';
  if (platform.permission === 'denied') return 'denied';
  return subscribedHere ? 'on' : 'off';
}

/** The hub's base64url VAPID key as the bytes PushManager.subscribe takes. */
export function applicationServerKey(base64url: string): Uint8Array<ArrayBuffer> {
  const base64 = base64url.replaceAll('-', '+').replaceAll('_', '/').padEnd(Math.ceil(base64url.length / 4) * 4, '=');
  const binary = atob(base64);
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

async function existingSubscription(): Promise<PushSubscription | null> {
  const registration = await navigator.serviceWorker.getRegistration('/');
  return (await registration?.pushManager.getSubscription()) ?? null;
}

/** Whether this browser is subscribed and the hub still has it (another browser's or an expired one does not count). */
export async function readPushState(client: PushClient): Promise<PushState> {
  const platform = platformOf();
  if (pushStateOf(platform, false) !== 'off') return pushStateOf(platform, false);
  const subscription = await existingSubscription();
  if (!subscription) return 'off';
  const { subscriptions } = await client.listSubscriptions();
  return pushStateOf(platform, subscriptions.some((s) => s.endpoint === subscription.endpoint));
}

/** Asks for permission, subscribes this browser with the hub's key, and tells the hub. */
export async function turnPushOn(client: PushClient): Promise<PushState> {
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') return permission === 'denied' ? 'denied' : 'off';
  const registration = await navigator.serviceWorker.register(PUSH_WORKER_URL, { scope: '/' });
  await navigator.serviceWorker.ready;
  const key = applicationServerKey(await client.vapidPublicKey());
  let subscription = await registration.pushManager.getSubscription();
  // A subscription made with another key (a hub whose VAPID key changed) cannot be reused.
  if (subscription && !sameKey(subscription.options.applicationServerKey, key)) {
    await subscription.unsubscribe();
    subscription = null;
  }
  subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  await client.subscribe(subscription.toJSON() as PushSubscriptionCreate);
  return 'on';
}

/** Tells the hub to stop, then drops the browser's subscription. */
export async function turnPushOff(client: PushClient): Promise<PushState> {
  const subscription = await existingSubscription();
  if (subscription) {
    const { subscriptions } = await client.listSubscriptions();
    const mine = subscriptions.find((s) => s.endpoint === subscription.endpoint);
    if (mine) await client.unsubscribe(mine.id);
    await subscription.unsubscribe();
  }
  return 'off';
}

function sameKey(current: ArrayBuffer | null, wanted: Uint8Array): boolean {
  if (!current) return false;
  const bytes = new Uint8Array(current);
  return bytes.length === wanted.length && bytes.every((byte, i) => byte === wanted[i]);
}
