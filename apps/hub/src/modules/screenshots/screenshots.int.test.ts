import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_MESSAGE_BYTES,
  SCREENSHOT_CHUNK_BYTES,
  type AuditList,
  type CommandClaims,
  type CommandResult,
  type Job,
  type ScreenshotInfo,
  type CommandRun,
} from '@farol/protocol';
import { startHubFixture, waitFor, type HubFixture } from '../../testing/hub-fixture.js';
import { connectPeer, emitAck, enrollPeer, hello, readCommandRun } from '../../testing/protocol-peer.js';

// The hub's side of screenshots against a real hub and SQLite, with a hand-driven agent that
// answers `screenshot` commands the way the real one does (chunks, then the result).

let hub: HubFixture;
beforeAll(async () => {
  hub = await startHubFixture({ FAROL_SCREENSHOT_MAX_COUNT: '3' });
});
afterAll(async () => {
  await hub?.stop();
});

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Bytes that look like a PNG to the hub (which never decodes them) and do not compress. */
const fakePng = (size: number): Buffer => Buffer.concat([PNG_SIGNATURE, randomBytes(size - 8)]);

type Answer = (claims: CommandClaims, socket: Socket) => Promise<void>;

async function agent(name: string, answer: Answer): Promise<{ socket: Socket; commands: CommandClaims[] }> {
  const peer = await enrollPeer(hub.url, await hub.createJoinToken(), name);
  const connected = await connectPeer(hub.url, peer);
  if (!connected.socket) throw new Error('connect failed');
  const socket = connected.socket;
  const commands: CommandClaims[] = [];
  socket.on('command:run', (run: CommandRun) => {
    const claims = readCommandRun(run);
    commands.push(claims);
    void answer(claims, socket);
  });
  if (!(await hello(socket, 10_000, name)).ok) throw new Error('hello failed');
  return { socket, commands };
}

function result(claims: CommandClaims, fields: Partial<CommandResult>): CommandResult {
  return { commandId: claims.commandId, state: 'succeeded', exitCode: 0, signal: null, stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false, data: null, startedAt: Date.now(), endedAt: Date.now(), error: null, ...fields };
}

async function upload(socket: Socket, claims: CommandClaims, png: Buffer): Promise<number> {
  const sha256 = createHash('sha256').update(png).digest('hex');
  let offset = 0;
  let chunks = 0;
  while (offset < png.length) {
    const ack = await emitAck<{ received: number }>(socket, 'screenshot:upload', { commandId: claims.commandId, total: png.length, sha256, offset, data: png.subarray(offset, offset + SCREENSHOT_CHUNK_BYTES) });
    if (!ack.ok) throw new Error(`upload refused: ${ack.error.code} ${ack.error.message}`);
    offset = ack.data.received;
    chunks++;
  }
  return chunks;
}

function screenshotResult(claims: CommandClaims, png: Buffer): CommandResult {
  const sha256 = createHash('sha256').update(png).digest('hex');
  return result(claims, { data: { kind: 'screenshot', format: 'png', width: 1920, height: 1080, bytes: png.length, sha256, display: ':0', method: 'x11' } });
}

/** A working machine: accepts, uploads `png`, then reports. */
const capturing =
  (png: Buffer, seen: { chunks: number } = { chunks: 0 }): Answer =>
  async (claims, socket) => {
    await emitAck(socket, 'command:ack', { commandId: claims.commandId, status: 'accepted', at: Date.now() });
    seen.chunks = await upload(socket, claims, png);
    await emitAck(socket, 'command:result', screenshotResult(claims, png));
  };

