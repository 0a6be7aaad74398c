import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agentToHubEvents, MetricsReportSchema, uiToHubEvents } from './realtime.js';
import { compileSchemaCheck, createFastParser } from './schema-check.js';
import { HeartbeatSampleSchema, type HeartbeatSample } from './telemetry.js';

/** What an agent sends every 10 s: every kind of field the heartbeat has, with two containers. */
function heartbeat(ts: number): HeartbeatSample {
  const process = (pid: number) => ({ pid, name: `proc-${pid}`, command: `/usr/bin/proc-${pid} --flag`, user: 'root', cpu: 12.5, memory: 3.2, rss: 104_857_600 });
  return {
    ts,
    cpu: { total: 37.5, perCore: [40, 35, 30.5, 44], load: [0.5, 0.75, 1.1] },
    memory: { total: 16e9, used: 8e9, available: 8e9, percent: 50, swapTotal: 2e9, swapUsed: 0, swapPercent: 0 },
    filesystems: [{ mount: '/', device: '/dev/sda1', type: 'ext4', size: 5e11, used: 2e11, percent: 40 }],
    diskIo: { readBps: 1024, writeBps: 4096 },
    network: { rxBps: 2048, txBps: 1024, interfaces: [{ name: 'eth0', rxBps: 2048, txBps: 1024 }] },
    uptimeSeconds: 86_400,
    processCount: 312,
    topCpu: [process(1), process(2), process(3)],
    topMemory: [process(4), process(5)],
    temperatures: { cpu: 55, max: 61 },
    gpus: [{ index: 0, name: 'RTX 4090', utilization: 80, memoryUsed: 1e9, memoryTotal: 2.4e10, temperature: 70, powerWatts: 350 }],
    docker: { state: 'available', endpoint: 'unix:///var/run/docker.sock', version: '27.1', error: null, since: ts - 60_000 },
    containers: [
      { id: 'a'.repeat(64), name: 'web', image: 'nginx:1.27', state: 'running', status: 'Up 3 hours (healthy)', health: 'healthy', restartCount: 0, exitCode: null, cpuPercent: 1.5, memoryBytes: 5e7, memoryLimitBytes: 1.6e10, createdAt: ts - 1e7, startedAt: ts - 1e7, watched: true, digest: `sha256:${'b'.repeat(64)}`, availableDigest: null, updateCheckedAt: ts, autoUpdate: false, autoUpdateWindow: null },
      { id: 'c'.repeat(64), name: 'db', image: 'postgres:16', state: 'exited', status: 'Exited (1) 2 minutes ago', health: 'none', restartCount: 3, exitCode: 1, cpuPercent: null, memoryBytes: null, memoryLimitBytes: null, createdAt: ts - 2e7, startedAt: null, watched: false },
    ],
  } as HeartbeatSample;
}

/** A deterministic random source (mulberry32), so a failure names a seed that reproduces it. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A valid-looking value for `schema`, built from its definition: every optional key present
 * half the time, numbers inside their bounds, strings within their lengths. Formats and
 * patterns are not honoured, so zod may refuse a few of these: the properties below hold either way.
 */
