import { FarolError, type CommandKind, type Principal } from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import { fleetWideRefusal, labelsInScope, outsideScope, selectorWithinScope } from './object-scope.js';
import { COMMAND_KIND_ACCESS, requireRecentMfa, type Access, type TargetLabels } from './permissions.js';

/**
 * The one decision "may this principal do this, on this machine?", shared by the HTTP hook,
 * the /ui socket guard and the jobs service (per target, at execution time). What the label
 * scope means for each kind of object is in object-scope.ts; this reads the machines' labels.
 */
export function createAuthorizer({ targetLabels, clock, mfaMaxAgeMs }: { targetLabels: TargetLabels; clock: Clock; mfaMaxAgeMs: number }) {
  /** True when the principal's role reaches a machine with these labels. */
  const inScope = (principal: Principal, labels: Record<string, string>): boolean => labelsInScope(principal, labels);

  /** True when every machine is within the principal's scope (a removed machine is not). */
  async function seesAll(principal: Principal, agentIds: readonly string[]): Promise<boolean> {
    if (principal.scope === null) return true;
    for (const agentId of new Set(agentIds)) {
      const labels = await targetLabels(agentId);
      if (labels === undefined || !inScope(principal, labels)) return false;
    }
    return true;
  }

  return {
    inScope,
    /** Throws `forbidden` / `mfa_required`; `targetRef` is the machine id or name when the access names one. */
    async check(principal: Principal, access: Access, targetRef: unknown): Promise<void> {
      if (access.kind !== 'permission') return;
      if (!principal.permissions.includes(access.permission)) {
        throw new FarolError('forbidden', `this needs the permission ${access.permission}, which your role (${principal.role}) does not include`);
      }
      if (access.fleetWide && principal.scope !== null) throw fleetWideRefusal(principal, 'this');
      if (access.target && principal.scope !== null) {
        if (typeof targetRef !== 'string') throw new FarolError('forbidden', `your role is limited to ${principal.scope}; name one machine`);
        const labels = await targetLabels(targetRef);
        // An unknown machine is left to the handler's own 404. The refusal names no machine.
        if (labels !== undefined && !inScope(principal, labels)) throw outsideScope(principal);
      }
      if (access.stepUp) requireRecentMfa(principal, clock.now(), mfaMaxAgeMs);
    },
    /**
     * For what shows several machines at once (a job's targets and output): a scoped principal
     * sees it only when every one of them is within the scope.
     */
    async checkAll(principal: Principal, agentIds: readonly string[]): Promise<void> {
      if (!(await seesAll(principal, agentIds))) throw outsideScope(principal, 'a machine of this job');
    },
    seesAll,
    /**
     * For records about one machine (alerts, screenshots, terminal sessions): a scoped principal
     * sees one only when its machine exists and is within the scope now; a record about no
     * machine (a fleet-wide alert) only when the role is not limited at all.
     */
    async seesAgent(principal: Principal, agentId: string | null): Promise<boolean> {
      if (principal.scope === null) return true;
      return agentId !== null && seesAll(principal, [agentId]);
    },
    /** `seesAgent` or 403 `forbidden`, the answer every target-scoped route gives out of scope. */
    async checkAgent(principal: Principal, agentId: string | null): Promise<void> {
      if (principal.scope === null) return;
      if (agentId === null) throw fleetWideRefusal(principal, 'this');
      if (!(await seesAll(principal, [agentId]))) throw outsideScope(principal);
    },
    /**
     * A filter for lists (one request): `seesAgent` with each machine's labels read once.
     */
    visibleTo(principal: Principal): (agentId: string | null) => Promise<boolean> {
      if (principal.scope === null) return () => Promise.resolve(true);
      const seen = new Map<string, Promise<boolean>>();
      return (agentId) => {
        if (agentId === null) return Promise.resolve(false);
        let answer = seen.get(agentId);
        if (!answer) {
          answer = seesAll(principal, [agentId]);
          seen.set(agentId, answer);
        }
        return answer;
      };
    },
    /**
     * True when a label selector can only reach machines within the principal's scope: it holds
     * every term of the scope (a selector is an AND of its terms, so it is then narrower).
     */
    selectorWithinScope: (principal: Principal, selector: string | undefined): boolean => selectorWithinScope(principal, selector),
    /** Throws `forbidden` when a command kind needs a permission beyond `commands:exec` (COMMAND_KIND_ACCESS). */
    checkCommand(principal: Principal, kind: CommandKind): void {
      const extra = COMMAND_KIND_ACCESS[kind];
      if (extra && !principal.permissions.includes(extra)) {
        throw new FarolError('forbidden', `${kind} needs the permission ${extra}, which your role (${principal.role}) does not include`);
      }
    },
    /** For handlers whose need depends on the input (shell commands, terminals, secrets). */
    requireRecentMfa: (principal: Principal): void => requireRecentMfa(principal, clock.now(), mfaMaxAgeMs),
  };
}
export type Authorizer = ReturnType<typeof createAuthorizer>;
