import {
  EnrollResponseSchema,
  PROTOCOL_VERSION,
  ProblemSchema,
  type EnrollRequest,
  type EnrollResponse,
  type SystemInfo,
} from '@farol/protocol';
import { AgentExitError, EXIT_CODES } from '../runtime/exit-error.js';
import type { Clock } from '../runtime/clock.js';
import { generateAgentKeyPair } from './connect-token.js';
import type { IdentityFile } from './identity.schema.js';

/** The global fetch, or a replacement with the same signature. */
export type FetchFunction = typeof fetch;

/** What enrollment needs: the hub, the join token and this machine's facts. */
export interface EnrollOptions {
  hubUrl: string;
  joinToken: string;
  system: SystemInfo;
  name?: string;
  clock: Clock;
  fetch?: FetchFunction;
  /** Abort a hung request; enrollment is interactive, so it must not wait forever. */
  timeoutMs?: number;
}

/**
 * The hub could not be reached, or answered as a hub does while down (502/503/504 from a
 * proxy in front of it): worth retrying, unlike a refused token (issue #12).
 */
export class HubUnreachableError extends AgentExitError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT_CODES.failure, options);
    this.name = 'HubUnreachableError';
  }
}

/** Network failures a hub that is down or starting causes (and the request timeout). */
const RETRYABLE_NETWORK = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ENOTFOUND|UND_ERR_CONNECT_TIMEOUT|UND_ERR_SOCKET|TimeoutError)$/;

/** `https://hub:8080/` → `https://hub:8080`, so paths can be appended. */
export function normalizeHubUrl(hubUrl: string): string {
  return hubUrl.replace(/\/+$/, '');
}

/**
 * Posts the enrollment request and returns the response body. A refusal becomes an
 * AgentExitError reading `enrollment refused: <detail> (<code>)`.
 */
export async function postEnrollment(
  hubUrl: string,
  request: EnrollRequest,
  options: { fetch?: FetchFunction; timeoutMs?: number } = {},
): Promise<EnrollResponse> {
  const doFetch = options.fetch ?? fetch;
  const url = `${normalizeHubUrl(hubUrl)}/api/enroll`;
  let response: Response;
  try {
    response = await doFetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
  } catch (error) {
    const reason = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    const code = String(((error as Error).cause as { code?: unknown } | undefined)?.code ?? (error as { name?: unknown }).name ?? '');
    // Only what time can cure is retried; a certificate or a wrong URL scheme is not.
    if (RETRYABLE_NETWORK.test(code)) throw new HubUnreachableError(`cannot reach the hub at ${hubUrl}: ${reason} (check --hub)`, { cause: error });
    const tlsHint = /CERT|SELF_SIGNED|UNABLE_TO_|ERR_TLS|ERR_SSL|EPROTO/.test(code) ? '; a private CA needs --ca-file' : '';
    throw new AgentExitError(`cannot reach the hub at ${hubUrl}: ${reason} (check --hub${tlsHint})`, EXIT_CODES.failure, { cause: error });
  }
  const text = await response.text();
  if ([502, 503, 504].includes(response.status)) {
    throw new HubUnreachableError(`the hub at ${hubUrl} is not answering (HTTP ${response.status} from ${url})`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new AgentExitError(
      `enrollment failed: ${url} answered HTTP ${response.status} with a body that is not JSON (is --hub a Farol hub?)`,
      EXIT_CODES.failure,
      { cause: error },
    );
  }
  if (!response.ok) {
    const problem = ProblemSchema.safeParse(body);
    if (problem.success) {
      const detail = problem.data.detail ?? problem.data.title;
      throw new AgentExitError(`enrollment refused: ${detail} (${problem.data.code})`, EXIT_CODES.failure);
    }
    throw new AgentExitError(`enrollment refused: HTTP ${response.status}`, EXIT_CODES.failure);
  }
  const parsed = EnrollResponseSchema.safeParse(body);
  if (!parsed.success) {
    throw new AgentExitError(
      `enrollment failed: the hub's answer does not match protocol ${PROTOCOL_VERSION} (${parsed.error.issues[0]?.message ?? 'invalid'}); upgrade the agent or the hub`,
      EXIT_CODES.failure,
    );
  }
  return parsed.data;
}

/** Generates a key pair, enrolls it with the hub and returns the identity to save. */
export async function enrollAgent(options: EnrollOptions): Promise<IdentityFile> {
  const keys = await generateAgentKeyPair();
  const response = await postEnrollment(
    options.hubUrl,
    {
      token: options.joinToken,
      publicKey: keys.publicKeyJwk,
      system: options.system,
      protocolVersion: PROTOCOL_VERSION,
      ...(options.name === undefined ? {} : { name: options.name }),
    },
    { ...(options.fetch ? { fetch: options.fetch } : {}), ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) },
  );
  return {
    agentId: response.agentId,
    name: response.name,
    labels: response.labels,
    hubUrl: normalizeHubUrl(options.hubUrl),
    privateKeyJwk: keys.privateKeyJwk,
    publicKeyJwk: keys.publicKeyJwk,
    hubPublicKey: response.hubPublicKey,
    hubKeyFingerprint: response.hubKeyFingerprint,
    enrolledAt: options.clock.now(),
  };
}
