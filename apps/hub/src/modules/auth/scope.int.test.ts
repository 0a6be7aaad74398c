import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SCREENSHOT_CHUNK_BYTES,
  TerminalOpenClaimsSchema,
  UI_NAMESPACE,
  type AlertChangedEvent,
  type AlertList,
  type CommandClaims,
  type CommandResult,
  type Job,
  type JobUpdateEvent,
  type ScreenshotInfo,
  type Silence,
  type TerminalOpenAck,
  type TerminalSessionList,
  type CommandRun,
} from '@farol/protocol';
import { startHubFixture, waitFor, type HubFixture } from '../../testing/hub-fixture.js';
import { connectPeer, emitAck, enrollPeer, hello, sample, readCommandRun } from '../../testing/protocol-peer.js';

/**
 * Issue #6, item 2 beyond the permission table's own cells: a role limited to a label selector
 * (stan: operator for env=staging) sees and acts on no machine outside it anywhere — alerts
 * (list, history, detail, ack, /ui `alert:changed`), silences, screenshots, terminal sessions
 * and recordings, `job:update` — and docker write commands need `containers:manage` on top of
 * `commands:exec`. Real hub, real SQLite, hand-driven agents speaking the protocol.
 */

const PASSWORD = 'correct horse battery staple';
let hub: HubFixture;
const machines: Record<'staging' | 'prod' | 'mover', { id: string; socket: Socket }> = {} as never;
const tokens: Record<'stan' | 'otto' | 'rita' | 'sam' | 'pia', string> = {} as never;
const sockets: Socket[] = [];
/** What each operator's /ui socket received. */
const seen: Record<'stan' | 'otto', { alerts: AlertChangedEvent[]; jobs: JobUpdateEvent[] }> = { stan: { alerts: [], jobs: [] }, otto: { alerts: [], jobs: [] } };

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(2_000)]);

function result(claims: CommandClaims, fields: Partial<CommandResult>): CommandResult {
  return { commandId: claims.commandId, state: 'succeeded', exitCode: 0, signal: null, stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false, data: null, startedAt: Date.now(), endedAt: Date.now(), error: null, ...fields };
}

/** A machine with labels env=<env> that answers screenshots and opens terminals, like the real agent. */
/** What each machine's agent received on terminals, by session (issue #11: input after scope loss). */
const terminalInputs = new Map<string, string[]>();
const terminalCloses = new Set<string>();

async function machine(env: 'staging' | 'prod', name = `${env}-1`): Promise<{ id: string; socket: Socket }> {
  const peer = await enrollPeer(hub.url, await hub.createJoinToken({ labels: { env } }), name);
  const connected = await connectPeer(hub.url, peer);
  if (!connected.socket) throw new Error(`connect failed: ${JSON.stringify(connected.error)}`);
  const socket = connected.socket;
  socket.on('command:run', (run: CommandRun) => {
    const claims = readCommandRun(run);
    void (async () => {
      await emitAck(socket, 'command:ack', { commandId: claims.commandId, status: 'accepted', at: Date.now() });
      // `hold`: left running, for tests that fetch its secrets by hand.
      if (claims.command.kind === 'shell' && 'argv' in claims.command && claims.command.argv[0] === 'hold') return;
      if (claims.command.kind !== 'screenshot') {
        await emitAck(socket, 'command:result', result(claims, {}));
        return;
      }
      const sha256 = createHash('sha256').update(PNG).digest('hex');
      for (let offset = 0; offset < PNG.length; offset += SCREENSHOT_CHUNK_BYTES) {
        await emitAck(socket, 'screenshot:upload', { commandId: claims.commandId, total: PNG.length, sha256, offset, data: PNG.subarray(offset, offset + SCREENSHOT_CHUNK_BYTES) });
      }
      await emitAck(socket, 'command:result', result(claims, { data: { kind: 'screenshot', format: 'png', width: 64, height: 32, bytes: PNG.length, sha256, display: ':0', method: 'x11' } }));
    })().catch(() => undefined); // a command still answering when the suite disconnects
  });
  socket.on('terminal:open', ({ token }: { token: string }) => {
    const claims = TerminalOpenClaimsSchema.parse(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()));
    void emitAck(socket, 'terminal:opened', { sessionId: claims.sessionId, status: 'opened', shell: '/bin/sh -l', pid: 4242 });
  });
  socket.on('terminal:input', ({ sessionId, data }: { sessionId: string; data: Uint8Array }) => {
    terminalInputs.set(sessionId, [...(terminalInputs.get(sessionId) ?? []), Buffer.from(data).toString()]);
  });
  socket.on('terminal:close', ({ sessionId }: { sessionId: string }) => terminalCloses.add(sessionId));
  if (!(await hello(socket, 10_000, name)).ok) throw new Error('hello failed');
  return { id: peer.agentId, socket };
}

