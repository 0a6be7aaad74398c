import { HeartbeatSampleSchema, SystemInfoSchema } from '@farol/protocol';
import { describe, expect, it } from 'vitest';
import { createMemoryLogger } from '../logging/logger.js';
import { systemClock } from '../runtime/clock.js';
import { createDefaultCollectors, createSampler } from './sampler.js';
import { collectSystemInfo } from './system-info.collector.js';

describe('heartbeat sampler on this machine', () => {
  it.each(['procfs', 'portable'] as const)('produces a schema-valid sample from the real %s collectors', async (source) => {
    if (source === 'procfs' && process.platform !== 'linux') return;
    const { logger, lines } = createMemoryLogger();
    const collectors = createDefaultCollectors({ clock: systemClock, logger, source });
    const sampler = createSampler({ collectors, clock: systemClock, logger });
    await sampler.prime();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sample = await sampler.sample();

    expect(HeartbeatSampleSchema.safeParse(sample).success).toBe(true);
    expect(lines().filter((line) => line.level === 40)).toEqual([]);
    expect(sample.cpu.total).not.toBeNull();
    expect(sample.cpu.perCore.length).toBeGreaterThan(0);
    expect(sample.memory?.total).toBeGreaterThan(0);
    expect(sample.processCount).toBeGreaterThan(0);
    expect(sample.topCpu.length).toBeGreaterThan(0);
    expect(sample.topMemory[0]?.rss).toBeGreaterThan(0);
    // The test runner itself is among the biggest processes on an otherwise idle machine.
    expect(sample.topMemory.some((p) => p.command?.includes('vitest') || p.name.includes('node'))).toBe(true);
    expect(sample.uptimeSeconds).toBeGreaterThan(0);
    if (source === 'procfs') {
      // After prime(), rates have a baseline.
      expect(sample.network).not.toBeNull();
      expect(sample.diskIo).not.toBeNull();
      expect(sample.network?.interfaces.some((i) => i.name === 'lo')).toBe(false);
    }
  });

  it('describes the machine with a schema-valid SystemInfo', async () => {
    const info = await collectSystemInfo(process.platform === 'linux' ? 'procfs' : 'portable');
    expect(SystemInfoSchema.parse(info).cpuCores).toBeGreaterThan(0);
    expect(info.os).toBe(process.platform);
    expect(info.ips.every((ip) => ip.address !== '127.0.0.1')).toBe(true);
  });

  it('keeps sampling when a collector throws, and warns only once about it', async () => {
    const { logger, lines } = createMemoryLogger('debug');
    const collectors = createDefaultCollectors({ clock: systemClock, logger });
    collectors.memory = {
      name: 'memory',
      fallback: null,
      collect: () => Promise.reject(new Error('EIO reading /proc/meminfo')),
    };
    const sampler = createSampler({ collectors, clock: systemClock, logger });
    const samples = [await sampler.sample(), await sampler.sample(), await sampler.sample()];

    for (const sample of samples) {
      expect(HeartbeatSampleSchema.safeParse(sample).success).toBe(true);
      expect(sample.memory).toBeNull();
      expect(sample.cpu.perCore.length).toBeGreaterThan(0);
    }
    const about = lines().filter((line) => line.collector === 'memory');
    expect(about.filter((line) => line.level === 40)).toHaveLength(1);
    expect(about.filter((line) => line.level === 20)).toHaveLength(2);
    expect((about[0]!.err as { message: string }).message).toContain('EIO');
  });

  it('blanks a collector whose output the hub would refuse, instead of losing the heartbeat', async () => {
    const { logger, lines } = createMemoryLogger();
    const collectors = createDefaultCollectors({ clock: systemClock, logger });
    collectors.diskIo = { name: 'diskIo', fallback: null, collect: async () => ({ readBps: -5, writeBps: 1 }) };
    const sampler = createSampler({ collectors, clock: systemClock, logger });
    const sample = await sampler.sample();
    expect(sample.diskIo).toBeNull();
    expect(lines().filter((line) => line.collector === 'diskIo' && line.level === 40)).toHaveLength(1);
  });
});
