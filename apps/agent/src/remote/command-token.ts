import { createHash, type KeyObject } from 'node:crypto';
import {
  COMMAND_BATCH_JWS_TYPE,
  CommandBatchClaimsSchema,
  CommandClaimsSchema,
  CommandIdSchema,
  COMMAND_JWS_TYPE,
  commandClaimsFromBatch,
  type CommandBatchClaims,
  type CommandClaims,
  type CommandRun,
} from '@farol/protocol';
import { verifyHubToken, type HubTokenCheck } from '../identity/hub-token.js';

const sha256 = (data: Uint8Array): Uint8Array => createHash('sha256').update(data).digest();

/**
 * Checks a compact JWS command (see verifyHubToken); a refusal's `claimedId` is the unverified
 * commandId. Expiry and replays are the executor's to judge: an expired command from our hub
 * still gets a durable answer.
 */
export function verifyCommandToken(token: string, hubKey: KeyObject, agentId: string): HubTokenCheck<CommandClaims> {
  return verifyHubToken(token, hubKey, agentId, { typ: COMMAND_JWS_TYPE, claims: CommandClaimsSchema, idClaim: 'commandId', idSchema: CommandIdSchema, noun: 'command' });
}

/** Batch signatures already checked, by token (the simulator: many agents, one process). */
export type VerifiedBatches = Map<string, HubTokenCheck<CommandBatchClaims>>;
const VERIFIED_BATCHES_KEPT = 64;

/**
 * Checks a `command:run`: a command signed on its own, or one leaf of a job's batch, whose
 * signature covers the Merkle root its inclusion proof must lead to. Either way the result is
 * the same CommandClaims. `verified` lets one process that plays many agents check each batch
 * signature once (every real machine checks it on its own CPU); the leaf and its proof are
 * always checked.
 */
export function verifyCommandRun(run: CommandRun, hubKey: KeyObject, agentId: string, verified?: VerifiedBatches): HubTokenCheck<CommandClaims> {
  if (!run.batch) return verifyCommandToken(run.token, hubKey, agentId);
  const proof = run.batch;
  const refuse = (reason: string): HubTokenCheck<CommandClaims> => ({ ok: false, reason, claimedId: proof.commandId });
  let signed = verified?.get(run.token);
  if (!signed) {
    signed = verifyHubToken(run.token, hubKey, agentId, { typ: COMMAND_BATCH_JWS_TYPE, claims: CommandBatchClaimsSchema, idClaim: 'commandId', idSchema: CommandIdSchema, noun: 'command batch', addressed: false });
    if (verified) {
      verified.set(run.token, signed);
      if (verified.size > VERIFIED_BATCHES_KEPT) verified.delete(verified.keys().next().value!);
    }
  }
  if (!signed.ok) return refuse(signed.reason);
  if (proof.sub !== agentId) return refuse('the command is signed for another agent');
  const claims = commandClaimsFromBatch(sha256, signed.claims, proof, (hash) => Buffer.from(hash, 'base64url'));
  if (!claims) return refuse('the command is not in the signed batch (its inclusion proof does not lead to the signed root)');
  return { ok: true, claims };
}
