import {
  AgentListSchema,
  AgentSchema,
  AgentSummaryListSchema,
  AuditListSchema,
  AuditVerifySchema,
  DEFAULT_COMMAND_TIMEOUT_MS,
  JobListSchema,
  JobSchema,
  HealthSchema,
  JoinTokenCreatedSchema,
  JoinTokenListSchema,
  MetricsResponseSchema,
  PrincipalSchema,
  ReadySchema,
  type Agent,
  type AgentCommandRequest,
  type AgentList,
  type AgentSummaryList,
  type AuditAction,
  type AuditList,
  type AuditVerify,
  type Job,
  type JobCreate,
  type JobList,
  type JobState,
  type AgentPatch,
  type AgentStatus,
  type Health,
  type JoinToken,
  type JoinTokenCreated,
  type JoinTokenCreateInput,
  type MetricsResponse,
  type Principal,
  type Ready,
  type Resolution,
} from '@farol/protocol';
import { createTransport, segment, type FarolClientOptions } from './transport.js';

export { normalizeBaseUrl, type FarolClientOptions } from './transport.js';

/** Filters of `GET /api/agents`. */
export interface ListAgentsQuery {
  status?: AgentStatus | undefined;
  /** `key=value` terms; all must match. */
  label?: string | string[] | undefined;
}

/** Range of `GET /api/agents/:id/metrics`, times in ms since epoch. */
export interface MetricsRangeQuery {
  from?: number | undefined;
  to?: number | undefined;
  resolution?: Resolution | undefined;
}

/** Filters of `GET /api/jobs`. */
export interface ListJobsQuery {
  state?: JobState | undefined;
  limit?: number | undefined;
  /** `nextCursor` of the previous page. */
  cursor?: string | undefined;
}

