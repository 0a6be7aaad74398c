import type { AlertScope, Channel, RuleCondition, SilenceMatcher } from '@farol/protocol';

/** 300000 → "5m", 90000 → "90s", 0 → "0s": the way the API and the CLI write durations. */
export function formatDurationText(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}

/** Words for conditions, filled from the dictionary so both languages read naturally. */
export interface ConditionWords {
  offline(forText: string): string;
  online(): string;
  container(condition: string, containers: string, forText: string): string;
  jobFailed(states: string): string;
  forSuffix(duration: string): string;
  everyContainer(): string;
  watchedContainers(): string;
}

/** A rule's condition in one line: `cpu > 90 for 5m`, `offline for 2m`, … */
export function describeCondition(condition: RuleCondition, words: ConditionWords): string {
  const forText = (ms: number | string | undefined) => {
    const value = typeof ms === 'number' ? ms : 0;
    return value > 0 ? words.forSuffix(formatDurationText(value)) : '';
  };
  switch (condition.kind) {
    case 'metric':
      return `${condition.metric} ${condition.op} ${condition.threshold}${forText(condition.for)}`;
    case 'offline':
      return words.offline(forText(condition.for));
    case 'online':
      return words.online();
    case 'container': {
      const names = condition.containers === undefined ? words.watchedContainers() : condition.containers.includes('*') ? words.everyContainer() : condition.containers.join(', ');
      return words.container(condition.condition, names, forText(condition.for));
    }
    case 'job_failed':
      return words.jobFailed(condition.states.join(', '));
    case 'check':
      // Service check rules (issue #19) are made with the API or the CLI; shown as they are named there.
      return `check ${condition.condition}${condition.checks ? ` (${condition.checks.join(', ')})` : ''}${forText(condition.for)}`;
  }
}

/** Which machines: "every machine", "role=gpu", "web-1, web-2". */
export function describeScope(scope: AlertScope, everyMachine: string): string {
  if ('all' in scope) return everyMachine;
  if ('selector' in scope) return scope.selector;
  return scope.agents.join(', ');
}

/** What a silence covers, its parts joined: "web-1 · rule cpu-high". */
export function describeMatcher(matcher: SilenceMatcher, words: { everything: string; rules: (names: string) => string }): string {
  if (matcher.all) return words.everything;
  const parts: string[] = [];
  if (matcher.agents) parts.push(matcher.agents.join(', '));
  if (matcher.selector) parts.push(matcher.selector);
  if (matcher.rules) parts.push(words.rules(matcher.rules.join(', ')));
  return parts.join(' · ');
}

/** "a, b , c" → ["a", "b", "c"]. */
export function splitList(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).map((part) => part.trim()).filter(Boolean))];
}

/** Why alerts would reach no one, or null when some channel is enabled (issue #21). */
export function silentReason(channels: readonly Pick<Channel, 'enabled'>[] | undefined): 'none' | 'disabled' | null {
  if (channels === undefined) return null;
  if (channels.length === 0) return 'none';
  return channels.some((channel) => channel.enabled) ? null : 'disabled';
}
