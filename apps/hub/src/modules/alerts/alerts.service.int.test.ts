import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AlertChangedEvent, AlertNotice, ContainerSample, HeartbeatSample, JobTargetEvent, Notification } from '@farol/protocol';
import { createMemoryBus, type Bus } from '../../infra/bus.js';
import { openSqliteDatabase, type Db } from '../../infra/database.js';
import { createLogger } from '../../infra/logger.js';
import { createRepositories, createUnitOfWork, type Repositories } from '../repositories.js';
import { sample } from '../../testing/protocol-peer.js';
import { createAlertsService, type AlertsService, type AlertsServiceOptions } from './alerts.service.js';

const MINUTE = 60_000;
const START = Date.UTC(2026, 10, 23, 6, 0, 0);
const WEB = 'ag_web0000000000001';
const GPU = 'ag_gpu0000000000001';
const logger = createLogger('silent');

interface Call {
  channels: string[];
  notification: Notification;
}

let dir: string;
let db: Db;
let repos: Repositories;
let bus: Bus;
let clock: { t: number; now(): number };
let calls: Call[];
let online: Set<string>;
let changes: AlertChangedEvent[];
let service: AlertsService;
/** Transactions the service opened (issue #14: a burst of changes is stored in one). */
let transactions = 0;

function notices(call: Call): AlertNotice[] {
  return call.notification.kind === 'alerts' ? call.notification.alerts : [];
}

async function startService(options: Partial<AlertsServiceOptions> = {}): Promise<AlertsService> {
  const unitOfWork = createUnitOfWork(db);
  const created = createAlertsService({
    alerts: repos.alerts,
    unitOfWork: (work) => {
      transactions += 1;
      return unitOfWork(work);
    },
    agents: repos.agents,
    isOnline: (id) => online.has(id),
    latestValues: () => null,
    notifier: {
      async notify(channels, notification) {
        calls.push({ channels, notification });
      },
    },
    bus,
    clock,
    logger,
    options: { defaultCooldownMs: 30 * MINUTE, defaultChannels: ['ops'], groupWindowMs: 0, startupGraceMs: 30_000, report: null, timers: false, ...options },
  });
  await created.start();
  return created;
}

async function heartbeat(agentId: string, cpu: number, extra: Partial<HeartbeatSample> = {}): Promise<void> {
  bus.publish('metrics.sample', { agentId, sample: sample(clock.now(), cpu, extra) });
  await service.settle();
}

async function advance(ms: number): Promise<void> {
  clock.t += ms;
  await service.tick();
  await service.settle();
}

/** Only the rules a test names: the defaults are disabled so they stay out of the way. */
async function onlyRules(...inputs: Parameters<AlertsService['createRule']>[0][]): Promise<void> {
  for (const rule of service.listRules()) await service.updateRule(rule.id, { enabled: false });
  for (const input of inputs) await service.createRule(input);
}

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'farol-alerts-'));
  ({ db } = await openSqliteDatabase(dir));
  repos = createRepositories(db);
  for (const [id, name, labels] of [
    [WEB, 'web-1', { role: 'web' }],
    [GPU, 'gpu-1', { role: 'gpu' }],
  ] as const) {
    await repos.agents.insert({ id, name, hostname: name, publicKey: id, keyFingerprint: id, labels, system: null, createdAt: START, joinTokenId: 'jt' });
    await repos.agents.setStatus((await repos.agents.findById(id))!.seq, 'online', START);
  }
  bus = createMemoryBus(logger);
  clock = { t: START, now: () => clock.t };
  calls = [];
  changes = [];
  online = new Set([WEB, GPU]);
  bus.subscribe('alert.changed', (event) => changes.push(event));
  service = await startService();
});

