import { FarolError, MAX_JOB_TARGETS, matchesLabels, parseLabelSelector, type JobTargets, type Labels } from '@farol/protocol';
import type { AgentsService } from '../agents/agents.service.js';
import type { TargetRecord } from './jobs.repository.js';

/** Who may be targeted by a job, decided by the caller's role (issue #6). */
export interface JobAccess {
  canTarget(labels: Labels): boolean;
  maxTargets: number;
  /** The caller's label scope, said in a refusal (issue #11: instead of the machines' names). */
  scope?: string | null;
}

/** The machines a job's target spec names, by id, name, label selector or all; refused when none or too many. */
export async function resolveTargets(agents: Pick<AgentsService, 'lookup' | 'directory'>, spec: JobTargets): Promise<Array<{ id: string; name: string; labels: Labels }>> {
  if ('agents' in spec && spec.agents.length <= 16) {
    // A few machines by name: look them up, not the whole fleet.
    const found = await Promise.all(spec.agents.map(async (ref) => ({ ref, agent: await agents.lookup(ref) })));
    const missing = found.filter((f) => !f.agent).map((f) => JSON.stringify(f.ref));
    if (missing.length > 0) throw new FarolError('not_found', `no agent with id or name ${missing.join(', ')}`);
    const unique = new Map(found.map(({ agent }) => [agent!.id, { id: agent!.id, name: agent!.name, labels: agent!.labels }]));
    return [...unique.values()];
  }
  const all = await agents.directory();
  let chosen;
  if ('agents' in spec) {
    const byRef = new Map<string, (typeof all)[number]>();
    for (const agent of all) {
      byRef.set(agent.id, agent);
      byRef.set(agent.name, agent);
    }
    const missing = spec.agents.filter((ref) => !byRef.has(ref));
    if (missing.length > 0) {
      throw new FarolError('not_found', `no agent with id or name ${missing.slice(0, 10).map((m) => JSON.stringify(m)).join(', ')}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}`);
    }
    chosen = [...new Set(spec.agents.map((ref) => byRef.get(ref)!))];
  } else if ('selector' in spec) {
    let terms;
    try {
      terms = parseLabelSelector(spec.selector);
    } catch (error) {
      throw new FarolError('validation_failed', (error as Error).message, { cause: error });
    }
    chosen = all.filter((agent) => matchesLabels(agent.labels, terms));
    if (chosen.length === 0) throw new FarolError('not_found', `no agent matches the selector ${spec.selector}`);
  } else {
    chosen = all;
    if (chosen.length === 0) throw new FarolError('not_found', 'no agent is enrolled yet');
  }
  if (chosen.length > MAX_JOB_TARGETS) {
    throw new FarolError('validation_failed', `${chosen.length} machines match; a job may target at most ${MAX_JOB_TARGETS}`);
  }
  return chosen.map((agent) => ({ id: agent.id, name: agent.name, labels: agent.labels }));
}

/**
 * Issue #6: every resolved target must be within the caller's scope (a selector that reaches
 * one machine outside it refuses the whole job, so nothing runs half-authorized), and a job
 * may reach at most the caller's fan-out limit.
 */
export function checkAccess(resolved: Array<{ name: string; labels: Labels }>, access: JobAccess): void {
  if (resolved.length > access.maxTargets) {
    throw new FarolError('forbidden', `${resolved.length} machines match; you may target at most ${access.maxTargets} in one job`);
  }
  const outside = resolved.filter((agent) => !access.canTarget(agent.labels));
  if (outside.length > 0) {
    // Issue #11: counts only; the names of machines outside the caller's scope are not theirs to learn.
    throw new FarolError('forbidden', `${outside.length} of the ${resolved.length} targets ${outside.length === 1 ? 'is' : 'are'} outside your scope${access.scope ? ` (${access.scope})` : ''}; narrow the targets`);
  }
}

/** A job's target on one machine as it starts: queued, with no output or result yet. */
export function queuedTarget(jobId: string, commandId: string, agent: { id: string; name: string }): TargetRecord {
  return {
    commandId,
    jobId,
    agentId: agent.id,
    agentName: agent.name,
    state: 'queued',
    exitCode: null,
    signal: null,
    stdout: '',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    data: null,
    sentAt: null,
    startedAt: null,
    endedAt: null,
    error: null,
    resultAt: null,
  };
}
