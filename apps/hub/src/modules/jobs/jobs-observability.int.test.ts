import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditList, type CommandClaims, type Job, type CommandRun } from '@farol/protocol';
import { startHubFixture, waitFor, type HubFixture } from '../../testing/hub-fixture.js';
import { connectPeer, emitAck, enrollPeer, hello, readCommandRun } from '../../testing/protocol-peer.js';

// Issue #3 leftovers: Prometheus metrics of jobs, and the strikes that disconnect an agent
// sending results for commands it was never given. A fresh hub, so the counters start at 0.

let hub: HubFixture;
beforeAll(async () => {
  hub = await startHubFixture();
});
afterAll(async () => {
  await hub?.stop();
});

async function agent(name: string): Promise<{ socket: Socket; commands: CommandClaims[] }> {
  const peer = await enrollPeer(hub.url, await hub.createJoinToken(), name);
  const connected = await connectPeer(hub.url, peer);
  if (!connected.socket) throw new Error('connect failed');
  const commands: CommandClaims[] = [];
  connected.socket.on('command:run', (run: CommandRun) => {
    commands.push(readCommandRun(run));
  });
  if (!(await hello(connected.socket, 10_000, name)).ok) throw new Error('hello failed');
  return { socket: connected.socket, commands };
}

/** Name and labels of a series, `name{a="1",b="2"}`, as a name and a sorted label list. */
function seriesKey(series: string, ignore: string[] = []): string {
  const match = /^([^{\s]+)(?:\{(.*)\})?$/.exec(series);
  const labels = (match?.[2] ?? '').split(/,(?=[a-z_]+=)/).filter((l) => l !== '' && !ignore.some((name) => l.startsWith(`${name}=`)));
  return `${match?.[1]}{${labels.sort().join(',')}}`;
}

/**
 * One sample's value from the Prometheus text, or undefined when the series is absent. The
 * `hub` label every series carries (several hubs, #14) is not part of the comparison.
 */
async function metric(series: string): Promise<number | undefined> {
  const text = (await hub.api('GET', '/metrics', undefined, null)).body as string;
  const wanted = seriesKey(series);
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const at = line.lastIndexOf(' ');
    if (seriesKey(line.slice(0, at), ['hub']) === wanted) return Number(line.slice(at + 1));
  }
  return undefined;
}

const resultOf = (commandId: string, state: 'succeeded' | 'failed' = 'succeeded') => ({
  commandId,
  state,
  exitCode: 0,
  signal: null,
  stdout: 'ok\n',
  stderr: '',
  stdoutTruncated: false,
  stderrTruncated: false,
  data: null,
  startedAt: Date.now(),
  endedAt: Date.now(),
  error: null,
});

describe('job metrics on /metrics', () => {
  it('counts jobs by kind, finished targets by state, round trips, and queued targets', async () => {
    const online = await agent('metrics-online');
    const away = await agent('metrics-away');
    away.socket.close();
    await waitFor(async () => ((await hub.api('GET', '/api/agents/metrics-away')).body as { status: string }).status === 'offline' || undefined, 5_000, 'offline');

    const queued = (await hub.api('POST', '/api/jobs', { command: { kind: 'shell', argv: ['true'] }, targets: { agents: ['metrics-away'] }, ttlMs: 60_000 })).body as Job;
    expect(await metric('farol_job_targets_queued')).toBe(1);

    const sent = (await hub.api('POST', '/api/jobs', { command: { kind: 'shell', argv: ['echo', 'ok'] }, targets: { agents: ['metrics-online'] } })).body as Job;
    await waitFor(() => online.commands.length === 1 || undefined, 5_000, 'the command');
    expect(await emitAck(online.socket, 'command:result', resultOf(sent.targets[0]!.commandId))).toEqual({ ok: true, data: { stored: true } });

    expect(await metric('farol_jobs_created_total{kind="shell"}')).toBe(2);
    expect(await metric('farol_job_targets_finished_total{state="succeeded"}')).toBe(1);
    expect(await metric('farol_command_round_trip_seconds_count{kind="shell"}')).toBe(1);
    expect(await metric('farol_command_round_trip_seconds_sum{kind="shell"}')).toBeGreaterThan(0);

    await hub.api('POST', `/api/jobs/${queued.id}/cancel`);
    expect(await metric('farol_job_targets_queued')).toBe(0);
    expect(await metric('farol_job_targets_finished_total{state="cancelled"}')).toBe(1);
    online.socket.close();
  });
});

describe('an agent sending results for commands it was never given', () => {
  it('is refused each time, and disconnected after more than 10 within a minute', async () => {
    const rogue = await agent('rogue');
    const answers: Array<{ ok: boolean; code?: string }> = [];
    for (let i = 0; i < 11 && rogue.socket.connected; i++) {
      const ack = await emitAck(rogue.socket, 'command:result', resultOf(`cmd_${String(i).padStart(16, '0')}`, 'failed'));
      answers.push(ack.ok ? { ok: true } : { ok: false, code: ack.error.code });
    }
    expect(answers).toHaveLength(11);
    expect(answers.every((a) => !a.ok && a.code === 'forbidden')).toBe(true);
    await waitFor(() => !rogue.socket.connected || undefined, 5_000, 'the disconnect');
    const refused = (await hub.api('GET', '/api/audit?action=command.result_refused&agent=rogue')).body as AuditList;
    expect(refused.entries).toHaveLength(11);

    // An agent that behaves stays connected: ten refusals are tolerated.
    const careless = await agent('careless');
    for (let i = 0; i < 10; i++) await emitAck(careless.socket, 'command:result', resultOf(`cmd_${String(100 + i).padStart(16, '0')}`, 'failed'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(careless.socket.connected).toBe(true);
    careless.socket.close();
  });
});
