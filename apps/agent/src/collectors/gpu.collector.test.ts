import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GpuSampleSchema } from '@farol/protocol';
import { describe, expect, it } from 'vitest';
import { createMemoryLogger } from '../logging/logger.js';
import { createGpuCollector, findInPath, parseNvidiaSmiCsv } from './gpu.collector.js';

const MIB = 1024 * 1024;

describe('NVIDIA GPU collector', () => {
  it('parses nvidia-smi CSV, with [N/A] as null and MiB as bytes', () => {
    const text = [
      '0, NVIDIA GeForce RTX 4090, 37, 10240, 24564, 61, 285.43',
      '1, Tesla T4, [N/A], 0, 15360, 33, [N/A]',
      '2, NVIDIA A100-SXM4-80GB, 0, 4, 81920, [Not Supported], 62.10',
      '',
    ].join('\n');
    const gpus = parseNvidiaSmiCsv(text);
    expect(gpus).toEqual([
      { index: 0, name: 'NVIDIA GeForce RTX 4090', utilization: 37, memoryUsed: 10240 * MIB, memoryTotal: 24564 * MIB, temperature: 61, powerWatts: 285.43 },
      { index: 1, name: 'Tesla T4', utilization: null, memoryUsed: 0, memoryTotal: 15360 * MIB, temperature: 33, powerWatts: null },
      { index: 2, name: 'NVIDIA A100-SXM4-80GB', utilization: 0, memoryUsed: 4 * MIB, memoryTotal: 81920 * MIB, temperature: null, powerWatts: 62.1 },
    ]);
    for (const gpu of gpus) expect(GpuSampleSchema.safeParse(gpu).success).toBe(true);
  });

  it('keeps a GPU name that contains commas whole', () => {
    expect(parseNvidiaSmiCsv('0, Quadro RTX 8000, rev A, 5, 100, 48000, 40, 70.5\r\n')[0]?.name).toBe('Quadro RTX 8000, rev A');
  });

  it('ignores lines that are not GPU rows (driver errors printed to stdout)', () => {
    expect(parseNvidiaSmiCsv('NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.\n')).toEqual([]);
  });

  it('reports no GPUs and says so once at info when nvidia-smi is absent', async () => {
    const { logger, lines } = createMemoryLogger();
    const collector = createGpuCollector({ logger, env: { PATH: '/nonexistent' } });
    expect(await collector.collect()).toEqual([]);
    expect(await collector.collect()).toEqual([]);
    const said = lines().filter((line) => String(line.msg).includes('no NVIDIA GPU tools'));
    expect(said).toHaveLength(1);
    expect(said[0]!.level).toBe(30);
  });

  it('runs nvidia-smi from PATH and reads its output', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'farol-nvsmi-'));
    try {
      const fake = path.join(dir, 'nvidia-smi');
      writeFileSync(fake, '#!/bin/sh\necho "0, NVIDIA L4, 12, 512, 23034, 45, 30.00"\n');
      chmodSync(fake, 0o755);
      expect(findInPath('nvidia-smi', { PATH: `/nonexistent:${dir}` })).toBe(fake);
      const { logger } = createMemoryLogger();
      const gpus = await createGpuCollector({ logger, env: { PATH: dir } }).collect();
      expect(gpus).toEqual([{ index: 0, name: 'NVIDIA L4', utilization: 12, memoryUsed: 512 * MIB, memoryTotal: 23034 * MIB, temperature: 45, powerWatts: 30 }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
