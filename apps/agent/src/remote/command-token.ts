import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { CommandClaimsSchema, CommandIdSchema, COMMAND_JWS_TYPE, type CommandClaims, type Ed25519PublicJwk } from '@farol/protocol';

/** The outcome of checking a signed command. */
export type CommandTokenCheck =
  | { ok: true; claims: CommandClaims }
  /** Not a command of our hub for this agent; `commandId` is the unverified claim, for the refusal only. */
  | { ok: false; reason: string; commandId: string | undefined };

/** The pinned hub key as a node:crypto key (verification costs a tenth of WebCrypto's). */
export function hubVerificationKey(jwk: Ed25519PublicJwk): KeyObject {
  return createPublicKey({ key: { ...jwk }, format: 'jwk' });
}

function decodeJson(part: string): unknown {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

/**
 * Checks a compact JWS command: EdDSA by the pinned hub key, `typ` of a command, claims that
 * match the protocol, addressed to this agent. Expiry and replays are the executor's to judge:
 * an expired command from our hub still gets a durable answer.
 */
export function verifyCommandToken(token: string, hubKey: KeyObject, agentId: string): CommandTokenCheck {
  const parts = token.split('.');
  let claimedId: string | undefined;
  const refuse = (reason: string): CommandTokenCheck => ({ ok: false, reason, commandId: claimedId });
  if (parts.length !== 3) return refuse('not a compact JWS');
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  let header: unknown;
  let payload: unknown;
  try {
    header = decodeJson(headerPart);
    payload = decodeJson(payloadPart);
  } catch (error) {
    return refuse(`the signed command is not JSON (${(error as Error).message})`);
  }
  const candidate = (payload as { commandId?: unknown } | null)?.commandId;
  if (CommandIdSchema.safeParse(candidate).success) claimedId = candidate as string;
  const { alg, typ, crit } = (header ?? {}) as { alg?: unknown; typ?: unknown; crit?: unknown };
  if (alg !== 'EdDSA' || typ !== COMMAND_JWS_TYPE || crit !== undefined) return refuse('the signed command has an unexpected header');
  let valid: boolean;
  try {
    valid = verify(null, Buffer.from(`${headerPart}.${payloadPart}`), hubKey, Buffer.from(signaturePart, 'base64url'));
  } catch (error) {
    return refuse(`the signature cannot be checked (${(error as Error).message})`);
  }
  if (!valid) return refuse('the signature does not verify with the hub key pinned at enrollment');
  const claims = CommandClaimsSchema.safeParse(payload);
  if (!claims.success) return refuse(`the signed claims do not match the protocol (${claims.error.issues[0]?.message ?? 'invalid'})`);
  if (claims.data.sub !== agentId) return refuse('the command is signed for another agent');
  return { ok: true, claims: claims.data };
}
