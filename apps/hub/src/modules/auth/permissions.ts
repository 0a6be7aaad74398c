import { DOCKER_WRITE_COMMAND_KINDS, FarolError, type CommandKind, type Permission, type Principal } from '@farol/protocol';

/**
 * What a route or socket event needs. `public`: no sign-in (probes, enrolment, install
 * scripts, the dashboard's files). `signedIn`: any operator (their own profile, tokens,
 * second factor). Otherwise one permission; `target` names where the machine is (a route
 * parameter or a payload field) when the permission is limited by the role's label selector;
 * `stepUp` asks for a second factor no older than FAROL_MFA_MAX_AGE when the user has one.
 */
export type Access =
  | { kind: 'public' }
  | { kind: 'signedIn' }
  | { kind: 'permission'; permission: Permission; target?: { param: string } | { field: string }; stepUp?: boolean };

const PUBLIC: Access = { kind: 'public' };
const SIGNED_IN: Access = { kind: 'signedIn' };
const need = (permission: Permission, extra: { target?: { param: string } | { field: string }; stepUp?: boolean } = {}): Access => ({ kind: 'permission', permission, ...extra });
const onAgent = { target: { param: 'id' } };

/**
 * THE table: every REST route (`METHOD /path` as Fastify registers it) and what it needs. One
 * onRequest hook enforces it for every route; a route missing here is refused (403) and the
 * test `every route is in the permission table` lists it.
 */
export const ROUTE_ACCESS: Record<string, Access> = {
  // Probes, scrapers, agents enrolling, install scripts, the dashboard and the API docs.
  'GET /health': PUBLIC,
  'GET /ready': PUBLIC,
  'GET /metrics': PUBLIC,
  'POST /api/enroll': PUBLIC,
  'GET /install.sh': PUBLIC,
  'GET /install.ps1': PUBLIC,
  'GET /download/farol-agent.mjs': PUBLIC,
  'GET /': PUBLIC,
  'GET /*': PUBLIC,
  'GET /api/openapi.json': PUBLIC,
  'GET /api/docs': PUBLIC,
  'GET /api/docs/': PUBLIC,
  'GET /api/docs/json': PUBLIC,
  'GET /api/docs/yaml': PUBLIC,
  'GET /api/docs/static/*': PUBLIC,
  'GET /api/docs/static/index.html': PUBLIC,
  'GET /api/docs/static/swagger-initializer.js': PUBLIC,
  // Signing in and out, and what each operator manages for themselves.
  'POST /api/auth/login': PUBLIC,
  'POST /api/auth/logout': SIGNED_IN,
  'GET /api/auth/session': SIGNED_IN,
  'POST /api/auth/step-up': SIGNED_IN,
  'GET /api/me': SIGNED_IN,
  'POST /api/me/password': SIGNED_IN,
  'POST /api/me/totp': SIGNED_IN,
  'POST /api/me/totp/confirm': SIGNED_IN,
  'POST /api/me/totp/disable': SIGNED_IN,
  'GET /api/tokens': SIGNED_IN,
  'POST /api/tokens': SIGNED_IN,
  'DELETE /api/tokens/:id': SIGNED_IN,
  // Users and roles.
  'GET /api/users': need('users:manage'),
  'POST /api/users': need('users:manage'),
  'PATCH /api/users/:id': need('users:manage'),
  'GET /api/roles': need('users:manage'),
  'POST /api/roles': need('users:manage'),
  'DELETE /api/roles/:name': need('users:manage'),
  // The fleet.
  'GET /api/agents': need('nodes:read'),
  'GET /api/agents/:id': need('nodes:read', onAgent),
  'GET /api/agents/:id/metrics': need('nodes:read', onAgent),
  'GET /api/agents/:id/containers': need('nodes:read', onAgent),
  'PATCH /api/agents/:id': need('nodes:write', onAgent),
  'DELETE /api/agents/:id': need('nodes:write', onAgent),
  'GET /api/join-tokens': need('join-tokens:manage'),
  'POST /api/join-tokens': need('join-tokens:manage'),
  'DELETE /api/join-tokens/:id': need('join-tokens:manage'),
  // Commands. Jobs on many machines check every target in the jobs service; shell commands
  // ask for the step-up in the jobs routes (only the body says it is a shell).
  'POST /api/agents/:id/command': need('commands:exec', onAgent),
  'POST /api/agents/:id/restart': need('nodes:write', onAgent),
  'POST /api/agents/:id/stop': need('nodes:write', onAgent),
  'POST /api/jobs': need('commands:exec'),
  'GET /api/jobs': need('nodes:read'),
  'GET /api/jobs/:id': need('nodes:read'),
  'POST /api/jobs/:id/cancel': need('commands:exec'),
  'GET /api/audit': need('audit:read'),
  'GET /api/audit/verify': need('audit:read'),
  // Screenshots and terminal recordings (issue #7).
  'POST /api/agents/:id/screenshot': need('screen:view', onAgent),
  'GET /api/screenshots/:id': need('screen:view'),
  // What was typed and shown in terminals is evidence: the auditors' and admins' to read.
  'GET /api/terminal/sessions': need('audit:read'),
  'GET /api/terminal/sessions/:id/recording': need('audit:read'),
  // Secrets (issue #6 item 5): reading a value is a step-up action.
  'GET /api/secrets': need('secrets:read'),
  'GET /api/secrets/:name': need('secrets:read'),
  'PUT /api/secrets/:name': need('secrets:write'),
  'DELETE /api/secrets/:name': need('secrets:write'),
  'POST /api/secrets/:name/reveal': need('secrets:read', { stepUp: true }),
  // Notification channels, event webhooks and the outbox (issue #4).
  'GET /api/channels': need('alerts:manage'),
  'POST /api/channels': need('alerts:manage'),
  'GET /api/channels/:id': need('alerts:manage'),
  'PATCH /api/channels/:id': need('alerts:manage'),
  'DELETE /api/channels/:id': need('alerts:manage'),
  'POST /api/channels/:id/test': need('alerts:manage'),
  'GET /api/webhooks': need('alerts:manage'),
  'POST /api/webhooks': need('alerts:manage'),
  'GET /api/webhooks/:id': need('alerts:manage'),
  'PATCH /api/webhooks/:id': need('alerts:manage'),
  'DELETE /api/webhooks/:id': need('alerts:manage'),
  'POST /api/webhooks/:id/test': need('alerts:manage'),
  'GET /api/notify/outbox': need('alerts:manage'),
  // Alerts (issue #4): anyone who sees the fleet sees its alerts; changing rules, silencing and
  // acknowledging is managing alerts.
  'GET /api/alert-rules': need('nodes:read'),
  'POST /api/alert-rules': need('alerts:manage'),
  'GET /api/alert-rules/:id': need('nodes:read'),
  'PATCH /api/alert-rules/:id': need('alerts:manage'),
  'DELETE /api/alert-rules/:id': need('alerts:manage'),
  'GET /api/alerts': need('nodes:read'),
  'GET /api/alerts/:id': need('nodes:read'),
  'POST /api/alerts/:id/ack': need('alerts:manage'),
  'GET /api/silences': need('nodes:read'),
  'POST /api/silences': need('alerts:manage'),
  'DELETE /api/silences/:id': need('alerts:manage'),
};