async function uiSocket(token: string): Promise<Socket> {
  const socket = io(`${hub.url}${UI_NAMESPACE}`, { transports: ['websocket'], reconnection: false, auth: { token } });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

beforeAll(async () => {
  hub = await startHubFixture({ FAROL_LOGIN_RATE_LIMIT: '1000', FAROL_TERMINAL_RECORD: 'true', FAROL_NOTIFY_ALLOW_NETWORKS: '127.0.0.1/32' });
  machines.staging = await machine('staging');
  machines.prod = await machine('prod');
  // A staging machine the issue #11 tests relabel (M7: its terminal must close when it leaves the scope).
  machines.mover = await machine('staging', 'mover-1');
  expect((await hub.api('POST', '/api/roles', { name: 'runner', permissions: ['nodes:read', 'commands:exec'] })).status).toBe(201);
  for (const [username, role, scope] of [
    ['stan', 'operator', 'env=staging'],
    ['otto', 'operator', null],
    ['rita', 'runner', null],
    // Issue #11: even an admin role, once limited to a scope, manages no users or roles.
    ['sam', 'admin', 'env=staging'],
    // A negative scope, for the property test.
    ['pia', 'admin', 'env!=prod'],
  ] as const) {
    const created = await hub.api('POST', '/api/users', { username, password: PASSWORD, role, ...(scope ? { scope } : {}) });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const login = await hub.api('POST', '/api/auth/login', { username, password: PASSWORD, issue: 'token' }, null);
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    tokens[username] = (login.body as { token: { token: string } }).token.token;
  }
  for (const who of ['stan', 'otto'] as const) {
    const socket = await uiSocket(tokens[who]);
    socket.on('alert:changed', (event: AlertChangedEvent) => seen[who].alerts.push(event));
    socket.on('job:update', (event: JobUpdateEvent) => seen[who].jobs.push(event));
  }
}, 60_000);

afterAll(async () => {
  for (const socket of sockets) socket.disconnect();
  for (const { socket } of Object.values(machines)) socket?.disconnect();
  await hub?.stop();
});

const api = (who: keyof typeof tokens | 'admin', method: string, route: string, body?: unknown) => hub.api(method, route, body, who === 'admin' ? undefined : tokens[who]);
const codeOf = (body: unknown): string | undefined => (body as { code?: string } | null)?.code;

describe('a role limited to env=staging, everywhere', () => {
  let alertIds: Record<'staging' | 'prod', string>;

  it('sees only in-scope alerts (list, history, detail, /ui) and cannot ack an out-of-scope one', async () => {
    expect((await api('admin', 'POST', '/api/alert-rules', { name: 'cpu hot', condition: { kind: 'metric', metric: 'cpu', threshold: 80, for: '0s' } })).status).toBe(201);
    for (const env of ['staging', 'prod'] as const) {
      expect(await emitAck(machines[env].socket, 'metrics:report', { samples: [sample(Date.now(), 95)] })).toMatchObject({ ok: true });
      await waitFor(async () => ((await api('admin', 'GET', '/api/alerts')).body as AlertList).alerts.find((a) => a.ruleName === 'cpu hot' && a.agentId === machines[env].id && a.state === 'firing'), 10_000, `the ${env} alert`);
    }
    const all = ((await api('admin', 'GET', '/api/alerts')).body as AlertList).alerts.filter((a) => a.ruleName === 'cpu hot');
    alertIds = { staging: all.find((a) => a.agentId === machines.staging.id)!.id, prod: all.find((a) => a.agentId === machines.prod.id)!.id };

    const otto = ((await api('otto', 'GET', '/api/alerts?state=all')).body as AlertList).alerts;
    expect(new Set(otto.map((a) => a.agentId))).toEqual(new Set([machines.staging.id, machines.prod.id]));
    for (const query of ['', '?state=all', '?state=firing', '?limit=1']) {
      const answer = await api('stan', 'GET', `/api/alerts${query}`);
      expect(answer.status).toBe(200);
      const list = (answer.body as AlertList).alerts;
      expect(list.length, query).toBeGreaterThan(0);
      expect(list.every((a) => a.agentId === machines.staging.id), `stan's /api/alerts${query}: ${JSON.stringify(list.map((a) => a.agentName))}`).toBe(true);
    }
    // The newest alert is prod's: a one-row page still finds stan's, further down.
    expect(((await api('stan', 'GET', '/api/alerts?limit=1')).body as AlertList).alerts[0]!.id).toBe(alertIds.staging);
    expect((await api('stan', 'GET', `/api/alerts?agent=${machines.prod.id}`)).body).toMatchObject({ alerts: [] });

    expect((await api('stan', 'GET', `/api/alerts/${alertIds.staging}`)).status).toBe(200);
    const detail = await api('stan', 'GET', `/api/alerts/${alertIds.prod}`);
    expect([detail.status, codeOf(detail.body)]).toEqual([403, 'forbidden']);
    const ack = await api('stan', 'POST', `/api/alerts/${alertIds.prod}/ack`, { note: 'not mine' });
    expect([ack.status, codeOf(ack.body)]).toEqual([403, 'forbidden']);
    expect(((await api('admin', 'GET', `/api/alerts/${alertIds.prod}`)).body as { acknowledgedAt: number | null }).acknowledgedAt).toBeNull();
    const mine = await api('stan', 'POST', `/api/alerts/${alertIds.staging}/ack`, { note: 'on it' });
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({ acknowledgedBy: 'stan' });
    // Unknown stays 404 for everyone.
    expect((await api('stan', 'POST', '/api/alerts/al_0000000000000000/ack', {})).status).toBe(404);

    await waitFor(() => seen.otto.alerts.find((e) => e.alert.id === alertIds.prod && e.event === 'firing'), 5_000, 'otto gets the prod alert');
    await waitFor(() => seen.stan.alerts.find((e) => e.alert.id === alertIds.staging && e.event === 'acknowledged'), 5_000, 'stan gets his ack');
    expect(seen.stan.alerts.length).toBeGreaterThan(0);
    expect(seen.stan.alerts.filter((e) => e.alert.agentId !== machines.staging.id)).toEqual([]);
    // The /ui payload is the protocol's: the bus's in-process labels stay in the hub.
    expect(seen.otto.alerts.every((e) => !('labels' in e))).toBe(true);
  });

  it('cannot silence machines outside the scope; its silences are narrowed to it', async () => {
    const fleetWide = await api('stan', 'POST', '/api/silences', { matcher: { all: true }, duration: '1h', reason: 'maintenance' });
    expect([fleetWide.status, codeOf(fleetWide.body)]).toEqual([403, 'forbidden']);
    const prod = await api('stan', 'POST', '/api/silences', { matcher: { agents: [machines.prod.id] }, duration: '1h', reason: 'x' });
    expect([prod.status, codeOf(prod.body)]).toEqual([403, 'forbidden']);
    const mixed = await api('stan', 'POST', '/api/silences', { matcher: { agents: [machines.staging.id, 'prod-1'] }, duration: '1h', reason: 'x' });
    expect([mixed.status, codeOf(mixed.body)]).toEqual([403, 'forbidden']);

    // A rule-wide silence from stan covers only his machines: the scope is ANDed into the selector.
    const ruleWide = await api('stan', 'POST', '/api/silences', { matcher: { rules: ['cpu hot'] }, duration: '1h', reason: 'tuning' });
    expect(ruleWide.status, JSON.stringify(ruleWide.body)).toBe(201);
    expect((ruleWide.body as Silence).matcher).toEqual({ rules: ['cpu hot'], selector: 'env=staging' });
    const narrowed = await api('stan', 'POST', '/api/silences', { matcher: { selector: 'role=db' }, duration: '1h', reason: 'db work' });
    expect((narrowed.body as Silence).matcher).toEqual({ selector: 'env=staging,role=db' });
    const alerts = ((await api('admin', 'GET', '/api/alerts')).body as AlertList).alerts;
    expect(alerts.find((a) => a.id === alertIds.staging)?.silenced).toBe(true);
    expect(alerts.find((a) => a.id === alertIds.prod)?.silenced).toBe(false);

    // An admin's fleet-wide silence is neither listed to stan nor his to end.
    const admins = await api('admin', 'POST', '/api/silences', { matcher: { all: true }, duration: '1h', reason: 'fleet maintenance' });
    expect(admins.status).toBe(201);
    const adminId = (admins.body as Silence).id;
    expect(((await api('stan', 'GET', '/api/silences')).body as { silences: Silence[] }).silences.map((s) => s.id).sort()).toEqual([(ruleWide.body as Silence).id, (narrowed.body as Silence).id].sort());
    expect(((await api('otto', 'GET', '/api/silences')).body as { silences: Silence[] }).silences.map((s) => s.id)).toContain(adminId);
    const end = await api('stan', 'DELETE', `/api/silences/${adminId}`);
    expect([end.status, codeOf(end.body)]).toEqual([403, 'forbidden']);
    expect((await api('stan', 'DELETE', `/api/silences/${(narrowed.body as Silence).id}`)).status).toBe(204);
    expect((await api('admin', 'DELETE', `/api/silences/${adminId}`)).status).toBe(204);
    expect((await api('admin', 'DELETE', `/api/silences/${(ruleWide.body as Silence).id}`)).status).toBe(204);
  });

  it('gets another machine\'s screenshot refused', async () => {
    const ids: Record<string, string> = {};
    for (const env of ['staging', 'prod'] as const) {
      const taken = await hub.api('POST', `/api/agents/${machines[env].id}/screenshot`, {}, undefined);
      expect(taken.status, JSON.stringify(taken.body)).toBe(200);
      ids[env] = taken.headers.get('x-farol-screenshot-id')!;
    }
    const inScope = await api('stan', 'GET', `/api/screenshots/${ids.staging}`);
    expect(inScope.status).toBe(200);
    for (const accept of ['application/json', 'image/png']) {
      const response = await fetch(`${hub.url}/api/screenshots/${ids.prod}`, { headers: { authorization: `Bearer ${tokens.stan}`, accept } });
      expect(response.status, accept).toBe(403);
      expect(((await response.json()) as { code: string }).code).toBe('forbidden');
    }
    const otto = await fetch(`${hub.url}/api/screenshots/${ids.prod}`, { headers: { authorization: `Bearer ${tokens.otto}`, accept: 'application/json' } });
    expect(((await otto.json()) as ScreenshotInfo).agentId).toBe(machines.prod.id);
    // The refused view is not audited as a view.
    const audit = (await api('admin', 'GET', '/api/audit?action=screenshot.view')).body as { entries: Array<{ actor: string; agentId: string | null }> };
    expect(audit.entries.filter((e) => e.actor === 'stan').map((e) => e.agentId)).toEqual([machines.staging.id]);
  });

  it('lists only in-scope terminal sessions and cannot download another machine\'s recording', async () => {
    const admin = await uiSocket(hub.adminToken);
    const sessions: Record<string, string> = {};
    for (const env of ['staging', 'prod'] as const) {
      const opened = (await admin.timeout(5_000).emitWithAck('terminal:open', { agentId: machines[env].id, cols: 80, rows: 24 })) as { ok: true; data: TerminalOpenAck } | { ok: false; error: unknown };
      if (!opened.ok) throw new Error(`terminal:open: ${JSON.stringify(opened.error)}`);
      sessions[env] = opened.data.sessionId;
      await admin.timeout(5_000).emitWithAck('terminal:close', { sessionId: opened.data.sessionId });
    }
    const otto = ((await api('otto', 'GET', '/api/terminal/sessions')).body as TerminalSessionList).sessions;
    expect(otto.map((s) => s.id).sort()).toEqual([sessions.staging, sessions.prod].sort());
    const stan = await api('stan', 'GET', '/api/terminal/sessions');
    expect(stan.status).toBe(200);
    expect((stan.body as TerminalSessionList).sessions.map((s) => s.id)).toEqual([sessions.staging]);
    const refused = await api('stan', 'GET', `/api/terminal/sessions/${sessions.prod}/recording`);
    expect([refused.status, codeOf(refused.body)]).toEqual([403, 'forbidden']);
    await waitFor(async () => ((await api('stan', 'GET', `/api/terminal/sessions/${sessions.staging}/recording`)).status === 200 ? true : undefined), 5_000, 'stan downloads his recording');
    expect((await api('otto', 'GET', `/api/terminal/sessions/${sessions.prod}/recording`)).status).toBe(200);
  });

  it('gets job:update only for jobs whose every machine is in scope', async () => {
    const create = async (agents: string[]): Promise<string> => {
      const created = await api('admin', 'POST', '/api/jobs', { command: { kind: 'metrics' }, targets: { agents } });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      return (created.body as Job).id;
    };
    const stagingJob = await create([machines.staging.id]);
    const prodJob = await create([machines.prod.id]);
    const bothJob = await create([machines.staging.id, machines.prod.id]);
    await waitFor(() => [stagingJob, prodJob, bothJob].every((id) => seen.otto.jobs.some((e) => e.job.id === id && e.job.state === 'done')) || undefined, 10_000, 'otto sees all three jobs finish');
    await waitFor(() => seen.stan.jobs.find((e) => e.job.id === stagingJob && e.job.state === 'done'), 5_000, 'stan sees his job finish');
    // Scoped deliveries are queued behind label lookups: give them the time the in-scope one took.
    await new Promise((resolve) => setTimeout(resolve, 300));
    // (Earlier tests' staging jobs, the screenshot's, legitimately reached him too.)
    expect([...new Set(seen.stan.jobs.map((e) => e.job.id))].filter((id) => [stagingJob, prodJob, bothJob].includes(id))).toEqual([stagingJob]);
    expect(seen.otto.jobs.every((e) => !('agentIds' in e))).toBe(true);
  });

  it('needs containers:manage, not only commands:exec, to restart, stop or start a container', async () => {
    const target = machines.staging.id;
    for (const kind of ['docker_restart', 'docker_stop', 'docker_start'] as const) {
      const single = await api('rita', 'POST', `/api/agents/${target}/command?wait=false`, { command: { kind, container: 'web' } });
      expect([single.status, codeOf(single.body)], kind).toEqual([403, 'forbidden']);
      expect((single.body as { detail?: string }).detail ?? JSON.stringify(single.body)).toContain('containers:manage');
      const job = await api('rita', 'POST', '/api/jobs', { command: { kind, container: 'web' }, targets: { agents: [target] } });
      expect([job.status, codeOf(job.body)], kind).toEqual([403, 'forbidden']);
    }
    // Reading containers is a command like any other; an operator holds containers:manage.
    expect((await api('rita', 'POST', `/api/agents/${target}/command?wait=false`, { command: { kind: 'docker_ps' } })).status).toBe(202);
    expect((await api('otto', 'POST', `/api/agents/${target}/command?wait=false`, { command: { kind: 'docker_restart', container: 'web' } })).status).toBe(202);
    // Scope still applies to container commands of a user who may manage them.
    const outside = await api('stan', 'POST', '/api/jobs', { command: { kind: 'docker_restart', container: 'web' }, targets: { agents: [machines.prod.id] } });
    expect([outside.status, codeOf(outside.body)]).toEqual([403, 'forbidden']);
    // The containers route is per machine too.
    expect((await api('stan', 'GET', `/api/agents/${machines.prod.id}/containers`)).status).toBe(403);
    expect((await api('stan', 'GET', `/api/agents/${machines.staging.id}/containers`)).status).toBe(200);
  });

  it('needs containers:manage and the machine in scope to deploy, update or remove containers and pull or prune images (#18)', async () => {
    const target = machines.staging.id;
    const commands = [
      { kind: 'docker_deploy', image: 'nginx:1.27', name: 'web' },
      { kind: 'docker_update', container: 'web' },
      { kind: 'docker_rm', container: 'web', force: true },
      { kind: 'docker_pull', image: 'nginx:1.27' },
      { kind: 'docker_prune' },
    ];
    for (const command of commands) {
      const single = await api('rita', 'POST', `/api/agents/${target}/command?wait=false`, { command });
      expect([single.status, codeOf(single.body)], command.kind).toEqual([403, 'forbidden']);
      const job = await api('rita', 'POST', '/api/jobs', { command, targets: { selector: 'env=staging' } });
      expect([job.status, codeOf(job.body)], command.kind).toEqual([403, 'forbidden']);
      const outside = await api('stan', 'POST', '/api/jobs', { command, targets: { agents: [machines.prod.id] } });
      expect([outside.status, codeOf(outside.body)], command.kind).toEqual([403, 'forbidden']);
      expect((await api('otto', 'POST', `/api/agents/${target}/command?wait=false`, { command })).status, command.kind).toBe(202);
    }
    // Listing images is reading, like docker_ps.
    expect((await api('rita', 'POST', `/api/agents/${target}/command?wait=false`, { command: { kind: 'docker_images' } })).status).toBe(202);
  });
});

/** The problem body's text, for "names no machine" checks. */
const textOf = (body: unknown): string => JSON.stringify(body ?? null);

describe('a scope limits everything a scoped user touches, not only machines (#11)', () => {
  let secretScopes: Record<string, string>;

  beforeAll(async () => {
    secretScopes = { PROD_DB: 'env=prod', ALL_DB: '*', ROLE_DB: 'role=db', STAGING_DB: 'env=staging', STAGING_ROLE_DB: 'env=staging,role=db' };
    for (const [name, scope] of Object.entries(secretScopes)) {
      const put = await api('admin', 'PUT', `/api/secrets/${name}`, { value: `CANARY-${name}-7f3a9c`, scope });
      expect(put.status, JSON.stringify(put.body)).toBe(201);
    }
  });

  it('H1: lists, reads, reveals, replaces and deletes only secrets whose scope lies within the user\'s (#11)', async () => {
    // stan (operator) reads secrets; sam (admin limited to env=staging) also writes them.
    for (const who of ['stan', 'sam'] as const) {
      const listed = ((await api(who, 'GET', '/api/secrets')).body as { secrets: Array<{ name: string }> }).secrets.map((s) => s.name).sort();
      expect(listed, who).toEqual(['STAGING_DB', 'STAGING_ROLE_DB']);
    }
    for (const name of ['PROD_DB', 'ALL_DB', 'ROLE_DB']) {
      for (const [who, method, route, body] of [
        ['stan', 'GET', `/api/secrets/${name}`, undefined],
        ['stan', 'POST', `/api/secrets/${name}/reveal`, undefined],
        ['sam', 'POST', `/api/secrets/${name}/reveal`, undefined],
        ['sam', 'PUT', `/api/secrets/${name}`, { value: 'overwritten', scope: 'env=staging' }],
        ['sam', 'DELETE', `/api/secrets/${name}`, undefined],
      ] as const) {
        const answer = await api(who, method, route, body);
        expect([answer.status, codeOf(answer.body)], `${who} ${method} ${route}`).toEqual([403, 'forbidden']);
        expect(textOf(answer.body)).not.toContain(`CANARY-${name}`);
      }
    }
    // Unchanged: the admin still reads the original prod value.
    expect((await api('admin', 'POST', '/api/secrets/PROD_DB/reveal')).body).toEqual({ name: 'PROD_DB', value: 'CANARY-PROD_DB-7f3a9c' });
    const revealed = await api('stan', 'POST', '/api/secrets/STAGING_DB/reveal');
    expect(revealed.body).toEqual({ name: 'STAGING_DB', value: 'CANARY-STAGING_DB-7f3a9c' });
    // A new secret of a scoped user never reaches beyond the scope.
    for (const scope of ['*', 'env=prod', 'role=db']) {
      const wide = await api('sam', 'PUT', '/api/secrets/SAM_WIDE', { value: 'x', scope });
      expect([wide.status, codeOf(wide.body)], scope).toEqual([403, 'forbidden']);
    }
    expect((await api('sam', 'PUT', '/api/secrets/SAM_OWN', { value: 'x', scope: 'env=staging,role=web' })).status).toBe(201);
    // Nor can a secret of his be widened afterwards.
    expect((await api('sam', 'PUT', '/api/secrets/SAM_OWN', { value: 'x', scope: '*' })).status).toBe(403);
    expect((await api('sam', 'DELETE', '/api/secrets/SAM_OWN')).status).toBe(204);
    // The unscoped operator still sees every secret.
    expect(((await api('otto', 'GET', '/api/secrets')).body as { secrets: unknown[] }).secrets.length).toBeGreaterThanOrEqual(5);
  });

  it('H2a: creates join tokens only with labels inside the scope, and lists and revokes only those (#11)', async () => {
    const prod = await api('stan', 'POST', '/api/join-tokens', { labels: { env: 'prod' } });
    expect([prod.status, codeOf(prod.body)]).toEqual([403, 'forbidden']);
    const none = await api('stan', 'POST', '/api/join-tokens', {});
    expect([none.status, codeOf(none.body)]).toEqual([403, 'forbidden']);
    const own = await api('stan', 'POST', '/api/join-tokens', { labels: { env: 'staging', role: 'web' } });
    expect(own.status, JSON.stringify(own.body)).toBe(201);
    const adminProd = await api('admin', 'POST', '/api/join-tokens', { labels: { env: 'prod' }, note: 'the admin\'s prod token' });
    const adminProdId = (adminProd.body as { id: string }).id;
    const listed = ((await api('stan', 'GET', '/api/join-tokens')).body as { tokens: Array<{ id: string; labels: Record<string, string> }> }).tokens;
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((t) => t.labels.env === 'staging'), JSON.stringify(listed.map((t) => t.labels))).toBe(true);
    const revoke = await api('stan', 'DELETE', `/api/join-tokens/${adminProdId}`);
    expect([revoke.status, codeOf(revoke.body)]).toEqual([403, 'forbidden']);
    const after = ((await api('admin', 'GET', '/api/join-tokens')).body as { tokens: Array<{ id: string; state: string }> }).tokens.find((t) => t.id === adminProdId);
    expect(after?.state).toBe('active');
    expect((await api('stan', 'DELETE', `/api/join-tokens/${(own.body as { id: string }).id}`)).status).toBe(204);
  });

  it('H2b: refuses a relabel or rename that takes a machine out of the scope, or touches one outside it (#11)', async () => {
    const out = await api('stan', 'PATCH', `/api/agents/${machines.mover.id}`, { labels: { env: 'prod' } });
    expect([out.status, codeOf(out.body)]).toEqual([403, 'forbidden']);
    const dropped = await api('stan', 'PATCH', `/api/agents/${machines.mover.id}`, { labels: { role: 'db' } });
    expect([dropped.status, codeOf(dropped.body)]).toEqual([403, 'forbidden']);
    expect(((await api('admin', 'GET', `/api/agents/${machines.mover.id}`)).body as { labels: Record<string, string> }).labels).toEqual({ env: 'staging' });
    const prodRename = await api('stan', 'PATCH', `/api/agents/${machines.prod.id}`, { name: 'mine-now' });
    expect([prodRename.status, codeOf(prodRename.body)]).toEqual([403, 'forbidden']);
    const inside = await api('stan', 'PATCH', `/api/agents/${machines.mover.id}`, { labels: { env: 'staging', tier: 'a' } });
    expect(inside.status, JSON.stringify(inside.body)).toBe(200);
    expect((await api('admin', 'PATCH', `/api/agents/${machines.mover.id}`, { labels: { env: 'staging' } })).status).toBe(200);
  });

  it('H2c: a label that meets a secret\'s scope does not hand that secret to a scoped user (#11)', async () => {
    // Allowed: the machine stays inside stan's scope, and now also matches ROLE_DB's scope (role=db).
    const relabel = await api('stan', 'PATCH', `/api/agents/${machines.staging.id}`, { labels: { env: 'staging', role: 'db' } });
    expect(relabel.status, JSON.stringify(relabel.body)).toBe(200);
    try {
      const command = (secrets: string[]) => ({ command: { kind: 'shell', argv: ['sh', '-c', 'echo $ROLE_DB | rev'], secrets } });
      const foreign = await api('stan', 'POST', `/api/agents/${machines.staging.id}/command?wait=false`, command(['ROLE_DB']));
      expect([foreign.status, codeOf(foreign.body)]).toEqual([403, 'forbidden']);
      const job = await api('stan', 'POST', '/api/jobs', { ...command(['ROLE_DB']), targets: { agents: [machines.staging.id] } });
      expect([job.status, codeOf(job.body)]).toEqual([403, 'forbidden']);
      const everywhere = await api('stan', 'POST', '/api/jobs', { ...command(['ALL_DB']), targets: { selector: 'env=staging,role=db' } });
      expect([everywhere.status, codeOf(everywhere.body)]).toEqual([403, 'forbidden']);
      // A secret within his scope that matches the machine still works; an unscoped operator may use ROLE_DB.
      expect((await api('stan', 'POST', `/api/agents/${machines.staging.id}/command?wait=false`, command(['STAGING_ROLE_DB']))).status).toBe(202);
      expect((await api('otto', 'POST', `/api/agents/${machines.staging.id}/command?wait=false`, command(['ROLE_DB']))).status).toBe(202);
    } finally {
      expect((await api('admin', 'PATCH', `/api/agents/${machines.staging.id}`, { labels: { env: 'staging' } })).status).toBe(200);
    }
  });

  it('H2c: a command\'s secrets are refused at fetch when its sender\'s scope no longer holds them (#11)', async () => {
    const created = await api('admin', 'POST', '/api/users', { username: 'fred', password: PASSWORD, role: 'operator', scope: 'env=staging' });
    expect(created.status).toBe(201);
    const login = await hub.api('POST', '/api/auth/login', { username: 'fred', password: PASSWORD, issue: 'token' }, null);
    const fred = (login.body as { token: { token: string } }).token.token;
    const sent = await hub.api('POST', `/api/agents/${machines.staging.id}/command?wait=false`, { command: { kind: 'shell', argv: ['hold'], secrets: ['STAGING_DB'] } }, fred);
    expect(sent.status, JSON.stringify(sent.body)).toBe(202);
    const commandId = (sent.body as Job).targets[0]!.commandId;
    // Moved to another scope before the machine fetched: the secret is no longer his to hand out.
    expect((await api('admin', 'PATCH', `/api/users/${(created.body as { id: string }).id}`, { scope: 'env=dev' })).status).toBe(200);
    const fetched = (await machines.staging.socket.timeout(5_000).emitWithAck('secrets:fetch', { commandId, names: ['STAGING_DB'] })) as { ok: boolean; error?: { code: string } };
    expect(fetched).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(textOf(fetched)).not.toContain('CANARY-STAGING_DB');
    // The same command of an unscoped sender is delivered.
    const otto = await api('otto', 'POST', `/api/agents/${machines.staging.id}/command?wait=false`, { command: { kind: 'shell', argv: ['hold'], secrets: ['STAGING_DB'] } });
    const granted = (await machines.staging.socket.timeout(5_000).emitWithAck('secrets:fetch', { commandId: (otto.body as Job).targets[0]!.commandId, names: ['STAGING_DB'] })) as { ok: boolean };
    expect(granted).toMatchObject({ ok: true, data: { secrets: [{ name: 'STAGING_DB', value: 'CANARY-STAGING_DB-7f3a9c' }] } });
  });

  it('M6: reads only audit entries about machines and jobs inside the scope, never prod argv or env (#11)', async () => {
    const prodJob = await api('admin', 'POST', '/api/jobs', {
      command: { kind: 'shell', argv: ['echo', 'PROD-SENSITIVE-OUTPUT'], env: { TOKEN: 'CANARY-ENV-VALUE-991' } },
      targets: { agents: [machines.prod.id] },
    });
    expect(prodJob.status, JSON.stringify(prodJob.body)).toBe(201);
    const both = await api('admin', 'POST', '/api/jobs', { command: { kind: 'shell', argv: ['echo', 'BOTH-SENSITIVE'] }, targets: { agents: [machines.staging.id, machines.prod.id] } });
    expect(both.status).toBe(201);
    const stagingJob = await api('otto', 'POST', '/api/jobs', { command: { kind: 'metrics' }, targets: { agents: [machines.staging.id] } });
    expect(stagingJob.status).toBe(201);
    const stan = await api('stan', 'GET', '/api/audit?limit=1000');
    expect(stan.status).toBe(200);
    const entries = (stan.body as { entries: Array<{ agentId: string | null; jobId: string | null; action: string }> }).entries;
    const text = textOf(stan.body);
    for (const leak of ['PROD-SENSITIVE-OUTPUT', 'CANARY-ENV-VALUE-991', 'BOTH-SENSITIVE', machines.prod.id, 'CANARY-']) expect(text, leak).not.toContain(leak);
    expect(entries.some((e) => e.jobId === (stagingJob.body as Job).id)).toBe(true);
    expect(entries.every((e) => e.agentId === machines.staging.id || e.agentId === machines.mover.id || (e.agentId === null && e.jobId !== null))).toBe(true);
    // Sign-ins, users, secret changes and tokens concern the whole fleet (an agent's fetch for a
    // command on his machine is about that machine).
    expect(entries.filter((e) => e.agentId === null && /^(auth|user|role|secret|token)\./.test(e.action))).toEqual([]);
    // The unscoped auditor's view is unchanged.
    expect(textOf((await api('otto', 'GET', '/api/audit?limit=1000')).body)).toContain('PROD-SENSITIVE-OUTPUT');
  });

  it('M6: changes only alert rules inside the scope; fleet-wide and prod rules stay the admin\'s (#11)', async () => {
    const rules = ((await api('stan', 'GET', '/api/alert-rules')).body as { rules: Array<{ id: string; name: string; enabled: boolean }> }).rules;
    const offline = rules.find((r) => r.name === 'Machine offline')!;
    const disable = await api('stan', 'PATCH', `/api/alert-rules/${offline.id}`, { enabled: false });
    expect([disable.status, codeOf(disable.body)]).toEqual([403, 'forbidden']);
    expect(((await api('admin', 'GET', `/api/alert-rules/${offline.id}`)).body as { enabled: boolean }).enabled).toBe(true);
    const remove = await api('stan', 'DELETE', `/api/alert-rules/${offline.id}`);
    expect([remove.status, codeOf(remove.body)]).toEqual([403, 'forbidden']);
    const condition = { kind: 'metric', metric: 'memory', threshold: 90, for: '0s' };
    for (const scope of [undefined, { all: true }, { selector: 'env=prod' }, { selector: 'role=db' }, { agents: [machines.prod.id] }]) {
      const created = await api('stan', 'POST', '/api/alert-rules', { name: 'stan wide', condition, ...(scope ? { scope } : {}) });
      expect([created.status, codeOf(created.body)], JSON.stringify(scope)).toEqual([403, 'forbidden']);
    }
    const own = await api('stan', 'POST', '/api/alert-rules', { name: 'stan mem', condition, scope: { selector: 'env=staging' } });
    expect(own.status, JSON.stringify(own.body)).toBe(201);
    const id = (own.body as { id: string }).id;
    expect((await api('stan', 'PATCH', `/api/alert-rules/${id}`, { enabled: false })).status).toBe(200);
    const widen = await api('stan', 'PATCH', `/api/alert-rules/${id}`, { scope: { all: true } });
    expect([widen.status, codeOf(widen.body)]).toEqual([403, 'forbidden']);
    // A rule naming a prod machine is not listed to stan (its name is not his to learn).
    const named = await api('admin', 'POST', '/api/alert-rules', { name: 'prod mem', condition, scope: { agents: [machines.prod.id] } });
    expect(named.status).toBe(201);
    expect(((await api('stan', 'GET', '/api/alert-rules')).body as { rules: Array<{ name: string }> }).rules.map((r) => r.name)).not.toContain('prod mem');
    expect((await api('stan', 'GET', `/api/alert-rules/${(named.body as { id: string }).id}`)).status).toBe(403);
    expect((await api('stan', 'DELETE', `/api/alert-rules/${id}`)).status).toBe(204);
  });

  it('M6: event webhooks of a scoped user carry the scope; the admin\'s fleet-wide ones are not theirs (#11)', async () => {
    const hook = (name: string, selector?: unknown) => ({ name, url: 'http://127.0.0.1:9/hook', events: ['job.finished', 'agent.offline'], ...(selector ? { selector } : {}) });
    const open = await api('stan', 'POST', '/api/webhooks', hook('stan-all'));
    expect(open.status, JSON.stringify(open.body)).toBe(201);
    expect((open.body as { selector: { labels?: string } }).selector.labels).toBe('env=staging');
    const prod = await api('stan', 'POST', '/api/webhooks', hook('stan-prod', { labels: 'env=prod' }));
    expect((prod.body as { selector: { labels?: string } }).selector.labels).toBe('env=staging,env=prod');
    const widen = await api('stan', 'PATCH', `/api/webhooks/${(open.body as { id: string }).id}`, { selector: {} });
    expect((widen.body as { selector: { labels?: string } }).selector.labels).toBe('env=staging');
    const fleet = await api('admin', 'POST', '/api/webhooks', hook('fleet-hook'));
    expect(fleet.status).toBe(201);
    const listed = ((await api('stan', 'GET', '/api/webhooks')).body as { webhooks: Array<{ name: string }> }).webhooks.map((w) => w.name).sort();
    expect(listed).toEqual(['stan-all', 'stan-prod']);
    for (const [method, route, body] of [
      ['GET', '/api/webhooks/fleet-hook', undefined],
      ['PATCH', '/api/webhooks/fleet-hook', { enabled: false }],
      ['POST', '/api/webhooks/fleet-hook/test', undefined],
      ['DELETE', '/api/webhooks/fleet-hook', undefined],
    ] as const) {
      const answer = await api('stan', method, route, body);
      expect([answer.status, codeOf(answer.body)], `${method} ${route}`).toEqual([403, 'forbidden']);
    }
    expect(((await api('admin', 'GET', '/api/webhooks/fleet-hook')).body as { enabled: boolean }).enabled).toBe(true);
  });

  it('M6: reads channels but does not manage them or the outbox; a scoped admin manages no users or roles (#11)', async () => {
    expect((await api('stan', 'GET', '/api/channels')).status).toBe(200);
    for (const [method, route] of [
      ['POST', '/api/channels'],
      ['PATCH', '/api/channels/anything'],
      ['DELETE', '/api/channels/anything'],
      ['POST', '/api/channels/anything/test'],
      ['GET', '/api/notify/outbox'],
    ] as const) {
      const answer = await api('stan', method, route, method === 'GET' || method === 'DELETE' ? undefined : {});
      expect([answer.status, codeOf(answer.body)], `${method} ${route}`).toEqual([403, 'forbidden']);
    }
    for (const [method, route, body] of [
      ['GET', '/api/users', undefined],
      ['POST', '/api/users', { username: 'mallory', password: PASSWORD, role: 'admin' }],
      ['GET', '/api/roles', undefined],
      ['POST', '/api/roles', { name: 'everything', permissions: ['users:manage'] }],
    ] as const) {
      const answer = await api('sam', method, route, body);
      expect([answer.status, codeOf(answer.body)], `${method} ${route}`).toEqual([403, 'forbidden']);
    }
    expect(((await api('admin', 'GET', '/api/users')).body as { users: Array<{ username: string }> }).users.map((u) => u.username)).not.toContain('mallory');
  });

  it('a scoped admin lists and revokes only its own API tokens, never another user\'s (#11)', async () => {
    const everyone = ((await api('admin', 'GET', '/api/tokens?all=true')).body as { tokens: Array<{ id: string; userId: string; state: string }> }).tokens;
    const samsOwn = ((await api('sam', 'GET', '/api/tokens')).body as { tokens: Array<{ id: string; userId: string }> }).tokens;
    const samId = samsOwn[0]!.userId;
    const others = everyone.filter((token) => token.userId !== samId && token.state === 'active');
    expect(others.length).toBeGreaterThan(0);
    const listed = ((await api('sam', 'GET', '/api/tokens?all=true')).body as { tokens: Array<{ userId: string }> }).tokens;
    expect(new Set(listed.map((token) => token.userId))).toEqual(new Set([samId]));
    const revoke = await api('sam', 'DELETE', `/api/tokens/${others[0]!.id}`);
    expect([revoke.status, codeOf(revoke.body)]).toEqual([404, 'not_found']);
    const after = ((await api('admin', 'GET', '/api/tokens?all=true')).body as { tokens: Array<{ id: string; state: string }> }).tokens;
    expect(after.find((token) => token.id === others[0]!.id)?.state).toBe('active');
  });

  it('names-leak: refusals never name machines outside the scope (#11)', async () => {
    const refusals = [
      await api('stan', 'POST', '/api/jobs', { command: { kind: 'metrics' }, targets: { selector: 'env=prod' } }),
      await api('stan', 'POST', '/api/jobs', { command: { kind: 'metrics' }, targets: { all: true } }),
      await api('stan', 'GET', `/api/agents/${machines.prod.id}/metrics`),
      await api('stan', 'POST', `/api/agents/${machines.prod.id}/command?wait=false`, { command: { kind: 'metrics' } }),
    ];
    for (const refusal of refusals) {
      expect([refusal.status, codeOf(refusal.body)]).toEqual([403, 'forbidden']);
      expect(textOf(refusal.body)).not.toContain('prod-1');
      expect(textOf(refusal.body)).not.toContain(machines.prod.id);
      expect(textOf(refusal.body)).toContain('env=staging');
    }
    expect((refusals[1]!.body as { detail: string }).detail).toMatch(/^1 of the 3 targets is outside your scope/);
    const prodJob = await api('admin', 'POST', '/api/jobs', { command: { kind: 'metrics' }, targets: { agents: [machines.prod.id] } });
    const watched = await api('stan', 'GET', `/api/jobs/${(prodJob.body as Job).id}`);
    expect([watched.status, textOf(watched.body).includes(machines.prod.id)]).toEqual([403, false]);
  });

  it('M7: a terminal and a live view close at once when their machine leaves the scope; later input is refused (#11)', async () => {
    const stan = await uiSocket(tokens.stan);
    const closed: Array<{ sessionId: string; reason: string; message: string | null }> = [];
    const removed: string[] = [];
    stan.on('terminal:closed', (event: { sessionId: string; reason: string; message: string | null }) => closed.push(event));
    stan.on('agent:removed', (event: { agentId: string }) => removed.push(event.agentId));
    const opened = (await stan.timeout(5_000).emitWithAck('terminal:open', { agentId: machines.mover.id, cols: 80, rows: 24 })) as { ok: true; data: TerminalOpenAck } | { ok: false; error: unknown };
    if (!opened.ok) throw new Error(`terminal:open: ${JSON.stringify(opened.error)}`);
    const sessionId = opened.data.sessionId;
    expect(await stan.timeout(5_000).emitWithAck('agent:watch', { agentId: machines.mover.id })).toMatchObject({ ok: true });
    expect(await stan.timeout(5_000).emitWithAck('terminal:input', { sessionId, data: Buffer.from('echo before\n') })).toMatchObject({ ok: true });
    await waitFor(() => terminalInputs.get(sessionId)?.includes('echo before\n') || undefined, 5_000, 'the agent gets the first input');

    // The admin moves the machine to prod (stan cannot: H2b).
    expect((await api('admin', 'PATCH', `/api/agents/${machines.mover.id}`, { labels: { env: 'prod' } })).status).toBe(200);
    await waitFor(() => closed.find((c) => c.sessionId === sessionId), 5_000, 'stan is told the terminal closed');
    await waitFor(() => terminalCloses.has(sessionId) || undefined, 5_000, 'the agent is told to close the shell');
    expect(closed.find((c) => c.sessionId === sessionId)?.message).toContain('no longer within your scope');
    await waitFor(() => removed.includes(machines.mover.id) || undefined, 5_000, 'the live view ends');

    const typed = (await stan.timeout(5_000).emitWithAck('terminal:input', { sessionId, data: Buffer.from('echo TOCTOU-$((6*7))\n') })) as { ok: boolean };
    expect(typed.ok).toBe(false);
    const resized = (await stan.timeout(5_000).emitWithAck('terminal:resize', { sessionId, cols: 100, rows: 30 })) as { ok: boolean };
    expect(resized.ok).toBe(false);
    expect(terminalInputs.get(sessionId)).toEqual(['echo before\n']);
    const watchAgain = (await stan.timeout(5_000).emitWithAck('agent:watch', { agentId: machines.mover.id })) as { ok: boolean; error?: { code: string } };
    expect(watchAgain.error?.code).toBe('forbidden');
    expect((await api('admin', 'PATCH', `/api/agents/${machines.mover.id}`, { labels: { env: 'staging' } })).status).toBe(200);
  });
});

