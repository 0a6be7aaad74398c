import { describe, expect, it } from 'vitest';
import { ipv6Groups, isTailscaleAddress, listIpAddresses } from './system-info.collector.js';

describe('Tailscale address detection', () => {
  it.each([
    ['100.64.0.1', true],
    ['100.101.102.103', true],
    ['100.127.255.254', true],
    ['100.63.255.255', false],
    ['100.128.0.1', false],
    ['10.0.0.1', false],
    ['192.168.1.10', false],
  ])('IPv4 %s → %s', (address, expected) => {
    expect(isTailscaleAddress(address, 'IPv4')).toBe(expected);
  });

  it.each([
    ['fd7a:115c:a1e0::1', true],
    ['fd7a:115c:a1e0:ab12:4843:cd96:6258:b240', true],
    ['FD7A:115C:A1E0::53%tailscale0', true],
    ['fd7a:115c:a1e1::1', false],
    ['fd7a:115c::1', false],
    ['fe80::1%eth0', false],
    ['2001:db8::1', false],
  ])('IPv6 %s → %s', (address, expected) => {
    expect(isTailscaleAddress(address, 'IPv6')).toBe(expected);
  });

  it('expands abbreviated IPv6 addresses, including an IPv4 tail', () => {
    expect(ipv6Groups('fd7a:115c:a1e0::1')).toEqual([0xfd7a, 0x115c, 0xa1e0, 0, 0, 0, 0, 1]);
    expect(ipv6Groups('::ffff:100.64.0.1')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x6440, 0x0001]);
    expect(ipv6Groups('1::2::3')).toBeNull();
  });

  it('lists external addresses with their Tailscale flag and skips loopback', () => {
    const ips = listIpAddresses({
      lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }],
      tailscale0: [
        { address: '100.88.1.2', netmask: '255.255.255.255', family: 'IPv4', mac: '00:00:00:00:00:00', internal: false, cidr: '100.88.1.2/32' },
        { address: 'fd7a:115c:a1e0::5', netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', family: 'IPv6', mac: '00:00:00:00:00:00', internal: false, cidr: 'fd7a:115c:a1e0::5/128', scopeid: 0 },
      ],
      eth0: [{ address: '10.1.2.3', netmask: '255.255.255.0', family: 'IPv4', mac: '52:54:00:12:34:56', internal: false, cidr: '10.1.2.3/24' }],
    });
    // With the netmask length the hub groups machines by subnet (issue #19).
    expect(ips).toEqual([
      { interface: 'tailscale0', address: '100.88.1.2', family: 'IPv4', isTailscale: true, prefixLength: 32 },
      { interface: 'tailscale0', address: 'fd7a:115c:a1e0::5', family: 'IPv6', isTailscale: true, prefixLength: 128 },
      { interface: 'eth0', address: '10.1.2.3', family: 'IPv4', isTailscale: false, prefixLength: 24 },
    ]);
  });
});
