import type { FastifyInstance } from 'fastify';

/** Attribute values a span takes (OpenTelemetry's primitive attribute values). */
export type SpanAttributes = Record<string, string | number | boolean>;

/** One span being recorded. */
export interface TraceSpan {
  /** This span as a W3C `traceparent` (`00-<trace id>-<span id>-01`): what a child names as its parent. */
  readonly traceparent: string;
  setAttributes(attributes: SpanAttributes): void;
  /** Marks the span as failed (OpenTelemetry status ERROR) with why. */
  fail(message: string): void;
  /** Ends it now, or at `endTime` (ms since epoch). */
  end(endTime?: number): void;
}

export interface StartSpanOptions {
  /** A `traceparent` to be the child of; null: a new trace; absent: the current span, if any. */
  parent?: string | null;
  /** ms since epoch; default now. */
  startTime?: number;
  /** 16 hex digits given out earlier by newSpanId() (the id was already sent to an agent). */
  spanId?: string;
  kind?: 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  attributes?: SpanAttributes;
}

/** One database statement as Kysely reports it after it ran. */
export interface QueryEvent {
  sql: string;
  durationMs: number;
  error?: unknown;
}

/**
 * The hub's traces (issue #20): spans exported over OTLP/HTTP when FAROL_OTLP_ENDPOINT is set.
 * Off, it is `noTracing`: nothing of OpenTelemetry is loaded, no hook is registered, and the
 * call sites only test `enabled` (docs/adr/0015-tracing.md).
 */
export interface Tracing {
  readonly enabled: boolean;
  startSpan(name: string, options?: StartSpanOptions): TraceSpan;
  /** Runs `work` with `span` as the current span: spans and queries started inside are its children. */
  run<T>(span: TraceSpan, work: () => T): T;
  /** A fresh span id, for a span recorded later under that id (an agent's run of a command). */
  newSpanId(): string;
  /** A span per HTTP request, named by its route template (`GET /api/agents/:id`). */
  instrumentHttp(app: FastifyInstance): void;
  /** Kysely's `log` option: a span per statement run inside a traced span (none outside one). */
  recordQuery(event: QueryEvent): void;
  /** Sends what is buffered and stops. */
  shutdown(): Promise<void>;
}

const noSpan: TraceSpan = { traceparent: '', setAttributes: () => undefined, fail: () => undefined, end: () => undefined };

/** Tracing off: every method does nothing; call sites check `enabled` before building anything. */
export const noTracing: Tracing = {
  enabled: false,
  startSpan: () => noSpan,
  run: (_span, work) => work(),
  newSpanId: () => '',
  instrumentHttp: () => undefined,
  recordQuery: () => undefined,
  shutdown: async () => undefined,
};

export interface TracingSettings {
  endpoint: string | undefined;
  headers: string | undefined;
  serviceName: string;
  serviceVersion: string;
  /** `db.system.name` of the query spans. */
  databaseSystem: 'sqlite' | 'postgresql';
}

/** FAROL_OTLP_HEADERS: `name=value,name=value`. */
export function parseOtlpHeaders(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const part of (text ?? '').split(',')) {
    const at = part.indexOf('=');
    if (at > 0) headers[part.slice(0, at).trim().toLowerCase()] = part.slice(at + 1).trim();
  }
  return headers;
}

/** The OTLP traces URL: the collector's base URL gets `/v1/traces`, a full traces URL is kept. */
export function otlpTracesUrl(endpoint: string): string {
  const url = new URL(endpoint);
  if (!url.pathname.endsWith('/v1/traces')) url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`;
  return url.toString();
}

/** Tracing as configured: `noTracing` without an endpoint; with one, the SDK is imported only then. */
export async function createTracing(settings: TracingSettings): Promise<Tracing> {
  if (!settings.endpoint) return noTracing;
  const { createOtlpTracing } = await import('./tracing-otlp.js');
  return createOtlpTracing({ ...settings, endpoint: otlpTracesUrl(settings.endpoint), headers: parseOtlpHeaders(settings.headers) });
}
