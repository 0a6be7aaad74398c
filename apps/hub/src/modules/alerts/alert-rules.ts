import {
  AlertRuleInputSchema,
  AlertRulePatchSchema,
  FarolError,
  type AlertRule,
  type AlertRuleInput,
  type AlertRulePatch,
  type AlertRuleSpec,
  type RuleCondition,
} from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import { randomId } from '../../infra/ids.js';
import type { Logger } from '../../infra/logger.js';
import type { UnitOfWork } from '../repositories.js';
import type { AuditService } from '../audit/audit.service.js';
import { checkRule, compileMetric, compileScope, DEFAULT_RULES, type AgentFacts, type MetricReader } from './alert-conditions.js';
import type { AlertsRepository, RuleRecord } from './alerts.repository.js';

export interface CompiledRule {
  rule: RuleRecord;
  covers: (agent: AgentFacts) => boolean;
  reader: MetricReader | undefined;
  cooldownMs: number;
  channels: string[];
}

export interface AgentEntry extends AgentFacts {
  lastSeen: number | null;
}

/** The machines the alerts module knows, as `agents.list()` gives them. */
export interface AgentLister {
  list(): Promise<Array<{ id: string; name: string; labels: Record<string, string>; lastSeen: number | null }>>;
}

/**
 * Alert rules and the machines they cover, on every hub (issue #14): the API reads and changes
 * rules here whichever hub answers. `settleRuleAlerts` is the engine's part of a rule change
 * (on the leader it resolves the alerts a rule no longer justifies; elsewhere it has none).
 */
