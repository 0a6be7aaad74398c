import { describe, expect, it } from 'vitest';
import { ContainerUpdateRuleCreateSchema, matchesContainerGlob, type ContainerRollout, type HeartbeatSample, type QuietHours } from '@farol/protocol';
import { createLogger } from '../../infra/logger.js';
import type { AgentRecord } from '../agents/machines.js';
import type { AuditService } from '../audit/audit.service.js';
import type { JobsService } from '../jobs/jobs.service.js';
import { renderMessage } from '../notify/render.js';
import type { SecretsService } from '../secrets/secrets.service.js';
import type { AutoUpdateRepository } from './auto-update.repository.js';
import { createAutoUpdateService, defaultWindowOf, insideWindow, windowOf, windowOpen } from './auto-update.service.js';

describe('container auto-update rules (#18)', () => {
  it('matches container names against globs, literally otherwise', () => {
    expect(matchesContainerGlob('web', 'web')).toBe(true);
    expect(matchesContainerGlob('web', 'web-1')).toBe(false);
    expect(matchesContainerGlob('api-*', 'api-eu')).toBe(true);
    expect(matchesContainerGlob('api-?', 'api-12')).toBe(false);
    expect(matchesContainerGlob('a.b', 'axb')).toBe(false);
  });

  it('refuses globs and windows that are not well formed', () => {
    expect(ContainerUpdateRuleCreateSchema.safeParse({ selector: 'all', containers: ['web'] }).success).toBe(true);
    expect(ContainerUpdateRuleCreateSchema.safeParse({ selector: 'all', containers: ['../x'] }).success).toBe(false);
    expect(ContainerUpdateRuleCreateSchema.safeParse({ selector: 'all', containers: [] }).success).toBe(false);
    expect(ContainerUpdateRuleCreateSchema.safeParse({ selector: 'all', containers: ['web'], window: { start: '25:00', end: '03:00' } }).success).toBe(false);
  });

  it('starts updates only inside a rule\'s daily window (spanning midnight too)', () => {
    const at = (hhmm: string) => Date.parse(`2026-12-06T${hhmm}:00Z`);
    const night = { window: { start: '22:00', end: '04:00', timezone: 'UTC' } };
    expect(insideWindow(null, at('12:00'))).toBe(true);
    expect(insideWindow(night, at('23:30'))).toBe(true);
    expect(insideWindow(night, at('03:59'))).toBe(true);
    expect(insideWindow(night, at('04:00'))).toBe(false);
    expect(insideWindow(night, at('12:00'))).toBe(false);
  });

  it('renders a rollback notice with the reason and the machines left alone', () => {
    const message = renderMessage(
      { kind: 'container_update', outcome: 'rolled_back', machine: 'web-1', container: 'web', image: 'reg:5000/app:1', digest: 'sha256:ab', reason: 'the new container is unhealthy', skipped: ['web-2', 'web-3'] },
      'plain',
      null,
      { now: 0 },
    );
    expect(message.title).toContain('web rolled back on web-1');
    expect(message.lines).toEqual(['reg:5000/app:1 → sha256:ab', 'Reason: the new container is unhealthy', 'The rollout stopped; left alone: web-2, web-3']);
    expect(message.severity).toBe('warning');
  });
});

