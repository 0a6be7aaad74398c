import { randomBytes, randomUUID } from 'node:crypto';
import { errors, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type CryptoKey } from 'jose';
import { AGENT_TOKEN_AUDIENCE, Ed25519PublicJwkSchema, HUB_PROOF_ISSUER, type Ed25519PublicJwk } from '@farol/protocol';
import type { Clock } from '../runtime/clock.js';
import { Ed25519PrivateJwkSchema, type Ed25519PrivateJwk } from './identity.schema.js';

/** Lifetime of a connect token: long enough for a slow handshake, far under the hub's 60 s cap. */
export const CONNECT_TOKEN_LIFETIME_SECONDS = 30;

/** The agent's Ed25519 key pair as JWKs. */
export interface AgentKeyPair {
  privateKeyJwk: Ed25519PrivateJwk;
  publicKeyJwk: Ed25519PublicJwk;
}

/** Generates the agent's Ed25519 key pair, as JWKs ready for identity.json. */
export async function generateAgentKeyPair(): Promise<AgentKeyPair> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const privateJwk = await exportJWK(privateKey);
  return {
    publicKeyJwk: Ed25519PublicJwkSchema.parse({ kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x }),
    privateKeyJwk: Ed25519PrivateJwkSchema.parse({ kty: privateJwk.kty, crv: privateJwk.crv, x: privateJwk.x, d: privateJwk.d }),
  };
}

/** Imports a JWK (private or public) for signing or verifying EdDSA. */
export async function importEd25519Key(jwk: Ed25519PublicJwk | Ed25519PrivateJwk): Promise<CryptoKey> {
  const key = await importJWK({ ...jwk }, 'EdDSA');
  if (key instanceof Uint8Array) throw new Error('expected an Ed25519 key, got a symmetric secret');
  return key;
}

/**
 * Signs the token the agent presents in the Socket.IO handshake. A fresh one per connection
 * attempt: a unique `jti` lets the hub refuse replays, a 30 s `exp` bounds a leaked token.
 */
export async function signConnectToken(options: { agentId: string; privateKey: CryptoKey; clock: Clock }): Promise<string> {
  const now = Math.floor(options.clock.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
    .setSubject(options.agentId)
    .setAudience(AGENT_TOKEN_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + CONNECT_TOKEN_LIFETIME_SECONDS)
    .setJti(randomUUID())
    .sign(options.privateKey);
}

/** 32 random bytes, base64url: the nonce the hub must sign back in its hello proof. */
export function createChallenge(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * True when `proof` is a JWS by the pinned hub key over this agent and this challenge. This is
 * what stops an impostor hub (DNS hijack, wrong URL) from receiving the machine's data.
 */
export async function verifyHubProof(options: {
  proof: string;
  hubPublicKey: CryptoKey;
  agentId: string;
  challenge: string;
  clock: Clock;
}): Promise<boolean> {
  try {
    const { payload } = await jwtVerify(options.proof, options.hubPublicKey, {
      issuer: HUB_PROOF_ISSUER,
      subject: options.agentId,
      algorithms: ['EdDSA'],
      currentDate: new Date(options.clock.now()),
    });
    return payload.nonce === options.challenge;
  } catch (error) {
    // A bad signature, wrong issuer or expired proof all mean the same thing to the caller:
    // this hub did not prove it holds the pinned key. The caller logs it.
    if (error instanceof errors.JOSEError) return false;
    throw error;
  }
}
