import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { io as connectSocket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert, AlertChangedEvent, AlertList, ContainerSample, AlertRule, AlertRuleList, Notification, Silence, CommandRun } from '@farol/protocol';
import { ConfigError } from '../../config.js';
import { startHub } from '../../testing/start-test-hub.js';
import { startHubFixture, waitFor, type HubFixture } from '../../testing/hub-fixture.js';
import { connectPeer, emitAck, enrollPeer, hello, sample, readCommandRun, type PeerIdentity } from '../../testing/protocol-peer.js';
import { parseAlertsFile } from './alerts-file.js';

/** A generic-webhook receiver on loopback: records what the hub's notifier posts. */
interface Received {
  channel: string;
  notification: Notification;
}
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];

let hub: HubFixture;
let peer: PeerIdentity;

beforeAll(async () => {
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push(JSON.parse(body) as Received);
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const address = receiver.address();
  receiverUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
  hub = await startHubFixture({ FAROL_NOTIFY_ALLOW_NETWORKS: '127.0.0.1/32', FAROL_ALERTS_CHANNELS: 'ops-hook', FAROL_ALERTS_GROUP_WINDOW: '50ms' });
  const channel = await hub.api('POST', '/api/channels', { type: 'webhook', name: 'ops-hook', settings: { url: receiverUrl } });
  expect(channel.status).toBe(201);
  peer = await enrollPeer(hub.url, await hub.createJoinToken({ labels: { role: 'web' } }), 'web-host');
});

