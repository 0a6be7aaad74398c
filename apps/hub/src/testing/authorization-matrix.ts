import { BUILTIN_ROLES, type Permission } from '@farol/protocol';
import { ROUTE_ACCESS, UI_EVENT_ACCESS, type Access } from '../modules/auth/permissions.js';

/**
 * The authorization matrix (issue #6), generated from the permission table: who is asked
 * (personas), which cells there are (every REST route and /ui event × a machine inside and
 * outside the persona's label scope) and what each cell must answer. Shared by the one-hub test
 * (modules/auth/authorization-matrix.int.test.ts) and the three-hub test
 * (tests/e2e/several-hubs-authorization.e2e.test.ts, issue #14).
 */

export type Env = 'staging' | 'prod';

export interface Persona {
  username: string;
  role: string;
  scope: string | null;
  permissions: readonly Permission[];
  token: string;
}

export const MATRIX_PASSWORD = 'correct horse battery staple';

/** A role that is neither built in nor all-or-nothing. */
export const CUSTOM_ROLE = { name: 'auditor', permissions: ['audit:read', 'nodes:read'] as Permission[] };

/** The users the matrix signs in as (each gets an API token by signing in with `issue: 'token'`). */
export const PERSONA_SPECS: ReadonlyArray<{ username: string; role: string; scope: string | null }> = [
  { username: 'vera', role: 'viewer', scope: null },
  { username: 'otto', role: 'operator', scope: null },
  { username: 'stan', role: 'operator', scope: 'env=staging' },
  { username: 'sven', role: 'viewer', scope: 'env=staging' },
  { username: 'ada', role: 'admin', scope: null },
  { username: 'aud', role: CUSTOM_ROLE.name, scope: null },
  // Issue #11: every permission, limited to a label scope.
  { username: 'sam', role: 'admin', scope: 'env=staging' },
];

/** The permissions a persona's role grants. */
export function permissionsOf(role: string): readonly Permission[] {
  return role === CUSTOM_ROLE.name ? CUSTOM_ROLE.permissions : BUILTIN_ROLES[role as keyof typeof BUILTIN_ROLES];
}

/**
 * Cells whose refusal depends on the body the matrix sends (`{}`), for a scoped persona (issue
 * #11, object-scope.ts): a join token without labels would enrol machines outside any scope.
 */
const SCOPED_REFUSALS_WITH_EMPTY_BODY = new Set(['POST /api/join-tokens']);

/**
 * Account-security changes refuse every API token (issue #11, M3), and the matrix signs in with
 * tokens. (The other such routes need a body, so the matrix's `{}` fails validation first.)
 */
const SESSION_ONLY_ROUTES = new Set(['POST /api/me/totp']);

export function expectedAllowed(persona: Persona, access: Access, targetEnv: Env | null, route?: string): boolean {
  if (route !== undefined && SESSION_ONLY_ROUTES.has(route)) return false;
  if (access.kind !== 'permission') return true;
  if (!persona.permissions.includes(access.permission)) return false;
  // Issue #11: what concerns the whole fleet is refused to a role limited to a label scope.
  if (access.fleetWide && persona.scope !== null) return false;
  if (route !== undefined && SCOPED_REFUSALS_WITH_EMPTY_BODY.has(route) && persona.scope !== null) return false;
  if (access.target && persona.scope !== null && targetEnv !== null) return persona.scope === `env=${targetEnv}`;
  return true;
}

export interface RouteCell {
  persona: Persona;
  method: string;
  /** The route as the table has it (`/api/agents/:id`). */
  route: string;
  /** With `{staging}` / `{prod}` where the targeted machine goes, other parameters filled with a name nothing has. */
  path: string;
  access: Access;
  targetEnv: Env | null;
}

