import {
  AlertDetailSchema,
  AlertListSchema,
  AlertRuleListSchema,
  AlertRuleSchema,
  AlertSchema,
  SilenceListSchema,
  SilenceSchema,
  type Alert,
  type AlertDetail,
  type AlertList,
  type AlertRule,
  type AlertRuleInput,
  type AlertRulePatch,
  type Silence,
  type SilenceCreate,
} from '@farol/protocol';
import { contractFailure, networkFailure, responseFailure } from './api-error.js';
import { normalizeBaseUrl, type FarolClientOptions } from './http.client.js';

export interface ListAlertsQuery {
  state?: 'pending' | 'firing' | 'resolved' | 'active' | 'all' | undefined;
  agent?: string | undefined;
  rule?: string | undefined;
  severity?: 'info' | 'warning' | 'critical' | undefined;
  since?: number | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** Alert rules, alerts and silences of a hub (issue #4). Every method throws FarolApiError on failure. */
export interface AlertsClient {
  listRules(): Promise<AlertRule[]>;
  getRule(ref: string): Promise<AlertRule>;
  createRule(input: AlertRuleInput): Promise<AlertRule>;
  updateRule(ref: string, patch: AlertRulePatch): Promise<AlertRule>;
  deleteRule(ref: string): Promise<void>;
  listAlerts(query?: ListAlertsQuery): Promise<AlertList>;
  getAlert(id: string): Promise<AlertDetail>;
  acknowledgeAlert(id: string, note?: string): Promise<Alert>;
  listSilences(includeExpired?: boolean): Promise<Silence[]>;
  createSilence(input: SilenceCreate): Promise<Silence>;
  removeSilence(id: string): Promise<void>;
}

interface Parser<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false; error: unknown };
}

export function createAlertsClient(options: FarolClientOptions): AlertsClient {
  const baseUrl = normalizeBaseUrl(options.baseUrl);
  const doFetch: typeof fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const timeoutMs = options.timeoutMs ?? 30_000;

  async function request<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body: unknown, schema: Parser<T> | null): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    let text: string;
    try {
      response = await doFetch(`${baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined,
      });
      text = await response.text();
    } catch (error) {
      throw networkFailure(baseUrl, error);
    }
    let parsedBody: unknown = text;
    if (text !== '') {
      try {
        parsedBody = JSON.parse(text);
      } catch {
        // Not JSON (a proxy's error page): responseFailure describes it by status.
        parsedBody = text;
      }
    }
    if (!response.ok) throw responseFailure(baseUrl, response.status, response.statusText, parsedBody);
    if (!schema) return undefined as T;
    const parsed = schema.safeParse(parsedBody);
    if (!parsed.success) throw contractFailure(baseUrl, response.status, `${method} ${path}`, parsed.error);
    return parsed.data;
  }

  const ref = (text: string): string => encodeURIComponent(text);
  return {
    listRules: async () => (await request('GET', '/api/alert-rules', undefined, AlertRuleListSchema)).rules,
    getRule: (name) => request('GET', `/api/alert-rules/${ref(name)}`, undefined, AlertRuleSchema),
    createRule: (input) => request('POST', '/api/alert-rules', input, AlertRuleSchema),
    updateRule: (name, patch) => request('PATCH', `/api/alert-rules/${ref(name)}`, patch, AlertRuleSchema),
    deleteRule: (name) => request<void>('DELETE', `/api/alert-rules/${ref(name)}`, undefined, null),
    listAlerts: (query = {}) => {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
      const search = params.toString();
      return request('GET', `/api/alerts${search ? `?${search}` : ''}`, undefined, AlertListSchema);
    },
    getAlert: (id) => request('GET', `/api/alerts/${ref(id)}`, undefined, AlertDetailSchema),
    acknowledgeAlert: (id, note) => request('POST', `/api/alerts/${ref(id)}/ack`, note === undefined ? {} : { note }, AlertSchema),
    listSilences: async (includeExpired = false) => (await request('GET', `/api/silences${includeExpired ? '?all=true' : ''}`, undefined, SilenceListSchema)).silences,
    createSilence: (input) => request('POST', '/api/silences', input, SilenceSchema),
    removeSilence: (id) => request<void>('DELETE', `/api/silences/${ref(id)}`, undefined, null),
  };
}
