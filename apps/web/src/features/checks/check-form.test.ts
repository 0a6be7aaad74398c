import { describe, expect, it } from 'vitest';
import type { Check } from '@farol/protocol';
import { certDaysLeft, EMPTY_CHECK_FORM, formOf, formProblem, inputOf, worstLatency } from './check-form.js';

const base: Omit<Check, 'probe' | 'runOn'> = {
  id: 'chk_1',
  name: 'api',
  description: 'public API',
  intervalMs: 30_000,
  timeoutMs: 5_000,
  enabled: true,
  source: 'api',
  createdAt: 0,
  updatedAt: 0,
  status: 'ok',
  locations: [
    { location: 'hub', agentId: null, status: 'ok', latencyMs: 12, message: 'HTTP 200', certDaysLeft: 40.5, at: 1 },
    { location: 'web-1', agentId: 'ag_1', status: 'ok', latencyMs: 80, message: 'HTTP 200', certDaysLeft: 12.2, at: 1 },
  ],
  uptime: { h24: 100, d7: 99.5, d30: null },
};

describe('the check dialog form (#19)', () => {
  it('turns a stored HTTP check into fields and back into the same request', () => {
    const check: Check = {
      ...base,
      probe: { kind: 'http', url: 'https://example.com/health', method: 'HEAD', keyword: 'ok', expectStatus: [200, 204], maxLatencyMs: 500, followRedirects: true, verifyTls: false, certExpiryDays: 14 },
      runOn: { selector: 'role=edge' },
    };
    const form = formOf(check);
    expect(form).toMatchObject({ kind: 'http', expectStatus: '200, 204', interval: '30s', timeout: '5s', runOn: 'selector', where: 'role=edge', verifyTls: false });
    expect(inputOf(form)).toEqual({
      name: 'api',
      description: 'public API',
      probe: { kind: 'http', url: 'https://example.com/health', method: 'HEAD', keyword: 'ok', expectStatus: [200, 204], maxLatencyMs: 500, verifyTls: false, certExpiryDays: 14 },
      interval: '30s',
      timeout: '5s',
      runOn: { selector: 'role=edge' },
      enabled: true,
    });
    expect(formProblem(form)).toBeNull();
  });

  it('builds TCP, DNS and plugin probes, machines by name, and says what the API would refuse', () => {
    const tcp = { ...EMPTY_CHECK_FORM, name: 'db', kind: 'tcp' as const, host: '10.0.0.5', port: '5432', runOn: 'machines' as const, where: 'web-1, web-2' };
    expect(inputOf(tcp)).toMatchObject({ probe: { kind: 'tcp', host: '10.0.0.5', port: 5432 }, runOn: { agents: ['web-1', 'web-2'] } });
    expect(formProblem(tcp)).toBeNull();
    expect(formProblem({ ...tcp, port: '' })).toMatch(/^probe\.port: /);
    const plugin = { ...EMPTY_CHECK_FORM, name: 'disk', kind: 'command' as const, argv: '/usr/lib/nagios/plugins/check_disk\n -w \n20%\n\n' };
    expect(inputOf(plugin).probe).toEqual({ kind: 'command', argv: ['/usr/lib/nagios/plugins/check_disk', '-w', '20%'] });
    // A plugin never runs on the hub: the same rule as the API's.
    expect(formProblem(plugin)).toMatch(/^runOn: command checks run on agents only/);
    const dns = { ...EMPTY_CHECK_FORM, name: 'mx', kind: 'dns' as const, dnsName: 'example.com', dnsType: 'MX', dnsServer: '127.0.0.1:5353' };
    expect(inputOf(dns).probe).toEqual({ kind: 'dns', name: 'example.com', type: 'MX', server: '127.0.0.1:5353' });
    expect(formProblem({ ...EMPTY_CHECK_FORM, name: 'x', url: 'https://a.test/', interval: '5s' })).toBe('interval: at least 10 s');
  });

  it('shows the fewest certificate days and the slowest latency over the locations', () => {
    expect(certDaysLeft(base)).toBe(12.2);
    expect(worstLatency(base)).toBe(80);
    expect(certDaysLeft({ locations: [] })).toBeNull();
    expect(worstLatency({ locations: [] })).toBeNull();
  });
});