/** Filters of `GET /api/audit`; times in ms since epoch. */
export interface ListAuditQuery {
  actor?: string | undefined;
  action?: AuditAction | undefined;
  /** Agent id or name. */
  agent?: string | undefined;
  from?: number | undefined;
  to?: number | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** The operator who owns a token, as `GET /api/me` describes it. */
/** The authenticated operator, as `GET /api/me` answers. */
export type Me = Principal;

/** Typed access to a hub's operator API. Every method throws {@link FarolApiError} on failure. */
export interface FarolClient {
  /** The normalised base URL (no trailing slash). */
  readonly baseUrl: string;
  health(): Promise<Health>;
  ready(): Promise<Ready>;
  me(): Promise<Me>;
  listAgents(query?: ListAgentsQuery): Promise<AgentList>;
  /** The fleet page's view of every machine (`view=summary`): a few facts and the newest figures. */
  listAgentSummaries(query?: ListAgentsQuery): Promise<AgentSummaryList>;
  /** `ref` is an agent id or name. */
  getAgent(ref: string): Promise<Agent>;
  updateAgent(ref: string, patch: AgentPatch): Promise<Agent>;
  deleteAgent(ref: string): Promise<void>;
  getMetrics(ref: string, query?: MetricsRangeQuery): Promise<MetricsResponse>;
  createJoinToken(input: JoinTokenCreateInput): Promise<JoinTokenCreated>;
  listJoinTokens(): Promise<{ tokens: JoinToken[] }>;
  revokeJoinToken(id: string): Promise<void>;
  /**
   * Runs a command on one machine. Waits for the result unless `wait` is false or the machine
   * is offline; the job's state says which (`done`, or `running` with the target queued).
   */
  runCommand(ref: string, request: AgentCommandRequest, options?: { wait?: boolean }): Promise<Job>;
  restartAgent(ref: string, options?: { wait?: boolean }): Promise<Job>;
  stopAgent(ref: string, options?: { wait?: boolean }): Promise<Job>;
  /** Runs a command on many machines; answers at once with the job (targets queued or sent). */
  createJob(input: JobCreate): Promise<Job>;
  listJobs(query?: ListJobsQuery): Promise<JobList>;
  getJob(id: string): Promise<Job>;
  cancelJob(id: string): Promise<Job>;
  listAudit(query?: ListAuditQuery): Promise<AuditList>;
  verifyAudit(): Promise<AuditVerify>;
}

/** A waiting command request may take its timeout plus this long before the client gives up. */
const COMMAND_WAIT_SLACK_MS = 15_000;
const LIFECYCLE_WAIT_MS = 30_000;

/**
 * Creates a client for one hub. Uses only `fetch`, `URL` and `AbortSignal`, so the same code runs
 * in the CLI (Node 20) and the dashboard (browser).
 */
export function createFarolClient(options: FarolClientOptions): FarolClient {
  const { baseUrl, request } = createTransport(options);
  const agentPath = (ref: string) => `/api/agents/${segment(ref)}`;

  return {
    baseUrl,
    health: () => request({ method: 'GET', path: '/health', schema: HealthSchema }),
    ready: () => request({ method: 'GET', path: '/ready', schema: ReadySchema }),
    me: () => request({ method: 'GET', path: '/api/me', schema: PrincipalSchema }),
    listAgents: (query = {}) =>
      request({
        method: 'GET',
        path: '/api/agents',
        query: { status: query.status, label: query.label },
        schema: AgentListSchema,
      }),
    listAgentSummaries: (query = {}) =>
      request({
        method: 'GET',
        path: '/api/agents',
        query: { status: query.status, label: query.label, view: 'summary' },
        schema: AgentSummaryListSchema,
      }),
    getAgent: (ref) => request({ method: 'GET', path: agentPath(ref), schema: AgentSchema }),
    updateAgent: (ref, patch) => request({ method: 'PATCH', path: agentPath(ref), body: patch, schema: AgentSchema }),
    deleteAgent: (ref) => request<void>({ method: 'DELETE', path: agentPath(ref) }),
    getMetrics: (ref, query = {}) =>
      request({
        method: 'GET',
        path: `${agentPath(ref)}/metrics`,
        query: { from: query.from, to: query.to, resolution: query.resolution },
        schema: MetricsResponseSchema,
      }),
    createJoinToken: (input) =>
      request({ method: 'POST', path: '/api/join-tokens', body: input, schema: JoinTokenCreatedSchema }),
    listJoinTokens: () => request({ method: 'GET', path: '/api/join-tokens', schema: JoinTokenListSchema }),
    revokeJoinToken: (id) => request<void>({ method: 'DELETE', path: `/api/join-tokens/${segment(id)}` }),
    runCommand: (ref, body, options = {}) => {
      const commandTimeout = (body.command.kind === 'shell' ? body.command.timeoutMs : undefined) ?? body.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
      return request({
        method: 'POST',
        path: `${agentPath(ref)}/command`,
        query: { wait: options.wait === false ? 'false' : undefined },
        body,
        schema: JobSchema,
        timeoutMs: options.wait === false ? undefined : commandTimeout + COMMAND_WAIT_SLACK_MS,
      });
    },
    restartAgent: (ref, options = {}) =>
      request({ method: 'POST', path: `${agentPath(ref)}/restart`, query: { wait: options.wait === false ? 'false' : undefined }, schema: JobSchema, timeoutMs: LIFECYCLE_WAIT_MS }),
    stopAgent: (ref, options = {}) =>
      request({ method: 'POST', path: `${agentPath(ref)}/stop`, query: { wait: options.wait === false ? 'false' : undefined }, schema: JobSchema, timeoutMs: LIFECYCLE_WAIT_MS }),
    createJob: (input) => request({ method: 'POST', path: '/api/jobs', body: input, schema: JobSchema }),
    listJobs: (query = {}) =>
      request({ method: 'GET', path: '/api/jobs', query: { state: query.state, limit: query.limit, cursor: query.cursor }, schema: JobListSchema }),
    getJob: (id) => request({ method: 'GET', path: `/api/jobs/${segment(id)}`, schema: JobSchema }),
    cancelJob: (id) => request({ method: 'POST', path: `/api/jobs/${segment(id)}/cancel`, schema: JobSchema }),
    listAudit: (query = {}) =>
      request({
        method: 'GET',
        path: '/api/audit',
        query: { actor: query.actor, action: query.action, agent: query.agent, from: query.from, to: query.to, limit: query.limit, cursor: query.cursor },
        schema: AuditListSchema,
      }),
    verifyAudit: () => request({ method: 'GET', path: '/api/audit/verify', schema: AuditVerifySchema }),
  };
}
