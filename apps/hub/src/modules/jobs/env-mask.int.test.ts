import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UI_NAMESPACE, type AuditList, type CommandRun, type Job, type JobList, type JobUpdateEvent } from '@farol/protocol';
import { startHubFixture, waitFor, type HubFixture } from '../../testing/hub-fixture.js';
import { connectPeer, emitAck, enrollPeer, hello, readCommandRun } from '../../testing/protocol-peer.js';

// Issue #11 (L4): viewers read every job's `env` values (REST, /ui job:watch, the audit log).
// Values are now shown only to those who could have run the command; everyone else reads
// `KEY=•••`.

const CANARY = 'CANARY-ENV-VALUE-991';
const PASSWORD = 'correct horse battery staple';

let hub: HubFixture;
let job: Job;
const tokens: Record<string, string> = {};
const sockets: Socket[] = [];

async function addUser(username: string, role: string): Promise<string> {
  expect((await hub.api('POST', '/api/users', { username, password: PASSWORD, role })).status).toBe(201);
  const login = await hub.api('POST', '/api/auth/login', { username, password: PASSWORD, issue: 'token' }, null);
  expect(login.status).toBe(200);
  return (login.body as { token: { token: string } }).token.token;
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

const updates: Record<string, JobUpdateEvent[]> = { admin: [], vera: [], auditor: [] };

beforeAll(async () => {
  hub = await startHubFixture({ FAROL_LOGIN_RATE_LIMIT: '1000' });
  expect((await hub.api('POST', '/api/roles', { name: 'auditor', permissions: ['nodes:read', 'audit:read'] })).status).toBe(201);
  tokens.admin = hub.adminToken;
  tokens.vera = await addUser('vera', 'viewer');
  tokens.auditor = await addUser('audra', 'auditor');
  for (const who of Object.keys(updates)) (await uiSocket(tokens[who]!)).on('job:update', (event: JobUpdateEvent) => updates[who]!.push(event));

  const peer = await enrollPeer(hub.url, await hub.createJoinToken({ labels: { env: 'prod' } }), 'prodbox');
  const { socket } = await connectPeer(hub.url, peer);
  socket!.on('command:run', (run: CommandRun) => {
    const claims = readCommandRun(run);
    void emitAck(socket!, 'command:ack', { commandId: claims.commandId, status: 'accepted', at: Date.now() });
  });
  await hello(socket!, 10_000, 'prodbox');
  sockets.push(socket!);
  const created = await hub.api('POST', '/api/jobs', { command: { kind: 'shell', argv: ['env'], env: { DB_URL: CANARY, MODE: 'blue' } }, targets: { agents: [peer.agentId] } });
  expect(created.status).toBe(201);
  job = created.body as Job;
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await hub?.stop();
});

describe('command env values (#11)', () => {
  it('masks env values in GET /api/jobs and GET /api/jobs/:id for a viewer, not for who may run commands (#11)', async () => {
    const viewerOne = (await hub.api('GET', `/api/jobs/${job.id}`, undefined, tokens.vera)).body as Job;
    expect(viewerOne.command).toMatchObject({ kind: 'shell', env: { DB_URL: '•••', MODE: '•••' } });
    const viewerList = (await hub.api('GET', '/api/jobs', undefined, tokens.vera)).body as JobList;
    expect(viewerList.jobs.find((j) => j.id === job.id)!.command).toMatchObject({ env: { DB_URL: '•••', MODE: '•••' } });
    expect(JSON.stringify(viewerList)).not.toContain(CANARY);

    const adminOne = (await hub.api('GET', `/api/jobs/${job.id}`)).body as Job;
    expect(adminOne.command).toMatchObject({ env: { DB_URL: CANARY, MODE: 'blue' } });
  });

  it('masks env values in /ui job:watch and job:update for a viewer (#11)', async () => {
    const vera = await uiSocket(tokens.vera!);
    const watched = await vera.timeout(5_000).emitWithAck('job:watch', { jobId: job.id });
    expect(watched).toMatchObject({ ok: true, data: { job: { id: job.id, command: { env: { DB_URL: '•••' } } } } });
    const admin = await uiSocket(tokens.admin!);
    expect(await admin.timeout(5_000).emitWithAck('job:watch', { jobId: job.id })).toMatchObject({ ok: true, data: { job: { command: { env: { DB_URL: CANARY } } } } });

    // The summaries broadcast while the job ran: each socket got what its reader may see.
    await waitFor(() => updates.vera!.some((e) => e.job.id === job.id) && updates.admin!.some((e) => e.job.id === job.id), 5_000, 'job:update events');
    expect(JSON.stringify(updates.vera)).not.toContain(CANARY);
    expect(JSON.stringify(updates.auditor)).not.toContain(CANARY);
    expect(updates.admin!.find((e) => e.job.id === job.id)!.job.command).toMatchObject({ env: { DB_URL: CANARY } });
  });

  it('masks env values in the audit log for a reader who may not run commands (#11)', async () => {
    const forAuditor = (await hub.api('GET', `/api/audit?action=command.create`, undefined, tokens.auditor)).body as AuditList;
    const entry = forAuditor.entries.find((e) => e.jobId === job.id)!;
    expect(entry.details.command).toMatchObject({ env: { DB_URL: '•••', MODE: '•••' } });
    expect(JSON.stringify(forAuditor)).not.toContain(CANARY);
    const forAdmin = (await hub.api('GET', `/api/audit?action=command.create`)).body as AuditList;
    expect(forAdmin.entries.find((e) => e.jobId === job.id)!.details.command).toMatchObject({ env: { DB_URL: CANARY } });
  });
});
