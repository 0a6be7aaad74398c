import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '@farol/protocol';
import { agentBundle, api, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from './support/processes.js';

// Issue #20, traces: a real hub process exporting to a loopback OTLP/HTTP receiver (JSON), a
// real agent running a shell command, and an event webhook delivered through the outbox.

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Array<{ key: string; value: { stringValue?: string; intValue?: string | number; boolValue?: boolean } }>;
  status?: { code?: number; message?: string };
}

const dir = tempDir('tracing');
const procs: Proc[] = [];
const spans: ReceivedSpan[] = [];
const exportRequests: Array<{ contentType: string | undefined; serviceName: string | undefined; header: string | undefined }> = [];
const webhookBodies: string[] = [];
let receiver: Server;
let hooks: Server;
let hub: Proc & { url: string };

async function body(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const attribute = (span: ReceivedSpan, key: string): string | number | boolean | undefined => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value?.stringValue ?? (value?.intValue === undefined ? value?.boolValue : Number(value.intValue));
};
const named = (name: string) => spans.filter((span) => span.name === name);
const waitSpan = (what: string, accept: (span: ReceivedSpan) => boolean) => waitFor(() => spans.find(accept), 20_000, what);

beforeAll(async () => {
  receiver = createServer((request, response) => {
    void body(request).then((text) => {
      if (request.url === '/otlp/v1/traces') {
        const payload = JSON.parse(text) as { resourceSpans: Array<{ resource: { attributes: ReceivedSpan['attributes'] }; scopeSpans: Array<{ spans: ReceivedSpan[] }> }> };
        for (const resourceSpans of payload.resourceSpans) {
          exportRequests.push({
            contentType: request.headers['content-type'],
            serviceName: resourceSpans.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue,
            header: request.headers['x-collector-key'] as string | undefined,
          });
          for (const scope of resourceSpans.scopeSpans) spans.push(...scope.spans);
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const otlpPort = await listen(receiver);
  hooks = createServer((request, response) => {
    void body(request).then((text) => {
      webhookBodies.push(text);
      response.writeHead(200).end('ok');
    });
  });
  const hookPort = await listen(hooks);
  hub = await startHubProcess(path.join(dir.path, 'hub'), await freePort(), {
    FAROL_OTLP_ENDPOINT: `http://127.0.0.1:${otlpPort}/otlp`,
    FAROL_OTLP_HEADERS: 'x-collector-key=k3y',
    FAROL_OTLP_SERVICE_NAME: 'farol-hub-e2e',
    FAROL_NOTIFY_ALLOW_NETWORKS: '127.0.0.1/32',
  });
  procs.push(hub);
  const subscribed = await api(hub.url, 'POST', '/api/webhooks', { name: 'jobs', url: `http://127.0.0.1:${hookPort}/hook`, events: ['job.finished'] });
  expect(subscribed.status).toBe(201);
  const token = await joinToken(hub.url);
  procs.push(run([agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(dir.path, 'agent'), '--name', 'traced', '--interval', '1s']));
  await waitFor(async () => ((await api<{ status: string }>(hub.url, 'GET', '/api/agents/traced')).body?.status === 'online' ? true : undefined), 30_000, 'agent online');
}, 60_000);

afterAll(async () => {
  for (const proc of procs.reverse()) await proc.stop();
  receiver?.close();
  hooks?.close();
  dir.remove();
});

describe('traces over OTLP/HTTP', () => {
  it('links the REST request, the job dispatch, the agent run (its TRACEPARENT) and the stored result; delivery and queries get spans', async () => {
    const created = await api<Job>(hub.url, 'POST', '/api/jobs', { targets: { agents: ['traced'] }, command: { kind: 'shell', argv: ['sh', '-c', 'sleep 0.3; echo "$TRACEPARENT"'] } });
    expect(created.status).toBe(201);
    const job = await waitFor(async () => {
      const { body: current } = await api<Job>(hub.url, 'GET', `/api/jobs/${created.body.id}`);
      return current.state === 'done' ? current : undefined;
    }, 20_000, 'job done');
    const target = job.targets[0]!;
    expect(target.state).toBe('succeeded');
    const agentTraceparent = target.stdout.trim();
    expect(agentTraceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const [, traceId, runSpanId] = agentTraceparent.split('-');

    const rest = await waitSpan('POST /api/jobs span', (span) => span.name === 'POST /api/jobs' && span.traceId === traceId);
    expect(rest.kind).toBe(2); // SERVER
    expect(rest.parentSpanId ?? '').toBe('');
    expect(attribute(rest, 'http.route')).toBe('/api/jobs');
    expect(attribute(rest, 'http.response.status_code')).toBe(201);

    const dispatch = await waitSpan('job.dispatch span', (span) => span.name === 'job.dispatch' && span.traceId === traceId);
    expect(dispatch.parentSpanId).toBe(rest.spanId);
    expect(attribute(dispatch, 'farol.job.id')).toBe(job.id);

    // The span id the agent was given is the one its run is recorded under, child of the dispatch.
    const execution = await waitSpan('agent.execute span', (span) => span.name === 'agent.execute' && span.traceId === traceId);
    expect(execution.spanId).toBe(runSpanId);
    expect(execution.parentSpanId).toBe(dispatch.spanId);
    expect(attribute(execution, 'farol.command.id')).toBe(target.commandId);
    expect(attribute(execution, 'farol.command.state')).toBe('succeeded');
    const ranMs = (Number(BigInt(execution.endTimeUnixNano) - BigInt(execution.startTimeUnixNano)) / 1e6);
    expect(ranMs).toBeGreaterThanOrEqual(250);

    const stored = await waitSpan('job.result span', (span) => span.name === 'job.result' && span.traceId === traceId);
    expect(stored.parentSpanId).toBe(execution.spanId);

    // Database time: the job's insert inside the dispatch, in the same trace.
    const traceSpanIds = new Set(spans.filter((span) => span.traceId === traceId).map((span) => span.spanId));
    const queries = spans.filter((span) => span.traceId === traceId && span.name.startsWith('db '));
    expect(queries.some((span) => span.name === 'db INSERT' && span.parentSpanId === dispatch.spanId && attribute(span, 'db.system.name') === 'sqlite')).toBe(true);
    expect(queries.every((span) => traceSpanIds.has(span.parentSpanId!))).toBe(true);

    // The job.finished event went out through the outbox: a delivery span of its own trace.
    await waitFor(() => (webhookBodies.some((text) => text.includes(job.id)) ? true : undefined), 20_000, 'webhook delivered');
    const delivery = await waitSpan('notify.deliver span', (span) => span.name === 'notify.deliver' && attribute(span, 'farol.delivery.kind') === 'job.finished');
    expect(attribute(delivery, 'farol.delivery.outcome')).toBe('sent');
    expect(attribute(delivery, 'http.response.status_code')).toBe(200);
    expect(delivery.parentSpanId ?? '').toBe('');

    expect(exportRequests.length).toBeGreaterThan(0);
    expect(exportRequests.every((request) => request.contentType === 'application/json' && request.serviceName === 'farol-hub-e2e' && request.header === 'k3y')).toBe(true);
  }, 60_000);

  it('continues a caller\'s trace from its traceparent header, and names unmatched requests without their path', async () => {
    const traceId = 'ab'.repeat(16);
    const response = await fetch(`${hub.url}/health`, { headers: { traceparent: `00-${traceId}-${'cd'.repeat(8)}-01` } });
    expect(response.status).toBe(200);
    const health = await waitSpan('GET /health span', (span) => span.name === 'GET /health' && span.traceId === traceId);
    expect(health.parentSpanId).toBe('cd'.repeat(8));
    // GET falls to the dashboard's SPA route (`GET /*`); a POST nowhere matches no route at all.
    await fetch(`${hub.url}/no/such/path/secret-looking-123`, { method: 'POST' });
    await waitSpan('unmatched span', (span) => span.name === 'POST (no route)');
    expect(named('POST (no route)').every((span) => !JSON.stringify(span).includes('secret-looking-123'))).toBe(true);
  }, 30_000);
});
