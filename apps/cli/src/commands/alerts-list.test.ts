import { problemFor, type Alert, type Silence } from '@farol/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCliHarness, type CliHarness } from '../test-support/cli-runner.js';
import { NOW, startFakeHub, type FakeHub } from '../test-support/fake-hub.js';

let cli: CliHarness;
let hub: FakeHub;

const alert: Alert = {
  id: 'al_aaaaaaaaaaaaaaaa',
  ruleId: 'rule_aaaaaaaaaaaaaaaa',
  ruleName: 'CPU high',
  kind: 'metric',
  severity: 'warning',
  state: 'firing',
  agentId: 'ag_aaaaaaaaaaaaaaaa',
  agentName: 'web-1',
  instance: '',
  subject: 'CPU',
  summary: 'CPU 93 % > 85 % for 5 min',
  value: 93,
  threshold: 85,
  comparator: '>',
  unit: '%',
  since: NOW - 6 * 60_000,
  firedAt: NOW - 60_000,
  resolvedAt: null,
  lastNotifiedAt: NOW - 60_000,
  notifications: 1,
  escalatedAt: null,
  acknowledgedAt: null,
  acknowledgedBy: null,
  acknowledgeNote: null,
  silenced: false,
};
const silence: Silence = {
  id: 'sil_aaaaaaaaaaaaaaaa',
  matcher: { selector: 'role=gpu', rules: ['CPU high'] },
  startsAt: NOW - 60_000,
  endsAt: NOW + 2 * 3_600_000,
  reason: 'driver upgrade',
  createdBy: 'admin',
  createdAt: NOW - 60_000,
  active: true,
};

beforeEach(async () => {
  cli = await createCliHarness();
  hub = await startFakeHub({
    'GET /api/alerts': { status: 200, body: { alerts: [alert], nextCursor: null } },
    'POST /api/alerts/al_aaaaaaaaaaaaaaaa/ack': { status: 200, body: { ...alert, acknowledgedAt: NOW, acknowledgedBy: 'admin', acknowledgeNote: 'on it' } },
    'POST /api/alerts/al_bbbbbbbbbbbbbbbb/ack': { status: 409, body: problemFor('conflict', 'alert al_bbbbbbbbbbbbbbbb is resolved: nothing to acknowledge') },
    'GET /api/silences': { status: 200, body: { silences: [silence] } },
    'POST /api/silences': { status: 201, body: silence },
    'DELETE /api/silences/sil_aaaaaaaaaaaaaaaa': { status: 204 },
  });
});
afterEach(async () => {
  await hub.close();
  await cli.cleanup();
});

describe('farol alerts', () => {
  it('ls shows what fires, on which machine, why and since when; filters go to the hub', async () => {
    const result = await cli.run(['alerts', 'ls', '--state', 'firing', '--agent', 'web-1', '--hub', hub.url, '--token', 't']);
    expect(result.stdout).toBe(
      [
        'ID                   STATE   SEVERITY  MACHINE  RULE      SUMMARY                    SINCE   ACK',
        'al_aaaaaaaaaaaaaaaa  firing  warning   web-1    CPU high  CPU 93 % > 85 % for 5 min  6m ago  -',
        '',
      ].join('\n'),
    );
    expect(hub.requests[0]!.query).toEqual({ state: 'firing', agent: 'web-1' });
    const json = await cli.run(['alerts', 'ls', '--json', '--hub', hub.url, '--token', 't']);
    expect(JSON.parse(json.stdout)).toEqual({ alerts: [alert], nextCursor: null });
  });

  it('ack sends the note; a resolved alert is one line and a non-zero exit', async () => {
    const ok = await cli.run(['alerts', 'ack', 'al_aaaaaaaaaaaaaaaa', '--note', 'on it', '--hub', hub.url, '--token', 't']);
    expect(ok).toMatchObject({ code: 0, stdout: 'acknowledged al_aaaaaaaaaaaaaaaa (CPU high on web-1)\n' });
    expect(hub.requests[0]!.body).toEqual({ note: 'on it' });
    const resolved = await cli.run(['alerts', 'ack', 'al_bbbbbbbbbbbbbbbb', '--hub', hub.url, '--token', 't']);
    expect(resolved).toMatchObject({ code: 1, stderr: 'farol: alert al_bbbbbbbbbbbbbbbb is already resolved\n' });
  });
});

