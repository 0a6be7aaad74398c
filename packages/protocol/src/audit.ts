import { z } from 'zod';

/** What an audit entry records. New actions are additions; a name is never reused. */
export const AUDIT_ACTIONS = [
  'command.create',
  'command.result',
  'command.cancel',
  'command.result_refused',
  'auth.login',
  'auth.login_failed',
  'auth.logout',
  'auth.mfa_enabled',
  'auth.mfa_disabled',
  'auth.mfa_failed',
  /** An account's sign-in or second factor was locked after repeated failures (issue #11). */
  'auth.locked',
  'token.create',
  'token.use',
  'token.revoke',
  'user.create',
  'user.update',
  'role.create',
  'role.delete',
  'secret.set',
  'secret.delete',
  'secret.reveal',
  'secret.fetch',
  'secret.fetch_refused',
  'terminal.open',
  'terminal.close',
  'screenshot.capture',
  'screenshot.view',
  // Issue #11: every change to the fleet and its configuration (actor, target, what changed).
  'join_token.create',
  'join_token.revoke',
  'agent.enroll',
  'agent.rename',
  'agent.relabel',
  'agent.delete',
  'alert_rule.create',
  'alert_rule.update',
  'alert_rule.delete',
  'alert.acknowledge',
  'silence.create',
  'silence.end',
  'channel.create',
  'channel.update',
  'channel.delete',
  'webhook.create',
  'webhook.update',
  'webhook.delete',
  'backup.create',
  // Issue #15: agent updates, each rollout step (requested, wave started, machine updated or rolled back, finished).
  'agent_update.request',
  'agent_update.wave',
  'agent_update.succeeded',
  'agent_update.failed',
  'agent_update.finish',
  // Issue #18: container auto-update rules, and each step of an automatic container rollout.
  'container_update.rule_create',
  'container_update.rule_delete',
  'container_update.wave',
  'container_update.result',
  'container_update.finish',
  // Issue #19: service checks created, changed, deleted, or run on request.
  'check.create',
  'check.update',
  'check.delete',
  'check.run',
  /** Issue #19: `farol network ping A B` (the job that runs it is audited too). */
  'network.ping',
  'status_page.create',
  'status_page.update',
  'status_page.delete',
  // Issue #20: single sign-on (OpenID Connect): a sign-in, a sign-in the claims refused, a step-up at the provider.
  'auth.oidc_login',
  'auth.oidc_refused',
  'auth.oidc_step_up',
  // Issue #20: chat users linked to Farol users, how Telegram presses reach the hub, refused chat actions
  // (performed ones are recorded as the action itself, with `details.via: 'telegram'`).
  'chat.link',
  'chat.unlink',
  'chat.action_refused',
  'channel.telegram_updates',
  // Issue #20: a browser subscribed to or unsubscribed from alert notifications (Web Push);
  // the hub unsubscribes a browser whose push service says the subscription is gone.
  'push.subscribe',
  'push.unsubscribe',
] as const;
export const AuditActionSchema = z.enum(AUDIT_ACTIONS);
export type AuditAction = z.infer<typeof AuditActionSchema>;

export const AuditEntrySchema = z
  .object({
    seq: z.number().int().positive().describe('Position in the chain, from 1'),
    at: z.number().int().describe('ms since epoch'),
    actor: z.string().describe('`admin`, or `agent:<id>` for what an agent did'),
    action: AuditActionSchema,
    agentId: z.string().nullable(),
    jobId: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
    prevHash: z.string().describe('hash of the previous entry (64 zeros for the first)'),
    hash: z.string().describe('sha256(prevHash + canonical JSON of seq, at, actor, action, agentId, jobId, details), hex'),
  })
  .meta({ id: 'AuditEntry' });
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

export const AuditQuerySchema = z.object({
  actor: z.string().max(128).optional(),
  action: AuditActionSchema.optional(),
  agent: z.string().max(128).optional().describe('Agent id or name'),
  from: z.coerce.number().int().nonnegative().optional().describe('ms since epoch'),
  to: z.coerce.number().int().nonnegative().optional().describe('ms since epoch'),
  limit: z.coerce.number().int().min(1).max(1_000).optional().describe('Default 100'),
  cursor: z.string().regex(/^\d+$/).optional().describe('`nextCursor` of the previous page (older entries)'),
});
export type AuditQuery = z.infer<typeof AuditQuerySchema>;

export const AuditListSchema = z
  .object({ entries: z.array(AuditEntrySchema).describe('Newest first'), nextCursor: z.string().nullable() })
  .meta({ id: 'AuditList' });
export type AuditList = z.infer<typeof AuditListSchema>;

export const AuditVerifySchema = z
  .object({
    ok: z.boolean(),
    entries: z.number().int().describe('Entries checked'),
    firstBad: z
      .object({ seq: z.number().int(), reason: z.string() })
      .nullable()
      .describe('The first entry whose hash or link does not match, or where an entry is missing'),
  })
  .meta({ id: 'AuditVerify' });
export type AuditVerify = z.infer<typeof AuditVerifySchema>;

/**
 * Canonical JSON: object keys sorted at every level, no whitespace. The audit chain hashes this
 * form, so the same entry always hashes the same whatever order its fields were built in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item === undefined ? null : item)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
