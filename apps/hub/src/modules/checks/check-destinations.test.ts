import { describe, expect, it } from 'vitest';
import { createCheckDestinationGuard, type HostResolver } from './check-destinations.js';

const resolvingTo =
  (...addresses: string[]): HostResolver =>
  () =>
    Promise.resolve(addresses.map((address) => ({ address })));

describe('where checks run by the hub may connect (#19, #11)', () => {
  it('refuses link-local and metadata addresses, literal or embedded in IPv6', async () => {
    const guard = createCheckDestinationGuard(resolvingTo());
    for (const host of ['169.254.169.254', 'fe80::1', 'fd00:ec2::254', '::ffff:169.254.169.254', '::a9fe:a9fe', '64:ff9b::a9fe:a9fe', '0.0.0.0', '224.0.0.1']) {
      await expect(guard(host), host).rejects.toThrow(/never go there/);
    }
  });

  it('refuses a name when any of its addresses is refused, so DNS cannot smuggle one in', async () => {
    await expect(createCheckDestinationGuard(resolvingTo('203.0.113.7', '169.254.169.254'))('metadata.example')).rejects.toThrow(/metadata.example resolves to 169.254.169.254/);
  });

  it('keeps loopback, private, tailnet and public addresses reachable, and pins the first answer', async () => {
    const guard = createCheckDestinationGuard(resolvingTo('10.1.2.3', '10.1.2.4'));
    for (const host of ['127.0.0.1', '::1', '192.168.1.10', '100.101.102.103', 'fd7a:115c:a1e0::1', '203.0.113.7']) {
      await expect(guard(host)).resolves.toBe(host);
    }
    await expect(guard('api.internal')).resolves.toBe('10.1.2.3');
  });
});
