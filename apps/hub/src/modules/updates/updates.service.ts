import {
  DEFAULT_UPDATE_TIMEOUT_MS,
  FarolError,
  FAROL_VERSION,
  isOlderVersion,
  matchesLabels,
  parseLabelSelector,
  type AgentBuild,
  type AgentUpdateCommand,
  type AgentUpdateRequest,
  type JobTargets,
  type Principal,
  type Rollout,
  type RolloutTarget,
} from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import { randomId } from '../../infra/ids.js';
import type { Logger } from '../../infra/logger.js';
import type { AgentRecord, MachineLookup } from '../agents/machines.js';
import type { AuditService } from '../audit/audit.service.js';
import { labelsInScope } from '../auth/object-scope.js';
import type { JobsService } from '../jobs/jobs.service.js';
import type { AgentBuildCatalog } from './agent-builds.js';
import type { RolloutRecord, UpdatesRepository } from './updates.repository.js';

/** Default size of the second wave, in percent of the machines to update. */
export const DEFAULT_WAVE_PERCENT = 25;
/** An update command waits this long for an offline machine before the step fails (expired). */
const UPDATE_TTL_MS = 10 * 60_000;
const TICK_MS = 1_000;
/** How often the automatic policy looks for machines on an older version. */
const AUTO_UPDATE_EVERY_MS = 15_000;
/** Who automatic rollouts are recorded as. */
export const AUTO_UPDATE_ACTOR = 'auto-update';

export { isOlderVersion };

/**
 * Splits machines into waves: one machine first, then `percent` of them (at least one), then the
 * rest. Empty waves are dropped.
 */
export function planWaves<T>(items: T[], percent: number): T[][] {
  if (items.length === 0) return [];
  const first = items.slice(0, 1);
  const secondSize = Math.max(1, Math.ceil((items.length * percent) / 100));
  const second = items.slice(1, 1 + secondSize);
  const rest = items.slice(1 + secondSize);
  return [first, second, rest].filter((wave) => wave.length > 0);
}

/**
 * Agent updates (issue #15): a rollout is stored with one row per machine and its wave; each wave
 * is one `agent_update` job (signed like any command). A wave's machine succeeds when its agent
 * answers from the new version (the answer comes from the restarted agent after its first hello,
 * see apps/agent/src/update) and reports it; the first failure (download refused, no build,
 * rolled back, came back on another version, offline past the TTL) skips every machine not yet
 * sent. Progress is driven from the database by a tick, so any hub may move a rollout on; a wave
 * is started by the one hub whose conditional update claims it. Every step is audited.
 */
