import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertList, CommandRun, ContainerSample, Job, JobList } from '@farol/protocol';
import { startHubFixture, waitFor, type HubFixture } from '../../testing/hub-fixture.js';
import { connectPeer, emitAck, enrollPeer, hello, sample, type PeerIdentity } from '../../testing/protocol-peer.js';
import { isPostgresRun } from '../../testing/postgres-test-db.js';
/** These tests open, damage or copy the SQLite file itself (or test a SQLite-only feature): not on the int-pg run (#13). */
const onPostgres = isPostgresRun();

// Issue #11 (M4): a malicious agent reported a watched container named like HTML; the alert
// engine turned it into a docker_logs job that no REST request could have made, and from then on
// GET /api/jobs answered 500 to everyone. Agent data is now validated before a command is built
// from it, and one bad stored row degrades alone instead of breaking the list.

const XSS_NAME = '<img src=x onerror=alert(1)>';

let hub: HubFixture;
let peer: PeerIdentity;

beforeAll(async () => {
  hub = await startHubFixture({ FAROL_ALERTS_GROUP_WINDOW: '50ms' });
  peer = await enrollPeer(hub.url, await hub.createJoinToken({ labels: { env: 'prod' } }), 'xss-agent');
});

afterAll(async () => {
  await hub?.stop();
});

function watchedContainer(name: string): ContainerSample {
  return {
    id: 'b'.repeat(64),
    name,
    image: 'nginx:1',
    state: 'exited',
    status: 'Exited (1) 3 seconds ago',
    health: 'none',
    restartCount: 0,
    exitCode: 1,
    cpuPercent: null,
    memoryBytes: null,
    memoryLimitBytes: null,
    createdAt: Date.now() - 60_000,
    startedAt: Date.now() - 60_000,
    watched: true,
  };
}

describe('agent data never becomes a broken command or a broken page (#11)', () => {
  it('makes no docker_logs job for a watched container whose reported name no command may carry (#11)', async () => {
    const { socket } = await connectPeer(hub.url, peer);
    await hello(socket!, 10_000, 'xss-agent');
    const runs: CommandRun[] = [];
    socket!.on('command:run', (run: CommandRun) => runs.push(run));
    expect(await emitAck(socket!, 'metrics:report', { samples: [sample(Date.now(), 5, { containers: [watchedContainer(XSS_NAME)] })] })).toMatchObject({ ok: true });

    // The alert still fires (the container is down), without its log lines.
    const alert = await waitFor(
      async () => ((await hub.api('GET', '/api/alerts')).body as AlertList).alerts.find((a) => a.ruleName === 'Watched container down'),
      15_000,
      'the container alert',
    );
    expect(alert.state).toBe('firing');
    const jobs = await hub.api('GET', '/api/jobs');
    expect(jobs.status).toBe(200);
    expect((jobs.body as JobList).jobs.filter((job) => job.command.kind === 'docker_logs')).toEqual([]);
    expect(runs).toEqual([]);
    socket!.close();
  });

  it.skipIf(onPostgres)('answers GET /api/jobs and GET /api/jobs/:id with 200 even when a stored row fails the response schema (#11)', async () => {
    // A row as the old alert engine wrote it, put straight into the database.
    const db = new Database(hub.databaseFile);
    const now = Date.now();
    db.prepare('insert into jobs (id, command, targets_spec, state, ttl_ms, timeout_ms, created_by, created_at, expires_at, cancelled_at, finished_at, total) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
      'job_79meznr54h4p26yw',
      JSON.stringify({ kind: 'docker_logs', container: XSS_NAME, tail: 20, timestamps: true }),
      JSON.stringify({ agents: [peer.agentId] }),
      'done',
      5_000,
      5_000,
      'alerts',
      now,
      now + 5_000,
      null,
      now,
      1,
    );
    db.prepare('insert into job_targets (command_id, job_id, agent_id, agent_name, state, exit_code, signal, stdout, stderr, stdout_truncated, stderr_truncated, data, sent_at, started_at, ended_at, error, result_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
      'cmd_badrow0000000000',
      'job_79meznr54h4p26yw',
      peer.agentId,
      peer.name,
      'succeeded',
      0,
      null,
      '',
      '',
      0,
      0,
      JSON.stringify({ kind: 'no-such-data', junk: XSS_NAME }),
      now,
      now,
      now,
      null,
      now,
    );
    db.close();
    // And a good job after it, which the list must still show.
    const good = await hub.api('POST', '/api/jobs', { command: { kind: 'shell', argv: ['true'] }, targets: { agents: [peer.agentId] } });
    expect(good.status).toBe(201);

    const list = await hub.api('GET', '/api/jobs');
    expect(list.status).toBe(200);
    const jobs = (list.body as JobList).jobs;
    expect(jobs.map((job) => job.id)).toEqual(expect.arrayContaining(['job_79meznr54h4p26yw', (good.body as Job).id]));
    const degraded = jobs.find((job) => job.id === 'job_79meznr54h4p26yw')!;
    expect(degraded.command).toMatchObject({ kind: 'docker_logs', container: expect.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/) });
    expect(JSON.stringify(degraded)).not.toContain('<img');

    const one = await hub.api('GET', '/api/jobs/job_79meznr54h4p26yw');
    expect(one.status).toBe(200);
    expect((one.body as Job).targets[0]).toMatchObject({ state: 'succeeded', data: null });
  });
});
