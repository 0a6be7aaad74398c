import { FarolError, matchesLabels, parseLabelSelector, type LabelTerm, type Labels, type Principal } from '@farol/protocol';

/**
 * Issue #11: how a role's label scope (`Principal.scope`, a label selector such as `env=staging`)
 * limits every kind of object, in one place. The authorizer (machines, with their labels read
 * from the database) and every route and gateway that handles one of these objects ask here;
 * none restates a rule. Unscoped principals (scope null) are limited by their permissions only.
 *
 * The rule of thumb: a scoped principal may read or change an object only when everything the
 * object can ever reach is inside the scope, and may never make an object reach beyond it.
 */
export const OBJECT_SCOPE_RULES = {
  machine: 'its labels match the scope; a relabel or rename must keep it inside the scope before and after',
  job: 'every one of its target machines is inside the scope (create: all resolved targets; read, cancel, watch: all stored targets)',
  secret: 'its own scope selector lies within the actor\'s scope (holds every term of it); a secret for every machine (*) is outside',
  'secret use': 'a command may ask for a secret only when the secret is within the requesting actor\'s scope, and it is delivered only to machines its scope matches',
  'join token': 'the labels it gives match the scope; list and revoke only such tokens',
  'alert rule': 'create, change, disable or delete only rules whose scope is a selector within the actor\'s scope, or machines all inside it; fleet-wide rules are outside. Read: every rule except those naming machines outside the scope',
  alert: 'its machine is inside the scope; a fleet-wide alert (no machine) is outside',
  silence: 'the scope is ANDed into its selector when it is created; list and end only silences within the scope',
  'event webhook': 'the scope is ANDed into its label selector when it is created or changed (never fleet-wide); list, read, change, test and delete only webhooks within the scope',
  'notification channel': 'fleet-wide (every rule may use it): scoped principals may list and read channels (secrets masked) to choose them, but not create, change, test or delete them',
  'notify outbox': 'fleet-wide (notices about every machine): refused to scoped principals',
  'audit entry': 'about a machine inside the scope, or about a job whose every target is inside it; entries about nothing in particular (sign-ins, users, secrets, tokens) are outside',
  'terminal session': 'its machine is inside the scope when it opens and on every input and resize; a session whose machine leaves the scope is closed at once',
  'live view (agent:watch)': 'its machine is inside the scope; the watch ends when the machine leaves the scope',
  screenshot: 'its machine is inside the scope (take and view)',
  'user and role': 'never: scoped principals do not manage users or roles',
  'service check': 'read, create, change, run and delete only checks that run on named machines all inside the scope or on a selector within it; checks the hub runs itself are fleet-wide, outside',
  'status page': 'fleet-wide (it publishes checks to anyone): scoped principals may not list, read, create, change or delete status pages; the public page itself needs no sign-in and shows only display names, status and daily uptime',
  'push subscription': 'their own only (subscribe, list, unsubscribe); a browser gets an alert only while its user may read alerts and the alert\'s machine is inside their scope (checked when queued and again when sent); fleet-wide alerts reach unscoped users only',
  'API token': 'their own only: listing or revoking other users\' tokens needs users:manage without a scope',
} as const;

/** The terms of the principal's scope; null when unscoped, [] (reaches nothing) when unreadable. */
function scopeTerms(principal: Pick<Principal, 'scope'>): LabelTerm[] | null {
  if (principal.scope === null) return null;
  try {
    return parseLabelSelector(principal.scope);
  } catch {
    // The scope was validated when it was set; one that no longer parses is matched by nothing.
    return [{ key: '', value: '', negate: false }];
  }
}

/** True when a machine with these labels is within the principal's scope. */
export function labelsInScope(principal: Pick<Principal, 'scope'>, labels: Labels): boolean {
  const terms = scopeTerms(principal);
  return terms === null || matchesLabels(labels, terms);
}

