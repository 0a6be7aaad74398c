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
import { createTransport, segment, type FarolClientOptions } from './transport.js';

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

export function createAlertsClient(options: FarolClientOptions): AlertsClient {
  const { request } = createTransport(options);
  const rule = (name: string) => `/api/alert-rules/${segment(name)}`;
  const alert = (id: string) => `/api/alerts/${segment(id)}`;
  return {
    listRules: async () => (await request({ method: 'GET', path: '/api/alert-rules', schema: AlertRuleListSchema })).rules,
    getRule: (name) => request({ method: 'GET', path: rule(name), schema: AlertRuleSchema }),
    createRule: (input) => request({ method: 'POST', path: '/api/alert-rules', body: input, schema: AlertRuleSchema }),
    updateRule: (name, patch) => request({ method: 'PATCH', path: rule(name), body: patch, schema: AlertRuleSchema }),
    deleteRule: (name) => request<void>({ method: 'DELETE', path: rule(name) }),
    listAlerts: (query = {}) =>
      request({
        method: 'GET',
        path: '/api/alerts',
        query: { state: query.state, agent: query.agent, rule: query.rule, severity: query.severity, since: query.since, limit: query.limit, cursor: query.cursor },
        schema: AlertListSchema,
      }),
    getAlert: (id) => request({ method: 'GET', path: alert(id), schema: AlertDetailSchema }),
    acknowledgeAlert: (id, note) => request({ method: 'POST', path: `${alert(id)}/ack`, body: note === undefined ? {} : { note }, schema: AlertSchema }),
    listSilences: async (includeExpired = false) =>
      (await request({ method: 'GET', path: '/api/silences', query: { all: includeExpired ? 'true' : undefined }, schema: SilenceListSchema })).silences,
    createSilence: (input) => request({ method: 'POST', path: '/api/silences', body: input, schema: SilenceSchema }),
    removeSilence: (id) => request<void>({ method: 'DELETE', path: `/api/silences/${segment(id)}` }),
  };
}
