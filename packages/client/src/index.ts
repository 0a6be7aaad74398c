/**
 * @farol/client: typed access to a Farol hub, shared by the CLI and the web dashboard. The HTTP
 * part uses only fetch, so it runs in Node 20 and in browsers alike.
 */
export { FarolApiError, describeNetworkFailure, type FarolApiErrorInit } from './api-error.js';
export type { HttpMethod } from './transport.js';
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
export { createSecretsClient, type SecretsClient } from './secrets.client.js';
export { createContainersClient, type ContainersClient } from './containers.client.js';
export { createScreenshotsClient, type ScreenshotImage, type ScreenshotsClient } from './screenshots.client.js';
export { openTerminal, TerminalError, type OpenTerminalOptions, type TerminalSession } from './terminal.client.js';
export { createAlertsClient, type AlertsClient, type ListAlertsQuery } from './alerts.client.js';
export { createAccountsClient, type AccountsClient, type AccountsClientOptions } from './accounts.client.js';
export { createChannelsClient, type ChannelsClient } from './channels.client.js';
export { createTerminalSessionsClient, type TerminalSessionsClient } from './terminal-sessions.client.js';
export { createUpdatesClient, type UpdatesClient } from './updates.client.js';
export { createChecksClient, type ChecksClient } from './checks.client.js';
export { createNetworkClient, type NetworkClient } from './network.client.js';
export { createPushClient, type PushClient } from './push.client.js';
export { createChatClient, type ChatClient } from './chat.client.js';
