/**
 * @farol/client: typed access to a Farol hub, shared by the CLI and the web dashboard. The HTTP
 * part uses only fetch, so it runs in Node 20 and in browsers alike.
 */
export { FarolApiError, describeNetworkFailure, type FarolApiErrorInit } from './api-error.js';
export {
  createFarolClient,
  normalizeBaseUrl,
  type FarolClient,
  type FarolClientOptions,
  type ListAgentsQuery,
  type ListAuditQuery,
  type ListJobsQuery,
  type Me,
  type MetricsRangeQuery,
} from './http.client.js';
export {
  connectUi,
  onUiEvent,
  readConnectError,
  unwatchJob,
  watchJob,
  type ConnectUiOptions,
  type UiEventPayload,
  type UiSocket,
} from './realtime.client.js';
