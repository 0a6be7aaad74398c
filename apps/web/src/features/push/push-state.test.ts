import { describe, expect, it } from 'vitest';
import { applicationServerKey, pushStateOf, type PushPlatform } from './push-state.js';

const capable: PushPlatform = { isSecureContext: true, hasServiceWorker: true, hasPushManager: true, permission: 'default' };

describe('browser notification state (#20)', () => {
  it('is unsupported without a secure context, a service worker, the Push API or notifications', () => {
    expect(pushStateOf({ ...capable, isSecureContext: false }, true)).toBe('unsupported');
    expect(pushStateOf({ ...capable, hasServiceWorker: false }, true)).toBe('unsupported');
    expect(pushStateOf({ ...capable, hasPushManager: false }, true)).toBe('unsupported');
    expect(pushStateOf({ ...capable, permission: null }, true)).toBe('unsupported');
  });

  it('says denied when the browser blocks notifications, whatever the hub holds', () => {
    expect(pushStateOf({ ...capable, permission: 'denied' }, true)).toBe('denied');
  });

  it('is on only when the hub has this browser\'s subscription', () => {
    expect(pushStateOf({ ...capable, permission: 'granted' }, true)).toBe('on');
    expect(pushStateOf({ ...capable, permission: 'granted' }, false)).toBe('off');
    expect(pushStateOf(capable, false)).toBe('off');
  });

  it('turns the hub\'s base64url VAPID key into the bytes PushManager.subscribe takes', () => {
    const point = new Uint8Array(65).map((_, i) => (i * 37 + 4) % 256);
    const encoded = Buffer.from(point).toString('base64url');
    expect([...applicationServerKey(encoded)]).toEqual([...point]);
  });
});
