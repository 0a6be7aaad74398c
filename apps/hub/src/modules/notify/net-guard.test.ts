import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FarolError } from '@farol/protocol';
import { sendHttp } from './http-send.js';
import { createNetworkGuard, parseNetworks } from './net-guard.js';
import { startWebhookReceiver, type ProviderEmulator } from './testing/provider-emulators.js';

const refusedCode = async (promise: Promise<unknown>): Promise<string | undefined> => {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error instanceof FarolError ? error.code : `other: ${(error as Error).message}`;
  }
};

describe('network guard', () => {
  it('refuses loopback, private, link-local, CGNAT, unique-local and mapped addresses by default', () => {
    const guard = createNetworkGuard();
    for (const address of ['127.0.0.1', '10.0.0.5', '172.16.3.4', '192.168.1.10', '169.254.169.254', '100.100.100.100', '0.0.0.0', '::1', 'fe80::1', 'fd7a:115c:a1e0::1', '::ffff:127.0.0.1', '224.0.0.1']) {
      expect(() => guard.checkAddress(address), address).toThrow(/notifications only go to public addresses/);
    }
    expect(() => guard.checkAddress('1.1.1.1')).not.toThrow();
    expect(() => guard.checkAddress('2606:4700:4700::1111')).not.toThrow();
  });

  it('refuses every IPv6 form that embeds a refused IPv4: compatible, NAT64, 6to4, Teredo, SIIT, mapped (#11)', () => {
    const guard = createNetworkGuard();
    const forms = [
      '::127.0.0.1', '::7f00:1', '::a9fe:a9fe', '::10.0.0.1', // IPv4-compatible, as URLs normalise them
      '64:ff9b::127.0.0.1', '64:ff9b::a9fe:a9fe', '64:ff9b:1::7f00:1', '64:ff9b:1:0:0:0:a9fe:a9fe', // NAT64
      '2002:7f00:1::1', '2002:a9fe:a9fe::1', // 6to4
      '2001:0:4136:e378:8000:63bf:80ff:fffe', // Teredo, client 127.0.0.1 (inverted)
      '::ffff:0:7f00:1', '::ffff:7f00:1', '0:0:0:0:0:ffff:127.0.0.1', // SIIT, mapped
    ];
    for (const address of forms) expect(() => guard.checkAddress(address), address).toThrow(/notifications only go to public addresses/);
    // The deprecated compatible form is refused even around a public IPv4; plain IPv6 stays allowed.
    expect(() => guard.checkAddress('2a00:1450:4001::1')).not.toThrow();
  });

  it('refuses the compatible forms from a URL, as a channel or webhook would save it (#11)', async () => {
    const guard = createNetworkGuard();
    expect(await refusedCode(guard.checkUrl('http://[::127.0.0.1]:18191/i3'))).toBe('destination_refused');
    expect(await refusedCode(guard.checkUrl('http://[::a9fe:a9fe]/latest/meta-data/'))).toBe('destination_refused');
  });

  it('allows exactly the configured networks (Tailscale CGNAT, one LAN host)', () => {
    const guard = createNetworkGuard({ allow: parseNetworks('100.64.0.0/10, 192.168.1.20') });
    expect(() => guard.checkAddress('100.101.102.103')).not.toThrow();
    expect(() => guard.checkAddress('192.168.1.20')).not.toThrow();
    expect(() => guard.checkAddress('192.168.1.21')).toThrow(FarolError);
    expect(() => guard.checkAddress('127.0.0.1')).toThrow(FarolError);
  });

  it('refuses a name when any of its addresses is inside', async () => {
    const guard = createNetworkGuard({ resolver: async () => [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.1', family: 4 }] });
    expect(await refusedCode(guard.checkUrl('https://mixed.example/hook'))).toBe('destination_refused');
  });

  describe('at send time', () => {
    let receiver: ProviderEmulator;
    beforeAll(async () => {
      receiver = await startWebhookReceiver();
    });
    afterAll(async () => {
      await receiver.close();
    });

    it('resolves again at send time and connects only to the address it checked (no rebinding gap)', async () => {
      // The name is public when saved, then points at loopback: the send is refused, nothing arrives.
      let answer = '93.184.216.34';
      const guard = createNetworkGuard({ resolver: async () => [{ address: answer, family: 4 }] });
      await guard.checkUrl(`http://rebind.example:${receiver.port}/`);
      answer = '127.0.0.1';
      expect(await refusedCode(sendHttp(guard, { url: `http://rebind.example:${receiver.port}/`, body: '{}' }))).toBe('destination_refused');
      expect(receiver.requests).toHaveLength(0);

      // With loopback allowed, the socket goes to the checked address even though the URL has a name.
      const allowed = createNetworkGuard({ allow: parseNetworks('127.0.0.1/32'), resolver: async () => [{ address: '127.0.0.1', family: 4 }] });
      const result = await sendHttp(allowed, { url: `http://rebind.example:${receiver.port}/hook`, body: '{}' });
      expect(result.status).toBe(200);
      expect(receiver.requests.at(-1)).toMatchObject({ path: '/hook', headers: { host: `rebind.example:${receiver.port}` } });
    });

    it('refuses an IP literal URL without a lookup', async () => {
      expect(await refusedCode(sendHttp(createNetworkGuard(), { url: `http://127.0.0.1:${receiver.port}/`, body: '{}' }))).toBe('destination_refused');
      expect(await refusedCode(sendHttp(createNetworkGuard(), { url: `http://[::ffff:127.0.0.1]:${receiver.port}/`, body: '{}' }))).toBe('destination_refused');
    });
  });
});
