import type { KeyObject } from 'node:crypto';
import { TERMINAL_JWS_TYPE, TerminalOpenClaimsSchema, TerminalSessionIdSchema, type TerminalOpenClaims } from '@farol/protocol';
import { verifyHubToken, type HubTokenCheck } from '../identity/hub-token.js';

/**
 * Checks a compact JWS terminal opening (see verifyHubToken); a refusal's `claimedId` is the
 * unverified sessionId. Expiry and replays are checked by the caller, which keeps the seen ids.
 */
export function verifyTerminalToken(token: string, hubKey: KeyObject, agentId: string): HubTokenCheck<TerminalOpenClaims> {
  return verifyHubToken(token, hubKey, agentId, { typ: TERMINAL_JWS_TYPE, claims: TerminalOpenClaimsSchema, idClaim: 'sessionId', idSchema: TerminalSessionIdSchema, noun: 'opening' });
}
