import { createHash, generateKeyPairSync } from 'node:crypto';
import {
  COMMAND_AUDIENCE,
  COMMAND_BATCH_JWS_TYPE,
  COMMAND_JWS_TYPE,
  commandLeafHash,
  merkleTree,
  TERMINAL_AUDIENCE,
  TERMINAL_JWS_TYPE,
  type CommandBatchClaims,
  type CommandRun,
  type TerminalOpenClaims,
} from '@farol/protocol';
import { describe, expect, it } from 'vitest';
import { verifyCommandRun, verifyCommandToken, type VerifiedBatches } from '../remote/command-token.js';
import { verifyTerminalToken } from '../terminal/terminal-token.js';
import { commandClaims, signCompactJws, signTestCommandClaims } from '../testing/signed-token.js';

// One verifier serves both kinds of hub-signed token; these pin that each kind keeps its own
// typ, id claim and wording, and that the checks shared by both refuse what they must.

const AGENT_ID = 'ag_hubtokentest0001';
const hub = generateKeyPairSync('ed25519');
const impostor = generateKeyPairSync('ed25519');
const hubKey = hub.publicKey;

function opening(overrides: Partial<TerminalOpenClaims> = {}): TerminalOpenClaims {
  const now = Math.floor(Date.now() / 1000);
  return { iss: 'farol-hub', aud: TERMINAL_AUDIENCE, sub: AGENT_ID, jti: 'j'.repeat(22), iat: now, exp: now + 30, sessionId: 'term_0123456789abcdef', actor: 'admin', cols: 80, rows: 24, ...overrides };
}

describe('verifyCommandToken', () => {
  it('accepts a command signed by the hub for this agent', () => {
    const { token, claims } = signTestCommandClaims({ sub: AGENT_ID, command: { kind: 'metrics' } }, hub.privateKey);
    expect(verifyCommandToken(token, hubKey, AGENT_ID)).toEqual({ ok: true, claims });
  });

  it('refuses another key, another agent and another typ, naming the claimed command when it can', () => {
    const claims = commandClaims({ sub: AGENT_ID, command: { kind: 'metrics' } });
    expect(verifyCommandToken(signCompactJws(COMMAND_JWS_TYPE, claims, impostor.privateKey), hubKey, AGENT_ID)).toEqual({
      ok: false,
      reason: 'the signature does not verify with the hub key pinned at enrollment',
      claimedId: claims.commandId,
    });
    expect(verifyCommandToken(signCompactJws(COMMAND_JWS_TYPE, claims, hub.privateKey), hubKey, 'ag_someoneelse00001')).toEqual({
      ok: false,
      reason: 'the command is signed for another agent',
      claimedId: claims.commandId,
    });
    expect(verifyCommandToken(signCompactJws(TERMINAL_JWS_TYPE, opening(), hub.privateKey), hubKey, AGENT_ID)).toEqual({
      ok: false,
      reason: 'the signed command has an unexpected header',
      claimedId: undefined,
    });
  });

  it('refuses what is not a compact JWS of JSON', () => {
    expect(verifyCommandToken('abc', hubKey, AGENT_ID)).toMatchObject({ ok: false, reason: 'not a compact JWS' });
    expect(verifyCommandToken('a.b.c', hubKey, AGENT_ID)).toMatchObject({ ok: false, reason: expect.stringMatching(/^the signed command is not JSON/) as unknown });
  });
});

describe('verifyTerminalToken', () => {
  it('accepts an opening and refuses a command token, addressing the refusal by session id', () => {
    const claims = opening();
    expect(verifyTerminalToken(signCompactJws(TERMINAL_JWS_TYPE, claims, hub.privateKey), hubKey, AGENT_ID)).toEqual({ ok: true, claims });
    expect(verifyTerminalToken(signCompactJws(TERMINAL_JWS_TYPE, opening({ sub: 'ag_someoneelse00001' }), hub.privateKey), hubKey, AGENT_ID)).toEqual({
      ok: false,
      reason: 'the opening is signed for another agent',
      claimedId: claims.sessionId,
    });
    const command = signTestCommandClaims({ sub: AGENT_ID, command: { kind: 'metrics' } }, hub.privateKey);
    expect(verifyTerminalToken(command.token, hubKey, AGENT_ID)).toEqual({ ok: false, reason: 'the signed opening has an unexpected header', claimedId: undefined });
  });
});

