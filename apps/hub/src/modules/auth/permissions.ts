import { DOCKER_WRITE_COMMAND_KINDS, FarolError, type CommandKind, type Permission, type Principal } from '@farol/protocol';

/**
 * What a route or socket event needs. `public`: no sign-in (probes, enrolment, install
 * scripts, the dashboard's files). `signedIn`: any operator (their own profile, tokens,
 * second factor). Otherwise one permission; `target` names where the machine is (a route
 * parameter or a payload field) when the permission is limited by the role's label selector;
 * `stepUp` asks for a second factor no older than FAROL_MFA_MAX_AGE when the user has one;
 * `fleetWide` marks what concerns the whole fleet, refused to a role limited by a label scope
 * (issue #11; how each object kind is scoped: object-scope.ts).
 */
export type Access =
  | { kind: 'public' }
  | { kind: 'signedIn' }
  | { kind: 'permission'; permission: Permission; target?: { param: string } | { field: string }; stepUp?: boolean; fleetWide?: boolean };

const PUBLIC: Access = { kind: 'public' };
const SIGNED_IN: Access = { kind: 'signedIn' };
const need = (permission: Permission, extra: { target?: { param: string } | { field: string }; stepUp?: boolean; fleetWide?: boolean } = {}): Access => ({ kind: 'permission', permission, ...extra });
const onAgent = { target: { param: 'id' } };
const fleetWide = { fleetWide: true };

/**
 * THE table: every REST route (`METHOD /path` as Fastify registers it) and what it needs. One
 * onRequest hook enforces it for every route; a route missing here is refused (403) and the
 * test `every route is in the permission table` lists it.
 */
