import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { HeartbeatSampleSchema } from '@farol/protocol';
import { releaseSchemaRegistry } from './schema-registry.js';

describe('releaseSchemaRegistry', () => {
  it('forgets the schema ids and descriptions and leaves parsing as it was', () => {
    const sample = { ts: 1_796_600_000_000, cpu: { total: 10, perCore: [10], load: [0.1, 0.2, 0.3] }, memory: null, filesystems: [], diskIo: null, network: null, uptimeSeconds: 5, processCount: 3, topCpu: [], topMemory: [], temperatures: null, gpus: [] };
    const before = HeartbeatSampleSchema.safeParse(sample);
    const badBefore = HeartbeatSampleSchema.safeParse({ ...sample, ts: -1 });
    expect(before.success).toBe(true);
    expect(z.globalRegistry.get(HeartbeatSampleSchema)).toEqual({ id: 'HeartbeatSample' });

    releaseSchemaRegistry();

    expect(z.globalRegistry.get(HeartbeatSampleSchema)).toBeUndefined();
    expect(HeartbeatSampleSchema.safeParse(sample)).toEqual(before);
    const badAfter = HeartbeatSampleSchema.safeParse({ ...sample, ts: -1 });
    expect(badAfter.success).toBe(false);
    expect(badAfter.error?.issues).toEqual(badBefore.error?.issues);
  });
});
