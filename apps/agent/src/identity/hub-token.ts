import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { Ed25519PublicJwk } from '@farol/protocol';

/** The pinned hub key as a node:crypto key (verification costs a tenth of WebCrypto's). */
export function hubVerificationKey(jwk: Ed25519PublicJwk): KeyObject {
  return createPublicKey({ key: { ...jwk }, format: 'jwk' });
}

/** The part of a zod schema the verifier uses. */
interface ClaimsSchema<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ message: string }> } };
}

/** One kind of hub-signed token: signed commands, command batches, terminal openings. */
export interface HubTokenKind<T extends object> {
  /** The JWS `typ` header this kind carries. */
  typ: string;
  claims: ClaimsSchema<T>;
  /** The claim that names what a refusal answers (commandId, sessionId), and its schema. */
  idClaim: string;
  idSchema: { safeParse(data: unknown): { success: boolean } };
  /** The word refusals use: "the signed <noun> is not JSON", "the <noun> is signed for another agent". */
  noun: string;
  /** False for a token that names no agent itself (a command batch: its leaves do). Default true: `sub` must be this agent. */
  addressed?: boolean;
}

/** The outcome of checking a hub-signed token. */
export type HubTokenCheck<T> =
  | { ok: true; claims: T }
  /** Not a token of our hub for this agent; `claimedId` is the unverified id claim, to address the refusal only. */
  | { ok: false; reason: string; claimedId: string | undefined };

function decodeJson(part: string): unknown {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

/**
 * Checks a compact JWS signed by the hub: EdDSA by the key pinned at enrollment, the kind's `typ`,
 * no `crit`, claims that match the protocol, addressed to this agent. Expiry and replays are the
 * caller's to judge (an expired command from our hub still gets a durable answer).
 */
export function verifyHubToken<T extends object>(token: string, hubKey: KeyObject, agentId: string, kind: HubTokenKind<T>): HubTokenCheck<T> {
  const parts = token.split('.');
  let claimedId: string | undefined;
  const refuse = (reason: string): HubTokenCheck<T> => ({ ok: false, reason, claimedId });
  if (parts.length !== 3) return refuse('not a compact JWS');
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  let header: unknown;
  let payload: unknown;
  try {
    header = decodeJson(headerPart);
    payload = decodeJson(payloadPart);
  } catch (error) {
    return refuse(`the signed ${kind.noun} is not JSON (${(error as Error).message})`);
  }
  const candidate = (payload as Record<string, unknown> | null)?.[kind.idClaim];
  if (kind.idSchema.safeParse(candidate).success) claimedId = candidate as string;
  const { alg, typ, crit } = (header ?? {}) as { alg?: unknown; typ?: unknown; crit?: unknown };
  if (alg !== 'EdDSA' || typ !== kind.typ || crit !== undefined) return refuse(`the signed ${kind.noun} has an unexpected header`);
  let valid: boolean;
  try {
    valid = verify(null, Buffer.from(`${headerPart}.${payloadPart}`), hubKey, Buffer.from(signaturePart, 'base64url'));
  } catch (error) {
    return refuse(`the signature cannot be checked (${(error as Error).message})`);
  }
  if (!valid) return refuse('the signature does not verify with the hub key pinned at enrollment');
  const claims = kind.claims.safeParse(payload);
  if (!claims.success) return refuse(`the signed claims do not match the protocol (${claims.error.issues[0]?.message ?? 'invalid'})`);
  if (kind.addressed !== false && (claims.data as { sub?: unknown }).sub !== agentId) return refuse(`the ${kind.noun} is signed for another agent`);
  return { ok: true, claims: claims.data };
}
