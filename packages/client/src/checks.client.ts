import {
  CheckHistorySchema,
  CheckListSchema,
  CheckRunResponseSchema,
  CheckSchema,
  CheckSeriesSchema,
  StatusPageListSchema,
  StatusPageSchema,
  type Check,
  type CheckHistory,
  type CheckInput,
  type CheckRunResponse,
  type CheckSeries,
  type CheckSeriesQuery,
  type StatusPage,
  type StatusPageInput,
} from '@farol/protocol';
import { createTransport, segment, type FarolClientOptions } from './transport.js';

/** Service checks of a hub (issue #19). Throws FarolApiError on failure. */
export interface ChecksClient {
  listChecks(): Promise<{ checks: Check[] }>;
  getCheck(ref: string): Promise<Check>;
  createCheck(input: CheckInput): Promise<Check>;
  replaceCheck(ref: string, input: CheckInput): Promise<Check>;
  deleteCheck(ref: string): Promise<void>;
  checkResults(ref: string, query?: { since?: number; location?: string; limit?: number }): Promise<CheckHistory>;
  /** Runs and latency per location over a range (hourly rollups for long ranges). */
  checkSeries(ref: string, query?: CheckSeriesQuery): Promise<CheckSeries>;
  runCheck(ref: string): Promise<CheckRunResponse>;
  listStatusPages(): Promise<{ pages: StatusPage[] }>;
  getStatusPage(slug: string): Promise<StatusPage>;
  createStatusPage(input: StatusPageInput): Promise<StatusPage>;
  replaceStatusPage(slug: string, input: StatusPageInput): Promise<StatusPage>;
  deleteStatusPage(slug: string): Promise<void>;
}

export function createChecksClient(options: FarolClientOptions): ChecksClient {
  const { request } = createTransport(options);
  const check = (ref: string) => `/api/checks/${segment(ref)}`;
  return {
    listChecks: () => request({ method: 'GET', path: '/api/checks', schema: CheckListSchema }),
    getCheck: (ref) => request({ method: 'GET', path: check(ref), schema: CheckSchema }),
    createCheck: (input) => request({ method: 'POST', path: '/api/checks', body: input, schema: CheckSchema }),
    replaceCheck: (ref, input) => request({ method: 'PUT', path: check(ref), body: input, schema: CheckSchema }),
    deleteCheck: (ref) => request<void>({ method: 'DELETE', path: check(ref) }),
    checkResults: (ref, query = {}) =>
      request({ method: 'GET', path: `${check(ref)}/results`, query: { since: query.since, location: query.location, limit: query.limit }, schema: CheckHistorySchema }),
    checkSeries: (ref, query = {}) =>
      request({
        method: 'GET',
        path: `${check(ref)}/series`,
        query: { since: query.since, until: query.until, location: query.location, resolution: query.resolution },
        schema: CheckSeriesSchema,
      }),
    runCheck: (ref) => request({ method: 'POST', path: `${check(ref)}/run`, schema: CheckRunResponseSchema }),
    listStatusPages: () => request({ method: 'GET', path: '/api/status-pages', schema: StatusPageListSchema }),
    getStatusPage: (slug) => request({ method: 'GET', path: `/api/status-pages/${segment(slug)}`, schema: StatusPageSchema }),
    createStatusPage: (input) => request({ method: 'POST', path: '/api/status-pages', body: input, schema: StatusPageSchema }),
    replaceStatusPage: (slug, input) => request({ method: 'PUT', path: `/api/status-pages/${segment(slug)}`, body: input, schema: StatusPageSchema }),
    deleteStatusPage: (slug) => request<void>({ method: 'DELETE', path: `/api/status-pages/${segment(slug)}` }),
  };
}
