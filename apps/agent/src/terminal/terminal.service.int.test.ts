import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  TERMINAL_AUDIENCE,
  TERMINAL_JWS_TYPE,
  TERMINAL_OUTPUT_WINDOW_BYTES,
  MAX_TERMINAL_CHUNK_BYTES,
  type TerminalExit,
  type TerminalOpenClaims,
  type TerminalOpened,
  type TerminalOutput,
} from '@farol/protocol';
import { createMemoryLogger } from '../logging/logger.js';
import { systemClock } from '../runtime/clock.js';
import { waitFor } from '../testing/agent-harness.js';
import { signCompactJws } from '../testing/signed-token.js';
import { createTerminalService, type TerminalService, type TerminalServiceOptions } from './terminal.service.js';

const AGENT_ID = 'ag_terminaltest0001';
const hub = generateKeyPairSync('ed25519');
const impostor = generateKeyPairSync('ed25519');
/** A shell without rc files: the tests read its output, not the machine's prompt customisations. */
const BASH = { file: '/bin/bash', args: ['--norc', '--noprofile', '-i'] };

function sessionId(): string {
  return `term_${randomBytes(8).toString('hex')}`;
}

function signOpening(claims: Partial<TerminalOpenClaims> = {}, key: KeyObject = hub.privateKey): { token: string; claims: TerminalOpenClaims } {
  const now = Math.floor(Date.now() / 1000);
  const full: TerminalOpenClaims = {
    iss: 'farol-hub',
    aud: TERMINAL_AUDIENCE,
    sub: AGENT_ID,
    jti: randomBytes(16).toString('base64url'),
    iat: now,
    exp: now + 30,
    sessionId: sessionId(),
    actor: 'admin',
    cols: 80,
    rows: 24,
    ...claims,
  };
  return { token: signCompactJws(TERMINAL_JWS_TYPE, full, key), claims: full };
}

/** A hub link that records what the agent sends; `holdOutput` leaves output unacknowledged (a screen that does not read). */
function fakeLink(holdOutput = false) {
  const sent: Array<{ event: string; payload: unknown }> = [];
  const held: Array<() => void> = [];
  const link: TerminalServiceOptions['link'] = {
    isLinked: () => true,
    request: ((event: string, payload: unknown) => {
      sent.push({ event, payload });
      if (event === 'terminal:output' && holdOutput) return new Promise<unknown>((resolve) => held.push(() => resolve({ ok: true, data: {} })));
      return Promise.resolve({ ok: true, data: {} });
    }) as TerminalServiceOptions['link']['request'],
  };
  const of = <T>(event: string): T[] => sent.filter((entry) => entry.event === event).map((entry) => entry.payload as T);
  return {
    link,
    opened: () => of<TerminalOpened>('terminal:opened'),
    exits: () => of<TerminalExit>('terminal:exit'),
    outputs: () => of<TerminalOutput>('terminal:output'),
    text: (id: string) => Buffer.concat(of<TerminalOutput>('terminal:output').filter((o) => o.sessionId === id).map((o) => Buffer.from(o.data))).toString('utf8'),
    releaseHeld: () => held.splice(0).forEach((resolve) => resolve()),
  };
}

const services: TerminalService[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((service) => service.closeAll('closed')));
});

function service(link: TerminalServiceOptions['link'], overrides: Partial<TerminalServiceOptions> = {}) {
  const jtis = new Set<string>();
  const created = createTerminalService({
    agentId: AGENT_ID,
    hubKey: hub.publicKey,
    link,
    seen: { hasJti: (jti) => jtis.has(jti), remember: ({ jti }) => void jtis.add(jti) },
    policy: () => ({ source: 'test', allows: () => true }),
    maxSessions: 4,
    idleTimeoutMs: 60_000,
    clock: systemClock,
    logger: createMemoryLogger('silent').logger,
    shell: BASH,
    ...overrides,
  });
  services.push(created);
  return created;
}

const typeLine = (terminal: TerminalService, id: string, line: string) => terminal.input({ sessionId: id, data: Buffer.from(`${line}\r`) });

