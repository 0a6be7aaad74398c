import { describe, expect, it } from 'vitest';
import { createTracing, noTracing, otlpTracesUrl, parseOtlpHeaders } from './tracing.js';

describe('trace settings (#20)', () => {
  it('is off, with nothing loaded, without an endpoint', async () => {
    const tracing = await createTracing({ endpoint: undefined, headers: 'a=b', serviceName: 'farol-hub', serviceVersion: '0', databaseSystem: 'sqlite' });
    expect(tracing).toBe(noTracing);
    expect(tracing.enabled).toBe(false);
    expect(tracing.startSpan('x').traceparent).toBe('');
    expect(tracing.run(tracing.startSpan('x'), () => 42)).toBe(42);
  });

  it('sends to the collector\'s /v1/traces unless the URL already names it', () => {
    expect(otlpTracesUrl('http://127.0.0.1:4318')).toBe('http://127.0.0.1:4318/v1/traces');
    expect(otlpTracesUrl('https://otel.example/otlp/')).toBe('https://otel.example/otlp/v1/traces');
    expect(otlpTracesUrl('https://otel.example/v1/traces')).toBe('https://otel.example/v1/traces');
  });

  it('reads FAROL_OTLP_HEADERS as name=value pairs, values may hold = and spaces', () => {
    expect(parseOtlpHeaders('Authorization=Basic YWI=, x-team = k1')).toEqual({ authorization: 'Basic YWI=', 'x-team': 'k1' });
    expect(parseOtlpHeaders(undefined)).toEqual({});
  });
});
