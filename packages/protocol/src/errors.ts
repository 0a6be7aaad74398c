import { z } from 'zod';

/**
 * The closed list of error codes Farol returns. Every HTTP problem body and every socket
 * error ack carries one of these; clients may branch on them, so a code is never renamed.
 */
export const ERROR_CODES = [
  'bad_request',
  'validation_failed',
  'payload_too_large',
  'unauthorized',
  'forbidden',
  'mfa_required',
  'reauth_required',
  'not_found',
  'conflict',
  'name_taken',
  'rate_limited',
  'unknown_event',
  'protocol_version_unsupported',
  'token_invalid',
  'token_expired',
  'token_replayed',
  'token_revoked',
  'token_used_up',
  'agent_deleted',
  'agent_unknown',
  'key_revoked',
  'internal',
  'unavailable',
  'no_display',
  'command_refused',
  'agent_offline',
  'command_failed',
  'destination_refused',
  'session_limit',
  'terminal_unavailable',
  /** Password sign-in is turned off (FAROL_LOCAL_SIGNIN=off): sign in with single sign-on (issue #20). */
  'password_signin_off',
] as const;

export const ErrorCodeSchema = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

/** The HTTP status each code maps to; the one place that mapping lives. */
export const ERROR_HTTP_STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  validation_failed: 400,
  payload_too_large: 413,
  unauthorized: 401,
  forbidden: 403,
  mfa_required: 403,
  reauth_required: 403,
  not_found: 404,
  conflict: 409,
  name_taken: 409,
  rate_limited: 429,
  unknown_event: 400,
  protocol_version_unsupported: 426,
  token_invalid: 401,
  token_expired: 401,
  token_replayed: 401,
  token_revoked: 401,
  token_used_up: 401,
  agent_deleted: 410,
  agent_unknown: 401,
  key_revoked: 403,
  internal: 500,
  unavailable: 503,
  no_display: 422,
  command_refused: 403,
  agent_offline: 409,
  command_failed: 502,
  destination_refused: 400,
  session_limit: 429,
  terminal_unavailable: 501,
  password_signin_off: 403,
};

/** One field-level problem inside a validation error. */
export const FieldIssueSchema = z.object({
  path: z.string().describe('Dotted path of the offending field, empty for the root'),
  message: z.string(),
});
export type FieldIssue = z.infer<typeof FieldIssueSchema>;

/** RFC 9457 problem body with Farol's stable `code`. */
export const ProblemSchema = z
  .object({
    type: z.string().describe('URI naming the problem type: urn:farol:error:<code>'),
    title: z.string(),
    status: z.number().int(),
    code: ErrorCodeSchema,
    detail: z.string().optional(),
    issues: z.array(FieldIssueSchema).optional(),
  })
  .meta({ id: 'Problem' });
export type Problem = z.infer<typeof ProblemSchema>;

/** A socket acknowledgement that reports failure. */
export const ErrorAckSchema = z.object({
  ok: z.literal(false),
  error: z.object({
    code: ErrorCodeSchema,
    message: z.string(),
    issues: z.array(FieldIssueSchema).optional(),
  }),
});
export type ErrorAck = z.infer<typeof ErrorAckSchema>;

/** A typed error that services throw and transports map to a problem body or an error ack. */
export class FarolError extends Error {
  readonly code: ErrorCode;
  readonly issues: FieldIssue[] | undefined;
  constructor(code: ErrorCode, message: string, options?: { issues?: FieldIssue[]; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.name = 'FarolError';
    this.code = code;
    this.issues = options?.issues;
  }
  get status(): number {
    return ERROR_HTTP_STATUS[this.code];
  }
}

/** Converts zod issues to Farol's field issues. */
export function toFieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
}

/** Builds the problem body for an error code. */
export function problemFor(code: ErrorCode, detail?: string, issues?: FieldIssue[]): Problem {
  return {
    type: `urn:farol:error:${code}`,
    title: code.replaceAll('_', ' '),
    status: ERROR_HTTP_STATUS[code],
    code,
    ...(detail === undefined ? {} : { detail }),
    ...(issues === undefined ? {} : { issues }),
  };
}

/** Builds the error ack for an error code. */
export function errorAck(code: ErrorCode, message: string, issues?: FieldIssue[]): ErrorAck {
  return { ok: false, error: { code, message, ...(issues === undefined ? {} : { issues }) } };
}