function exampleOf(schema: z.ZodType, next: () => number, depth = 0): unknown {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
  const checks = ((def.checks as Array<{ _zod: { def: Record<string, unknown> } }> | undefined) ?? []).map((check) => check._zod.def);
  const bound = (kind: string) => checks.find((check) => check.check === kind) as { value?: number; maximum?: number; minimum?: number } | undefined;
  switch (def.type) {
    case 'number': {
      const low = bound('greater_than')?.value ?? 0;
      const high = Math.min(bound('less_than')?.value ?? 1e6, low + 1e6);
      const isInt = checks.some((check) => check.format === 'safeint') || def.format === 'safeint';
      const value = low + (high - low) * next();
      return isInt ? Math.max(Math.ceil(low + 0.5), Math.min(Math.floor(value), Math.floor(high))) : value === low ? low + 1e-9 : value;
    }
    case 'string': {
      const min = bound('min_length')?.minimum ?? 0;
      const max = bound('max_length')?.maximum ?? 20;
      const patterns = checks.filter((check) => check.format === 'regex').map((check) => check.pattern as RegExp);
      if (patterns.length === 0) return 'x'.repeat(Math.min(max, Math.max(min, Math.floor(next() * 12))));
      // Farol's ids (`cmd_` and 16 chars …) and a few shapes other patterns take.
      const id = /^\^([a-z]+)_\[a-z0-9\]\{(\d+)\}\$$/.exec(patterns[0]!.source);
      const candidates = [...(id ? [`${id[1]}_${'a1'.repeat(Number(id[2]))}`.slice(0, id[1]!.length + 1 + Number(id[2]))] : []), 'web-1', 'a', '42', '12:30', '5m', 'cpu'];
      return candidates.find((candidate) => patterns.every((pattern) => new RegExp(pattern.source, pattern.flags.replace('g', '')).test(candidate))) ?? 'x';
    }
    case 'boolean':
      return next() < 0.5;
    case 'null':
      return null;
    case 'literal':
      return (def.values as unknown[])[0];
    case 'enum': {
      const values = Object.values(def.entries as Record<string, string>);
      return values[Math.floor(next() * values.length)];
    }
    case 'nullable':
      return next() < 0.2 ? null : exampleOf(def.innerType as z.ZodType, next, depth);
    case 'optional':
    case 'default':
      return next() < 0.3 ? undefined : exampleOf(def.innerType as z.ZodType, next, depth);
    case 'array': {
      const min = bound('min_length')?.minimum ?? 0;
      const max = Math.min(bound('max_length')?.maximum ?? 4, 4);
      const length = depth > 4 ? min : Math.max(min, Math.floor(next() * (max + 1)));
      return Array.from({ length }, () => exampleOf(def.element as z.ZodType, next, depth + 1));
    }
    case 'tuple':
      return (def.items as z.ZodType[]).map((item) => exampleOf(item, next, depth + 1));
    case 'union': {
      const options = def.options as z.ZodType[];
      return exampleOf(options[Math.floor(next() * options.length)]!, next, depth + 1);
    }
    case 'custom':
      // The protocol's custom schemas are bytes (terminal data, screenshot chunks).
      return new Uint8Array([1, 2, 3]);
    case 'record':
      return { alpha: exampleOf(def.valueType as z.ZodType, next, depth + 1) };
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, field] of Object.entries(def.shape as Record<string, z.ZodType>)) {
        const value = exampleOf(field, next, depth + 1);
        if (value !== undefined) out[key] = value;
      }
      return out;
    }
    default:
      return 'anything';
  }
}

const oddities: unknown[] = [null, -1, 0, 1.5, 2 ** 60, 1e300, '', 'x'.repeat(2000), true, [], {}, [1, 'a'], { x: 1 }];

/** One change somewhere in `value` (a copy): a field replaced, removed or added, an element more or less. */
function mutate(value: unknown, next: () => number): unknown {
  const copy = structuredClone(value);
  const holders: Array<Record<string, unknown> | unknown[]> = [];
  (function collect(node: unknown) {
    if (node !== null && typeof node === 'object' && !ArrayBuffer.isView(node)) {
      holders.push(node as Record<string, unknown>);
      for (const child of Object.values(node)) collect(child);
    }
  })(copy);
  if (holders.length === 0) return oddities[Math.floor(next() * oddities.length)];
  const holder = holders[Math.floor(next() * holders.length)]!;
  const keys = Object.keys(holder);
  const key = keys[Math.floor(next() * keys.length)];
  const odd = structuredClone(oddities[Math.floor(next() * oddities.length)]);
  const roll = next();
  if (Array.isArray(holder)) {
    if (roll < 0.3) holder.push(structuredClone(holder[0] ?? odd));
    else if (roll < 0.5) holder.pop();
    else if (key !== undefined) holder[Number(key)] = odd;
  } else if (roll < 0.2) {
    holder[`unknown_${Math.floor(next() * 3)}`] = odd;
  } else if (roll < 0.25) {
    // An own __proto__ key, as JSON.parse makes one.
    Object.defineProperty(holder, '__proto__', { value: { polluted: true }, enumerable: true, configurable: true, writable: true });
  } else if (roll < 0.3) {
    // An inherited key (what a polluted prototype would add).
    Object.setPrototypeOf(holder, { polluted: true });
  } else if (key !== undefined && roll < 0.5) {
    delete holder[key];
  } else if (key !== undefined) {
    holder[key] = odd;
  }
  return copy;
}

