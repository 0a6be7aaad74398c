import { verify, type KeyObject } from 'node:crypto';
import { TERMINAL_JWS_TYPE, TerminalOpenClaimsSchema, TerminalSessionIdSchema, type TerminalOpenClaims } from '@farol/protocol';

/** The outcome of checking a signed terminal opening. */
export type TerminalTokenCheck =
  | { ok: true; claims: TerminalOpenClaims }
  /** `sessionId` is the unverified claim, used only to address the refusal. */
  | { ok: false; reason: string; sessionId: string | undefined };

function decodeJson(part: string): unknown {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

/**
 * Checks a compact JWS terminal opening: EdDSA by the pinned hub key, the terminal `typ`, claims
 * that match the protocol, addressed to this agent. Expiry and replays are checked by the caller,
 * which keeps the seen ids.
 */
export function verifyTerminalToken(token: string, hubKey: KeyObject, agentId: string): TerminalTokenCheck {
  const parts = token.split('.');
  let sessionId: string | undefined;
  const refuse = (reason: string): TerminalTokenCheck => ({ ok: false, reason, sessionId });
  if (parts.length !== 3) return refuse('not a compact JWS');
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  let header: unknown;
  let payload: unknown;
  try {
    header = decodeJson(headerPart);
    payload = decodeJson(payloadPart);
  } catch (error) {
    return refuse(`the signed opening is not JSON (${(error as Error).message})`);
  }
  const candidate = (payload as { sessionId?: unknown } | null)?.sessionId;
  if (TerminalSessionIdSchema.safeParse(candidate).success) sessionId = candidate as string;
  const { alg, typ, crit } = (header ?? {}) as { alg?: unknown; typ?: unknown; crit?: unknown };
  if (alg !== 'EdDSA' || typ !== TERMINAL_JWS_TYPE || crit !== undefined) return refuse('the signed opening has an unexpected header');
  let valid: boolean;
  try {
    valid = verify(null, Buffer.from(`${headerPart}.${payloadPart}`), hubKey, Buffer.from(signaturePart, 'base64url'));
  } catch (error) {
    return refuse(`the signature cannot be checked (${(error as Error).message})`);
  }
  if (!valid) return refuse('the signature does not verify with the hub key pinned at enrollment');
  const claims = TerminalOpenClaimsSchema.safeParse(payload);
  if (!claims.success) return refuse(`the signed claims do not match the protocol (${claims.error.issues[0]?.message ?? 'invalid'})`);
  if (claims.data.sub !== agentId) return refuse('the opening is signed for another agent');
  return { ok: true, claims: claims.data };
}
