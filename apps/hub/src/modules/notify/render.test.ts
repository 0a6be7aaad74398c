import { describe, expect, it } from 'vitest';
import type { AlertNotice } from '@farol/protocol';
import { fillTemplate, renderMessage, unknownPlaceholders } from './render.js';
import { quietHoursEnd } from './schedule.js';

const now = Date.UTC(2026, 10, 23, 12, 0, 0);

function alert(overrides: Partial<AlertNotice> = {}): AlertNotice {
  return {
    alertId: 'al_1',
    ruleId: 'ru_1',
    ruleName: 'high cpu',
    event: 'firing',
    severity: 'critical',
    agentId: 'ag_1',
    agentName: 'web-1',
    subject: 'cpu',
    summary: 'CPU 93.1 % > 85 % for 5 min',
    value: 93.1,
    threshold: 85,
    comparator: '>',
    unit: '%',
    since: now - 7 * 60_000,
    resolvedAt: null,
    labels: {},
    topProcesses: [{ pid: 4242, name: 'node', cpu: 88.5, memoryBytes: 512 * 1024 * 1024 }],
    ...overrides,
  };
}

describe('renderMessage', () => {
  it('says why: value against threshold, since when, top processes and log lines', () => {
    const message = renderMessage({ kind: 'alerts', alerts: [alert({ logLines: ['panic: out of memory'] })] }, 'plain', null, { now });
    const text = [message.title, ...message.lines].join('\n');
    expect(message.title).toContain('FIRING: high cpu on web-1');
    expect(text).toContain('CPU 93.1 % > 85 % for 5 min');
    expect(text).toContain('value 93.1 % vs threshold > 85 %');
    expect(text).toContain('since 2026-11-23 11:53 UTC (7 min)');
    expect(text).toContain('node (4242) 88.5 % CPU, 512 MiB');
    expect(text).toContain('panic: out of memory');
  });

  it('escapes agent text as HTML for Telegram and e-mail', () => {
    const message = renderMessage({ kind: 'alerts', alerts: [alert({ agentName: '<script>&', logLines: ['</pre><b>x'] })] }, 'html', null, { now });
    const text = message.lines.join('\n');
    expect(text).toContain('&lt;script&gt;&amp;');
    expect(text).toContain('&lt;/pre&gt;&lt;b&gt;x');
    expect(text).not.toContain('<script>');
  });

  it('escapes Markdown for Discord and blocks mentions and links for Slack', () => {
    const discord = renderMessage({ kind: 'alerts', alerts: [alert({ agentName: '**bold**_x_' })] }, 'discord', null, { now });
    expect(discord.lines[0]).toContain('\\*\\*bold\\*\\*\\_x\\_');
    const slack = renderMessage({ kind: 'alerts', alerts: [alert({ agentName: '<!channel> <http://evil|click>' })] }, 'slack', null, { now });
    expect(slack.lines[0]).toContain('&lt;!channel&gt; &lt;http://evil|click&gt;');
    expect(slack.lines.join('\n')).not.toContain('<!channel>');
  });

  it('renders alerts of one evaluation as one message', () => {
    const message = renderMessage(
      { kind: 'alerts', alerts: [alert(), alert({ alertId: 'al_2', agentName: 'db-1', event: 'resolved', severity: 'warning', resolvedAt: now })] },
      'plain',
      null,
      { now },
    );
    expect(message.title).toContain('2 alerts (1 firing, 1 resolved)');
    expect(message.lines.filter((l) => l.includes('web-1') || l.includes('db-1'))).toHaveLength(2);
    expect(message.lines.join('\n')).toContain('resolved 2026-11-23 12:00 UTC after 7 min');
  });

  it('uses the channel template, escaping the values but not the template text', () => {
    const message = renderMessage({ kind: 'alerts', alerts: [alert({ agentName: 'a<b' })] }, 'html', { alert: '<i>{{agent}}</i> is at {{value}} (limit {{threshold}})' }, { now });
    expect(message.lines[0]).toBe('<i>a&lt;b</i> is at 93.1 % (limit &gt; 85 %)');
  });

  it('lists unknown placeholders and renders missing values empty', () => {
    expect(unknownPlaceholders('{{agent}} {{nope}} {{ value }}', ['agent', 'value'])).toEqual(['nope']);
    expect(fillTemplate('[{{x}}]', {}, (t) => t)).toBe('[]');
  });

  it('computes the end of quiet hours across midnight in a time zone', () => {
    const quiet = { start: '22:00', end: '07:00', timezone: 'America/Sao_Paulo' };
    // 01:30 UTC is 22:30 in São Paulo (UTC-3): quiet until 07:00 local = 10:00 UTC.
    expect(quietHoursEnd(quiet, Date.UTC(2026, 10, 23, 1, 30))).toBe(Date.UTC(2026, 10, 23, 10, 0));
    expect(quietHoursEnd(quiet, Date.UTC(2026, 10, 23, 12, 0))).toBeNull();
  });
});
