import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AgentHandshakeAuthSchema, agentToHubEvents } from './realtime.js';
import { EnrollRequestSchema } from './enrollment.js';
import { CommandOutputSchema, CommandResultSchema, MAX_OUTPUT_BYTES, utf8ByteLength } from './jobs.js';
import { buildProtocolSchema, protocolSchemaText } from './protocol-schema.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const fixturesDir = path.join(root, 'packages/protocol/fixtures/v1');

/** A frozen message file: `{ event, payloads }`, binary fields as `{ "$binary": base64 }`. */
interface Fixture {
  file: string;
  event: string;
  payloads: unknown[];
}

export function reviveBinary(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reviveBinary);
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (typeof record.$binary === 'string' && Object.keys(record).length === 1) return new Uint8Array(Buffer.from(record.$binary, 'base64'));
    return Object.fromEntries(Object.entries(record).map(([key, inner]) => [key, reviveBinary(inner)]));
  }
  return value;
}

function fixtures(): Fixture[] {
  return readdirSync(fixturesDir)
    .filter((name) => name.endsWith('.json'))
    .map((file) => ({ file, ...(JSON.parse(readFileSync(path.join(fixturesDir, file), 'utf8')) as Omit<Fixture, 'file'>) }));
}

describe('the published protocol schema (#17)', () => {
  it('docs/protocol.schema.json is what the zod schemas generate (run node scripts/protocol-schema.mjs after a change)', () => {
    const committed = readFileSync(path.join(root, 'docs/protocol.schema.json'), 'utf8');
    expect(committed === protocolSchemaText(), 'docs/protocol.schema.json is out of date: run node scripts/protocol-schema.mjs').toBe(true);
  });

  it('carries the limits the hub enforces, not only the field names', () => {
    const document = buildProtocolSchema() as { namespaces: Record<string, { clientToServer: Record<string, { payload: Record<string, unknown> }> }>; limits: Record<string, number>; $defs: Record<string, unknown> };
    const agent = document.namespaces['/agent']!.clientToServer;
    const text = JSON.stringify(agent);
    expect(agent['command:output']!.payload).toMatchObject({ properties: { data: { maxLength: MAX_OUTPUT_BYTES }, seq: { minimum: 0 } } });
    expect(JSON.stringify(agent['command:output']!.payload)).toContain('bytes');
    expect(agent['metrics:report']!.payload).toMatchObject({ properties: { samples: { minItems: 1, maxItems: 1000 } } });
    expect(agent['agent:hello']!.payload).toMatchObject({ properties: { challenge: { pattern: '^[A-Za-z0-9_-]{43}$' }, heartbeatIntervalMs: { minimum: 1000 } } });
    expect(text).toContain('^cmd_[a-z0-9]{16}$');
    expect(document.limits).toMatchObject({ maxMessageBytes: 1_000_000, maxOutputBytes: MAX_OUTPUT_BYTES, maxSampleFutureSkewMs: 300_000, maxBadMessages: 10 });
    expect(Object.keys(document.$defs)).toEqual(expect.arrayContaining(['HeartbeatSample', 'SystemInfo', 'Command']));
    // Every $ref resolves inside the document.
    for (const [, ref] of JSON.stringify(document).matchAll(/"\$ref":"#\/\$defs\/([^"]+)"/g)) expect(document.$defs).toHaveProperty([ref!]);
  });
});

describe('frozen agent messages of protocol 1 (#17)', () => {
  it('has a fixture for every event an agent may send', () => {
    const events = new Set(fixtures().map((fixture) => fixture.event));
    for (const event of Object.keys(agentToHubEvents)) expect(events, `packages/protocol/fixtures/v1 has no ${event} message`).toContain(event);
  });

  it('every frozen message still parses: a schema change that breaks deployed agents fails here', () => {
    for (const fixture of fixtures()) {
      const schema =
        fixture.event === '(handshake)' ? AgentHandshakeAuthSchema : fixture.event === '(POST /api/enroll)' ? EnrollRequestSchema : agentToHubEvents[fixture.event as keyof typeof agentToHubEvents]?.payload;
      expect(schema, `${fixture.file}: unknown event ${fixture.event}`).toBeDefined();
      fixture.payloads.forEach((payload, index) => {
        const parsed = schema!.safeParse(reviveBinary(payload));
        expect(parsed.success, `${fixture.file} #${index}: ${parsed.error?.message}`).toBe(true);
      });
    }
  });
});

describe('limits counted as documented (#17)', () => {
  const result = { commandId: 'cmd_0a1b2c3d4e5f6g7h', state: 'succeeded', exitCode: 0, signal: null, stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false, data: null, startedAt: 1, endedAt: 2, error: null };

  it('counts output limits in UTF-8 bytes, not characters', () => {
    const wide = 'é'.repeat(60_000); // 60,000 characters, 120,000 bytes
    expect(utf8ByteLength(wide)).toBe(120_000);
    expect(utf8ByteLength('a€😀')).toBe(1 + 3 + 4);
    expect(CommandResultSchema.safeParse({ ...result, stdout: wide }).success).toBe(false);
    expect(CommandOutputSchema.safeParse({ commandId: result.commandId, stream: 'stdout', data: wide, seq: 0 }).success).toBe(false);
    expect(CommandResultSchema.safeParse({ ...result, stdout: 'é'.repeat(MAX_OUTPUT_BYTES / 2) }).success).toBe(true);
  });

  it('refuses a result that contradicts itself: succeeded with exit code 7, or killed by a signal', () => {
    const seven = CommandResultSchema.safeParse({ ...result, exitCode: 7 });
    expect(seven.success).toBe(false);
    expect(seven.error?.issues[0]).toMatchObject({ path: ['exitCode'] });
    expect(CommandResultSchema.safeParse({ ...result, signal: 'SIGKILL' }).success).toBe(false);
    expect(CommandResultSchema.safeParse({ ...result, state: 'failed', exitCode: 7 }).success).toBe(true);
    expect(CommandResultSchema.safeParse({ ...result, exitCode: null }).success).toBe(true);
  });
});