/** Every non-public route of the table, with `:id` filled by a machine when the route targets one. Destructive cells last. */
export function routeCells(personas: readonly Persona[]): RouteCell[] {
  const cells: RouteCell[] = [];
  for (const [key, access] of Object.entries(ROUTE_ACCESS)) {
    if (access.kind === 'public') continue;
    const [method, route] = key.split(' ') as [string, string];
    const targetParam = access.kind === 'permission' && access.target && 'param' in access.target ? access.target.param : null;
    for (const persona of personas) {
      for (const targetEnv of targetParam ? (['staging', 'prod'] as const) : [null]) {
        const path = route.replaceAll(/:([A-Za-z]+)/g, (_m, name: string) => (name === targetParam ? `{${targetEnv}}` : 'zz-nothing-here'));
        cells.push({ persona, method, route, path, access, targetEnv });
      }
    }
  }
  // Destructive cells last, so the machines of the other cells still exist.
  return cells.sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'));
}

/** The request a cell sends, its machine (when it targets one) filled in. */
export function cellRequest(cell: RouteCell, machineId: string | undefined): { method: string; path: string; body: unknown } {
  let path = cell.path;
  if (cell.targetEnv) path = path.replace(`{${cell.targetEnv}}`, machineId ?? '');
  const body = ['POST', 'PUT', 'PATCH'].includes(cell.method) ? {} : undefined;
  return { method: cell.method, path: `${path}${cell.method === 'POST' && path.includes('/api/agents/') ? '?wait=false' : ''}`, body };
}

export const personaLabel = (persona: Persona): string => `${persona.username} (${persona.role}${persona.scope ? ` ${persona.scope}` : ''})`;

/** What is wrong with a route cell's answer, or null when it is what the table says. */
export function judgeRouteCell(cell: RouteCell, path: string, status: number, code: string | undefined): string | null {
  const allowed = expectedAllowed(cell.persona, cell.access, cell.targetEnv, `${cell.method} ${cell.route}`);
  const where = `${personaLabel(cell.persona)} ${cell.method} ${path} [${cell.targetEnv ?? '-'}]`;
  if (allowed && (status === 401 || status === 403)) return `${where}: expected allowed, got ${status} ${code}`;
  if (!allowed && (status !== 403 || code !== 'forbidden')) return `${where}: expected 403 forbidden, got ${status} ${code}`;
  return null;
}

export interface UiCell {
  event: string;
  access: Access;
  targetEnv: Env | null;
  /** The payload field naming the machine, when the event targets one. */
  field: string | null;
}

/** Every /ui event of the table, × a machine inside and outside the scope when it targets one. */
export function uiCells(): UiCell[] {
  const cells: UiCell[] = [];
  for (const [event, access] of Object.entries(UI_EVENT_ACCESS)) {
    const field = access.kind === 'permission' && access.target && 'field' in access.target ? access.target.field : null;
    for (const targetEnv of field ? (['staging', 'prod'] as const) : [null]) cells.push({ event, access, targetEnv, field });
  }
  return cells;
}

export function uiPayload(cell: UiCell, machineId: string | undefined): Record<string, unknown> {
  return cell.field && cell.targetEnv ? { [cell.field]: machineId, cols: 80, rows: 24 } : {};
}

/** An event's answer as the matrix reads it: `ok`, an error code, or `no answer`. */
export type UiAnswer = { ok: boolean; error?: { code: string } } | 'no answer';

export const uiAnswerCode = (answer: UiAnswer): string | undefined => (answer === 'no answer' ? 'no answer' : answer.ok ? 'ok' : answer.error?.code);

/** What is wrong with a /ui cell's answer, or null. `no answer` is only acceptable for allowed cells (e.g. a terminal on an offline machine). */
export function judgeUiCell(persona: Persona, cell: UiCell, answer: UiAnswer): string | null {
  const allowed = expectedAllowed(persona, cell.access, cell.targetEnv);
  const code = uiAnswerCode(answer);
  const where = `${personaLabel(persona)} ${cell.event} [${cell.targetEnv ?? '-'}]`;
  if (allowed && (code === 'forbidden' || code === 'unauthorized')) return `${where}: expected allowed, got ${code}`;
  if (!allowed && code !== 'forbidden') return `${where}: expected forbidden, got ${code}`;
  return null;
}