/**
 * True when a label selector can only reach machines within the principal's scope: every term
 * of the scope is implied by a term of the selector (`env=staging` by itself; `env!=prod` by
 * itself or by `env=<anything but prod>`). A selector is an AND of its terms, so it is then
 * narrower. Undefined or unparsable selectors are not within any scope.
 */
export function selectorWithinScope(principal: Pick<Principal, 'scope'>, selector: string | undefined): boolean {
  const scope = scopeTerms(principal);
  if (scope === null) return true;
  if (selector === undefined) return false;
  let terms: LabelTerm[];
  try {
    terms = parseLabelSelector(selector);
  } catch {
    return false;
  }
  return scope.every((need) =>
    terms.some((t) => (t.key === need.key && t.value === need.value && t.negate === need.negate) || (need.negate && !t.negate && t.key === need.key && t.value !== need.value)),
  );
}

/** The selector of an object a scoped principal creates: theirs ANDed in, so it stays inside. */
export function narrowToScope(principal: Pick<Principal, 'scope'>, selector: string | undefined): string | undefined {
  if (principal.scope === null) return selector;
  if (selector === undefined || selector.trim() === '') return principal.scope;
  return selectorWithinScope(principal, selector) ? selector : `${principal.scope},${selector}`;
}

/** The scope a secret has when it applies to every machine. */
export const SECRET_SCOPE_ALL = '*';

/** Secrets: within when the secret's scope selector is within the principal's; `*` is outside. */
export function secretInScope(principal: Pick<Principal, 'scope'>, secretScope: string): boolean {
  if (principal.scope === null) return true;
  if (secretScope.trim() === SECRET_SCOPE_ALL) return false;
  return selectorWithinScope(principal, secretScope);
}

/**
 * Alert rules: within when the rule's scope is a selector within the principal's, or names
 * machines that `machinesInScope` says are all inside it. Fleet-wide rules are outside.
 */
export async function ruleScopeInScope(
  principal: Pick<Principal, 'scope'>,
  scope: { all: true } | { agents: string[] } | { selector: string },
  machinesInScope: (refs: readonly string[]) => Promise<boolean>,
): Promise<boolean> {
  if (principal.scope === null) return true;
  if ('selector' in scope) return selectorWithinScope(principal, scope.selector);
  if ('agents' in scope) return machinesInScope(scope.agents);
  return false;
}

/** Event webhooks: within when their label selector is within the scope (names only narrow it further). */
export function webhookInScope(principal: Pick<Principal, 'scope'>, selector: { labels?: string | undefined }): boolean {
  return principal.scope === null || selectorWithinScope(principal, selector.labels);
}

/** The one refusal for something outside the scope; never names the objects the actor cannot see. */
/** Other users' API tokens are listed and revoked only by user managers without a scope. */
export function managesEveryonesTokens(principal: Pick<Principal, 'scope' | 'permissions'>): boolean {
  return principal.scope === null && principal.permissions.includes('users:manage');
}

export function outsideScope(principal: Pick<Principal, 'scope'>, what = 'this machine'): FarolError {
  return new FarolError('forbidden', `${what} is outside your scope (${principal.scope ?? 'none'})`);
}

/** For objects that concern the whole fleet (users, roles, channels, the outbox). */
export function fleetWideRefusal(principal: Pick<Principal, 'scope'>, what: string): FarolError {
  return new FarolError('forbidden', `${what} concerns the whole fleet; your role is limited to ${principal.scope ?? 'none'}`);
}

/**
 * A relabel or rename of a machine: the machine must be within the scope before and after, so
 * a scoped operator can neither take a machine out of their scope nor move one into another's.
 */
export function checkRelabel(principal: Pick<Principal, 'scope'>, before: Labels, after: Labels): void {
  if (!labelsInScope(principal, before)) throw outsideScope(principal);
  if (!labelsInScope(principal, after)) throw new FarolError('forbidden', `these labels would take the machine outside your scope (${principal.scope ?? 'none'})`);
}
