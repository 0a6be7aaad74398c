import {
  DEFAULT_UPDATE_HEALTH_TIMEOUT_SECONDS,
  FarolError,
  matchesContainerGlob,
  matchesLabels,
  parseLabelSelector,
  parseRegistryCredential,
  parseUpdateWindowLabel,
  registryOf,
  type ContainerRollout,
  type ContainerRolloutTarget,
  type ContainerSample,
  type ContainerUpdateRule,
  type ContainerUpdateRuleCreate,
  type DockerUpdateData,
  type Notification,
  type Principal,
  type QuietHours,
  type RegistryCredentialsFetch,
  type RegistryCredentialsFetchAck,
} from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import { randomId } from '../../infra/ids.js';
import type { Logger } from '../../infra/logger.js';
import type { AgentRecord, MachineLookup } from '../agents/machines.js';
import type { AuditService } from '../audit/audit.service.js';
import type { SecretsService } from '../secrets/secrets.service.js';
import { labelsInScope } from '../auth/object-scope.js';
import type { JobsService } from '../jobs/jobs.service.js';
import { quietHoursEnd } from '../notify/schedule.js';
import type { TelemetryService } from '../telemetry/telemetry.service.js';
import { planWaves } from '../updates/updates.service.js';
import type { AutoUpdateRepository } from './auto-update.repository.js';

/** Who automatic container updates are recorded as (audit, jobs). */
export const CONTAINER_AUTO_UPDATE_ACTOR = 'container-auto-update';
const TICK_MS = 1_000;
/** How often the samples are read for containers with an update available. */
const SCAN_EVERY_MS = 30_000;
/** A wave's update command waits this long for an offline machine. */
const WAVE_TTL_MS = 10 * 60_000;
/** Per-command timeout: the health gate plus the pull and recreate. */
const WAVE_TIMEOUT_MS = (DEFAULT_UPDATE_HEALTH_TIMEOUT_SECONDS + 240) * 1000;
/** Most rollouts listed. */
const MAX_LISTED = 200;
/** How long an agent keeps a registry login for its digest check (ADR 0023): one audited fetch an hour per machine and registry. */
export const REGISTRY_LOGIN_TTL_MS = 60 * 60_000;

const FINISHED_JOB_STATES = new Set(['succeeded', 'failed', 'timed_out', 'cancelled', 'expired', 'refused']);

interface Candidate {
  agent: AgentRecord;
  container: ContainerSample;
  rule: ContainerUpdateRule | null;
}

/** True when a rule's daily window holds now (no window: always). */
export function insideWindow(rule: Pick<ContainerUpdateRule, 'window'> | null, now: number): boolean {
  if (!rule?.window) return true;
  return quietHoursEnd(rule.window, now) !== null;
}

/**
 * The window a container is updated in: its rule's; for a label-only opt-in, its own
 * `farol.auto-update.window` label, else the hub's default (FAROL_CONTAINER_UPDATE_WINDOW);
 * otherwise any time. A malformed label is a window that never opens: a typo must not turn
 * "nights only" into "any time".
 */
export function windowOf(rule: Pick<ContainerUpdateRule, 'window'> | null, container: Pick<ContainerSample, 'autoUpdateWindow'> | null, hubDefault: QuietHours | null): QuietHours | null | 'invalid' {
  if (rule) return rule.window;
  const label = container?.autoUpdateWindow;
  if (label !== undefined && label !== null) {
    const parsed = parseUpdateWindowLabel(label);
    return typeof parsed === 'string' ? 'invalid' : parsed;
  }
  return hubDefault;
}

/** FAROL_CONTAINER_UPDATE_WINDOW as a window (the config schema checked it already). */
export function defaultWindowOf(text: string | undefined): QuietHours | null {
  if (text === undefined) return null;
  const window = parseUpdateWindowLabel(text);
  if (typeof window === 'string') throw new Error(`FAROL_CONTAINER_UPDATE_WINDOW: ${window}`);
  return window;
}

/** True when the window holds now. */
export function windowOpen(window: QuietHours | null | 'invalid', now: number): boolean {
  if (window === 'invalid') return false;
  return insideWindow({ window }, now);
}

/**
 * Container auto-update (issue #18, the Watchtower role): agents report, per container, the
 * digest it runs and the newer one its registry offers (`availableDigest`). A container opts in
 * by its `farol.auto-update=true` label or by a rule naming machines (a selector) and container
 * globs. The leader hub groups opted-in containers by name and offered digest and rolls each
 * group out in waves, one machine first and then the rest, with the agent's `docker_update`
 * (health gate and rollback). The first machine that does not end on the new image (rolled
 * back, refused by its policy, offline past the TTL) stops the rollout: the machines not yet
 * sent are skipped, and the digest is never tried again. Every step is audited; updates and
 * rollbacks go to the rules' channels through the notification outbox.
 */