/** The property: a value the check passes is one zod accepts and returns unchanged; one zod refuses never passes. */
function expectAgreement(schema: z.ZodType, value: unknown): boolean {
  const passed = compileSchemaCheck(schema)(value);
  const parsed = schema.safeParse(value);
  if (passed) {
    expect(parsed.success).toBe(true);
    expect(parsed.data).toStrictEqual(value);
  }
  if (!parsed.success) expect(passed).toBe(false);
  return passed;
}

describe('compileSchemaCheck: values checked in place, zod for the rest (ADR 0039)', () => {
  it('passes a well-formed heartbeat report and the parser hands it back without zod\'s copy', () => {
    const report = { samples: [heartbeat(1_800_000_000_000), heartbeat(1_800_000_010_000)] };
    expect(expectAgreement(MetricsReportSchema, report)).toBe(true);
    const parsed = createFastParser(MetricsReportSchema)(report);
    expect(parsed.success).toBe(true);
    expect(parsed.data).toBe(report);
  });

  it('leaves to zod what zod would change or refuse, and zod\'s answer is what the parser returns', () => {
    const sample = heartbeat(1_800_000_000_000);
    const check = compileSchemaCheck(HeartbeatSampleSchema);
    // An unknown key: zod accepts the sample and strips it.
    const extra = { ...sample, injected: 'x'.repeat(100) };
    expect(check(extra)).toBe(false);
    const stripped = createFastParser(HeartbeatSampleSchema)(extra);
    expect(stripped.success && 'injected' in stripped.data).toBe(false);
    // An own __proto__ key from JSON.parse, deep inside.
    const polluted = JSON.parse(JSON.stringify(sample).replace('"cpu":{', '"cpu":{"__proto__":{"admin":true},')) as HeartbeatSample;
    expect(check(polluted)).toBe(false);
    expect(createFastParser(HeartbeatSampleSchema)(polluted).data?.cpu).not.toHaveProperty('admin');
    // Refusals: a wrong type, a bound, an integer, a missing required key, a too long list.
    for (const bad of [
      { ...sample, ts: '1' },
      { ...sample, ts: 1.5 },
      { ...sample, cpu: { ...sample.cpu, total: 1001 } },
      { ...sample, processCount: -1 },
      { ...sample, memory: undefined },
      { ...sample, topCpu: Array.from({ length: 11 }, () => sample.topCpu[0]) },
      { ...sample, docker: { ...sample.docker, state: 'sleeping' } },
      { ...sample, cpu: { ...sample.cpu, load: [1, 2] } },
    ]) {
      expect(check(bad)).toBe(false);
      const parsed = createFastParser(HeartbeatSampleSchema)(bad);
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues.length).toBeGreaterThan(0);
    }
  });

  it('knows zod\'s kinds: formats, defaults, records, unions, tuples with a rest, and leaves transforms to zod', () => {
    const agree = (schema: z.ZodType, value: unknown, expected: boolean) => expect(expectAgreement(schema, value)).toBe(expected);
    agree(z.uuid(), '123e4567-e89b-42d3-a456-426614174000', true);
    agree(z.uuid(), 'not-a-uuid', false);
    agree(z.string().email(), 'ops@example.com', true);
    agree(z.string().email(), 'ops', false);
    agree(z.int(), 3, true);
    agree(z.int(), 3.5, false);
    agree(z.number(), Infinity, false);
    agree(z.number(), Number.NaN, false);
    agree(z.number().multipleOf(5), 10, false);
    agree(z.string().regex(/^a+$/g), 'aaa', true);
    agree(z.string().regex(/^a+$/g), 'aaa', true);
    agree(z.object({ n: z.number().default(4) }), { n: 2 }, true);
    agree(z.object({ n: z.number().default(4) }), {}, false);
    agree(z.object({ n: z.number() }).strict(), { n: 1 }, true);
    agree(z.object({ n: z.number() }).strict(), { n: 1, m: 2 }, false);
    agree(z.object({ n: z.number() }).passthrough(), { n: 1, m: 2 }, true);
    agree(z.object({ n: z.number() }).catchall(z.string()), { n: 1, m: 2 }, false);
    agree(z.object({ n: z.number() }).refine((value) => value.n > 0), { n: 1 }, true);
    agree(z.object({ n: z.number() }).refine((value) => value.n > 0), { n: -1 }, false);
    // An asynchronous refinement: not passed here, and zod's synchronous parse throws as before.
    const asynchronous = z.string().refine(async () => true);
    expect(compileSchemaCheck(asynchronous)('a')).toBe(false);
    expect(() => createFastParser(asynchronous)('a')).toThrow(/Promise/);
    agree(z.custom<Uint8Array>((value) => value instanceof Uint8Array), new Uint8Array(3), true);
    agree(z.instanceof(Uint8Array), 'bytes', false);
    agree(z.record(z.string().max(3), z.number()), { abc: 1 }, true);
    agree(z.record(z.string().max(3), z.number()), { abcd: 1 }, false);
    agree(z.record(z.string(), z.number()), JSON.parse('{"__proto__": 1}'), false);
    agree(z.union([z.number(), z.string()]), 'a', true);
    agree(z.union([z.object({ a: z.number() }), z.object({ a: z.number(), b: z.number() })]), { a: 1, b: 2 }, false);
    agree(z.discriminatedUnion('k', [z.object({ k: z.literal('a'), n: z.number() }), z.object({ k: z.literal('b'), s: z.string() })]), { k: 'b', s: 'x' }, true);
    agree(z.tuple([z.number(), z.string()]).rest(z.boolean()), [1, 'a', true, false], true);
    agree(z.tuple([z.number(), z.string()]), [1, 'a', true], false);
    agree(z.string().transform((text) => text.length), 'abc', false);
    agree(z.string().trim(), ' a ', false);
    const tree: z.ZodType = z.object({ name: z.string(), get children() {
      return z.array(tree);
    } });
    agree(tree, { name: 'root', children: [{ name: 'leaf', children: [] }] }, true);
  });

  it('never passes what zod refuses or would change, over every agent and dashboard event (seeded mutations)', () => {
    const tables = { ...agentToHubEvents, ...uiToHubEvents };
    let passed = 0;
    let checked = 0;
    for (const [event, { payload }] of Object.entries(tables)) {
      for (let seed = 1; seed <= 40; seed++) {
        const next = random(seed * 7919 + event.length);
        const base = event === 'metrics:report' ? { samples: [heartbeat(1_800_000_000_000)] } : exampleOf(payload, next);
        if (expectAgreement(payload, base)) passed++;
        for (let round = 0; round < 25; round++) {
          expectAgreement(payload, mutate(base, next));
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(10_000);
    // The fast path does apply: most generated payloads are ones zod returns unchanged.
    expect(passed).toBeGreaterThan(Object.keys(tables).length * 20);
  });
});
