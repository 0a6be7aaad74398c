import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Context, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, RandomIdGenerator, type IdGenerator } from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { QueryEvent, StartSpanOptions, TraceSpan, Tracing, TracingSettings } from './tracing.js';

/**
 * The OpenTelemetry side of infra/tracing.ts, imported only when FAROL_OTLP_ENDPOINT is set.
 * Nothing here is global: the provider, its context (one AsyncLocalStorage) and its exporter
 * belong to one hub, so several hubs in one process (tests) keep their traces apart.
 */

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const KINDS = { internal: SpanKind.INTERNAL, server: SpanKind.SERVER, client: SpanKind.CLIENT, producer: SpanKind.PRODUCER, consumer: SpanKind.CONSUMER } as const;
/** Statement text kept on a query span: the shape of the query (values are bound, never in it). */
const MAX_STATEMENT_CHARS = 500;

/** The context whose parent is a W3C traceparent; null for a malformed or all-zero one. */
function contextOf(traceparent: string): Context | null {
  const match = TRACEPARENT.exec(traceparent);
  if (!match || /^0+$/.test(match[1]!) || /^0+$/.test(match[2]!)) return null;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: match[1]!, spanId: match[2]!, traceFlags: Number.parseInt(match[3]!, 16) & TraceFlags.SAMPLED, isRemote: true });
}

function traceparentOf(span: Span): string {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${(traceFlags & TraceFlags.SAMPLED) === 0 ? '00' : '01'}`;
}

/**
 * Random ids, except that the next span may take an id given out before (the agent's run of a
 * command is recorded when its result comes, under the id its traceparent already named).
 * startSpan asks for exactly one span id, synchronously, so the preset cannot leak to another span.
 */
function presetIdGenerator(): IdGenerator & { preset: string | undefined } {
  const random = new RandomIdGenerator();
  const generator = {
    preset: undefined as string | undefined,
    generateTraceId: () => random.generateTraceId(),
    generateSpanId: () => {
      const id = generator.preset ?? random.generateSpanId();
      generator.preset = undefined;
      return id;
    },
  };
  return generator;
}

export function createOtlpTracing(settings: Omit<TracingSettings, 'headers'> & { endpoint: string; headers: Record<string, string> }): Tracing {
  const ids = presetIdGenerator();
  const exporter = new OTLPTraceExporter({ url: settings.endpoint, headers: settings.headers });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': settings.serviceName, 'service.version': settings.serviceVersion }),
    idGenerator: ids,
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1_000 })],
  });
  const tracer = provider.getTracer('farol-hub', settings.serviceVersion);
  const current = new AsyncLocalStorage<Context>();
  const spans = new WeakMap<TraceSpan, Span>();

  function wrap(span: Span): TraceSpan {
    const handle: TraceSpan = {
      traceparent: traceparentOf(span),
      setAttributes: (attributes) => void span.setAttributes(attributes),
      fail: (message) => void span.setStatus({ code: SpanStatusCode.ERROR, message }),
      end: (endTime) => span.end(endTime),
    };
    spans.set(handle, span);
    return handle;
  }

  function startSpan(name: string, options: StartSpanOptions = {}): TraceSpan {
    const parent = options.parent === undefined ? (current.getStore() ?? ROOT_CONTEXT) : options.parent === null ? ROOT_CONTEXT : (contextOf(options.parent) ?? ROOT_CONTEXT);
    ids.preset = options.spanId;
    const span = tracer.startSpan(name, { kind: KINDS[options.kind ?? 'internal'], ...(options.attributes ? { attributes: options.attributes } : {}), ...(options.startTime === undefined ? {} : { startTime: options.startTime }) }, parent);
    ids.preset = undefined;
    return wrap(span);
  }

  function contextWith(handle: TraceSpan): Context {
    const span = spans.get(handle);
    return span ? trace.setSpan(ROOT_CONTEXT, span) : ROOT_CONTEXT;
  }

  function instrumentHttp(app: FastifyInstance): void {
    const open = new WeakMap<FastifyRequest, { span: TraceSpan; resumer: AsyncResource }>();
    // Callback style, like modules/auth/request-actor.ts: every later hook and the handler run
    // inside the request's context.
    app.addHook('onRequest', (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
      const route = request.routeOptions.url;
      const incoming = request.headers.traceparent;
      const span = startSpan(`${request.method} ${route ?? '(no route)'}`, {
        kind: 'server',
        parent: typeof incoming === 'string' && contextOf(incoming) ? incoming : null,
        attributes: { 'http.request.method': request.method, ...(route ? { 'http.route': route } : {}) },
      });
      current.run(contextWith(span), () => {
        open.set(request, { span, resumer: new AsyncResource('farol-trace') });
        done();
      });
    });
    // The body arrives on stream events outside the context; re-enter it.
    app.addHook('preValidation', (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
      const entry = open.get(request);
      if (entry) entry.resumer.runInAsyncScope(done);
      else done();
    });
    app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      const entry = open.get(request);
      if (entry) {
        open.delete(request);
        entry.span.setAttributes({ 'http.response.status_code': reply.statusCode });
        if (reply.statusCode >= 500) entry.span.fail(`HTTP ${reply.statusCode}`);
        entry.span.end();
      }
      done();
    });
  }

  function recordQuery(event: QueryEvent): void {
    const parent = current.getStore();
    // Outside a traced operation (heartbeat writes, rollups) a query is not worth a trace of its own.
    if (!parent || !trace.getSpan(parent)) return;
    const end = Date.now();
    const operation = /^\s*(\w+)/.exec(event.sql)?.[1]?.toUpperCase() ?? 'QUERY';
    const span = tracer.startSpan(
      `db ${operation}`,
      {
        kind: SpanKind.CLIENT,
        startTime: end - event.durationMs,
        attributes: { 'db.system.name': settings.databaseSystem, 'db.operation.name': operation, 'db.query.text': event.sql.slice(0, MAX_STATEMENT_CHARS) },
      },
      parent,
    );
    if (event.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: event.error instanceof Error ? event.error.message : String(event.error) });
    span.end(end);
  }

  return {
    enabled: true,
    startSpan,
    run: (span, work) => current.run(contextWith(span), work),
    newSpanId: () => new RandomIdGenerator().generateSpanId(),
    instrumentHttp,
    recordQuery,
    shutdown: () => provider.shutdown(),
  };
}
