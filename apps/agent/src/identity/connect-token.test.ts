import { decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT, type CryptoKey } from 'jose';
import { describe, expect, it } from 'vitest';
import { AGENT_TOKEN_AUDIENCE, AGENT_TOKEN_MAX_LIFETIME_SECONDS, HUB_PROOF_ISSUER } from '@farol/protocol';
import { createImpostorKey } from '../testing/test-hub.js';
import { createChallenge, generateAgentKeyPair, importEd25519Key, signConnectToken, verifyHubProof } from './connect-token.js';

const agentId = 'ag_0123456789abcdef';
const clock = { now: () => 1_800_000_000_000 };

describe('connect token', () => {
  it('is an EdDSA JWT for this agent and the hub audience, short-lived', async () => {
    const keys = await generateAgentKeyPair();
    const token = await signConnectToken({ agentId, privateKey: await importEd25519Key(keys.privateKeyJwk), clock });

    expect(decodeProtectedHeader(token)).toEqual({ alg: 'EdDSA', typ: 'JWT' });
    const claims = decodeJwt(token);
    expect(claims.sub).toBe(agentId);
    expect(claims.aud).toBe(AGENT_TOKEN_AUDIENCE);
    expect(claims.iat).toBe(1_800_000_000);
    expect(claims.exp! - claims.iat!).toBeGreaterThan(0);
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(AGENT_TOKEN_MAX_LIFETIME_SECONDS);
    await expect(
      jwtVerify(token, await importEd25519Key(keys.publicKeyJwk), { audience: AGENT_TOKEN_AUDIENCE, currentDate: new Date(clock.now()) }),
    ).resolves.toBeTruthy();
  });

  it('carries a unique jti every time, so the hub can refuse replays', async () => {
    const keys = await generateAgentKeyPair();
    const privateKey = await importEd25519Key(keys.privateKeyJwk);
    const tokens = await Promise.all(Array.from({ length: 50 }, () => signConnectToken({ agentId, privateKey, clock })));
    const jtis = tokens.map((token) => decodeJwt(token).jti);
    expect(jtis.every((jti) => typeof jti === 'string' && jti.length >= 16)).toBe(true);
    expect(new Set(jtis).size).toBe(50);
  });

  it('exports keys as Ed25519 JWKs with the private half only in the private JWK', async () => {
    const keys = await generateAgentKeyPair();
    expect(Object.keys(keys.publicKeyJwk).sort()).toEqual(['crv', 'kty', 'x']);
    expect(keys.privateKeyJwk.x).toBe(keys.publicKeyJwk.x);
    expect(keys.privateKeyJwk.d).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('hub proof', () => {
  async function proof(signer: CryptoKey, claims: { sub?: string; nonce: string; iss?: string }) {
    return new SignJWT({ nonce: claims.nonce })
      .setProtectedHeader({ alg: 'EdDSA' })
      .setIssuer(claims.iss ?? HUB_PROOF_ISSUER)
      .setSubject(claims.sub ?? agentId)
      .setIssuedAt(Math.floor(clock.now() / 1000))
      .setExpirationTime(Math.floor(clock.now() / 1000) + 60)
      .sign(signer);
  }

  it('accepts only the pinned key signing this agent and this challenge', async () => {
    const hub = await generateAgentKeyPair();
    const hubPrivate = await importEd25519Key(hub.privateKeyJwk);
    const hubPublicKey = await importEd25519Key(hub.publicKeyJwk);
    const challenge = createChallenge();
    expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const verify = async (jws: string) => verifyHubProof({ proof: jws, hubPublicKey, agentId, challenge, clock });

    expect(await verify(await proof(hubPrivate, { nonce: challenge }))).toBe(true);
    expect(await verify(await proof(await createImpostorKey(), { nonce: challenge }))).toBe(false);
    expect(await verify(await proof(hubPrivate, { nonce: createChallenge() }))).toBe(false);
    expect(await verify(await proof(hubPrivate, { nonce: challenge, sub: 'ag_ffffffffffffffff' }))).toBe(false);
    expect(await verify(await proof(hubPrivate, { nonce: challenge, iss: 'someone-else' }))).toBe(false);
    expect(await verify('not-a-jws')).toBe(false);
  });
});
