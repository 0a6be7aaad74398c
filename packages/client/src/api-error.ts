import { ProblemSchema, type ErrorCode, type FieldIssue } from '@farol/protocol';

/** What went wrong, as far as a caller needs to branch on it. */
export interface FarolApiErrorInit {
  /** HTTP status, or 0 when no response arrived (network failure, timeout). */
  status: number;
  code: ErrorCode;
  detail?: string | undefined;
  issues?: FieldIssue[] | undefined;
  /** The hub base URL the client was talking to. */
  hubUrl: string;
  cause?: unknown;
}

/**
 * A failed call to the hub: either the hub answered with a problem body, or it could not be
 * reached at all (`status` 0, `code` 'unavailable', `detail` saying why, e.g. "connection refused").
 */
export class FarolApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly detail: string | undefined;
  readonly issues: FieldIssue[] | undefined;
  readonly hubUrl: string;

  constructor(init: FarolApiErrorInit, message: string) {
    super(message, { cause: init.cause });
    this.name = 'FarolApiError';
    this.status = init.status;
    this.code = init.code;
    this.detail = init.detail;
    this.issues = init.issues;
    this.hubUrl = init.hubUrl;
  }

  /** True when no HTTP response arrived, so the hub may be down or the URL wrong. */
  get isNetworkFailure(): boolean {
    return this.status === 0;
  }

  /** True when the hub refused the credentials (401 with any of the token codes). */
  get isAuthFailure(): boolean {
    return this.status === 401;
  }
}

/** Builds the error for a request that never got a response. */
export function networkFailure(hubUrl: string, cause: unknown): FarolApiError {
  const reason = describeNetworkFailure(cause);
  return new FarolApiError(
    { status: 0, code: 'unavailable', detail: reason, hubUrl, cause },
    `cannot reach the hub at ${hubUrl}: ${reason}`,
  );
}

/** Builds the error for a non-2xx response, from its problem body when it has one. */
export function responseFailure(hubUrl: string, status: number, statusText: string, body: unknown): FarolApiError {
  const problem = ProblemSchema.safeParse(body);
  if (problem.success) {
    const { code, detail, issues, title } = problem.data;
    return new FarolApiError(
      { status, code, detail, issues, hubUrl },
      `the hub answered ${status} ${code}: ${detail ?? title}`,
    );
  }
  // Not a Farol problem body: a proxy page, an older hub, or something else on that port.
  const code = codeForStatus(status);
  const detail = `HTTP ${status}${statusText ? ` ${statusText}` : ''} without a Farol problem body`;
  return new FarolApiError({ status, code, detail, hubUrl }, `the hub answered ${status} ${code}: ${detail}`);
}

/** Builds the error for a 2xx response whose body does not match the protocol schema. */
export function contractFailure(hubUrl: string, status: number, what: string, cause: unknown): FarolApiError {
  const detail = `the response to ${what} does not match the protocol (is the hub a different Farol version?)`;
  return new FarolApiError({ status, code: 'internal', detail, hubUrl, cause }, detail);
}

const STATUS_CODES: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  429: 'rate_limited',
  502: 'unavailable',
  503: 'unavailable',
  504: 'unavailable',
};

function codeForStatus(status: number): ErrorCode {
  return STATUS_CODES[status] ?? (status >= 500 ? 'internal' : 'bad_request');
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed by the other side',
  UND_ERR_HEADERS_TIMEOUT: 'no response in time',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS certificate chain is self-signed',
  CERT_HAS_EXPIRED: 'TLS certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate does not match the host name',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate cannot be verified',
};

/**
 * Turns what fetch threw into a few words. Node's fetch throws `TypeError('fetch failed')` with
 * the system error as `cause` (an AggregateError when several addresses were tried); browsers
 * give no detail at all.
 */
export function describeNetworkFailure(error: unknown): string {
  for (const candidate of causeChain(error)) {
    if (candidate instanceof Error && candidate.name === 'TimeoutError') return 'no response in time';
    const code = (candidate as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && NETWORK_REASONS[code]) return NETWORK_REASONS[code];
  }
  for (const candidate of causeChain(error)) {
    const code = (candidate as { code?: unknown } | null)?.code;
    if (typeof code === 'string') return code;
  }
  const last = causeChain(error).at(-1);
  return last instanceof Error && last.message ? last.message : 'network error';
}

function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  const queue: unknown[] = [error];
  while (queue.length > 0 && chain.length < 16) {
    const current = queue.shift();
    if (current === undefined || current === null || chain.includes(current)) continue;
    chain.push(current);
    if (current instanceof AggregateError) queue.push(...current.errors);
    if (current instanceof Error) queue.push(current.cause);
  }
  return chain;
}