/**
 * Issue #11, the property: scoped users (stan: operator for env=staging; pia: admin for
 * env!=prod) doing random label changes and actions never read or change an object outside
 * their scope, and are refused exactly when the object is outside it. The expected answer comes
 * from a small model of the scopes written here, independent of object-scope.ts.
 */
describe('random scoped users doing random things stay inside their scope (#11)', () => {
  type Actor = 'stan' | 'pia';
  const CAN_WRITE_SECRETS: Record<Actor, boolean> = { stan: false, pia: true };
  /** Labels a machine may be given, and selectors objects may carry. */
  const LABELS: Array<Record<string, string>> = [{ env: 'staging' }, { env: 'prod' }, { env: 'dev' }, { env: 'staging', role: 'db' }, { role: 'db' }, { env: 'prod', role: 'db' }];
  const SELECTORS = ['env=staging', 'env=prod', 'env=dev', 'role=db', 'env=staging,role=db', 'env=prod,role=db'];
  const SECRET_SCOPES = [...SELECTORS, '*'];
  const SECRETS = ['P_PROD', 'P_ALL', 'P_ROLE', 'P_STAGING', 'P_DEV'];
  const terms = (selector: string): Array<[string, string]> => selector.split(',').map((t) => t.split('=') as [string, string]);
  /** The model: which labels a scope reaches, and which selectors lie within it. */
  const reaches = (actor: Actor, labels: Record<string, string>): boolean => (actor === 'stan' ? labels.env === 'staging' : labels.env !== 'prod');
  const within = (actor: Actor, selector: string): boolean => {
    if (selector === '*') return false;
    const env = terms(selector).find(([key]) => key === 'env')?.[1];
    return actor === 'stan' ? env === 'staging' : env !== undefined && env !== 'prod';
  };
  /** A selector made of several of the terms above (a narrowed one: the scope ANDed in). */
  const withinSelector = (actor: Actor, selector: string): boolean => {
    const envs = terms(selector).filter(([key]) => key === 'env').map(([, value]) => value);
    const negated = selector.split(',').includes('env!=prod');
    return actor === 'stan' ? envs.includes('staging') : negated || envs.some((env) => env !== 'prod');
  };
  const matches = (selector: string, labels: Record<string, string>): boolean => selector === '*' || terms(selector).every(([key, value]) => labels[key] === value);

  let ids: string[];
  let tokenIds: Array<{ id: string; labels: Record<string, string> }>;
  let ruleIds: Array<{ id: string; scope: { all: true } | { selector: string } }>;
  let counter = 0;

  beforeAll(async () => {
    ids = [machines.staging.id, machines.prod.id, machines.mover.id];
    for (const [i, name] of SECRETS.entries()) {
      expect((await api('admin', 'PUT', `/api/secrets/${name}`, { value: `PROP-${name}-${i}`, scope: ['env=prod', '*', 'role=db', 'env=staging', 'env=dev'][i] })).status).toBe(201);
    }
    tokenIds = [];
    for (const labels of [{ env: 'staging' }, { env: 'prod' }, {}, { env: 'dev' }] as Array<Record<string, string>>) {
      const created = await api('admin', 'POST', '/api/join-tokens', { labels, uses: 5 });
      tokenIds.push({ id: (created.body as { id: string }).id, labels });
    }
    ruleIds = [];
    for (const scope of [{ selector: 'env=staging' }, { selector: 'env=prod' }, { all: true as const }, { selector: 'env=dev' }]) {
      const created = await api('admin', 'POST', '/api/alert-rules', { name: `prop rule ${++counter}`, condition: { kind: 'metric', metric: 'disk', threshold: 99, for: '0s' }, scope });
      ruleIds.push({ id: (created.body as { id: string }).id, scope });
    }
  });

  afterAll(async () => {
    for (const [i, labels] of [{ env: 'staging' }, { env: 'prod' }, { env: 'staging' }].entries()) await api('admin', 'PATCH', `/api/agents/${ids[i]}`, { labels });
  });

  const labelsOf = async (id: string): Promise<Record<string, string>> => ((await api('admin', 'GET', `/api/agents/${id}`)).body as { labels: Record<string, string> }).labels;
  const secretScope = async (name: string): Promise<string> => ((await api('admin', 'GET', `/api/secrets/${name}`)).body as { scope: string }).scope;

  const actor = fc.constantFrom<Actor>('stan', 'pia');
  const action = fc.oneof(
    fc.record({ kind: fc.constant('relabel' as const), actor, machine: fc.nat(2), labels: fc.constantFrom(...LABELS) }),
    fc.record({ kind: fc.constant('command' as const), actor, machine: fc.nat(2), secret: fc.constantFrom(...SECRETS) }),
    fc.record({ kind: fc.constant('reveal' as const), actor, secret: fc.constantFrom(...SECRETS) }),
    fc.record({ kind: fc.constant('putSecret' as const), actor, secret: fc.constantFrom(...SECRETS), scope: fc.constantFrom(...SECRET_SCOPES) }),
    fc.record({ kind: fc.constant('createToken' as const), actor, labels: fc.constantFrom(...LABELS) }),
    fc.record({ kind: fc.constant('revokeToken' as const), actor, token: fc.nat(3) }),
    fc.record({ kind: fc.constant('toggleRule' as const), actor, rule: fc.nat(3), enabled: fc.boolean() }),
    fc.record({ kind: fc.constant('createRule' as const), actor, selector: fc.option(fc.constantFrom(...SELECTORS), { nil: undefined }) }),
    fc.record({ kind: fc.constant('webhook' as const), actor, selector: fc.option(fc.constantFrom(...SELECTORS), { nil: undefined }) }),
    fc.record({ kind: fc.constant('readAudit' as const), actor }),
  );
  type Action = typeof action extends fc.Arbitrary<infer A> ? A : never;

  /** Runs one action; returns what went wrong (empty when the hub behaved). */
  async function check(a: Action): Promise<string[]> {
    const who = a.actor;
    const problems: string[] = [];
    const expect403 = (allowed: boolean, answer: { status: number; body: unknown }, what: string): void => {
      if (allowed && answer.status >= 300) problems.push(`${who} ${what}: expected success, got ${answer.status} ${JSON.stringify(answer.body)}`);
      if (!allowed && (answer.status !== 403 || codeOf(answer.body) !== 'forbidden')) problems.push(`${who} ${what}: expected 403, got ${answer.status}`);
    };
    switch (a.kind) {
      case 'relabel': {
        const id = ids[a.machine]!;
        const before = await labelsOf(id);
        const answer = await api(who, 'PATCH', `/api/agents/${id}`, { labels: a.labels });
        expect403(reaches(who, before) && reaches(who, a.labels), answer, `relabel ${JSON.stringify(before)} -> ${JSON.stringify(a.labels)}`);
        const after = await labelsOf(id);
        if (answer.status >= 300 && JSON.stringify(after) !== JSON.stringify(before)) problems.push(`${who}: a refused relabel changed the labels`);
        break;
      }
      case 'command': {
        const id = ids[a.machine]!;
        const [labels, scope] = [await labelsOf(id), await secretScope(a.secret)];
        const answer = await api(who, 'POST', `/api/agents/${id}/command?wait=false`, { command: { kind: 'shell', argv: ['true'], secrets: [a.secret] } });
        const allowed = reaches(who, labels) && within(who, scope) && matches(scope, labels);
        if (allowed !== (answer.status < 300)) problems.push(`${who} command on ${JSON.stringify(labels)} with ${a.secret} (${scope}): got ${answer.status} ${JSON.stringify(answer.body)}`);
        if (!allowed && answer.status !== 403) problems.push(`${who} command: expected 403, got ${answer.status}`);
        break;
      }
      case 'reveal': {
        const scope = await secretScope(a.secret);
        const answer = await api(who, 'POST', `/api/secrets/${a.secret}/reveal`);
        expect403(within(who, scope), answer, `reveal ${a.secret} (${scope})`);
        break;
      }
      case 'putSecret': {
        const before = await secretScope(a.secret);
        const answer = await api(who, 'PUT', `/api/secrets/${a.secret}`, { value: `v${++counter}`, scope: a.scope });
        expect403(CAN_WRITE_SECRETS[who] && within(who, before) && within(who, a.scope), answer, `put ${a.secret} ${before} -> ${a.scope}`);
        break;
      }
      case 'createToken': {
        const answer = await api(who, 'POST', '/api/join-tokens', { labels: a.labels });
        expect403(reaches(who, a.labels), answer, `create join token ${JSON.stringify(a.labels)}`);
        const listed = ((await api(who, 'GET', '/api/join-tokens')).body as { tokens: Array<{ labels: Record<string, string> }> }).tokens;
        if (listed.some((t) => !reaches(who, t.labels))) problems.push(`${who} lists a join token outside the scope`);
        break;
      }
      case 'revokeToken': {
        const token = tokenIds[a.token]!;
        const answer = await api(who, 'DELETE', `/api/join-tokens/${token.id}`);
        expect403(reaches(who, token.labels), answer, `revoke join token ${JSON.stringify(token.labels)}`);
        break;
      }
      case 'toggleRule': {
        const rule = ruleIds[a.rule]!;
        const answer = await api(who, 'PATCH', `/api/alert-rules/${rule.id}`, { enabled: a.enabled });
        expect403('selector' in rule.scope && within(who, rule.scope.selector), answer, `toggle rule ${JSON.stringify(rule.scope)}`);
        break;
      }
      case 'createRule': {
        const scope = a.selector === undefined ? { all: true } : { selector: a.selector };
        const answer = await api(who, 'POST', '/api/alert-rules', { name: `prop own ${++counter}`, condition: { kind: 'metric', metric: 'disk', threshold: 99, for: '0s' }, scope });
        expect403(a.selector !== undefined && within(who, a.selector), answer, `create rule ${JSON.stringify(scope)}`);
        break;
      }
      case 'webhook': {
        const answer = await api(who, 'POST', '/api/webhooks', { name: `prop-${++counter}`, url: 'http://127.0.0.1:9/p', events: ['agent.offline'], ...(a.selector ? { selector: { labels: a.selector } } : {}) });
        const labels = (answer.body as { selector?: { labels?: string } }).selector?.labels;
        // Always created, narrowed to the scope when it would reach beyond it.
        if (answer.status !== 201 || labels === undefined || !withinSelector(who, labels)) problems.push(`${who} webhook ${a.selector}: ${answer.status} ${labels}`);
        const listed = ((await api(who, 'GET', '/api/webhooks')).body as { webhooks: Array<{ selector: { labels?: string } }> }).webhooks;
        if (listed.some((w) => w.selector.labels === undefined || !withinSelector(who, w.selector.labels))) problems.push(`${who} lists a webhook outside the scope`);
        break;
      }
      case 'readAudit': {
        const entries = ((await api(who, 'GET', '/api/audit?limit=500')).body as { entries: Array<{ agentId: string | null; jobId: string | null; action: string }> }).entries;
        for (const entry of entries) {
          if (entry.agentId === null ? entry.jobId === null : !reaches(who, await labelsOf(entry.agentId))) problems.push(`${who} reads ${entry.action} about ${entry.agentId ?? 'the fleet'}`);
        }
        if (JSON.stringify(entries).includes('PROP-')) problems.push(`${who} reads a secret value in the audit log`);
        break;
      }
    }
    return problems;
  }

  it('never reads or changes an object outside the scope, whatever the order of actions (#11)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 6 }), async (actions) => {
        const problems: string[] = [];
        for (const a of actions) problems.push(...(await check(a)));
        expect(problems).toEqual([]);
      }),
      { numRuns: 40, seed: 11 },
    );
    // Nothing outside the scopes was moved: prod-1 is still prod, and its secrets and token stand.
    expect(await labelsOf(machines.prod.id)).toEqual({ env: 'prod' });
    expect(await secretScope('P_PROD')).toBe('env=prod');
    expect(((await api('admin', 'GET', '/api/join-tokens')).body as { tokens: Array<{ id: string; state: string }> }).tokens.find((t) => t.id === tokenIds[1]!.id)?.state).toBe('active');
  }, 120_000);
});
