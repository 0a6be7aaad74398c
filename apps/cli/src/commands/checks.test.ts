import { describe, expect, it } from 'vitest';
import type { Check } from '@farol/protocol';
import { UsageError } from '../cli-error.js';
import { renderChecks } from './checks-list.js';
import { probeFromOptions } from './checks-manage.js';

const base = { followRedirects: true, verifyTls: true, type: 'A' as const };

describe('farol checks (#19)', () => {
  it('builds each probe from its flags, and says what to give when none or two are given', () => {
    expect(probeFromOptions({ ...base, http: 'https://x.test/health', expectStatus: '200,204', maxLatency: '300', verifyTls: false, certDays: '14' }, [])).toEqual({
      kind: 'http',
      url: 'https://x.test/health',
      method: 'GET',
      expectStatus: [200, 204],
      maxLatencyMs: 300,
      followRedirects: true,
      verifyTls: false,
      certExpiryDays: 14,
    });
    expect(probeFromOptions({ ...base, tcp: '10.0.0.5:5432' }, [])).toEqual({ kind: 'tcp', host: '10.0.0.5', port: 5432 });
    expect(probeFromOptions({ ...base, dns: 'svc.test', expect: '10.1.2.3', server: '127.0.0.1:5353' }, [])).toEqual({ kind: 'dns', name: 'svc.test', type: 'A', expect: '10.1.2.3', server: '127.0.0.1:5353' });
    expect(probeFromOptions({ ...base, command: true }, ['/usr/lib/nagios/plugins/check_disk', '-w', '20%'])).toEqual({ kind: 'command', argv: ['/usr/lib/nagios/plugins/check_disk', '-w', '20%'] });
    expect(() => probeFromOptions(base, [])).toThrow(UsageError);
    expect(() => probeFromOptions({ ...base, http: 'http://a', ping: 'b' }, [])).toThrow(/one of --http URL/);
    expect(() => probeFromOptions({ ...base, tcp: 'no-port' }, [])).toThrow('--tcp takes HOST:PORT (got "no-port")');
    expect(() => probeFromOptions({ ...base, command: true }, [])).toThrow(/after --/);
  });

  it('lists status, where it runs and uptime', () => {
    const check: Check = {
      id: 'chk_1',
      name: 'api',
      description: null,
      probe: { kind: 'http', url: 'https://x.test/', method: 'GET', followRedirects: true, verifyTls: true },
      source: 'api',
      intervalMs: 30_000,
      timeoutMs: 5_000,
      runOn: { selector: 'role=edge' },
      enabled: true,
      createdAt: 0,
      updatedAt: 0,
      status: 'critical',
      locations: [],
      uptime: { h24: 99.5, d7: 100, d30: null },
    };
    const text = renderChecks([check]);
    expect(text).toMatch(/api\s+critical\s+GET https:\/\/x\.test\/\s+role=edge\s+30s\s+99\.50% \/ 100% \/ -/);
    expect(renderChecks([])).toBe('no checks\n');
  });
});
