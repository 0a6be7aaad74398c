import { describe, expect, it } from 'vitest';
import { AlertRuleInputSchema, type CheckLocationState } from '@farol/protocol';
import { checkRule, evaluateCheckCondition, type CheckStateFacts } from '../alerts/alert-conditions.js';

const at = (location: string, status: CheckLocationState['status'], extra: Partial<CheckLocationState> = {}): CheckLocationState => ({
  location,
  agentId: null,
  status,
  latencyMs: status === 'critical' ? null : 20,
  message: `${status} from ${location}`,
  certDaysLeft: null,
  at: 1_000,
  ...extra,
});
const state = (locations: CheckLocationState[], kind: CheckStateFacts['kind'] = 'http'): CheckStateFacts => ({ checkId: 'chk_1', checkName: 'api', kind, locations });
const condition = (input: Record<string, unknown>) => {
  const rule = AlertRuleInputSchema.parse({ name: 'r', condition: { kind: 'check', ...input } });
  if (rule.condition.kind !== 'check') throw new Error('not a check condition');
  return rule.condition;
};

describe('check alert conditions (#19)', () => {
  it('holds "down" only from at least N locations, naming them and the newest message', () => {
    const down = condition({ condition: 'down', minLocations: 2 });
    expect(evaluateCheckCondition(down, state([at('a', 'critical'), at('b', 'ok'), at('c', 'ok')])).holds).toBe(false);
    const verdict = evaluateCheckCondition(down, state([at('b', 'critical', { at: 2_000, message: 'ETIMEDOUT' }), at('a', 'critical'), at('c', 'ok')]));
    expect(verdict.holds).toBe(true);
    expect(verdict.describe(60_000)).toBe('check api down from 2 of 3 locations (a, b): ETIMEDOUT for 1 min');
  });

  it('counts plugin WARNING/CRITICAL only for command checks', () => {
    const plugin = condition({ condition: 'plugin', states: ['warning'] });
    expect(evaluateCheckCondition(plugin, state([at('a', 'warning')], 'command')).holds).toBe(true);
    expect(evaluateCheckCondition(plugin, state([at('a', 'critical')], 'command')).holds).toBe(false);
    expect(evaluateCheckCondition(plugin, state([at('a', 'warning')], 'http')).holds).toBe(false);
  });

  it('compares latency and certificate days, and needs a latency threshold', () => {
    expect(evaluateCheckCondition(condition({ condition: 'latency', threshold: 100 }), state([at('a', 'ok', { latencyMs: 250 })]))).toMatchObject({ holds: true, value: 250, unit: 'ms' });
    expect(evaluateCheckCondition(condition({ condition: 'latency', threshold: 100 }), state([at('a', 'ok', { latencyMs: 50 })])).holds).toBe(false);
    const cert = evaluateCheckCondition(condition({ condition: 'certificate', days: 14 }), state([at('a', 'warning', { certDaysLeft: 3.2 })]));
    expect(cert).toMatchObject({ holds: true, value: 3.2, threshold: 14 });
    expect(cert.describe(0)).toBe('check api: the certificate expires in 3.2 days (within 14), seen from a');
    expect(checkRule(AlertRuleInputSchema.parse({ name: 'r', condition: { kind: 'check', condition: 'latency' } }))).toEqual(['condition.threshold: a latency rule needs a threshold in milliseconds']);
  });
});