export function createUpdatesService({
  updates,
  agents,
  jobs,
  audit,
  catalog,
  clock,
  logger,
  tickMs = TICK_MS,
  autoUpdate = null,
  autoEveryMs = AUTO_UPDATE_EVERY_MS,
}: {
  updates: UpdatesRepository;
  agents: Pick<MachineLookup, 'list' | 'findById'>;
  jobs: Pick<JobsService, 'create' | 'get'>;
  audit: Pick<AuditService, 'record'>;
  catalog: AgentBuildCatalog;
  clock: Clock;
  logger: Logger;
  tickMs?: number;
  /** FAROL_AGENT_AUTO_UPDATE: a label selector (or `all`) of machines kept on the hub's version. */
  autoUpdate?: string | null;
  autoEveryMs?: number;
}) {
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | null = null;

  async function view(rollout: RolloutRecord): Promise<Rollout> {
    const { startedWave: _started, command: _command, ...rest } = rollout;
    return { ...rest, targets: await updates.targets(rollout.id) };
  }

  async function resolve(spec: JobTargets): Promise<AgentRecord[]> {
    const everyone = await agents.list();
    if ('all' in spec) return everyone;
    if ('selector' in spec) {
      let terms;
      try {
        terms = parseLabelSelector(spec.selector);
      } catch (error) {
        throw new FarolError('validation_failed', `bad label selector: ${(error as Error).message}`);
      }
      return everyone.filter((agent) => matchesLabels(agent.labels, terms));
    }
    const found: AgentRecord[] = [];
    for (const ref of spec.agents) {
      const agent = everyone.find((candidate) => candidate.id === ref || candidate.name === ref);
      if (!agent) throw new FarolError('not_found', `no machine named ${ref}`);
      if (!found.includes(agent)) found.push(agent);
    }
    return found;
  }

  /** One machine's step ended; the rollout stops at the first failure. */
  async function settle(rollout: RolloutRecord, target: RolloutTarget, state: 'succeeded' | 'failed', error: string | null): Promise<void> {
    const now = clock.now();
    if (!(await updates.setTarget(rollout.id, target.agentId, { state, error, at: now }, ['updating']))) return;
    await audit.record({
      actor: rollout.createdBy,
      action: state === 'succeeded' ? 'agent_update.succeeded' : 'agent_update.failed',
      agentId: target.agentId,
      jobId: target.jobId,
      details: { rollout: rollout.id, machine: target.agentName, from: target.fromVersion, to: rollout.version, wave: target.wave, ...(error ? { error } : {}) },
    });
    if (state === 'failed') {
      await updates.skipPending(rollout.id, now);
      logger.warn({ rolloutId: rollout.id, agentId: target.agentId, error }, 'agent update failed; the rollout stops');
    }
  }

  async function advance(rollout: RolloutRecord): Promise<void> {
    const targets = await updates.targets(rollout.id);
    for (const target of targets.filter((t) => t.state === 'updating' && t.jobId)) {
      const job = await jobs.get(target.jobId!);
      const step = job.targets.find((t) => t.agentId === target.agentId);
      if (!step || !['succeeded', 'failed', 'timed_out', 'cancelled', 'expired', 'refused'].includes(step.state)) continue;
      if (step.state !== 'succeeded') {
        await settle(rollout, target, 'failed', `${step.state}: ${step.error ?? 'no reason given'}`);
        continue;
      }
      // The answer came from the restarted agent; what it reported at its hello must agree.
      const reported = (await agents.findById(target.agentId))?.system?.agentVersion ?? null;
      if (reported === rollout.version) await settle(rollout, target, 'succeeded', null);
      else await settle(rollout, target, 'failed', `the machine came back on ${reported ?? 'an unknown version'}, not ${rollout.version}`);
    }

    const now = await updates.targets(rollout.id);
    const failed = now.find((t) => t.state === 'failed');
    const inFlight = now.some((t) => t.state === 'updating');
    if (failed || !now.some((t) => t.state === 'pending')) {
      if (inFlight) return;
      const state = failed ? 'failed' : 'succeeded';
      const error = failed ? `stopped: ${failed.agentName} failed (${failed.error ?? 'no reason'})` : null;
      if (await updates.finish(rollout.id, state, clock.now(), error)) {
        await audit.record({
          actor: rollout.createdBy,
          action: 'agent_update.finish',
          details: { rollout: rollout.id, version: rollout.version, state, updated: now.filter((t) => t.state === 'succeeded').length, skipped: now.filter((t) => t.state === 'skipped').length, ...(error ? { error } : {}) },
        });
        logger.info({ rolloutId: rollout.id, state }, 'agent update rollout finished');
      }
      return;
    }
    if (inFlight) return;
    const next = Math.min(...now.filter((t) => t.state === 'pending').map((t) => t.wave));
    if (!(await updates.claimWave(rollout.id, next))) return;
    const wave = now.filter((t) => t.state === 'pending' && t.wave === next);
    const job = await jobs.create({ command: rollout.command, targets: { agents: wave.map((t) => t.agentId) }, ttlMs: UPDATE_TTL_MS, timeoutMs: DEFAULT_UPDATE_TIMEOUT_MS }, rollout.createdBy);
    for (const target of wave) await updates.setTarget(rollout.id, target.agentId, { state: 'updating', jobId: job.id, at: clock.now() }, ['pending']);
    await audit.record({
      actor: rollout.createdBy,
      action: 'agent_update.wave',
      jobId: job.id,
      details: { rollout: rollout.id, version: rollout.version, wave: next, of: rollout.waves, machines: wave.map((t) => t.agentName) },
    });
  }

  async function tick(): Promise<void> {
    for (const rollout of await updates.running()) {
      try {
        await advance(rollout);
      } catch (error) {
        // Tried again at the next tick; a rollout never takes the hub down.
        logger.error({ err: error, rolloutId: rollout.id }, 'moving an agent update rollout on failed');
      }
    }
  }

  let lastAutoAt = -Infinity;
  /**
   * The automatic policy: when no rollout runs, online machines matching the selector that run
   * an older version than the hub's get one, in waves like any other, recorded as `auto-update`.
   * A machine that failed an update to this version is left alone (no retry loop on a bad build).
   */
  async function autoUpdateTick(): Promise<void> {
    if (!autoUpdate || clock.now() - lastAutoAt < autoEveryMs) return;
    lastAutoAt = clock.now();
    if ((await updates.running()).length > 0) return;
    const terms = autoUpdate === 'all' ? [] : parseLabelSelector(autoUpdate);
    const failed = await updates.failedFor(FAROL_VERSION);
    const stale = (await agents.list()).filter(
      (agent) => agent.status === 'online' && matchesLabels(agent.labels, terms) && !failed.has(agent.id) && isOlderVersion(agent.system?.agentVersion ?? '', FAROL_VERSION),
    );
    if (stale.length === 0) return;
    logger.info({ machines: stale.length, version: FAROL_VERSION, selector: autoUpdate }, 'machines on an older agent version: starting an automatic update');
    await service.start({ targets: { agents: stale.map((agent) => agent.id) } }, { name: AUTO_UPDATE_ACTOR, scope: null });
  }

  async function tickAll(): Promise<void> {
    await tick();
    try {
      await autoUpdateTick();
    } catch (error) {
      // Tried again at the next interval.
      logger.error({ err: error }, 'the automatic agent update check failed');
    }
  }

  const runTick = (): Promise<void> => (ticking ??= tickAll().finally(() => (ticking = null)));

  const service = {
    listBuilds: (): Promise<AgentBuild[]> => catalog.list(),

    /** Starts a rollout of `version` (default: this hub's) to the machines, all within the principal's scope. */
    async start(request: AgentUpdateRequest, principal: Pick<Principal, 'name' | 'scope'>): Promise<Rollout> {
      const version = request.version ?? FAROL_VERSION;
      const build = await catalog.find(version);
      if (!build) throw new FarolError('not_found', `this hub has no agent build of ${version}; put one in FAROL_AGENT_UPDATES_DIR (farol-agent-${version}.mjs) or update the hub`);
      const machines = await resolve(request.targets);
      if (machines.length === 0) throw new FarolError('not_found', 'no machine matches these targets');
      const outside = machines.filter((agent) => !labelsInScope(principal, agent.labels));
      if (outside.length > 0) throw new FarolError('forbidden', `your scope (${principal.scope ?? ''}) does not reach ${outside.length} of these machines`);
      const now = clock.now();
      const fromVersion = (agent: AgentRecord): string | null => agent.system?.agentVersion ?? null;
      const toUpdate = machines.filter((agent) => fromVersion(agent) !== version).sort((a, b) => Number(b.status === 'online') - Number(a.status === 'online') || a.name.localeCompare(b.name));
      const waves = planWaves(toUpdate, request.wavePercent ?? DEFAULT_WAVE_PERCENT);
      const command: AgentUpdateCommand = { kind: 'agent_update', version, artifacts: build.artifacts };
      const rollout: RolloutRecord = { id: randomId('rol'), version, state: 'running', wave: 0, waves: Math.max(1, waves.length), startedWave: -1, command, createdBy: principal.name, createdAt: now, finishedAt: null, error: null };
      const targets: RolloutTarget[] = [
        ...waves.flatMap((wave, index) => wave.map((agent) => ({ agentId: agent.id, agentName: agent.name, wave: index, state: 'pending' as const, fromVersion: fromVersion(agent), jobId: null, error: null, updatedAt: now }))),
        ...machines.filter((agent) => fromVersion(agent) === version).map((agent) => ({ agentId: agent.id, agentName: agent.name, wave: 0, state: 'current' as const, fromVersion: version, jobId: null, error: null, updatedAt: now })),
      ];
      await updates.insert(rollout, targets);
      await audit.record({
        actor: principal.name,
        action: 'agent_update.request',
        details: { rollout: rollout.id, version, targets: request.targets, machines: toUpdate.length, current: machines.length - toUpdate.length, waves: waves.map((wave) => wave.length) },
      });
      logger.info({ rolloutId: rollout.id, version, machines: toUpdate.length, waves: waves.length }, 'agent update rollout started');
      // The first wave goes at once; when a tick is already running (the automatic policy starts
      // rollouts from inside one) the next tick sends it.
      if (!ticking) await runTick();
      return view((await updates.find(rollout.id))!);
    },

    async get(id: string, principal: Pick<Principal, 'scope'>): Promise<Rollout> {
      const rollout = await updates.find(id);
      if (!rollout) throw new FarolError('not_found', `no rollout ${id}`);
      const result = await view(rollout);
      if (principal.scope !== null) {
        // A rollout is visible to a scoped principal only when every machine in it is in scope.
        for (const target of result.targets) {
          const agent = await agents.findById(target.agentId);
          if (!agent || !labelsInScope(principal, agent.labels)) throw new FarolError('not_found', `no rollout ${id}`);
        }
      }
      return result;
    },

    tick: runTick,
    startTicking(): void {
      // A database that does not answer (a full connection pool, PostgreSQL away) fails this
      // tick only: logged, tried again at the next one. Unhandled, it would end the hub.
      timer = setInterval(() => {
        runTick().catch((error: unknown) => logger.error({ err: error }, 'agent update rollouts could not be read; trying again at the next tick'));
      }, tickMs);
      timer.unref();
    },
    async stop(): Promise<void> {
      clearInterval(timer);
      // Its failure was logged by the timer above.
      await ticking?.catch(() => undefined);
    },
  };
  return service;
}
export type UpdatesService = ReturnType<typeof createUpdatesService>;
