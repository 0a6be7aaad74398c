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
