import { isOlderVersion, type AgentBuild } from '@farol/protocol';

/** The machine fields the update views need (a fleet row or a full agent record). */
export interface UpdatableMachine {
  id: string;
  name: string;
  agentVersion: string | null;
}

/** The hub's own agent build: what `farol agents update` installs without --version, and what the automatic policy keeps machines on. */
export function hubVersionOf(builds: readonly AgentBuild[] | undefined): string | null {
  return builds?.find((build) => build.own)?.version ?? null;
}

/** True when the machine runs an older numbered version than the hub's build (never for free-text versions such as python-agent/0.1). */
export function isOutdated(agentVersion: string | null | undefined, hubVersion: string | null): boolean {
  return hubVersion !== null && isOlderVersion(agentVersion ?? '', hubVersion);
}

/** The builds offered to these machines: every build but the one all of them already run; the hub's own first. */
export function offeredBuilds(builds: readonly AgentBuild[], machines: readonly UpdatableMachine[]): AgentBuild[] {
  const versions = new Set(machines.map((machine) => machine.agentVersion));
  const offered = builds.filter((build) => !(versions.size === 1 && versions.has(build.version)));
  return [...offered.filter((build) => build.own), ...offered.filter((build) => !build.own)];
}