describe('farol silence', () => {
  it('add sends the matcher, window and reason', async () => {
    const result = await cli.run(['silence', 'add', '--selector', 'role=gpu', '--rule', 'CPU high', '--for', '2h', '--reason', 'driver upgrade', '--hub', hub.url, '--token', 't']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^sil_aaaaaaaaaaaaaaaa silences until \d{4}-\d\d-\d\d \d\d:\d\d UTC\n$/);
    expect(hub.requests[0]!.body).toEqual({ matcher: { rules: ['CPU high'], selector: 'role=gpu' }, reason: 'driver upgrade', duration: 7_200_000 });
  });

  it('add refuses what cannot work before asking the hub', async () => {
    expect(await cli.run(['silence', 'add', '--for', '2h', '--reason', 'x', '--hub', hub.url, '--token', 't'])).toMatchObject({
      code: 1,
      stderr: 'farol: say what to silence: --agent, --selector, --rule or --all\n',
    });
    expect(await cli.run(['silence', 'add', '--all', '--for', 'soon', '--reason', 'x', '--hub', hub.url, '--token', 't'])).toMatchObject({
      code: 1,
      stderr: 'farol: --for soon: use a duration such as 30m, 2h or 1d\n',
    });
    expect(hub.requests).toEqual([]);
  });

  it('ls and rm', async () => {
    const list = await cli.run(['silence', 'ls', '--hub', hub.url, '--token', 't']);
    expect(list.stdout).toBe(
      [
        'ID                    ACTIVE  MATCHES                           ENDS   BY     REASON',
        'sil_aaaaaaaaaaaaaaaa  yes     labels role=gpu + rules CPU high  in 2h  admin  driver upgrade',
        '',
      ].join('\n'),
    );
    expect(await cli.run(['silence', 'rm', 'sil_aaaaaaaaaaaaaaaa', '--hub', hub.url, '--token', 't'])).toMatchObject({ code: 0, stdout: 'ended sil_aaaaaaaaaaaaaaaa\n' });
  });
});

describe('farol rules ls', () => {
  it('shows each rule\'s condition, scope and channels', async () => {
    const rules = [
      {
        id: 'rule_aaaaaaaaaaaaaaaa',
        name: 'CPU high',
        description: null,
        condition: { kind: 'metric', metric: 'cpu', op: '>', threshold: 85, recovery: 80, for: 300_000 },
        scope: { all: true },
        severity: 'warning',
        channels: [],
        escalation: null,
        cooldown: null,
        enabled: true,
        source: 'default',
        createdAt: NOW,
        updatedAt: NOW,
      },
      {
        id: 'rule_bbbbbbbbbbbbbbbb',
        name: 'api loop',
        description: null,
        condition: { kind: 'container', condition: 'restarting', containers: ['api'], for: 0, restarts: 3, window: 600_000 },
        scope: { selector: 'role=web' },
        severity: 'critical',
        channels: ['oncall'],
        escalation: null,
        cooldown: 0,
        enabled: false,
        source: 'file',
        createdAt: NOW,
        updatedAt: NOW,
      },
    ];
    const rulesHub = await startFakeHub({ 'GET /api/alert-rules': { status: 200, body: { rules } }, 'GET /api/channels': { status: 200, body: { channels: [oncall] } } });
    try {
      const result = await cli.run(['rules', 'ls', '--hub', rulesHub.url, '--token', 't']);
      expect(result.stdout).toBe(
        [
          'NAME      ON   SEVERITY  CONDITION                             SCOPE     CHANNELS   SOURCE',
          'CPU high  yes  warning   cpu > 85 (clears at 80) for 5m        all       (default)  default',
          'api loop  no   critical  container restarting 3× in 10m (api)  role=web  oncall     file',
          '',
        ].join('\n'),
      );
      expect(result.stderr).toBe('');
    } finally {
      await rulesHub.close();
    }
  });

  it('warns on stderr, still exiting 0, that the rules notify no one while no channel is configured (#21)', async () => {
    const rule = { id: 'rule_aaaaaaaaaaaaaaaa', name: 'offline', description: null, condition: { kind: 'offline', for: 120_000 }, scope: { all: true }, severity: 'critical', channels: [], escalation: null, cooldown: null, enabled: true, source: 'default', createdAt: NOW, updatedAt: NOW };
    const rulesHub = await startFakeHub({ 'GET /api/alert-rules': { status: 200, body: { rules: [rule] } }, 'GET /api/channels': { status: 200, body: { channels: [] } } });
    try {
      const result = await cli.run(['rules', 'ls', '--hub', rulesHub.url, '--token', 't']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('offline');
      expect(result.stderr).toBe(
        'farol: warning: no notification channel is configured, so these rules notify no one; add one with farol channels add NAME --type telegram --settings-file FILE (or in the dashboard under Alerts → Channels)\n',
      );
    } finally {
      await rulesHub.close();
    }
  });
});

const oncall = {
  id: 'ch_oncall',
  name: 'oncall',
  type: 'ntfy',
  enabled: true,
  settings: { server: 'https://ntfy.sh', topic: 'oncall' },
  template: null,
  rateLimit: { count: 20, perSeconds: 60 },
  quietHours: null,
  maintenance: [],
  source: 'api',
  createdAt: NOW,
  updatedAt: NOW,
};