describe('verifyCommandRun (a job signed as one batch)', () => {
  const sha256 = (data: Uint8Array): Uint8Array => createHash('sha256').update(data).digest();
  const agents = ['ag_batchtest0000001', AGENT_ID, 'ag_batchtest0000003', 'ag_batchtest0000004', 'ag_batchtest0000005'];

  /** What the hub sends: one JWS over the root, and each agent its leaf and path. */
  function batch(key = hub.privateKey): { token: string; runs: CommandRun[]; claims: CommandBatchClaims } {
    const leaves = agents.map((sub, i) => ({ sub, commandId: `cmd_batchleaf000000${i}`, jti: `jti-of-leaf-number-${i}` }));
    const { root, paths } = merkleTree(sha256, leaves.map((leaf) => commandLeafHash(sha256, leaf)));
    const now = Math.floor(Date.now() / 1000);
    const claims: CommandBatchClaims = { iss: 'farol-hub', aud: COMMAND_AUDIENCE, iat: now, exp: now + 300, jobId: 'job_batchjob00000001', command: { kind: 'metrics' }, timeoutMs: 5_000, root: Buffer.from(root).toString('base64url'), size: leaves.length };
    const token = signCompactJws(COMMAND_BATCH_JWS_TYPE, claims, key);
    return { token, claims, runs: leaves.map((leaf, index) => ({ token, batch: { ...leaf, index, path: paths[index]!.map((h) => Buffer.from(h).toString('base64url')) } })) };
  }

  it('gives each agent the claims of its own leaf', () => {
    const { runs, claims } = batch();
    const { root: _root, size: _size, ...common } = claims;
    expect(verifyCommandRun(runs[1]!, hubKey, AGENT_ID)).toEqual({ ok: true, claims: { ...common, sub: AGENT_ID, commandId: 'cmd_batchleaf0000001', jti: 'jti-of-leaf-number-1' } });
    for (const [i, run] of runs.entries()) expect(verifyCommandRun(run, hubKey, agents[i]!).ok).toBe(true);
  });

  it('refuses another agent\'s leaf, a changed leaf, index or path, and another key', () => {
    const { runs } = batch();
    const mine = runs[1]!;
    const notIn = 'the command is not in the signed batch (its inclusion proof does not lead to the signed root)';
    expect(verifyCommandRun(runs[0]!, hubKey, AGENT_ID)).toEqual({ ok: false, reason: 'the command is signed for another agent', claimedId: 'cmd_batchleaf0000000' });
    // Claiming another agent's command id, or another jti (a replay in disguise), or position.
    expect(verifyCommandRun({ ...mine, batch: { ...mine.batch!, commandId: 'cmd_batchleaf0000000' } }, hubKey, AGENT_ID)).toMatchObject({ ok: false, reason: notIn });
    expect(verifyCommandRun({ ...mine, batch: { ...mine.batch!, jti: 'another-jti-entirely' } }, hubKey, AGENT_ID)).toMatchObject({ ok: false, reason: notIn });
    expect(verifyCommandRun({ ...mine, batch: { ...mine.batch!, index: 2 } }, hubKey, AGENT_ID)).toMatchObject({ ok: false, reason: notIn });
    expect(verifyCommandRun({ ...mine, batch: { ...mine.batch!, path: mine.batch!.path.toReversed() } }, hubKey, AGENT_ID)).toMatchObject({ ok: false, reason: notIn });
    expect(verifyCommandRun(batch(impostor.privateKey).runs[1]!, hubKey, AGENT_ID)).toMatchObject({ ok: false, reason: 'the signature does not verify with the hub key pinned at enrollment' });
    // A batch JWS presented as a single command, and the reverse.
    expect(verifyCommandRun({ token: mine.token }, hubKey, AGENT_ID)).toMatchObject({ ok: false, reason: 'the signed command has an unexpected header' });
    const single = signTestCommandClaims({ sub: AGENT_ID, command: { kind: 'metrics' } }, hub.privateKey);
    expect(verifyCommandRun({ token: single.token, batch: mine.batch! }, hubKey, AGENT_ID)).toMatchObject({ ok: false, reason: 'the signed command batch has an unexpected header' });
  });

  it('checks each batch signature once with a cache, and every leaf still on its own', () => {
    const { runs } = batch();
    const verified: VerifiedBatches = new Map();
    for (const [i, run] of runs.entries()) expect(verifyCommandRun(run, hubKey, agents[i]!, verified).ok).toBe(true);
    expect(verified.size).toBe(1);
    expect(verifyCommandRun({ ...runs[1]!, batch: { ...runs[1]!.batch!, index: 3 } }, hubKey, AGENT_ID, verified).ok).toBe(false);
    // A forged token is cached as refused, never as accepted.
    const forged = batch(impostor.privateKey).runs[1]!;
    expect(verifyCommandRun(forged, hubKey, AGENT_ID, verified).ok).toBe(false);
    expect(verifyCommandRun(forged, hubKey, AGENT_ID, verified).ok).toBe(false);
  });
});