afterAll(async () => {
  await hub.stop();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

const alertsIn = (r: Received) => (r.notification.kind === 'alerts' ? r.notification.alerts : []);

describe('alerts through the real hub', () => {
  it('has the default rules out of the box', async () => {
    const { status, body } = await hub.api('GET', '/api/alert-rules');
    expect(status).toBe(200);
    expect((body as AlertRuleList).rules.map((r) => [r.name, r.source])).toEqual([
      ['CPU high', 'default'],
      ['Memory high', 'default'],
      ['Disk full', 'default'],
      ['Machine offline', 'default'],
      ['Watched container down', 'default'],
      ['Watched container unhealthy', 'default'],
    ]);
  });

  it('CRUD of rules, with problem bodies for bad input', async () => {
    const bad = await hub.api('POST', '/api/alert-rules', { name: 'x', condition: { kind: 'metric', metric: 'nope', threshold: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'validation_failed' });
    const badScope = await hub.api('POST', '/api/alert-rules', { name: 'x', condition: { kind: 'offline' }, scope: { selector: 'role==gpu' } });
    expect(badScope.status).toBe(400);
    const created = await hub.api('POST', '/api/alert-rules', { name: 'cpu busy', condition: { kind: 'metric', metric: 'cpu', threshold: 80, for: '0s' }, scope: { selector: 'role=web' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'cpu busy', source: 'api', severity: 'warning', condition: { op: '>', for: 0 }, cooldown: null });
    const duplicate = await hub.api('POST', '/api/alert-rules', { name: 'cpu busy', condition: { kind: 'offline' } });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toMatchObject({ code: 'name_taken' });
    const patched = await hub.api('PATCH', '/api/alert-rules/Machine offline', { condition: { kind: 'offline', for: 0 } });
    expect(patched.status).toBe(200);
    expect((patched.body as AlertRule).condition).toEqual({ kind: 'offline', for: 0 });
    const temp = await hub.api('POST', '/api/alert-rules', { name: 'temp', condition: { kind: 'online' } });
    expect((await hub.api('DELETE', `/api/alert-rules/${(temp.body as AlertRule).id}`)).status).toBe(204);
    expect((await hub.api('GET', '/api/alert-rules/temp')).status).toBe(404);
  });

  it('a heartbeat over the threshold reaches the channel with the reason; ack records who', async () => {
    // A dashboard follows alerts on /ui.
    const ui = connectSocket(`${hub.url}/ui`, { transports: ['websocket'], reconnection: false, auth: { token: hub.adminToken } });
    const uiEvents: AlertChangedEvent[] = [];
    ui.on('alert:changed', (event: AlertChangedEvent) => uiEvents.push(event));
    await new Promise<void>((resolve, reject) => {
      ui.once('connect', () => resolve());
      ui.once('connect_error', reject);
    });
    const { socket } = await connectPeer(hub.url, peer);
    expect(socket).toBeDefined();
    expect(await hello(socket!, 10_000, 'web-host')).toMatchObject({ ok: true });
    const topCpu = [{ pid: 7, name: 'ffmpeg', cpu: 190, memory: 2, rss: 50_000_000 }];
    expect(await emitAck(socket!, 'metrics:report', { samples: [sample(Date.now(), 93.5, { topCpu })] })).toMatchObject({ ok: true });
    const message = await waitFor(() => received.find((r) => alertsIn(r).some((a) => a.ruleName === 'cpu busy')), 10_000, 'the CPU alert at the webhook');
    expect(message.channel).toBe('ops-hook');
    expect(alertsIn(message)[0]).toMatchObject({
      event: 'firing',
      agentName: peer.name,
      summary: 'CPU 93.5 % > 80 % for 0 s',
      value: 93.5,
      threshold: 80,
      topProcesses: [{ pid: 7, name: 'ffmpeg', cpu: 190, memoryBytes: 50_000_000 }],
      labels: { role: 'web' },
    });

    await waitFor(() => uiEvents.find((e) => e.event === 'firing' && e.alert.ruleName === 'cpu busy'), 5_000, 'alert:changed on /ui');
    ui.close();
    const list = (await hub.api('GET', '/api/alerts')).body as AlertList;
    const alert = list.alerts.find((a) => a.ruleName === 'cpu busy')!;
    expect(alert).toMatchObject({ state: 'firing', notifications: 1 });
    const acked = await hub.api('POST', `/api/alerts/${alert.id}/ack`, { note: 'on it' });
    expect(acked.status).toBe(200);
    expect(acked.body as Alert).toMatchObject({ acknowledgedBy: 'admin', acknowledgeNote: 'on it' });
    expect((await hub.api('POST', '/api/alerts/al_0000000000000000/ack', {})).status).toBe(404);
    expect((await hub.api('POST', '/api/alerts/nope/ack', {})).status).toBe(400);

    // Offline on disconnect (the default rule with for: 0 after the PATCH above), resolved on return.
    socket!.close();
    const offline = await waitFor(() => received.find((r) => alertsIn(r).some((a) => a.subject === 'offline' && a.event === 'firing')), 10_000, 'the offline alert');
    expect(alertsIn(offline)[0]!.summary).toMatch(new RegExp(`^${peer.name} offline for 0 s \\(last heard `));
    const again = await connectPeer(hub.url, peer);
    await hello(again.socket!, 10_000, 'web-host');
    await waitFor(() => received.find((r) => alertsIn(r).some((a) => a.subject === 'offline' && a.event === 'resolved')), 10_000, 'the offline alert resolved');
    expect(received.flatMap(alertsIn).filter((a) => a.subject === 'offline').map((a) => a.event)).toEqual(['firing', 'resolved']);
    const history = (await hub.api('GET', '/api/alerts?state=resolved')).body as AlertList;
    expect(history.alerts.map((a) => a.subject)).toContain('offline');
    again.socket!.close();
  });

  it('a watched container that is down is alerted with its last log lines, fetched from the agent', async () => {
    const dockerPeer = await enrollPeer(hub.url, await hub.createJoinToken({ labels: { role: 'db' } }), 'db-host');
    const { socket } = await connectPeer(hub.url, dockerPeer);
    await hello(socket!, 10_000, 'db-host');
    const asked: unknown[] = [];
    // The agent's side of docker_logs: acknowledge, then answer with stdout and stderr.
    socket!.on('command:run', (run: CommandRun) => {
      const claims = readCommandRun(run);
      asked.push(claims.command);
      const now = Date.now();
      void emitAck(socket!, 'command:ack', { commandId: claims.commandId, status: 'accepted', at: now }).then(() =>
        emitAck(socket!, 'command:result', {
          commandId: claims.commandId,
          state: 'succeeded',
          exitCode: 0,
          signal: null,
          stdout: '2026-11-23T06:00:01.000000000Z listening on :5432\n2026-11-23T06:00:03.000000000Z shutting down\n',
          stderr: '2026-11-23T06:00:02.000000000Z FATAL: out of memory\n',
          stdoutTruncated: false,
          stderrTruncated: false,
          data: null,
          startedAt: now,
          endedAt: now,
          error: null,
        }),
      );
    });
    const container: ContainerSample = {
      id: 'a'.repeat(64),
      name: 'postgres',
      image: 'postgres:16',
      state: 'exited',
      status: 'Exited (137) 5 seconds ago',
      health: 'none',
      restartCount: 0,
      exitCode: 137,
      cpuPercent: null,
      memoryBytes: null,
      memoryLimitBytes: null,
      createdAt: Date.now() - 3_600_000,
      startedAt: Date.now() - 3_600_000,
      watched: true,
    };
    expect(await emitAck(socket!, 'metrics:report', { samples: [sample(Date.now(), 5, { containers: [container] })] })).toMatchObject({ ok: true });
    const message = await waitFor(() => received.find((r) => alertsIn(r).some((a) => a.subject === 'container postgres')), 15_000, 'the container alert');
    expect(asked).toEqual([{ kind: 'docker_logs', container: 'postgres', tail: 20, timestamps: true }]);
    // Grouped: the previous test's machine going offline may ride in the same message.
    expect(alertsIn(message).find((a) => a.subject === 'container postgres')).toMatchObject({
      event: 'firing',
      severity: 'critical',
      ruleName: 'Watched container down',
      agentName: dockerPeer.name,
      summary: 'container postgres is exited (exit code 137): Exited (137) 5 seconds ago for 0 s',
      logLines: [
        '2026-11-23T06:00:01.000000000Z listening on :5432',
        '2026-11-23T06:00:02.000000000Z FATAL: out of memory',
        '2026-11-23T06:00:03.000000000Z shutting down',
      ],
    });
    socket!.close();
  });

  it('silences: created with who and why, listed, ended; bad ones refused', async () => {
    const bad = await hub.api('POST', '/api/silences', { matcher: {}, duration: '1h', reason: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'validation_failed' });
    const created = await hub.api('POST', '/api/silences', { matcher: { selector: 'role=web' }, duration: '2h', reason: 'kernel upgrade' });
    expect(created.status).toBe(201);
    const silence = created.body as Silence;
    expect(silence).toMatchObject({ createdBy: 'admin', reason: 'kernel upgrade', active: true });
    expect(((await hub.api('GET', '/api/silences')).body as { silences: Silence[] }).silences.map((s) => s.id)).toEqual([silence.id]);
    expect((await hub.api('DELETE', `/api/silences/${silence.id}`)).status).toBe(204);
    expect(((await hub.api('GET', '/api/silences')).body as { silences: Silence[] }).silences).toEqual([]);
    expect(((await hub.api('GET', '/api/silences?all=true')).body as { silences: Silence[] }).silences).toHaveLength(1);
  });

  it('documents the routes in OpenAPI', async () => {
    const { body } = await hub.api('GET', '/api/openapi.json');
    const paths = Object.keys((body as { paths: Record<string, unknown> }).paths);
    expect(paths).toEqual(expect.arrayContaining(['/api/alert-rules', '/api/alert-rules/{id}', '/api/alerts', '/api/alerts/{id}', '/api/alerts/{id}/ack', '/api/silences', '/api/silences/{id}']));
  });
});

describe('configuration as code (FAROL_ALERTS_FILE)', () => {
  it('names every problem with its place in the file', () => {
    const text = [
      'rules:',
      '  - name: Disk',
      '    condition: { kind: metric, metric: disk, threshold: high }',
      '  - name: GPU hot',
      '    condition: { kind: metric, metric: gpu.heat, threshold: 80 }',
      '  - name: GPU hot',
      '    condition: { kind: offline }',
      '    scope: { selector: "role=gpu" }',
      '    cooldown: soon',
      'extra: 1',
    ].join('\n');
    let error: unknown;
    try {
      parseAlertsFile(text, 'alerts.yaml');
    } catch (caught) {
      error = caught;
    }
    expect((error as { problems: string[] }).problems).toEqual([
      'extra: unknown key (expected rules, channels)',
      'rules[0] (Disk).condition.threshold: Invalid input: expected number, received string',
      'rules[1] (GPU hot).condition.metric: unknown GPU metric "gpu.heat": use gpu.utilization, gpu.memory, gpu.temperature or gpu.power',
      expect.stringMatching(/^rules\[2\] \(GPU hot\)\.cooldown: /),
    ]);
    expect(() => parseAlertsFile('rules: [\n  - name: a\n', 'broken.yaml')).toThrow(/YAML line \d+, column \d+/);
  });

  it('a bad file stops the hub with every problem; a good one loads its rules as file rules', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'farol-alerts-file-'));
    try {
      const bad = path.join(dir, 'bad.yaml');
      writeFileSync(bad, 'rules:\n  - name: x\n    condition: { kind: nope }\n  - condition: { kind: offline }\n');
      const failure = await startHub({ port: 0, dataDir: path.join(dir, 'data'), logLevel: 'silent' }, { FAROL_ALERTS_FILE: bad }).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(failure).toBeInstanceOf(ConfigError);
      expect((failure as ConfigError).problems).toHaveLength(2);
      expect((failure as ConfigError).problems[0]).toMatch(/^FAROL_ALERTS_FILE .*bad\.yaml: rules\[0\] \(x\)\.condition\.kind: /);
      expect((failure as ConfigError).problems[1]).toMatch(/rules\[1\]\.name: /);

      // Channels go to the notifier's applyChannelsConfig, which names its problems the same way.
      const badChannel = path.join(dir, 'bad-channel.yaml');
      writeFileSync(badChannel, 'rules: []\nchannels:\n  - { name: ops, type: carrier-pigeon, settings: {} }\n');
      const channelFailure = await startHub({ port: 0, dataDir: path.join(dir, 'data1'), logLevel: 'silent' }, { FAROL_ALERTS_FILE: badChannel }).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(channelFailure).toBeInstanceOf(ConfigError);
      expect((channelFailure as ConfigError).problems.join('\n')).toMatch(/^FAROL_ALERTS_FILE .*bad-channel\.yaml: channels\[0\] \(ops\)\.type: /);

      const good = path.join(dir, 'good.yaml');
      writeFileSync(good, ['rules:', '  - name: GPU hot', '    condition: { kind: metric, metric: gpu.temperature, threshold: 85, for: 2m }', '    scope: { selector: role=gpu }', '    severity: critical', '    channels: [gpu-team]'].join('\n'));
      const started = await startHub({ port: 0, dataDir: path.join(dir, 'data2'), logLevel: 'silent' }, { FAROL_ALERTS_FILE: good, FAROL_ROLLUP_INTERVAL: '1h' });
      try {
        const response = await fetch(`${started.url}/api/alert-rules/GPU hot`, { headers: { authorization: `Bearer ${started.adminToken}` } });
        expect(response.status).toBe(200);
        expect(await response.json()).toMatchObject({ source: 'file', severity: 'critical', channels: ['gpu-team'], condition: { for: 120_000 } });
        const refused = await fetch(`${started.url}/api/alert-rules/GPU hot`, {
          method: 'PATCH',
          headers: { authorization: `Bearer ${started.adminToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ enabled: false }),
        });
        expect(refused.status).toBe(409);
      } finally {
        await started.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a hub restart while an alert is pending', () => {
  it('keeps the pending start time: the alert fires `for` after the first heartbeat, not after the restart', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'farol-alerts-restart-'));
    const env = { FAROL_NOTIFY_ALLOW_NETWORKS: '127.0.0.1/32', FAROL_ALERTS_CHANNELS: 'restart-hook', FAROL_ALERTS_GROUP_WINDOW: '20ms', FAROL_ROLLUP_INTERVAL: '1h' };
    const overrides = { port: 0, bind: '127.0.0.1', dataDir: dir, logLevel: 'silent' };
    const call = async (target: { url: string; adminToken: string }, method: string, route: string, body?: unknown) => {
      const response = await fetch(`${target.url}${route}`, {
        method,
        headers: { authorization: `Bearer ${target.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: response.status, body: response.status === 204 ? null : ((await response.json()) as unknown) };
    };
    let first = await startHub(overrides, env);
    try {
      expect((await call(first, 'POST', '/api/channels', { type: 'webhook', name: 'restart-hook', settings: { url: receiverUrl } })).status).toBe(201);
      expect((await call(first, 'POST', '/api/alert-rules', { name: 'load high', condition: { kind: 'metric', metric: 'load1', threshold: 4, for: '6s' } })).status).toBe(201);
      const tokenAnswer = await call(first, 'POST', '/api/join-tokens', {});
      const restartPeer = await enrollPeer(first.url, (tokenAnswer.body as { token: string }).token, 'restart-host');
      const { socket } = await connectPeer(first.url, restartPeer);
      await hello(socket!, 10_000, 'restart-host');
      const busy = (ts: number) => sample(ts, 20, { cpu: { total: 20, perCore: [20, 20], load: [7.5, 3, 2] } });
      const firstSent = Date.now();
      await emitAck(socket!, 'metrics:report', { samples: [busy(firstSent)] });
      const pending = await waitFor(async () => ((await call(first, 'GET', '/api/alerts?state=pending')).body as AlertList).alerts.find((a) => a.ruleName === 'load high'), 5_000, 'the pending alert');
      socket!.close();
      await first.close();

      first = await startHub(overrides, env);
      const again = await connectPeer(first.url, restartPeer);
      await hello(again.socket!, 10_000, 'restart-host');
      await emitAck(again.socket!, 'metrics:report', { samples: [busy(Date.now())] });
      // This attempt's alert only (a retry of this test must not find an earlier attempt's late
      // notice); the wait allows for a loaded machine, the assertion below for the timing.
      const ours = (a: ReturnType<typeof alertsIn>[number]) => a.ruleName === 'load high' && a.alertId === pending.id;
      const message = await waitFor(() => received.find((r) => alertsIn(r).some(ours)), 40_000, 'the load alert');
      const notice = alertsIn(message).find(ours)!;
      expect(notice).toMatchObject({ event: 'firing', alertId: pending.id, since: pending.since, value: 7.5, subject: 'Load (1 min)' });
      // Fired once `for` had elapsed since the first heartbeat, whatever the restart cost.
      expect(Date.now() - pending.since).toBeGreaterThanOrEqual(6_000);
      again.socket!.close();
    } finally {
      await first.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
