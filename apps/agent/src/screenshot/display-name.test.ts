import { describe, expect, it } from 'vitest';
import { DisplayNameSchema, ScreenshotCommandSchema } from '@farol/protocol';
import { findCookie } from './xauth.js';
import { parseDisplay } from './x11.client.js';

describe('X display names', () => {
  it('resolves local displays to their unix socket and remote ones to TCP 6000+n', () => {
    expect(parseDisplay(':0')).toMatchObject({ host: null, displayNumber: 0, screen: 0, socketPath: '/tmp/.X11-unix/X0', port: null });
    expect(parseDisplay('unix:12.1', '/x')).toMatchObject({ host: null, displayNumber: 12, screen: 1, socketPath: '/x/X12' });
    expect(parseDisplay('gpu-box:3')).toMatchObject({ host: 'gpu-box', displayNumber: 3, socketPath: null, port: 6003 });
    expect(parseDisplay('[::1]:1')).toMatchObject({ host: '::1', port: 6001 });
  });

  it('refuses anything that is not a display name before it reaches a capture tool', () => {
    for (const bad of [':0; rm -rf /', '$(id):0', ':0 -window root', '-display:0', ':', 'host', ':0\n', ':99999999', '../../x:0']) {
      expect(DisplayNameSchema.safeParse(bad).success, bad).toBe(false);
    }
    expect(ScreenshotCommandSchema.safeParse({ kind: 'screenshot', display: ':1', maxWidth: 8 }).success).toBe(false);
    expect(ScreenshotCommandSchema.safeParse({ kind: 'screenshot', display: ':1', extra: true }).success).toBe(false);
    expect(ScreenshotCommandSchema.parse({ kind: 'screenshot', display: 'host.lan:0.1', maxWidth: 1280 })).toEqual({ kind: 'screenshot', display: 'host.lan:0.1', maxWidth: 1280 });
  });
});

describe('Xauthority cookies', () => {
  const entry = (family: number, address: string, number: string, cookie: number) => {
    const field = (value: Buffer) => Buffer.concat([Buffer.from([value.length >> 8, value.length & 0xff]), value]);
    return Buffer.concat([Buffer.from([family >> 8, family & 0xff]), field(Buffer.from(address, 'latin1')), field(Buffer.from(number)), field(Buffer.from('MIT-MAGIC-COOKIE-1')), field(Buffer.alloc(16, cookie))]);
  };

  it('picks the entry for this display number, not another display\'s', () => {
    const file = Buffer.concat([entry(65535, '', '1', 1), entry(65535, '', '0', 2)]);
    const cookie = findCookie({ XAUTHORITY: '/x' }, { displayNumber: 0, host: null }, () => file);
    expect(cookie?.data.equals(Buffer.alloc(16, 2))).toBe(true);
    expect(findCookie({ XAUTHORITY: '/x' }, { displayNumber: 5, host: null }, () => file)).toBeNull();
  });

  it('matches an IPv4 entry for a TCP display, and no file means no cookie', () => {
    const file = entry(0, String.fromCharCode(10, 0, 0, 7), '2', 3);
    expect(findCookie({ XAUTHORITY: '/x' }, { displayNumber: 2, host: '10.0.0.7' }, () => file)?.data.equals(Buffer.alloc(16, 3))).toBe(true);
    expect(findCookie({ XAUTHORITY: '/x' }, { displayNumber: 2, host: '10.0.0.8' }, () => file)).toBeNull();
    expect(findCookie({ XAUTHORITY: '/x' }, { displayNumber: 2, host: null }, () => null)).toBeNull();
  });
});
