import type { KeyObject } from 'node:crypto';
import { CommandClaimsSchema, CommandIdSchema, COMMAND_JWS_TYPE, type CommandClaims } from '@farol/protocol';
import { verifyHubToken, type HubTokenCheck } from '../identity/hub-token.js';

/**
 * Checks a compact JWS command (see verifyHubToken); a refusal's `claimedId` is the unverified
 * commandId. Expiry and replays are the executor's to judge: an expired command from our hub
 * still gets a durable answer.
 */
export function verifyCommandToken(token: string, hubKey: KeyObject, agentId: string): HubTokenCheck<CommandClaims> {
  return verifyHubToken(token, hubKey, agentId, { typ: COMMAND_JWS_TYPE, claims: CommandClaimsSchema, idClaim: 'commandId', idSchema: CommandIdSchema, noun: 'command' });
}