const raw = async (route: string, init: RequestInit = {}) => {
  const response = await fetch(`${hub.url}${route}`, { ...init, headers: { authorization: `Bearer ${hub.adminToken}`, ...init.headers } });
  return { status: response.status, type: response.headers.get('content-type'), headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
};

describe('screenshots over the real hub', () => {
  it('takes a PNG larger than one message in chunks and answers POST /api/agents/:id/screenshot with it', async () => {
    const png = fakePng(3 * 1024 * 1024 + 777);
    expect(png.length).toBeGreaterThan(MAX_MESSAGE_BYTES);
    const seen = { chunks: 0 };
    const a = await agent('shot-big', capturing(png, seen));

    const answer = await raw('/api/agents/shot-big/screenshot', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ maxWidth: 1920 }) });
    expect(answer.status).toBe(200);
    expect(answer.type).toBe('image/png');
    expect(answer.body.equals(png)).toBe(true);
    expect(seen.chunks).toBe(Math.ceil(png.length / SCREENSHOT_CHUNK_BYTES));
    expect(a.commands[0]!.command).toEqual({ kind: 'screenshot', maxWidth: 1920 });

    // Stored: the same bytes again by id, metadata as JSON, and a normal job in the history.
    const id = answer.headers.get('x-farol-screenshot-id')!;
    const again = await raw(`/api/screenshots/${id}`);
    expect(again.status).toBe(200);
    expect(again.body.equals(png)).toBe(true);
    const info = JSON.parse((await raw(`/api/screenshots/${id}`, { headers: { accept: 'application/json' } })).body.toString()) as ScreenshotInfo;
    expect(info).toMatchObject({ id, url: `/api/screenshots/${id}`, agentName: 'shot-big', width: 1920, height: 1080, bytes: png.length, method: 'x11' });
    const job = (await hub.api('GET', `/api/jobs/${info.jobId}`)).body as Job;
    expect(job).toMatchObject({ state: 'done', command: { kind: 'screenshot' } });
    expect(job.targets[0]).toMatchObject({ state: 'succeeded', data: { kind: 'screenshot', screenshotId: id, bytes: png.length } });

    // Who took it and who looked at it.
    const audit = (await hub.api('GET', `/api/audit?agent=shot-big`)).body as AuditList;
    const capture = audit.entries.find((e) => e.action === 'screenshot.capture')!;
    expect(capture).toMatchObject({ actor: job.createdBy, details: { screenshotId: id, bytes: png.length } });
    expect(audit.entries.filter((e) => e.action === 'screenshot.view')).toHaveLength(1);
    a.socket.close();
  });

  it('answers JSON metadata with a download URL when asked for application/json', async () => {
    const png = fakePng(5_000);
    const a = await agent('shot-json', capturing(png));
    const json = await fetch(`${hub.url}/api/agents/shot-json/screenshot`, { method: 'POST', headers: { authorization: `Bearer ${hub.adminToken}`, accept: 'application/json' } });
    expect(json.status).toBe(200);
    const info = (await json.json()) as ScreenshotInfo;
    expect(info.url).toBe(`/api/screenshots/${info.id}`);
    expect((await raw(info.url)).body.equals(png)).toBe(true);
    a.socket.close();
  });

  it('serves screenshots with cache-control: no-store, so no browser or proxy keeps a copy (#11)', async () => {
    const png = fakePng(4_000);
    const a = await agent('shot-nostore', capturing(png));
    const taken = await raw('/api/agents/shot-nostore/screenshot', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(taken.status).toBe(200);
    expect(taken.headers.get('cache-control')).toBe('no-store');
    const again = await raw(`/api/screenshots/${taken.headers.get('x-farol-screenshot-id')!}`);
    expect(again.headers.get('cache-control')).toBe('no-store');
    a.socket.close();
  });

  it('says "no display" for a headless machine, "refused" for a policy refusal, "offline" for a machine away', async () => {
    const headless = await agent('shot-headless', async (claims, socket) => {
      await emitAck(socket, 'command:ack', { commandId: claims.commandId, status: 'accepted', at: Date.now() });
      const detail = 'no display: DISPLAY is not set, there is no X server socket in /tmp/.X11-unix and no Wayland session';
      await emitAck(socket, 'command:result', result(claims, { state: 'failed', exitCode: null, error: detail, data: { kind: 'no_display', detail } }));
    });
    const noDisplay = await hub.api('POST', '/api/agents/shot-headless/screenshot', {});
    expect(noDisplay.status).toBe(422);
    expect(noDisplay.body).toMatchObject({ code: 'no_display', detail: expect.stringContaining('shot-headless has no display to capture') });

    const locked = await agent('shot-locked', async (claims, socket) => {
      const reason = 'refused by agent policy: screenshot is not allowed here';
      await emitAck(socket, 'command:ack', { commandId: claims.commandId, status: 'refused', reason, at: Date.now() });
      await emitAck(socket, 'command:result', result(claims, { state: 'refused', exitCode: null, error: reason, startedAt: null }));
    });
    const refused = await hub.api('POST', '/api/agents/shot-locked/screenshot', {});
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'command_refused', detail: 'shot-locked refused: refused by agent policy: screenshot is not allowed here' });

    const away = await agent('shot-away', capturing(fakePng(100)));
    away.socket.close();
    await waitFor(async () => ((await hub.api('GET', '/api/agents/shot-away')).body as { status: string }).status === 'offline' || undefined, 5_000, 'offline');
    const offline = await hub.api('POST', '/api/agents/shot-away/screenshot', {});
    expect(offline.status).toBe(409);
    expect(offline.body).toMatchObject({ code: 'agent_offline' });
    // Not left to run when the machine comes back.
    const jobs = (await hub.api('GET', '/api/jobs?limit=1')).body as { jobs: Job[] };
    expect(jobs.jobs[0]).toMatchObject({ state: 'done', counts: { cancelled: 1 } });
    headless.socket.close();
    locked.socket.close();
  });

  it('refuses uploads for commands the agent was never sent, and results whose upload is incomplete', async () => {
    const chunks: Array<{ code: string } | { received: number }> = [];
    const png = fakePng(2 * SCREENSHOT_CHUNK_BYTES);
    const sha256 = createHash('sha256').update(png).digest('hex');
    const a = await agent('shot-partial', async (claims, socket) => {
      await emitAck(socket, 'command:ack', { commandId: claims.commandId, status: 'accepted', at: Date.now() });
      const first = await emitAck<{ received: number }>(socket, 'screenshot:upload', { commandId: claims.commandId, total: png.length, sha256, offset: 0, data: png.subarray(0, SCREENSHOT_CHUNK_BYTES) });
      chunks.push(first.ok ? first.data : first.error);
      // A chunk from the wrong place is not appended: the answer says where the upload stands.
      const skipped = await emitAck<{ received: number }>(socket, 'screenshot:upload', { commandId: claims.commandId, total: png.length, sha256, offset: SCREENSHOT_CHUNK_BYTES + 10, data: png.subarray(SCREENSHOT_CHUNK_BYTES + 10, SCREENSHOT_CHUNK_BYTES + 20) });
      chunks.push(skipped.ok ? skipped.data : skipped.error);
      const early = await emitAck(socket, 'command:result', screenshotResult(claims, png));
      chunks.push(early.ok ? { received: -1 } : early.error);
      await upload(socket, claims, png);
      await emitAck(socket, 'command:result', screenshotResult(claims, png));
    });
    const answer = await raw('/api/agents/shot-partial/screenshot', { method: 'POST' });
    expect(answer.status).toBe(200);
    expect(answer.body.equals(png)).toBe(true);
    expect(chunks).toEqual([{ received: SCREENSHOT_CHUNK_BYTES }, { received: SCREENSHOT_CHUNK_BYTES }, expect.objectContaining({ code: 'unavailable' })]);

    const foreign = await emitAck(a.socket, 'screenshot:upload', { commandId: 'cmd_0000000000000000', total: 10, sha256, offset: 0, data: png.subarray(0, 10) });
    expect(foreign).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const notPng = await emitAck(a.socket, 'screenshot:upload', { commandId: a.commands[0]!.commandId, total: 10, sha256, offset: 0, data: Buffer.from('not a png!') });
    // Its result is stored already: the hub says it holds everything and ignores the bytes.
    expect(notPng).toEqual({ ok: true, data: { received: 10 } });
    a.socket.close();
  });

  it('keeps at most FAROL_SCREENSHOT_MAX_COUNT images, dropping the oldest', async () => {
    const a = await agent('shot-retention', capturing(fakePng(2_000)));
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await raw('/api/agents/shot-retention/screenshot', { method: 'POST' })).headers.get('x-farol-screenshot-id')!);
    const statuses = await Promise.all(ids.map(async (id) => (await raw(`/api/screenshots/${id}`)).status));
    // Three kept in all (this test's and the earlier ones'): the newest three are these.
    expect(statuses).toEqual([404, 200, 200, 200]);
    a.socket.close();
  });

  it('rejects a bad display name and a bad screenshot id with validation errors', async () => {
    const bad = await hub.api('POST', '/api/agents/anything/screenshot', { display: ':0; rm -rf /' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'validation_failed' });
    // Ids are checked before any file is touched: no path can be smuggled in.
    expect((await hub.api('GET', '/api/screenshots/..%2F..%2Fetc%2Fpasswd')).body).toMatchObject({ code: 'validation_failed' });
    expect((await hub.api('GET', '/api/screenshots/shot_nope')).body).toMatchObject({ code: 'validation_failed' });
    expect((await hub.api('GET', '/api/screenshots/shot_0000000000000000')).body).toMatchObject({ code: 'not_found' });
  });
});
