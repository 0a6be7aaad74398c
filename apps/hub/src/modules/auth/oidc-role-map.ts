import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseLabelSelector, RoleNameSchema, ScopeSchema } from '@farol/protocol';

/**
 * Single sign-on (issue #20): which role and label scope a person gets from the provider's
 * claims. A list of rules, first match wins; `match: '*'` matches everyone the provider signs
 * in (for providers without groups, such as Google). No match: the sign-in is refused.
 */
export interface OidcRoleRule {
  /** A value of the role claim (a group name, an app role), or `*`. */
  match: string;
  role: string;
  scope: string | null;
}

/** What a sign-in gets: the role, the scope and the rule that gave them (for the audit log). */
export interface OidcGrant {
  role: string;
  scope: string | null;
  matched: string;
}

export class OidcRoleMapError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid single sign-on role mapping:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'OidcRoleMapError';
  }
}

const RuleSchema = z
  .object({
    match: z.union([z.string().min(1).max(256), z.number(), z.boolean()]).transform(String),
    role: RoleNameSchema,
    scope: ScopeSchema.superRefine((scope, context) => {
      try {
        parseLabelSelector(scope);
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }).optional(),
  })
  .strict();
const RoleMapSchema = z.array(RuleSchema).min(1, 'list at least one rule, e.g. [{"match":"farol-admins","role":"admin"}]').max(1000);

/**
 * Parses FAROL_OIDC_ROLE_MAP (or its file): JSON or YAML, a list of `{ match, role, scope? }`.
 * Throws {@link OidcRoleMapError} listing every problem, each with the rule's position.
 */
export function parseRoleMap(text: string, source: string): OidcRoleRule[] {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new OidcRoleMapError([`${source}: not JSON or YAML (${(error as Error).message.split('\n')[0]})`]);
  }
  const parsed = RoleMapSchema.safeParse(raw);
  if (!parsed.success) {
    throw new OidcRoleMapError(parsed.error.issues.map((issue) => `${source}${issue.path.length > 0 ? ` [${issue.path.join('.')}]` : ''}: ${issue.message}`));
  }
  return parsed.data.map((rule): OidcRoleRule => ({ match: rule.match, role: rule.role, scope: rule.scope ?? null }));
}

/** Rules naming a role the hub does not have (built-in or custom), checked once the roles are loaded. */
export function unknownRoles(rules: readonly OidcRoleRule[], roleExists: (name: string) => boolean, source: string): string[] {
  return rules.flatMap((rule, index) => (roleExists(rule.role) ? [] : [`${source} [${index}.role]: no role ${rule.role} (create it first, or use viewer, operator or admin)`]));
}

/**
 * The values of a claim, by name or dotted path (`realm_access.roles`): a string is one value,
 * a list gives its strings and numbers; anything else gives none.
 */
export function claimValues(claims: Record<string, unknown>, path: string): string[] {
  // A claim named with a dot (Auth0's namespaced `https://x/roles`) is tried whole first.
  let value: unknown = Object.hasOwn(claims, path) ? claims[path] : undefined;
  if (value === undefined) {
    value = path.split('.').reduce<unknown>((at, key) => (at !== null && typeof at === 'object' && !Array.isArray(at) && Object.hasOwn(at, key) ? (at as Record<string, unknown>)[key] : undefined), claims);
  }
  if (typeof value === 'string') return [value];
  if (typeof value === 'number' || typeof value === 'boolean') return [String(value)];
  if (Array.isArray(value)) return value.filter((item): item is string | number => typeof item === 'string' || typeof item === 'number').map(String);
  return [];
}

/** True when the claim is present at all (so the userinfo endpoint need not be asked). */
export function hasClaim(claims: Record<string, unknown>, path: string): boolean {
  if (Object.hasOwn(claims, path)) return true;
  let at: unknown = claims;
  for (const key of path.split('.')) {
    if (at === null || typeof at !== 'object' || Array.isArray(at) || !Object.hasOwn(at, key)) return false;
    at = (at as Record<string, unknown>)[key];
  }
  return true;
}

/** The first rule one of `values` matches (or `*`), as a grant; null when none does. */
export function grantFor(rules: readonly OidcRoleRule[], values: readonly string[]): OidcGrant | null {
  const held = new Set(values);
  const rule = rules.find((r) => r.match === '*' || held.has(r.match));
  return rule ? { role: rule.role, scope: rule.scope, matched: rule.match } : null;
}
