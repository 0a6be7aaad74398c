import { AgentContainersSchema, type AgentContainers } from '@farol/protocol';
import { contractFailure, networkFailure, responseFailure } from './api-error.js';
import { normalizeBaseUrl, type FarolClientOptions } from './http.client.js';

/**
 * A machine's containers (issue #3). Acting on them (docker_restart, docker_logs ...) is a
 * command like any other: `FarolClient.runCommand`. Throws FarolApiError on failure.
 */
export interface ContainersClient {
  /** The containers and Docker status from the machine's latest heartbeat. */
  listContainers(agentRef: string): Promise<AgentContainers>;
}

export function createContainersClient(options: FarolClientOptions): ContainersClient {
  const baseUrl = normalizeBaseUrl(options.baseUrl);
  const doFetch: typeof fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const timeoutMs = options.timeoutMs ?? 30_000;

  return {
    async listContainers(agentRef) {
      const path = `/api/agents/${encodeURIComponent(agentRef)}/containers`;
      const headers: Record<string, string> = { accept: 'application/json' };
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      let response: Response;
      let text: string;
      try {
        response = await doFetch(`${baseUrl}${path}`, { method: 'GET', headers, signal: timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined });
        text = await response.text();
      } catch (error) {
        throw networkFailure(baseUrl, error);
      }
      let body: unknown = text;
      try {
        body = text === '' ? text : JSON.parse(text);
      } catch (error) {
        // Not JSON (a proxy's error page): responseFailure describes it by status.
        if (!(error instanceof SyntaxError)) throw error;
      }
      if (!response.ok) throw responseFailure(baseUrl, response.status, response.statusText, body);
      const parsed = AgentContainersSchema.safeParse(body);
      if (!parsed.success) throw contractFailure(baseUrl, response.status, `GET ${path}`, parsed.error);
      return parsed.data;
    },
  };
}