afterEach(async () => {
  await service.stop();
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('alert rules', () => {
  it('creates the default rules on first start, editable and disable-able', async () => {
    const names = service.listRules().map((r) => r.name);
    expect(names).toEqual(['CPU high', 'Memory high', 'Disk full', 'Machine offline', 'Watched container down', 'Watched container unhealthy']);
    const cpu = service.getRule('CPU high');
    expect(cpu).toMatchObject({ source: 'default', severity: 'warning', condition: { kind: 'metric', metric: 'cpu', op: '>', threshold: 85, for: 300_000 } });
    expect(service.getRule('Memory high').condition).toMatchObject({ threshold: 90 });
    expect(service.getRule('Disk full').condition).toMatchObject({ metric: 'disk', threshold: 90 });
    await service.updateRule('CPU high', { enabled: false });
    // A second start does not bring deleted or disabled defaults back.
    await service.deleteRule('Memory high');
    await service.stop();
    service = await startService();
    expect(service.getRule('CPU high').enabled).toBe(false);
    expect(service.listRules().map((r) => r.name)).not.toContain('Memory high');
  });

  it('refuses a metric that names nothing a heartbeat has, and recovery on the wrong side', async () => {
    await expect(service.createRule({ name: 'bad', condition: { kind: 'metric', metric: 'bogus.field', threshold: 1 } })).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(service.createRule({ name: 'bad', condition: { kind: 'metric', metric: 'cpu', op: '>', threshold: 80, recovery: 90 } })).rejects.toMatchObject({
      code: 'validation_failed',
    });
    await expect(service.createRule({ name: 'CPU high', condition: { kind: 'metric', metric: 'cpu', threshold: 1 } })).rejects.toMatchObject({ code: 'name_taken' });
  });
});

describe('metric alerts', () => {
  it('a flapping metric sends no spam: hysteresis keeps one alert, values crossing the recovery line never fire', async () => {
    await onlyRules({ name: 'cpu', condition: { kind: 'metric', metric: 'cpu', op: '>', threshold: 85, recovery: 80, for: '5m' }, cooldown: '2h' });
    // 86 / 84 every 10 s for 20 min: hovering at the line, above the recovery value.
    for (let i = 0; i < 120; i++) {
      await heartbeat(WEB, i % 2 === 0 ? 86 : 84);
      await advance(10_000);
    }
    expect(calls).toHaveLength(1);
    expect(notices(calls[0]!)[0]).toMatchObject({ event: 'firing', agentName: 'web-1', subject: 'CPU', threshold: 85, comparator: '>', unit: '%' });
    expect(notices(calls[0]!)[0]!.summary).toMatch(/^CPU 8[46] % > 85 % for 5 min$/);

    // 90 / 70 every 10 s on another machine: it crosses the recovery line each time, so `for` never elapses.
    calls = [];
    for (let i = 0; i < 120; i++) {
      await heartbeat(GPU, i % 2 === 0 ? 90 : 70);
      await advance(10_000);
    }
    expect(calls).toEqual([]);
    // Followers (dashboards, event webhooks) saw it start and clear, never fire.
    expect(new Set(changes.filter((c) => c.alert.agentName === 'gpu-1').map((c) => c.event))).toEqual(new Set(['pending', 'cleared']));
    const listed = await service.listAlerts({ state: 'all' });
    expect(listed.alerts.map((a) => a.agentName)).toEqual(['web-1']);
  });

  it('fires after `for`, says why (value, threshold, since, top processes) and resolves with a notice', async () => {
    await onlyRules({ name: 'cpu', condition: { kind: 'metric', metric: 'cpu', threshold: 85, for: '5m' }, severity: 'critical' });
    const topCpu = [{ pid: 42, name: 'miner', cpu: 180, memory: 3, rss: 123_000 }];
    await heartbeat(WEB, 95, { topCpu });
    const since = clock.now();
    expect(changes.map((c) => c.event)).toEqual(['pending']);
    await advance(4 * MINUTE);
    expect(calls).toEqual([]);
    await advance(MINUTE);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.channels).toEqual(['ops']);
    expect(notices(calls[0]!)[0]).toMatchObject({
      event: 'firing',
      severity: 'critical',
      value: 95,
      since,
      topProcesses: [{ pid: 42, name: 'miner', cpu: 180, memoryBytes: 123_000 }],
      summary: 'CPU 95 % > 85 % for 5 min',
    });
    await heartbeat(WEB, 40);
    expect(calls).toHaveLength(2);
    expect(notices(calls[1]!)[0]).toMatchObject({ event: 'resolved', resolvedAt: clock.now(), summary: 'CPU back to 40 %' });
    const [alert] = (await service.listAlerts({ state: 'resolved' })).alerts;
    const detail = await service.getAlert(alert!.id);
    expect(detail.events.map((e) => [e.event, e.channels])).toEqual([
      ['firing', ['ops']],
      ['resolved', ['ops']],
    ]);
  });

  it('a machine enrolled after the start, heard first by a heartbeat: the alert names it and label-scoped rules cover it', async () => {
    await onlyRules({ name: 'prod cpu', condition: { kind: 'metric', metric: 'cpu', threshold: 85 }, scope: { selector: 'env=prod' } });
    const late = 'ag_late000000000001';
    await repos.agents.insert({ id: late, name: 'late-host', hostname: 'late-host', publicKey: late, keyFingerprint: late, labels: { env: 'prod' }, system: null, createdAt: START, joinTokenId: 'jt' });
    online.add(late);
    // Its heartbeat reaches the alerts before its status event does.
    await heartbeat(late, 97);
    expect(calls).toHaveLength(1);
    expect(notices(calls[0]!)[0]).toMatchObject({ event: 'firing', agentId: late, agentName: 'late-host' });
    const [alert] = (await service.listAlerts({ state: 'firing' })).alerts;
    expect(alert).toMatchObject({ agentId: late, agentName: 'late-host' });
  });

  it('reads one alert per mount and per GPU', async () => {
    await onlyRules(
      { name: 'disk', condition: { kind: 'metric', metric: 'disk', threshold: 90 } },
      { name: 'gpu hot', condition: { kind: 'metric', metric: 'gpu.temperature', threshold: 80 } },
    );
    const fs = (mount: string, percent: number) => ({ mount, device: 'd', type: 'ext4', size: 100, used: percent, percent });
    const gpu = (index: number, temperature: number) => ({ index, name: 'RTX', utilization: 10, memoryUsed: 1, memoryTotal: 2, temperature, powerWatts: 100 });
    await heartbeat(GPU, 10, { filesystems: [fs('/', 40), fs('/data', 95), fs('/var', 93)], gpus: [gpu(0, 85), gpu(1, 60)] });
    expect(calls).toHaveLength(1);
    expect(notices(calls[0]!).map((n) => n.subject).sort()).toEqual(['Disk /data', 'Disk /var', 'GPU temperature gpu0']);
  });

  it('a hub restart while pending keeps the pending start time', async () => {
    await onlyRules({ name: 'cpu', condition: { kind: 'metric', metric: 'cpu', threshold: 85, for: '5m' } });
    await heartbeat(WEB, 95);
    const since = clock.now();
    await advance(3 * MINUTE);
    await service.stop();
    service = await startService();
    await advance(MINUTE);
    await heartbeat(WEB, 96);
    expect(calls).toEqual([]);
    await advance(MINUTE);
    expect(calls).toHaveLength(1);
    expect(notices(calls[0]!)[0]).toMatchObject({ event: 'firing', since, summary: 'CPU 96 % > 85 % for 5 min' });
  });

  it('groups alerts that change in one evaluation: one notify call per channel', async () => {
    await onlyRules(
      { name: 'cpu', condition: { kind: 'metric', metric: 'cpu', threshold: 85 }, channels: ['ops', 'chat'] },
      { name: 'mem', condition: { kind: 'metric', metric: 'memory', threshold: 40 }, channels: ['ops', 'chat'] },
      { name: 'swap', condition: { kind: 'metric', metric: 'swap', op: '>=', threshold: 0 }, channels: ['ops'] },
    );
    await heartbeat(WEB, 99);
    expect(calls.map((c) => c.channels)).toEqual([['ops'], ['chat']]);
    expect(notices(calls[0]!).map((n) => n.ruleName)).toEqual(['cpu', 'mem', 'swap']);
    expect(notices(calls[1]!).map((n) => n.ruleName)).toEqual(['cpu', 'mem']);
  });
});

describe('repeats, acknowledgement, escalation, silences', () => {
  beforeEach(async () => {
    await onlyRules({
      name: 'cpu',
      condition: { kind: 'metric', metric: 'cpu', threshold: 85 },
      escalation: { after: '45m', channels: ['oncall'] },
    });
  });

  it('repeats a still-firing alert once per cooldown, not more', async () => {
    await heartbeat(WEB, 95);
    expect(calls).toHaveLength(1);
    for (let i = 0; i < 29; i++) await advance(MINUTE);
    await heartbeat(WEB, 97);
    expect(calls).toHaveLength(1);
    await advance(MINUTE);
    expect(calls).toHaveLength(2);
    expect(notices(calls[1]!)[0]).toMatchObject({ event: 'repeat', value: 97, summary: 'CPU 97 % > 85 % for 30 min' });
    await advance(10 * MINUTE);
    expect(calls).toHaveLength(2);
  });

  it('escalates to more channels after N minutes unacknowledged, and resolves to everyone told', async () => {
    await heartbeat(WEB, 95);
    await advance(30 * MINUTE); // repeat
    await advance(15 * MINUTE); // escalation
    expect(calls.map((c) => [c.channels[0], notices(c)[0]!.event])).toEqual([
      ['ops', 'firing'],
      ['ops', 'repeat'],
      ['oncall', 'escalated'],
    ]);
    await heartbeat(WEB, 10);
    expect(calls.slice(3).map((c) => [c.channels[0], notices(c)[0]!.event])).toEqual([
      ['ops', 'resolved'],
      ['oncall', 'resolved'],
    ]);
  });

  it('acknowledging stops repeats and escalation, and records who and when', async () => {
    await heartbeat(WEB, 95);
    const [alert] = (await service.listAlerts({})).alerts;
    await advance(5 * MINUTE);
    const acked = await service.acknowledge(alert!.id, 'admin', { note: 'looking' });
    expect(acked).toMatchObject({ acknowledgedBy: 'admin', acknowledgedAt: clock.now(), acknowledgeNote: 'looking' });
    for (let i = 0; i < 12; i++) await advance(10 * MINUTE);
    expect(calls).toHaveLength(1);
    expect(changes.map((c) => c.event)).toContain('acknowledged');
    await heartbeat(WEB, 10);
    expect(notices(calls[1]!)[0]!.event).toBe('resolved');
    await expect(service.acknowledge(alert!.id, 'admin', {})).rejects.toMatchObject({ code: 'conflict' });
  });

  it('a silence covers a rule: tracked, not sent; the firing notice goes out when it ends', async () => {
    const silence = await service.createSilence({ matcher: { rules: ['cpu'], selector: 'role=web' }, duration: '1h', reason: 'planned load test' }, 'admin');
    expect(silence).toMatchObject({ createdBy: 'admin', reason: 'planned load test', active: true, endsAt: clock.now() + 60 * MINUTE });
    await heartbeat(WEB, 95);
    await heartbeat(GPU, 95);
    expect(calls).toHaveLength(1);
    expect(notices(calls[0]!).map((n) => n.agentName)).toEqual(['gpu-1']);
    const web = (await service.listAlerts({ agent: 'web-1' })).alerts[0]!;
    expect(web).toMatchObject({ state: 'firing', silenced: true, notifications: 0 });
    expect((await service.getAlert(web.id)).events[0]).toMatchObject({ event: 'firing', silencedBy: silence.id, channels: [] });
    await advance(40 * MINUTE);
    expect(calls.flatMap((c) => notices(c).map((n) => n.agentName))).not.toContain('web-1');
    await service.removeSilence(silence.id, 'admin');
    await advance(1_000);
    const sent = calls.flatMap((c) => notices(c)).filter((n) => n.agentName === 'web-1');
    expect(sent.map((n) => n.event)).toEqual(['firing']);
  });
});

describe('presence, containers, jobs', () => {
  const offlineEvent = (status: 'online' | 'offline', reason: 'connected' | 'disconnected' | 'heartbeat_missed' | 'hub_shutdown') => ({
    agentId: WEB,
    name: 'web-1',
    status,
    lastSeen: clock.now(),
    at: clock.now(),
    reason,
  });

  it('an offline machine is alerted once and resolved when it returns', async () => {
    await onlyRules({ name: 'offline', condition: { kind: 'offline', for: '30s' }, severity: 'critical', cooldown: 0 }, { name: 'back', condition: { kind: 'online' }, severity: 'info' });
    online.delete(WEB);
    bus.publish('agent.status', offlineEvent('offline', 'disconnected'));
    await service.settle();
    await advance(10_000);
    bus.publish('agent.status', offlineEvent('offline', 'heartbeat_missed'));
    expect(calls).toEqual([]);
    await advance(20_000);
    for (let i = 0; i < 20; i++) await advance(10 * MINUTE);
    expect(calls).toHaveLength(1);
    expect(notices(calls[0]!)[0]).toMatchObject({ event: 'firing', subject: 'offline', severity: 'critical' });
    expect(notices(calls[0]!)[0]!.summary).toMatch(/^web-1 offline for 30 s \(last heard /);
    online.add(WEB);
    bus.publish('agent.status', offlineEvent('online', 'connected'));
    await service.settle();
    expect(calls).toHaveLength(2);
    expect(notices(calls[1]!).map((n) => [n.ruleName, n.event])).toEqual([
      ['offline', 'resolved'],
      ['back', 'firing'],
    ]);
  });

  it('stores a burst of presence changes together; a machine back before its offline alert was stored leaves nothing behind (issue #14)', async () => {
    await onlyRules({ name: 'offline', condition: { kind: 'offline', for: '30s' }, severity: 'critical' });
    await service.settle();
    changes.length = 0;
    transactions = 0;
    // One tick: both machines drop, web-1 comes back before anything is written.
    online.delete(WEB);
    online.delete(GPU);
    bus.publish('agent.status', offlineEvent('offline', 'disconnected'));
    bus.publish('agent.status', { ...offlineEvent('offline', 'disconnected'), agentId: GPU, name: 'gpu-1' });
    online.add(WEB);
    bus.publish('agent.status', offlineEvent('online', 'connected'));
    await service.settle();
    expect(changes.map((c) => [c.alert.agentName, c.event])).toEqual([
      ['web-1', 'pending'],
      ['gpu-1', 'pending'],
      ['web-1', 'cleared'],
    ]);
    expect((await repos.alerts.activeAlerts()).map((a) => [a.agentName, a.state])).toEqual([['gpu-1', 'pending']]);
    expect(transactions).toBe(1);
    // Stored, then cleared in a later write: the stored row goes.
    online.add(GPU);
    bus.publish('agent.status', { ...offlineEvent('online', 'connected'), agentId: GPU, name: 'gpu-1' });
    await service.settle();
    expect(await repos.alerts.activeAlerts()).toEqual([]);
    expect(calls).toEqual([]);
  });

  it('stores a storm of presence changes in transactions of at most 500 changes, every one kept (#16)', async () => {
    await onlyRules({ name: 'offline', condition: { kind: 'offline', for: '30s' }, severity: 'critical' });
    const fleet: Array<{ id: string; name: string }> = [];
    for (let i = 0; i < 1_200; i++) {
      const machine = { id: `ag_storm${String(i).padStart(11, '0')}`, name: `storm-${i}` };
      await repos.agents.insert({ ...machine, hostname: machine.name, publicKey: machine.id, keyFingerprint: machine.id, labels: {}, system: null, createdAt: START, joinTokenId: 'jt' });
      fleet.push(machine);
    }
    await service.settle();
    changes.length = 0;
    transactions = 0;
    for (const machine of fleet) bus.publish('agent.status', { ...offlineEvent('offline', 'disconnected'), agentId: machine.id, name: machine.name });
    await service.settle();
    expect(changes.filter((c) => c.event === 'pending')).toHaveLength(1_200);
    expect((await repos.alerts.activeAlerts()).filter((a) => a.agentName?.startsWith('storm-'))).toHaveLength(1_200);
    expect(transactions).toBeGreaterThanOrEqual(3);
    expect(transactions).toBeLessThanOrEqual(5);
  });

  it('the hub\'s own shutdown is not a machine going offline', async () => {
    await onlyRules({ name: 'offline', condition: { kind: 'offline' } });
    bus.publish('agent.status', offlineEvent('offline', 'hub_shutdown'));
    await advance(MINUTE);
    expect(calls).toEqual([]);
  });

  it('after a start, machines that do not come back within the grace are offline', async () => {
    await onlyRules({ name: 'offline', condition: { kind: 'offline' } });
    await service.stop();
    online.delete(GPU);
    service = await startService();
    await advance(20_000);
    expect(calls).toEqual([]);
    await advance(10_000);
    expect(calls.flatMap((c) => notices(c)).map((n) => n.agentName)).toEqual(['gpu-1']);
  });

  function container(name: string, patch: Partial<ContainerSample>): ContainerSample {
    return {
      id: `${name}0000000000`,
      name,
      image: 'nginx:1',
      state: 'running',
      status: 'Up 3 hours',
      health: 'none',
      restartCount: 0,
      exitCode: null,
      cpuPercent: 1,
      memoryBytes: 1,
      memoryLimitBytes: 2,
      createdAt: START,
      startedAt: START,
      watched: true,
      ...patch,
    };
  }

  it('watched containers down or unhealthy fire with the default rules; unwatched ones do not', async () => {
    await heartbeat(WEB, 10, {
      containers: [
        container('web', { state: 'exited', exitCode: 137, status: 'Exited (137) 1 minute ago' }),
        container('db', { health: 'unhealthy', status: 'Up 2 hours (unhealthy)' }),
        container('scratch', { state: 'exited', exitCode: 1, watched: false }),
        container('cache', { state: 'missing', id: '', image: '', status: '' }),
      ],
    });
    expect(calls).toHaveLength(1);
    expect(notices(calls[0]!).map((n) => n.summary)).toEqual([
      'container web is exited (exit code 137): Exited (137) 1 minute ago for 0 s',
      'container cache is missing for 0 s',
    ]);
    await advance(MINUTE);
    expect(calls).toHaveLength(2);
    expect(notices(calls[1]!).map((n) => [n.subject, n.event, n.summary])).toEqual([['container db', 'firing', 'container db is unhealthy: Up 2 hours (unhealthy) for 1 min']]);
    await heartbeat(WEB, 10, {
      containers: [container('web', { state: 'running' }), container('db', { health: 'unhealthy', status: 'Up 2 hours (unhealthy)' }), container('cache', { state: 'missing' })],
    });
    expect(calls).toHaveLength(3);
    expect(notices(calls[2]!).map((n) => [n.subject, n.event])).toEqual([['container web', 'resolved']]);
  });

  it('a container restarting in a loop fires', async () => {
    await onlyRules({ name: 'loop', condition: { kind: 'container', condition: 'restarting', restarts: 3, window: '10m' } });
    for (let count = 0; count <= 3; count++) {
      await heartbeat(WEB, 10, { containers: [container('api', { restartCount: count, state: count % 2 ? 'restarting' : 'running' })] });
      await advance(MINUTE);
    }
    expect(calls).toHaveLength(1);
    expect(notices(calls[0]!)[0]).toMatchObject({ subject: 'container api', value: 3 });
    for (let i = 0; i < 11; i++) {
      await heartbeat(WEB, 10, { containers: [container('api', { restartCount: 3 })] });
      await advance(MINUTE);
    }
    expect(notices(calls[1]!)[0]).toMatchObject({ event: 'resolved', summary: 'container api stopped restarting (running)' });
  });

  it('a failed job target fires once, a late second result of the same command does not', async () => {
    await onlyRules({ name: 'jobs', condition: { kind: 'job_failed' }, scope: { selector: 'role=web' } });
    const target = (agentId: string, agentName: string, state: 'failed' | 'succeeded'): JobTargetEvent => ({
      jobId: 'job_aaaaaaaaaaaaaaaa',
      target: {
        commandId: `cmd_${agentName.replace('-', '')}aaaaaaaaaaa`.slice(0, 20),
        agentId,
        agentName,
        state,
        exitCode: state === 'failed' ? 2 : 0,
        signal: null,
        stdout: '',
        stderr: '',
        stdoutTruncated: false,
        stderrTruncated: false,
        data: null,
        sentAt: START,
        startedAt: START,
        endedAt: START,
        error: null,
      },
    });
    bus.publish('job.target', target(WEB, 'web-1', 'failed'));
    bus.publish('job.target', target(WEB, 'web-1', 'failed'));
    bus.publish('job.target', target(GPU, 'gpu-1', 'failed'));
    await service.settle();
    expect(calls).toHaveLength(1);
    expect(notices(calls[0]!)).toHaveLength(1);
    expect(notices(calls[0]!)[0]).toMatchObject({ event: 'firing', agentName: 'web-1', subject: 'job job_aaaaaaaaaaaaaaaa', summary: 'job job_aaaaaaaaaaaaaaaa failed on web-1: exit code 2', value: 2 });
    bus.publish('job.target', target(WEB, 'web-1', 'succeeded'));
    await service.settle();
    expect(calls).toHaveLength(1);
  });
});

describe('delivery and the periodic report', () => {
  it('a notifier failure is retried; after a restart undelivered notices go out', async () => {
    await onlyRules({ name: 'cpu', condition: { kind: 'metric', metric: 'cpu', threshold: 85 } });
    await service.stop();
    let failing = true;
    const failingService = createAlertsService({
      alerts: repos.alerts,
      unitOfWork: createUnitOfWork(db),
      agents: repos.agents,
      isOnline: (id) => online.has(id),
      latestValues: () => null,
      notifier: {
        async notify(channels, notification) {
          if (failing) throw new Error('outbox unavailable');
          calls.push({ channels, notification });
        },
      },
      bus,
      clock,
      logger,
      options: { defaultCooldownMs: 30 * MINUTE, defaultChannels: ['ops'], groupWindowMs: 0, startupGraceMs: 30_000, report: null, timers: false },
    });
    await failingService.start();
    service = failingService;
    await heartbeat(WEB, 95);
    expect(calls).toEqual([]);
    failing = false;
    await advance(10_000);
    expect(calls).toEqual([]);
    await advance(20_000);
    expect(calls.map((c) => notices(c)[0]!.event)).toEqual(['firing']);

    // Committed but never handed over (a crash in between): sent at the next start.
    failing = true;
    await heartbeat(WEB, 10);
    await service.stop();
    calls = [];
    service = await startService();
    await service.settle();
    expect(calls.map((c) => notices(c)[0]!.event)).toEqual(['resolved']);
  });

  it('sends a fleet report every N hours to the chosen channels', async () => {
    await service.stop();
    service = await startService({ report: { everyMs: 6 * 60 * MINUTE, channels: ['daily'] } });
    await onlyRules({ name: 'cpu', condition: { kind: 'metric', metric: 'cpu', threshold: 85 } });
    await heartbeat(WEB, 95);
    online.delete(GPU);
    await advance(5 * 60 * MINUTE);
    expect(calls.filter((c) => c.notification.kind === 'report')).toEqual([]);
    await advance(60 * MINUTE);
    const reports = calls.filter((c) => c.notification.kind === 'report');
    expect(reports).toHaveLength(1);
    expect(reports[0]!.channels).toEqual(['daily']);
    expect(reports[0]!.notification).toMatchObject({
      kind: 'report',
      report: { periodMs: 6 * 60 * MINUTE, agents: { total: 2, online: 1, offline: 1 }, firedInPeriod: 1, resolvedInPeriod: 0, firing: [{ ruleName: 'cpu', agentName: 'web-1' }] },
    });
    await advance(60 * MINUTE);
    expect(calls.filter((c) => c.notification.kind === 'report')).toHaveLength(1);
  });
});