export function createAutoUpdateService({
  repo,
  agents,
  telemetry,
  jobs,
  audit,
  notifier,
  clock,
  logger,
  secrets,
  defaultWindow = null,
  tickMs = TICK_MS,
  scanEveryMs = SCAN_EVERY_MS,
  settleMs = scanEveryMs * 3,
}: {
  repo: AutoUpdateRepository;
  agents: Pick<MachineLookup, 'list' | 'findById'>;
  telemetry: Pick<TelemetryService, 'latestSamples' | 'latestOfferingUpdates'>;
  /** Registry logins for the agents' digest checks, and the check that a rule's secret exists (ADR 0023). */
  secrets: Pick<SecretsService, 'fetchForRegistry' | 'get'>;
  /** FAROL_CONTAINER_UPDATE_WINDOW: the window of label-only opt-ins without a window label of their own. */
  defaultWindow?: QuietHours | null;
  jobs: Pick<JobsService, 'create' | 'get'>;
  audit: Pick<AuditService, 'record'>;
  notifier: { notify(channels: string[], notification: Notification): Promise<void> };
  clock: Clock;
  logger: Logger;
  tickMs?: number;
  scanEveryMs?: number;
  /** An offered digest is first seen this long before its rollout starts, so machines checking a little later are in it from the start. */
  settleMs?: number;
}) {
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | null = null;
  let lastScanAt = -Infinity;
  /** When each (container, digest) was first seen offered, by this leader. */
  const firstSeen = new Map<string, number>();

  async function tell(rollout: ContainerRollout, notification: Notification): Promise<void> {
    const rule = rollout.ruleId ? await repo.findRule(rollout.ruleId) : null;
    const channels = rule?.channels ?? [];
    if (channels.length === 0) return;
    try {
      await notifier.notify(channels, notification);
    } catch (error) {
      // A deleted channel must not stop the rollout; the audit log has every step.
      logger.warn({ err: error, rolloutId: rollout.id }, 'could not queue a container update notice');
    }
  }

  async function settleTarget(rollout: ContainerRollout, target: ContainerRolloutTarget, state: ContainerRolloutTarget['state'], error: string | null): Promise<void> {
    target.state = state;
    target.error = error;
    const failed = state === 'rolled_back' || state === 'failed';
    const skipped: string[] = [];
    if (failed) {
      for (const other of rollout.targets.filter((t) => t.state === 'pending')) {
        other.state = 'skipped';
        skipped.push(other.agentName);
      }
    }
    await repo.save(rollout);
    await audit.record({
      actor: CONTAINER_AUTO_UPDATE_ACTOR,
      action: 'container_update.result',
      agentId: target.agentId,
      jobId: target.jobId,
      details: { rollout: rollout.id, container: rollout.container, machine: target.agentName, digest: rollout.digest, outcome: state, wave: target.wave, ...(error ? { error } : {}) },
    });
    if (state === 'updated' || failed) {
      await tell(rollout, {
        kind: 'container_update',
        outcome: state === 'updated' ? 'updated' : state === 'rolled_back' ? 'rolled_back' : 'failed',
        machine: target.agentName,
        container: rollout.container,
        image: rollout.image,
        digest: rollout.digest,
        reason: error,
        skipped,
      });
    }
    if (failed) logger.warn({ rolloutId: rollout.id, container: rollout.container, machine: target.agentName, error }, 'automatic container update failed; the rollout stops');
  }

  async function advance(rollout: ContainerRollout): Promise<void> {
    for (const target of rollout.targets.filter((t) => t.state === 'updating' && t.jobId)) {
      const job = await jobs.get(target.jobId!);
      const step = job.targets.find((t) => t.agentId === target.agentId);
      if (!step || !FINISHED_JOB_STATES.has(step.state)) continue;
      const data = step.data as DockerUpdateData | undefined;
      if (step.state === 'succeeded') await settleTarget(rollout, target, data?.outcome === 'unchanged' ? 'unchanged' : 'updated', null);
      else if (data?.kind === 'docker_update' && data.outcome === 'rolled_back') await settleTarget(rollout, target, 'rolled_back', data.reason ?? 'rolled back');
      else await settleTarget(rollout, target, 'failed', `${step.state}: ${step.error ?? 'no reason given'}`);
    }
    const inFlight = rollout.targets.some((t) => t.state === 'updating');
    const failed = rollout.targets.find((t) => t.state === 'rolled_back' || t.state === 'failed');
    const pending = rollout.targets.filter((t) => t.state === 'pending');
    if (inFlight) return;
    if (failed || pending.length === 0) {
      rollout.state = failed ? 'failed' : 'succeeded';
      rollout.finishedAt = clock.now();
      rollout.error = failed ? `stopped: ${failed.agentName} ${failed.state === 'rolled_back' ? 'rolled back' : 'failed'} (${failed.error ?? 'no reason'})` : null;
      await repo.save(rollout);
      await audit.record({
        actor: CONTAINER_AUTO_UPDATE_ACTOR,
        action: 'container_update.finish',
        details: {
          rollout: rollout.id,
          container: rollout.container,
          digest: rollout.digest,
          state: rollout.state,
          updated: rollout.targets.filter((t) => t.state === 'updated').length,
          skipped: rollout.targets.filter((t) => t.state === 'skipped').length,
          ...(rollout.error ? { error: rollout.error } : {}),
        },
      });
      logger.info({ rolloutId: rollout.id, container: rollout.container, state: rollout.state }, 'automatic container update finished');
      return;
    }
    const rule = rollout.ruleId ? await repo.findRule(rollout.ruleId) : null;
    const next = Math.min(...pending.map((t) => t.wave));
    if (next > 0) {
      // Machines that reported the same offer after the rollout began join the later wave.
      for (const late of await candidates()) {
        if (late.container.name !== rollout.container || late.container.availableDigest !== rollout.digest) continue;
        if (rollout.targets.some((t) => t.agentId === late.agent.id)) continue;
        rollout.targets.push({ agentId: late.agent.id, agentName: late.agent.name, wave: next, state: 'pending', jobId: null, error: null });
      }
    }
    // Each machine waits for its own window; the wave is over once every machine in it settled.
    const waiting = rollout.targets.filter((t) => t.state === 'pending' && t.wave === next);
    const windows = await targetWindows(rollout, rule, waiting);
    const wave = waiting.filter((t) => windowOpen(windows.get(t.agentId) ?? null, clock.now()));
    if (wave.length === 0) return;
    // ADR 0023: the rule's registry login goes with the update when the image comes from that registry.
    const registrySecret = rule?.registry && rule.registrySecret && registryOf(rollout.image) === rule.registry ? rule.registrySecret : undefined;
    let job;
    try {
      job = await jobs.create(
        {
          command: { kind: 'docker_update', container: rollout.container, ...(registrySecret ? { registrySecret } : {}) },
          targets: { agents: wave.map((t) => t.agentId) },
          ttlMs: WAVE_TTL_MS,
          timeoutMs: WAVE_TIMEOUT_MS,
        },
        CONTAINER_AUTO_UPDATE_ACTOR,
      );
    } catch (error) {
      // Refused before anything was sent (the registry secret is gone or not scoped to a
      // machine): the wave fails like a refusal by the agent, rather than being tried every tick.
      if (!(error instanceof FarolError) || !['forbidden', 'not_found', 'validation_failed'].includes(error.code)) throw error;
      await settleTarget(rollout, wave[0]!, 'failed', `not sent: ${error.message}`);
      return;
    }
    for (const target of wave) Object.assign(target, { state: 'updating', jobId: job.id });
    await repo.save(rollout);
    await audit.record({
      actor: CONTAINER_AUTO_UPDATE_ACTOR,
      action: 'container_update.wave',
      jobId: job.id,
      details: { rollout: rollout.id, container: rollout.container, digest: rollout.digest, wave: next + 1, machines: wave.map((t) => t.agentName) },
    });
  }

  /** The window of each target of a rollout: the rule's, or each machine's container label's (or the hub default). */
  async function targetWindows(rollout: ContainerRollout, rule: ContainerUpdateRule | null, targets: ContainerRolloutTarget[]): Promise<Map<string, QuietHours | null | 'invalid'>> {
    if (rule) return new Map(targets.map((t) => [t.agentId, rule.window]));
    const machines = (await agents.list()).filter((agent) => targets.some((t) => t.agentId === agent.id));
    const samples = await telemetry.latestSamples(machines.map((agent) => agent.seq));
    return new Map(machines.map((agent) => [agent.id, windowOf(null, samples.get(agent.seq)?.containers?.find((c) => c.name === rollout.container) ?? null, defaultWindow)]));
  }

  /** Malformed window labels already logged (agent, container, value). */
  const toldInvalid = new Set<string>();

  /** The opted-in containers with an update available, from every machine's newest sample. */
  async function candidates(): Promise<Candidate[]> {
    // Only the samples with an offer are read: parsing 10,000 samples every 30 s held the event loop for 0.3–0.5 s (issue #16).
    const samples = await telemetry.latestOfferingUpdates();
    if (samples.size === 0) return [];
    const rules = await repo.listRules();
    const parsed = rules.map((rule) => ({ rule, terms: rule.selector === 'all' ? [] : parseLabelSelector(rule.selector) }));
    const machines = (await agents.list()).filter((agent) => samples.has(agent.seq));
    const found: Candidate[] = [];
    for (const agent of machines) {
      for (const container of samples.get(agent.seq)?.containers ?? []) {
        if (!container.availableDigest || container.state !== 'running') continue;
        const rule = parsed.find(({ rule, terms }) => matchesLabels(agent.labels, terms) && rule.containers.some((glob) => matchesContainerGlob(glob, container.name)))?.rule ?? null;
        if (!rule && container.autoUpdate && windowOf(null, container, defaultWindow) === 'invalid') {
          const key = `${agent.id}\n${container.name}\n${container.autoUpdateWindow}`;
          if (!toldInvalid.has(key)) logger.warn({ agentId: agent.id, machine: agent.name, container: container.name, window: container.autoUpdateWindow }, 'malformed farol.auto-update.window label: this container is not updated until it is fixed (HH:MM-HH:MM [Area/City])');
          toldInvalid.add(key);
        }
        if (rule || container.autoUpdate) found.push({ agent, container, rule });
      }
    }
    return found;
  }

  /** Starts a rollout per (container name, offered digest) not tried before. */
  async function scan(): Promise<void> {
    lastScanAt = clock.now();
    const running = await repo.running();
    const groups = new Map<string, Candidate[]>();
    for (const candidate of await candidates()) {
      const key = `${candidate.container.name}\n${candidate.container.availableDigest}`;
      groups.set(key, [...(groups.get(key) ?? []), candidate]);
    }
    for (const key of firstSeen.keys()) if (!groups.has(key)) firstSeen.delete(key);
    for (const [key, group] of groups) {
      const { container } = group[0]!;
      const digest = container.availableDigest!;
      if (running.some((r) => r.container === container.name)) continue;
      if (!firstSeen.has(key)) firstSeen.set(key, clock.now());
      if (clock.now() - firstSeen.get(key)! < settleMs) continue;
      if (await repo.exists(container.name, digest)) continue;
      const rule = group.find((c) => c.rule)?.rule ?? null;
      const ordered = [...group].sort((a, b) => a.agent.name.localeCompare(b.agent.name));
      // Started when the first machine's window is open; the others wait for their own in advance().
      if (!windowOpen(windowOf(rule, ordered[0]!.container, defaultWindow), clock.now())) continue;
      // One machine first, then every other one.
      const waves = planWaves(ordered, 100);
      const now = clock.now();
      const rollout: ContainerRollout = {
        id: randomId('cro'),
        container: container.name,
        image: container.image,
        digest,
        state: 'running',
        ruleId: rule?.id ?? null,
        targets: waves.flatMap((wave, index) => wave.map((c) => ({ agentId: c.agent.id, agentName: c.agent.name, wave: index, state: 'pending' as const, jobId: null, error: null }))),
        createdAt: now,
        finishedAt: null,
        error: null,
      };
      await repo.insert(rollout);
      logger.info({ rolloutId: rollout.id, container: container.name, digest, machines: ordered.length }, 'update available: starting an automatic container update');
      running.push(rollout);
    }
  }

  async function tick(): Promise<void> {
    for (const rollout of await repo.running()) {
      try {
        await advance(rollout);
      } catch (error) {
        // Tried again at the next tick; a rollout never takes the hub down.
        logger.error({ err: error, rolloutId: rollout.id }, 'moving an automatic container update on failed');
      }
    }
    if (clock.now() - lastScanAt >= scanEveryMs) {
      try {
        await scan();
      } catch (error) {
        logger.error({ err: error }, 'looking for container updates failed; trying again later');
      }
    }
  }
  const runTick = (): Promise<void> => (ticking ??= tick().finally(() => (ticking = null)));

  function requireFleetWide(principal: Pick<Principal, 'scope'>): void {
    // A rule reaches machines by selector, now and later: only a principal without a scope may set one.
    if (principal.scope !== null) throw new FarolError('forbidden', 'auto-update rules reach the whole fleet: a principal with a label scope cannot change them');
  }

  return {
    listRules: (): Promise<ContainerUpdateRule[]> => repo.listRules(),

    async addRule(input: ContainerUpdateRuleCreate, principal: Pick<Principal, 'name' | 'scope'>): Promise<ContainerUpdateRule> {
      requireFleetWide(principal);
      // The secret must exist (its value is read only when a machine asks): not_found otherwise.
      if (input.registrySecret) await secrets.get(input.registrySecret, principal);
      if (input.selector !== 'all') {
        try {
          parseLabelSelector(input.selector);
        } catch (error) {
          throw new FarolError('validation_failed', `bad label selector: ${(error as Error).message}`);
        }
      }
      const rule: ContainerUpdateRule = {
        id: randomId('cur'),
        selector: input.selector,
        containers: input.containers,
        window: input.window ?? null,
        channels: input.channels ?? [],
        registry: input.registry ?? null,
        registrySecret: input.registrySecret ?? null,
        createdBy: principal.name,
        createdAt: clock.now(),
      };
      await repo.insertRule(rule);
      await audit.record({
        actor: principal.name,
        action: 'container_update.rule_create',
        details: {
          rule: rule.id,
          selector: rule.selector,
          containers: rule.containers,
          channels: rule.channels,
          ...(rule.window ? { window: rule.window } : {}),
          ...(rule.registry ? { registry: rule.registry, registrySecret: rule.registrySecret } : {}),
        },
      });
      return rule;
    },

    /**
     * ADR 0023: an agent asks for a registry's login for its background digest check. Granted
     * only when a rule matching the machine names that registry, and the rule's secret is
     * scoped to the machine (checked, read and audited by the secrets service).
     */
    async registryCredentials(agentId: string, request: RegistryCredentialsFetch): Promise<RegistryCredentialsFetchAck> {
      const agent = await agents.findById(agentId);
      if (!agent) throw new FarolError('not_found', 'this agent is not enrolled');
      const rule = (await repo.listRules()).find(
        (r) => r.registry === request.registry && r.registrySecret && (r.selector === 'all' || matchesLabels(agent.labels, parseLabelSelector(r.selector))),
      );
      if (!rule?.registrySecret) throw new FarolError('forbidden', `no auto-update rule for ${agent.name} names the registry ${request.registry}`);
      const value = await secrets.fetchForRegistry(agentId, rule.registrySecret, { registry: request.registry, rule: rule.id });
      const login = parseRegistryCredential(value);
      if (typeof login === 'string') {
        logger.warn({ agentId, rule: rule.id, secret: rule.registrySecret, reason: login }, 'a rule\'s registry secret is not a registry login');
        throw new FarolError('validation_failed', `secret ${rule.registrySecret}: ${login}`);
      }
      return { username: login.username, password: login.password, ttlMs: REGISTRY_LOGIN_TTL_MS };
    },

    async removeRule(id: string, principal: Pick<Principal, 'name' | 'scope'>): Promise<void> {
      requireFleetWide(principal);
      if (!(await repo.deleteRule(id))) throw new FarolError('not_found', `no auto-update rule ${id}`);
      await audit.record({ actor: principal.name, action: 'container_update.rule_delete', details: { rule: id } });
    },

    /** Recent rollouts, newest first; a scoped principal sees those whose every machine is in scope. */
    async listRollouts(principal: Pick<Principal, 'scope'>): Promise<ContainerRollout[]> {
      const rollouts = await repo.recent(MAX_LISTED);
      if (principal.scope === null) return rollouts;
      const labels = new Map((await agents.list()).map((agent) => [agent.id, agent.labels]));
      return rollouts.filter((r) => r.targets.every((t) => labels.has(t.agentId) && labelsInScope(principal, labels.get(t.agentId)!)));
    },

    tick: runTick,
    /** Run on the leader hub only (main.ts), so one hub drives the rollouts. */
    start(): void {
      lastScanAt = -Infinity;
      firstSeen.clear();
      timer = setInterval(() => {
        runTick().catch((error: unknown) => logger.error({ err: error }, 'automatic container updates could not be read; trying again at the next tick'));
      }, tickMs);
      timer.unref();
    },
    async stop(): Promise<void> {
      clearInterval(timer);
      timer = undefined;
      await ticking?.catch(() => undefined);
    },
  };
}
export type AutoUpdateService = ReturnType<typeof createAutoUpdateService>;