describe('maintenance windows of label-only opt-ins (#18)', () => {
  const OFFERED = `sha256:${'2'.repeat(64)}`;
  const at = (hhmm: string) => Date.parse(`2026-12-06T${hhmm}:00Z`);

  /** The service over in-memory collaborators: machines a-box and b-box both run web with an update offered. */
  function fleet(windows: Record<'a-box' | 'b-box', string | null>, defaultWindow: QuietHours | null = null) {
    let now = at('12:00');
    const rollouts: ContainerRollout[] = [];
    const created: Array<{ agents: string[] }> = [];
    const machines = (['a-box', 'b-box'] as const).map((name, seq) => ({ id: `ag_${name}`, name, seq, labels: {} }) as unknown as AgentRecord);
    const sampleOf = (name: 'a-box' | 'b-box'): HeartbeatSample =>
      ({
        ts: now,
        containers: [
          { id: 'c1', name: 'web', image: 'reg:5000/app:1', state: 'running', status: 'Up', health: 'none', restartCount: 0, exitCode: null, cpuPercent: null, memoryBytes: null, memoryLimitBytes: null, createdAt: null, startedAt: null, watched: false, digest: `sha256:${'1'.repeat(64)}`, availableDigest: OFFERED, autoUpdate: true, autoUpdateWindow: windows[name] },
        ],
      }) as unknown as HeartbeatSample;
    const service = createAutoUpdateService({
      repo: {
        listRules: async () => [],
        findRule: async () => null,
        running: async () => rollouts.filter((r) => r.state === 'running').map((r) => structuredClone(r)),
        exists: async (container: string, digest: string) => rollouts.some((r) => r.container === container && r.digest === digest),
        insert: async (rollout: ContainerRollout) => void rollouts.push(structuredClone(rollout)),
        save: async (rollout: ContainerRollout) => void rollouts.splice(rollouts.findIndex((r) => r.id === rollout.id), 1, structuredClone(rollout)),
      } as unknown as AutoUpdateRepository,
      agents: { list: async () => machines, findById: async (id: string) => machines.find((m) => m.id === id) },
      telemetry: {
        latestSamples: async (seqs?: number[]) => new Map(machines.filter((m) => !seqs || seqs.includes(m.seq)).map((m) => [m.seq, sampleOf(m.name as 'a-box' | 'b-box')])),
        latestOfferingUpdates: async () => new Map(machines.map((m) => [m.seq, sampleOf(m.name as 'a-box' | 'b-box')])),
      },
      jobs: {
        create: async (input: { targets: { agents?: string[] } }) => {
          created.push({ agents: input.targets.agents ?? [] });
          return { id: `job_${created.length}` };
        },
        get: async () => ({ targets: [] }),
      } as unknown as Pick<JobsService, 'create' | 'get'>,
      audit: { record: async () => undefined } as unknown as Pick<AuditService, 'record'>,
      notifier: { notify: async () => undefined },
      secrets: {} as Pick<SecretsService, 'fetchForRegistry' | 'get'>,
      defaultWindow,
      clock: { now: () => now },
      logger: createLogger('silent'),
      scanEveryMs: 0,
      settleMs: 0,
    });
    // Time only moves on: the next time the clock reads hh:mm (UTC).
    const setTime = (hhmm: string): void => {
      let next = at(hhmm);
      while (next <= now) next += 86_400_000;
      now = next;
    };
    return { service, rollouts, created, setTime };
  }

  it('uses the container\'s window label, else the hub default, else any time; a malformed label never opens', () => {
    const night = { start: '02:00', end: '04:00', timezone: 'UTC' };
    expect(windowOf(null, { autoUpdateWindow: '22:00-23:00 Europe/Lisbon' }, night)).toEqual({ start: '22:00', end: '23:00', timezone: 'Europe/Lisbon' });
    expect(windowOf(null, { autoUpdateWindow: null }, night)).toEqual(night);
    expect(windowOf(null, {}, null)).toBeNull();
    expect(windowOf({ window: null }, { autoUpdateWindow: '02:00-04:00' }, night)).toBeNull();
    expect(windowOf(null, { autoUpdateWindow: '2-4am' }, null)).toBe('invalid');
    expect(windowOpen('invalid', at('03:00'))).toBe(false);
    expect(windowOpen(null, at('03:00'))).toBe(true);
    expect(defaultWindowOf('02:00-04:00 Europe/Lisbon')).toEqual({ start: '02:00', end: '04:00', timezone: 'Europe/Lisbon' });
    expect(() => defaultWindowOf('02:00')).toThrow(/FAROL_CONTAINER_UPDATE_WINDOW/);
  });

  it('starts a label-only rollout only inside the first machine\'s window, and each machine waits for its own', async () => {
    const { service, rollouts, created, setTime } = fleet({ 'a-box': '02:00-03:00', 'b-box': '04:00-05:00' });
    await service.tick();
    await service.tick();
    expect(rollouts).toEqual([]);
    setTime('02:30');
    await service.tick();
    expect(rollouts).toHaveLength(1);
    await service.tick();
    expect(created).toEqual([{ agents: ['ag_a-box'] }]);
    // a-box updated; b-box's wave waits outside its window, then goes inside it.
    rollouts[0]!.targets[0]!.state = 'updated';
    await service.tick();
    expect(created).toHaveLength(1);
    setTime('04:10');
    await service.tick();
    expect(created).toEqual([{ agents: ['ag_a-box'] }, { agents: ['ag_b-box'] }]);
  });

  it('holds label-only opt-ins without a label of their own to the hub default window, and never updates a malformed one', async () => {
    const byDefault = fleet({ 'a-box': null, 'b-box': null }, { start: '02:00', end: '04:00', timezone: 'UTC' });
    await byDefault.service.tick();
    expect(byDefault.rollouts).toEqual([]);
    byDefault.setTime('03:00');
    await byDefault.service.tick();
    await byDefault.service.tick();
    expect(byDefault.created).toEqual([{ agents: ['ag_a-box'] }]);

    const malformed = fleet({ 'a-box': '2-4am', 'b-box': '2-4am' });
    for (const hhmm of ['00:00', '02:30', '12:00', '23:59']) {
      malformed.setTime(hhmm);
      await malformed.service.tick();
    }
    expect(malformed.rollouts).toEqual([]);
  });
});
