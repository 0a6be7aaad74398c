import { describe, expect, it } from 'vitest';
import { BROADCAST_TOPICS, createMemoryBus } from './bus.js';
import { createLogger } from './logger.js';
import { decodeMessage, encodeMessage } from './redis.js';

describe('the in-memory bus (one hub)', () => {
  it('delivers every topic to this process\'s subscribers at once, and a throwing one does not stop the others', () => {
    const bus = createMemoryBus(createLogger('silent'));
    const seen: string[] = [];
    bus.subscribe('agent.removed', () => {
      throw new Error('subscriber bug');
    });
    const unsubscribe = bus.subscribe('agent.removed', ({ agentId }) => seen.push(agentId));
    bus.publish('agent.removed', { agentId: 'ag_1' });
    expect(seen).toEqual(['ag_1']);
    unsubscribe();
    bus.publish('agent.removed', { agentId: 'ag_2' });
    expect(seen).toEqual(['ag_1']);
  });
});

describe('broadcast and local topics (issue #14)', () => {
  it('keeps full heartbeat samples local and broadcasts what every hub\'s dashboards need', () => {
    expect(BROADCAST_TOPICS.has('metrics.sample')).toBe(false);
    for (const topic of ['agent.status', 'metrics.update', 'metrics.live', 'job.update', 'job.target', 'job.output', 'alert.changed'] as const) expect(BROADCAST_TOPICS.has(topic)).toBe(true);
  });

  it('carries terminal bytes through JSON as bytes', () => {
    const decoded = decodeMessage<{ data: Buffer; text: string }>(encodeMessage({ data: Buffer.from([0, 255, 10]), text: 'x' }));
    expect(Buffer.isBuffer(decoded.data)).toBe(true);
    expect([...decoded.data]).toEqual([0, 255, 10]);
    expect(decoded.text).toBe('x');
  });

  it('decodes messages without bytes as they were, text that looks like the bytes marker included', () => {
    const event = { jobId: 'job_1', target: { stdout: '{"$b64":"AAE="} "$b64"', exitCode: 0, nested: [{ $b64: 'not bytes', other: 1 }] } };
    expect(decodeMessage(encodeMessage(event))).toEqual(event);
    const mixed = decodeMessage<{ text: string; data: Buffer }>(encodeMessage({ text: '"$b64"', data: Buffer.from('hi') }));
    expect(mixed.text).toBe('"$b64"');
    expect(mixed.data.toString()).toBe('hi');
  });
});