export function createAlertRules({
  alerts,
  unitOfWork,
  agents,
  clock,
  logger,
  audit,
  defaultCooldownMs,
  defaultChannels,
  announce,
  settleRuleAlerts,
}: {
  alerts: AlertsRepository;
  unitOfWork: UnitOfWork;
  agents: AgentLister;
  clock: Clock;
  logger: Logger;
  audit?: Pick<AuditService, 'record'> | undefined;
  defaultCooldownMs: number;
  defaultChannels: string[];
  /** Tells the other hubs that the rules changed here. */
  announce: () => void;
  settleRuleAlerts: (ruleId: string, why: string) => void;
}) {
  const rules = new Map<string, CompiledRule>();
  const directory = new Map<string, AgentEntry>();
  const sampleRulesByAgent = new Map<string, CompiledRule[]>();
  /** One list per distinct set of rules: machines the same rules cover share it (10,000 machines, a handful of lists). */
  const sharedRuleLists = new Map<string, CompiledRule[]>();
  /** Machines in the directory by id only, until the next reload reads their name and labels. */
  const provisional = new Set<string>();
  let reloading: Promise<void> | undefined;

  function compile(rule: RuleRecord): CompiledRule {
    return {
      rule,
      covers: compileScope(rule.scope),
      reader: rule.condition.kind === 'metric' ? compileMetric(rule.condition.metric) : undefined,
      cooldownMs: rule.cooldown ?? defaultCooldownMs,
      channels: rule.channels.length > 0 ? rule.channels : defaultChannels,
    };
  }

  function enabledRules(kind: RuleCondition['kind']): CompiledRule[] {
    const found: CompiledRule[] = [];
    for (const compiled of rules.values()) if (compiled.rule.enabled && compiled.rule.condition.kind === kind) found.push(compiled);
    return found;
  }

  /** Rules a heartbeat is checked against, per machine, computed once per rule or label change. */
  function sampleRulesFor(agent: AgentEntry): CompiledRule[] {
    let found = sampleRulesByAgent.get(agent.id);
    if (!found) {
      found = [];
      for (const compiled of rules.values()) {
        const kind = compiled.rule.condition.kind;
        if (compiled.rule.enabled && (kind === 'metric' || kind === 'container') && compiled.covers(agent)) found.push(compiled);
      }
      const key = found.map((compiled) => compiled.rule.id).join('\n');
      const shared = sharedRuleLists.get(key);
      if (shared) found = shared;
      else sharedRuleLists.set(key, found);
      sampleRulesByAgent.set(agent.id, found);
    }
    return found;
  }

  /** Rules or machines changed: every machine's rules are worked out again on its next sample. */
  function forgetSampleRules(): void {
    sampleRulesByAgent.clear();
    sharedRuleLists.clear();
  }

  async function reloadDirectory(): Promise<void> {
    const list = await agents.list();
    const seen = new Set<string>();
    for (const agent of list) {
      seen.add(agent.id);
      directory.set(agent.id, { id: agent.id, name: agent.name, labels: agent.labels, lastSeen: agent.lastSeen });
      provisional.delete(agent.id);
    }
    for (const id of [...directory.keys()]) {
      if (seen.has(id)) continue;
      directory.delete(id);
      provisional.delete(id);
    }
    forgetSampleRules();
  }

  function reloadSoon(): Promise<void> {
    reloading ??= reloadDirectory()
      .catch((error: unknown) => logger.error({ err: error }, 'reloading machines for alerts failed'))
      .finally(() => {
        reloading = undefined;
      });
    return reloading;
  }

  /** A machine the engine has not heard of (just enrolled): known by id now, labels shortly. */
  function agentFor(agentId: string, name?: string): AgentEntry {
    let agent = directory.get(agentId);
    if (!agent) {
      agent = { id: agentId, name: name ?? agentId, labels: {}, lastSeen: null };
      directory.set(agentId, agent);
      provisional.add(agentId);
      void reloadSoon();
    } else if (name !== undefined && agent.name === agentId) {
      // Known by id only (its first sample came before its status event, issue #13): now by name.
      agent.name = name;
    }
    return agent;
  }

  /**
   * A machine with its stored name and labels, read first when the directory does not hold them
   * yet (a heartbeat can come before the machine's status event): what an alert records and which
   * rules cover it must not come from a placeholder. Undefined when the machine is not stored.
   */
  async function settledAgent(agentId: string): Promise<AgentEntry | undefined> {
    const agent = directory.get(agentId);
    if (agent && !provisional.has(agentId)) return agent;
    // A reload under way may have read the machines before this one was stored: one more after it.
    if (reloading) await reloading;
    if (!directory.has(agentId) || provisional.has(agentId)) await reloadSoon();
    return provisional.has(agentId) ? undefined : directory.get(agentId);
  }

  /** Whether the directory holds the machine's stored name and labels (no read needed). */
  function isSettled(agentId: string): boolean {
    return directory.has(agentId) && !provisional.has(agentId);
  }

  /** A machine renamed or relabelled (`agent.updated`). */
  function updateAgent(agentId: string, name: string, labels: Record<string, string>): void {
    const agent = agentFor(agentId, name);
    agent.name = name;
    agent.labels = labels;
    provisional.delete(agentId);
    sampleRulesByAgent.delete(agentId);
  }

  function forgetAgent(agentId: string): void {
    directory.delete(agentId);
    provisional.delete(agentId);
    sampleRulesByAgent.delete(agentId);
  }

  /** A rule changed or went: the per-machine lists are computed afresh, and the engine settles its alerts. */
  function settle(ruleId: string, why: string): void {
    forgetSampleRules();
    settleRuleAlerts(ruleId, why);
  }

  function findRule(ref: string): CompiledRule {
    const byId = rules.get(ref);
    if (byId) return byId;
    for (const compiled of rules.values()) if (compiled.rule.name === ref) return compiled;
    throw new FarolError('not_found', `no alert rule "${ref}"`);
  }

  function validate(spec: AlertRuleSpec): void {
    const problems = checkRule(spec);
    if (problems.length > 0) {
      throw new FarolError('validation_failed', problems.join('; '), {
        issues: problems.map((p) => ({ path: p.slice(0, p.indexOf(':')), message: p.slice(p.indexOf(':') + 2) })),
      });
    }
  }

  function ruleFromSpec(spec: AlertRuleSpec, id: string, source: RuleRecord['source'], createdAt: number, now: number): RuleRecord {
    return {
      id,
      name: spec.name,
      description: spec.description ?? null,
      condition: spec.condition,
      scope: spec.scope,
      severity: spec.severity,
      channels: spec.channels,
      escalation: spec.escalation ?? null,
      cooldown: spec.cooldown ?? null,
      enabled: spec.enabled,
      source,
      createdAt,
      updatedAt: now,
    };
  }

  /** The default rules on the first start of the fleet (once, whichever hub wins). */
  async function createDefaults(now: number): Promise<void> {
    if ((await alerts.countRules()) !== 0) return;
    // The claim and the rules commit together: several hubs starting at once create them once (issue #14).
    const created = await unitOfWork(async (repos) => {
      if (!(await repos.alerts.claimKv('alerts.defaults', String(now)))) return false;
      for (const spec of DEFAULT_RULES) await repos.alerts.insertRule(ruleFromSpec(spec, randomId('rule'), 'default', now, now));
      return true;
    });
    if (created) logger.info({ rules: DEFAULT_RULES.length }, 'default alert rules created');
  }

  /** Rules from the database; the ids of those that changed or went since the last read. */
  async function reloadRules(): Promise<string[]> {
    const stored = await alerts.listRules();
    const changed: string[] = [];
    const seen = new Set<string>();
    for (const rule of stored) {
      seen.add(rule.id);
      const known = rules.get(rule.id);
      if (known && known.rule.updatedAt === rule.updatedAt) continue;
      try {
        rules.set(rule.id, compile(rule));
        if (known) changed.push(rule.id);
      } catch (error) {
        logger.error({ err: error, rule: rule.name }, 'alert rule cannot be compiled; ignored');
      }
    }
    for (const id of [...rules.keys()]) {
      if (seen.has(id)) continue;
      rules.delete(id);
      changed.push(id);
    }
    forgetSampleRules();
    return changed;
  }

  return {
    rules,
    directory,
    enabledRules,
    sampleRulesFor,
    reloadDirectory,
    agentFor,
    settledAgent,
    isSettled,
    updateAgent,
    forgetAgent,
    findRule,
    createDefaults,
    reloadRules,

    list(): AlertRule[] {
      return [...rules.values()].map((c) => c.rule);
    },
    get(ref: string): AlertRule {
      return findRule(ref).rule;
    },
    async create(input: AlertRuleInput, source: RuleRecord['source'] = 'api', actor = 'hub'): Promise<AlertRule> {
      const spec = AlertRuleInputSchema.parse(input);
      validate(spec);
      if ([...rules.values()].some((c) => c.rule.name === spec.name)) throw new FarolError('name_taken', `an alert rule named "${spec.name}" exists`);
      const now = clock.now();
      const rule = ruleFromSpec(spec, randomId('rule'), source, now, now);
      await alerts.insertRule(rule);
      rules.set(rule.id, compile(rule));
      forgetSampleRules();
      announce();
      await audit?.record({ actor, action: 'alert_rule.create', details: { ruleId: rule.id, name: rule.name, rule: spec } });
      return rule;
    },
    async update(ref: string, patchInput: AlertRulePatch, options: { allowFile?: boolean; actor?: string } = {}): Promise<AlertRule> {
      const compiled = findRule(ref);
      const patch = AlertRulePatchSchema.parse(patchInput);
      if (compiled.rule.source === 'file' && !options.allowFile) {
        throw new FarolError('conflict', `rule "${compiled.rule.name}" comes from FAROL_ALERTS_FILE: change it there`);
      }
      const current = compiled.rule;
      const spec: AlertRuleSpec = {
        name: patch.name ?? current.name,
        description: patch.description === undefined ? (current.description ?? undefined) : (patch.description ?? undefined),
        condition: patch.condition ?? current.condition,
        scope: patch.scope ?? current.scope,
        severity: patch.severity ?? current.severity,
        channels: patch.channels ?? current.channels,
        escalation: patch.escalation === undefined ? current.escalation : patch.escalation,
        cooldown: patch.cooldown === undefined ? (current.cooldown ?? undefined) : (patch.cooldown ?? undefined),
        enabled: patch.enabled ?? current.enabled,
      };
      validate(spec);
      if (spec.name !== current.name && [...rules.values()].some((c) => c.rule.name === spec.name)) {
        throw new FarolError('name_taken', `an alert rule named "${spec.name}" exists`);
      }
      const rule = ruleFromSpec(spec, current.id, current.source, current.createdAt, clock.now());
      await alerts.replaceRule(rule);
      rules.set(rule.id, compile(rule));
      settle(rule.id, rule.enabled ? 'rule changed: machine no longer in scope' : 'rule disabled');
      announce();
      await audit?.record({ actor: options.actor ?? 'hub', action: 'alert_rule.update', details: { ruleId: rule.id, name: rule.name, changed: patch } });
      return rule;
    },
    async remove(ref: string, options: { allowFile?: boolean; actor?: string } = {}): Promise<void> {
      const compiled = findRule(ref);
      if (compiled.rule.source === 'file' && !options.allowFile) {
        throw new FarolError('conflict', `rule "${compiled.rule.name}" comes from FAROL_ALERTS_FILE: remove it there`);
      }
      await alerts.deleteRule(compiled.rule.id);
      rules.delete(compiled.rule.id);
      settle(compiled.rule.id, 'rule deleted');
      announce();
      await audit?.record({ actor: options.actor ?? 'hub', action: 'alert_rule.delete', details: { ruleId: compiled.rule.id, name: compiled.rule.name } });
    },
    /**
     * Configuration as code: rules from the file are created or replaced by name; file rules
     * no longer in it are deleted. Rules made through the API or the defaults are left alone
     * unless the file names them (then the file wins and they become file rules).
     */
    async applyFile(specs: AlertRuleSpec[]): Promise<{ created: number; updated: number; deleted: number }> {
      const counts = { created: 0, updated: 0, deleted: 0 };
      const names = new Set(specs.map((s) => s.name));
      for (const spec of specs) {
        validate(spec);
        const existing = [...rules.values()].find((c) => c.rule.name === spec.name);
        const now = clock.now();
        if (existing) {
          const rule = ruleFromSpec(spec, existing.rule.id, 'file', existing.rule.createdAt, now);
          await alerts.replaceRule(rule);
          rules.set(rule.id, compile(rule));
          settle(rule.id, 'rule changed by FAROL_ALERTS_FILE');
          counts.updated++;
        } else {
          const rule = ruleFromSpec(spec, randomId('rule'), 'file', now, now);
          await alerts.insertRule(rule);
          rules.set(rule.id, compile(rule));
          counts.created++;
        }
      }
      for (const compiled of [...rules.values()]) {
        if (compiled.rule.source === 'file' && !names.has(compiled.rule.name)) {
          await alerts.deleteRule(compiled.rule.id);
          rules.delete(compiled.rule.id);
          settle(compiled.rule.id, 'rule removed from FAROL_ALERTS_FILE');
          counts.deleted++;
        }
      }
      forgetSampleRules();
      if (counts.created + counts.updated + counts.deleted > 0) announce();
      return counts;
    },
  };
}
export type AlertRules = ReturnType<typeof createAlertRules>;
