import { generateKeyPairSync } from 'node:crypto';
import { COMMAND_JWS_TYPE, TERMINAL_AUDIENCE, TERMINAL_JWS_TYPE, type TerminalOpenClaims } from '@farol/protocol';
import { describe, expect, it } from 'vitest';
import { verifyCommandToken } from '../remote/command-token.js';
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