describe('terminal sessions on a real PTY', () => {
  it('opens a shell, runs echo hi, and reports the exit code of `exit 3`', async () => {
    const hubLink = fakeLink();
    const terminal = service(hubLink.link);
    const { token, claims } = signOpening();
    await terminal.open({ token });
    expect(hubLink.opened()).toEqual([expect.objectContaining({ sessionId: claims.sessionId, status: 'opened', shell: '/bin/bash --norc --noprofile -i' })]);
    typeLine(terminal, claims.sessionId, 'echo h""i');
    await waitFor(() => /[\r\n]hi\r\n/.test(hubLink.text(claims.sessionId)), 5_000, 'hi');
    typeLine(terminal, claims.sessionId, 'exit 3');
    await waitFor(() => hubLink.exits().length === 1, 5_000, 'the exit');
    expect(hubLink.exits()[0]).toMatchObject({ sessionId: claims.sessionId, reason: 'exited', exitCode: 3 });
    expect(terminal.count()).toBe(0);
    // Output is numbered from 0 without gaps.
    expect(hubLink.outputs().map((o) => o.seq)).toEqual(hubLink.outputs().map((_, index) => index));
  });

  it('starts the login shell by default', async () => {
    const hubLink = fakeLink();
    const terminal = service(hubLink.link, { shell: undefined, env: { ...process.env, SHELL: '/bin/sh' } });
    const { token, claims } = signOpening();
    await terminal.open({ token });
    expect(hubLink.opened()[0]).toMatchObject({ status: 'opened', shell: '/bin/sh -l' });
    typeLine(terminal, claims.sessionId, 'echo "login:$0"');
    await waitFor(() => hubLink.text(claims.sessionId).includes('login:'), 5_000, 'the shell answer');
  });

  it('applies a resize: `stty size` reports the new rows and columns', async () => {
    const hubLink = fakeLink();
    const terminal = service(hubLink.link);
    const { token, claims } = signOpening({ cols: 100, rows: 30 });
    await terminal.open({ token });
    typeLine(terminal, claims.sessionId, 'stty size');
    await waitFor(() => hubLink.text(claims.sessionId).includes('30 100'), 5_000, 'the first size');
    terminal.resize({ sessionId: claims.sessionId, cols: 132, rows: 43 });
    typeLine(terminal, claims.sessionId, 'stty size');
    await waitFor(() => hubLink.text(claims.sessionId).includes('43 132'), 5_000, 'the new size');
  });

  it('kills the shell and the processes it started when the session is closed', async () => {
    const hubLink = fakeLink();
    const terminal = service(hubLink.link);
    const { token, claims } = signOpening();
    await terminal.open({ token });
    // One background job and one detached grandchild (its parent exits at once).
    typeLine(terminal, claims.sessionId, 'sleep 301 & echo "BG=$!"; sh -c \'sleep 302 & echo "GC=$!"\'');
    await waitFor(() => /BG=\d+/.test(hubLink.text(claims.sessionId)) && /GC=\d+/.test(hubLink.text(claims.sessionId)), 5_000, 'the pids');
    const pids = [/BG=(\d+)/, /GC=(\d+)/].map((pattern) => Number(pattern.exec(hubLink.text(claims.sessionId))![1]));
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(pids.every(alive)).toBe(true);
    await terminal.close(claims.sessionId);
    expect(hubLink.exits()).toEqual([expect.objectContaining({ sessionId: claims.sessionId, reason: 'closed', exitCode: null })]);
    await waitFor(() => !pids.some(alive), 5_000, 'the children to die');
  });

  it('closes a session that receives no input for the idle timeout', async () => {
    const hubLink = fakeLink();
    const terminal = service(hubLink.link, { idleTimeoutMs: 400 });
    const { token, claims } = signOpening();
    await terminal.open({ token });
    await waitFor(() => hubLink.exits().length === 1, 5_000, 'the idle timeout');
    expect(hubLink.exits()[0]).toMatchObject({ sessionId: claims.sessionId, reason: 'idle_timeout' });
    expect(terminal.count()).toBe(0);
  });

  it('refuses when the local policy does not allow terminal', async () => {
    const hubLink = fakeLink();
    const terminal = service(hubLink.link, { policy: () => ({ source: 'test', allows: (kind) => kind !== 'terminal' }) });
    const { token, claims } = signOpening();
    await terminal.open({ token });
    expect(hubLink.opened()).toEqual([{ sessionId: claims.sessionId, status: 'refused', refusal: 'policy', message: 'refused by agent policy: terminal is not allowed here' }]);
    expect(terminal.count()).toBe(0);
  });

  it('refuses a replayed, an expired and a forged opening', async () => {
    const hubLink = fakeLink();
    const terminal = service(hubLink.link);
    const first = signOpening();
    await terminal.open({ token: first.token });
    await terminal.close(first.claims.sessionId);
    await terminal.open({ token: first.token });
    const expired = signOpening({ iat: Math.floor(Date.now() / 1000) - 600, exp: Math.floor(Date.now() / 1000) - 300 });
    await terminal.open({ token: expired.token });
    const forged = signOpening({}, impostor.privateKey);
    await terminal.open({ token: forged.token });
    const otherAgent = signOpening({ sub: 'ag_someoneelse00001' });
    await terminal.open({ token: otherAgent.token });
    expect(hubLink.opened().map((o) => [o.sessionId, o.status, o.status === 'refused' ? o.message : ''])).toEqual([
      [first.claims.sessionId, 'opened', ''],
      [first.claims.sessionId, 'refused', 'the signed opening was already used (a replay)'],
      [expired.claims.sessionId, 'refused', 'the signed opening has expired'],
      [forged.claims.sessionId, 'refused', 'the signature does not verify with the hub key pinned at enrollment'],
      [otherAgent.claims.sessionId, 'refused', 'the opening is signed for another agent'],
    ]);
  });

  it('refuses past its session cap, and says when node-pty is missing', async () => {
    const hubLink = fakeLink();
    const terminal = service(hubLink.link, { maxSessions: 1 });
    const one = signOpening();
    const two = signOpening();
    await terminal.open({ token: one.token });
    await terminal.open({ token: two.token });
    expect(hubLink.opened()[1]).toMatchObject({ sessionId: two.claims.sessionId, status: 'refused', refusal: 'limit' });

    const bare = fakeLink();
    const withoutPty = service(bare.link, { loadPty: () => ({ ok: false, message: 'terminal unavailable: node-pty is not installed next to the agent' }) });
    const three = signOpening();
    await withoutPty.open({ token: three.token });
    expect(bare.opened()).toEqual([{ sessionId: three.claims.sessionId, status: 'refused', refusal: 'unavailable', message: 'terminal unavailable: node-pty is not installed next to the agent' }]);
  });

  it('stops reading a flooding shell while its output is unacknowledged, and resumes after', async () => {
    const hubLink = fakeLink(true);
    const terminal = service(hubLink.link);
    const { token, claims } = signOpening();
    await terminal.open({ token });
    typeLine(terminal, claims.sessionId, 'yes');
    const sentBytes = () => hubLink.outputs().reduce((sum, o) => sum + o.data.byteLength, 0);
    await waitFor(() => sentBytes() >= TERMINAL_OUTPUT_WINDOW_BYTES, 5_000, 'the window to fill');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const whilePaused = sentBytes();
    // At most one batch beyond the window: the PTY was paused, not the shell's output dropped.
    expect(whilePaused).toBeLessThanOrEqual(TERMINAL_OUTPUT_WINDOW_BYTES + MAX_TERMINAL_CHUNK_BYTES);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sentBytes()).toBe(whilePaused);
    hubLink.releaseHeld();
    await waitFor(() => sentBytes() > whilePaused, 5_000, 'output to flow again');
    terminal.input({ sessionId: claims.sessionId, data: Buffer.from('\x03') });
    hubLink.releaseHeld();
  });
});