/** The same for every event a dashboard or the CLI sends on /ui, checked on every event. */
export const UI_EVENT_ACCESS: Record<string, Access> = {
  'agent:watch': need('nodes:read', { target: { field: 'agentId' } }),
  'agent:unwatch': need('nodes:read'),
  'job:watch': need('nodes:read'),
  'job:unwatch': need('nodes:read'),
  // Interactive shells (issue #7): opening one is a step-up action on one machine; the other
  // events act on a session this socket opened, and are re-checked so a revoked role stops typing.
  'terminal:open': need('terminal:open', { target: { field: 'agentId' }, stepUp: true }),
  'terminal:input': need('terminal:open'),
  'terminal:resize': need('terminal:open'),
  'terminal:close': need('terminal:open'),
};

/**
 * Commands that need a permission beyond the `commands:exec` of the route or job that carries
 * them (checked by the authorizer for one-machine commands and jobs alike): changing a
 * container's state is managing containers, not only running commands.
 */
export const COMMAND_KIND_ACCESS: Partial<Record<CommandKind, Permission>> = Object.fromEntries(
  DOCKER_WRITE_COMMAND_KINDS.map((kind) => [kind, 'containers:manage' as const]),
);

/** Looks up a route; `undefined` means unmapped, which is refused. */
export function routeAccess(method: string, url: string): Access | undefined {
  return ROUTE_ACCESS[`${method} ${url}`];
}

/** The machine a check is about: its labels, or undefined when it does not exist. */
export type TargetLabels = (ref: string) => Promise<Record<string, string> | undefined>;

/**
 * Throws `mfa_required` unless the principal gave a second factor within `maxAgeMs`; a user
 * without a second factor passes (step-up applies to those who enrolled one). Exported for the
 * routes whose need depends on the body (shell commands) and for the terminal and secrets.
 */
export function requireRecentMfa(principal: Principal, now: number, maxAgeMs: number): void {
  if (!principal.mfaEnabled) return;
  if (principal.mfaAt !== null && now - principal.mfaAt <= maxAgeMs) return;
  throw new FarolError(
    'mfa_required',
    principal.via === 'session'
      ? 'confirm with your authenticator code first (POST /api/auth/step-up)'
      : 'send a fresh authenticator code in the X-Farol-OTP header for this action',
  );
}
