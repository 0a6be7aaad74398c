import { randomBytes, sign, type KeyObject } from 'node:crypto';
import { COMMAND_AUDIENCE, COMMAND_JWS_TYPE, type CommandClaims } from '@farol/protocol';

/** Signs claims as the hub does: a compact JWS, EdDSA, with the given `typ`. */
export function signCompactJws(typ: string, claims: object, key: KeyObject): string {
  const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', typ })).toString('base64url');
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${header}.${payload}.${sign(null, Buffer.from(`${header}.${payload}`), key).toString('base64url')}`;
}

/** Command claims valid for five minutes from now, with fresh ids; `overrides` win. */
export function commandClaims(overrides: Partial<CommandClaims> & Pick<CommandClaims, 'sub' | 'command'>): CommandClaims {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: 'farol-hub',
    aud: COMMAND_AUDIENCE,
    jti: randomBytes(16).toString('base64url'),
    iat: now,
    exp: now + 300,
    commandId: `cmd_${randomBytes(8).toString('hex')}`,
    jobId: `job_${randomBytes(8).toString('hex')}`,
    timeoutMs: 10_000,
    ...overrides,
  };
}

/** A signed command for `sub`, as the hub sends it. */
export function signTestCommandClaims(claims: Partial<CommandClaims> & Pick<CommandClaims, 'sub' | 'command'>, key: KeyObject): { token: string; claims: CommandClaims } {
  const full = commandClaims(claims);
  return { token: signCompactJws(COMMAND_JWS_TYPE, full, key), claims: full };
}