export const ROUTE_ACCESS: Record<string, Access> = {
  // Probes, scrapers, agents enrolling, install scripts, the dashboard and the API docs.
  'GET /health': PUBLIC,
  'GET /ready': PUBLIC,
  // Public while the hub listens on loopback only, or with FAROL_METRICS_PUBLIC=true (#11;
  // main.ts decides, authorizeRequests' `publicRoutes`); else a metrics:read bearer token.
  'GET /metrics': need('metrics:read', fleetWide),
  'POST /api/enroll': PUBLIC,
  'GET /install.sh': PUBLIC,
  'GET /install.ps1': PUBLIC,
  'GET /download/farol-agent.mjs': PUBLIC,
  // ADR 0024: the key that signs downloads and the bundle's signature; checked against the pinned fingerprint.
  'GET /download/hub-key.pem': PUBLIC,
  'GET /download/farol-agent.mjs.sig': PUBLIC,
  'GET /download/farol-agent-:file': PUBLIC,
  'GET /download/updates/:file': PUBLIC,
  'GET /': PUBLIC,
  'GET /*': PUBLIC,
  'GET /api/openapi.json': PUBLIC,
  'GET /api/protocol.json': PUBLIC,
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
  'GET /api/auth/failures': need('users:manage', { fleetWide: true }),
  // Single sign-on (issue #20): how to sign in, and the OpenID Connect round trip. Public: the
  // callback trusts only what the provider signed and the sealed flow cookie of the login.
  'GET /api/auth/methods': PUBLIC,
  'GET /api/auth/oidc/login': PUBLIC,
  'GET /api/auth/oidc/callback': PUBLIC,
  'GET /api/me': SIGNED_IN,
  'POST /api/me/password': SIGNED_IN,
  'POST /api/me/totp': SIGNED_IN,
  'POST /api/me/totp/confirm': SIGNED_IN,
  'POST /api/me/totp/disable': SIGNED_IN,
  'GET /api/tokens': SIGNED_IN,
  'POST /api/tokens': SIGNED_IN,
  'DELETE /api/tokens/:id': SIGNED_IN,
  // Users and roles.
  'GET /api/users': need('users:manage', fleetWide),
  'POST /api/users': need('users:manage', fleetWide),
  'PATCH /api/users/:id': need('users:manage', fleetWide),
  'GET /api/roles': need('users:manage', fleetWide),
  'POST /api/roles': need('users:manage', fleetWide),
  'DELETE /api/roles/:name': need('users:manage', fleetWide),
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
  // Agent updates (issue #15): every machine of a rollout must be in the caller's scope (updates.service.ts).
  'GET /api/agent-updates/builds': need('nodes:read'),
  'POST /api/agent-updates': need('agents:update', { stepUp: true }),
  'GET /api/agent-updates/:id': need('nodes:read'),
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
  // Notification channels, event webhooks and the outbox (issue #4). Channels and the outbox
  // serve the whole fleet: a scoped role reads channels but does not manage them (issue #11).
  'GET /api/channels': need('alerts:manage'),
  'POST /api/channels': need('alerts:manage', fleetWide),
  'GET /api/channels/:id': need('alerts:manage'),
  'PATCH /api/channels/:id': need('alerts:manage', fleetWide),
  'DELETE /api/channels/:id': need('alerts:manage', fleetWide),
  'POST /api/channels/:id/test': need('alerts:manage', fleetWide),
  'GET /api/webhooks': need('alerts:manage'),
  'POST /api/webhooks': need('alerts:manage'),
  'GET /api/webhooks/:id': need('alerts:manage'),
  'PATCH /api/webhooks/:id': need('alerts:manage'),
  'DELETE /api/webhooks/:id': need('alerts:manage'),
  // Container auto-update (issue #18): rules reach the fleet by selector, so a scoped principal may read them only.
  'GET /api/container-updates/rules': need('nodes:read'),
  'POST /api/container-updates/rules': need('containers:manage'),
  'DELETE /api/container-updates/rules/:id': need('containers:manage'),
  'GET /api/container-updates/rollouts': need('nodes:read'),
  'POST /api/webhooks/:id/test': need('alerts:manage'),
  'GET /api/notify/outbox': need('alerts:manage', fleetWide),
  // Acting on alerts from the chat (issue #20). The webhook is Telegram's, authenticated by the
  // channel's secret header; each press is then checked as its linked user (chat.service.ts).
  // Registering the webhook changes a fleet-wide channel. Chat links are each user's own; a
  // link page's action is checked against the signed-in user's permissions and scope.
  'POST /api/chat/telegram/:channelId/webhook': PUBLIC,
  'POST /api/channels/:id/telegram/webhook': need('alerts:manage', fleetWide),
  'POST /api/channels/:id/telegram/polling': need('alerts:manage', fleetWide),
  'POST /api/me/chat-links/code': SIGNED_IN,
  'GET /api/me/chat-links': SIGNED_IN,
  'DELETE /api/me/chat-links/:id': SIGNED_IN,
  'GET /api/chat/actions/:token': SIGNED_IN,
  'POST /api/chat/actions/:token': SIGNED_IN,
  // Browser notifications (issue #20): anyone who sees alerts may have them pushed to their own
  // browsers; each user reaches only their own subscriptions, and gets only alerts in scope.
  'GET /api/push/vapid-public-key': need('nodes:read'),
  'GET /api/push/subscriptions': need('nodes:read'),
  'POST /api/push/subscriptions': need('nodes:read'),
  'DELETE /api/push/subscriptions/:id': need('nodes:read'),
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
  // Service checks (issue #19): scoped roles only see and manage checks that run on machines in their scope.
  'GET /api/checks': need('checks:read'),
  'POST /api/checks': need('checks:manage'),
  'GET /api/checks/:id': need('checks:read'),
  'PUT /api/checks/:id': need('checks:manage'),
  'DELETE /api/checks/:id': need('checks:manage'),
  'GET /api/checks/:id/results': need('checks:read'),
  'GET /api/checks/:id/series': need('checks:read'),
  'POST /api/checks/:id/run': need('checks:manage'),
  // The network view (issue #19): scoped roles see their machines and the links between them;
  // ping runs a command on one machine about another, both checked in the route.
  'GET /api/network/status': need('nodes:read'),
  'GET /api/network/topology': need('nodes:read'),
  'GET /api/network/rtt/:id': need('nodes:read', onAgent),
  'POST /api/network/ping': need('commands:exec'),
  // Public status pages (#19): publishing concerns the whole fleet; the page itself needs no sign-in.
  'GET /api/status-pages': need('checks:read', fleetWide),
  'POST /api/status-pages': need('checks:manage', fleetWide),
  'GET /api/status-pages/:slug': need('checks:read', fleetWide),
  'PUT /api/status-pages/:slug': need('checks:manage', fleetWide),
  'DELETE /api/status-pages/:slug': need('checks:manage', fleetWide),
  'GET /status/:slug': PUBLIC,
  // Backups (issue #15): the whole database plus the keys, so a step-up action of the whole fleet.
  'POST /api/backups': need('backups:create', { stepUp: true, fleetWide: true }),
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
  // Issue #18: deploying, updating and removing containers, pulling and pruning images too.
  [...DOCKER_WRITE_COMMAND_KINDS, 'docker_deploy', 'docker_rm', 'docker_update', 'docker_pull', 'docker_prune'].map((kind) => [kind, 'containers:manage' as const]),
);
// An update sent as a plain job still replaces the agent's code (#15).
COMMAND_KIND_ACCESS.agent_update = 'agents:update';

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
  // Single sign-on users without TOTP step up at their provider (issue #20).
  const atProvider = !principal.mfaEnabled && principal.stepUpWith === 'provider';
  if (!principal.mfaEnabled && !atProvider) return;
  if (principal.mfaAt !== null && now - principal.mfaAt <= maxAgeMs) return;
  if (atProvider) {
    throw new FarolError(
      'mfa_required',
      principal.via === 'session'
        ? 'confirm by signing in again at your single sign-on provider first (GET /api/auth/oidc/login?stepUp=true)'
        : 'a single sign-on user without two-factor sign-in cannot step up through an API token: turn two-factor sign-in on (Settings), or use the dashboard',
    );
  }
  throw new FarolError(
    'mfa_required',
    principal.via === 'session'
      ? 'confirm with your authenticator code first (POST /api/auth/step-up)'
      : 'send a fresh authenticator code in the X-Farol-OTP header for this action',
  );
}
