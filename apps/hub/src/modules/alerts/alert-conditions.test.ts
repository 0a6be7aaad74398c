import { describe, expect, it } from 'vitest';
import { sample } from '../../testing/protocol-peer.js';
import { compileMetric, compileSilence, formatSpan, formatValue, metricHolds } from './alert-conditions.js';

describe('metric paths', () => {
  const s = sample(1, 42, {
    filesystems: [
      { mount: '/', device: 'a', type: 'ext4', size: 10, used: 5, percent: 50 },
      { mount: '/var', device: 'b', type: 'ext4', size: 10, used: 9, percent: 91 },
    ],
    gpus: [{ index: 0, name: 'RTX', utilization: 99, memoryUsed: 6, memoryTotal: 8, temperature: 83, powerWatts: 300 }],
  });

  it('reads named metrics, one value per mount or GPU, and any numeric field by dotted path', () => {
    expect(compileMetric('cpu').read(s)).toEqual([{ instance: '', value: 42 }]);
    expect(compileMetric('load5').read(s)).toEqual([{ instance: '', value: 0.4 }]);
    expect(compileMetric('disk').read(s)).toEqual([
      { instance: '/', value: 50 },
      { instance: '/var', value: 91 },
    ]);
    expect(compileMetric('disk:/var').read(s)).toEqual([{ instance: '/var', value: 91 }]);
    expect(compileMetric('gpu.memory').read(s)).toEqual([{ instance: 'gpu0', value: 75 }]);
    expect(compileMetric('memory.available').read(s)).toEqual([{ instance: '', value: 4e9 }]);
    expect(compileMetric('cpu.perCore.1').read(s)).toEqual([{ instance: '', value: 42 }]);
    expect(compileMetric('memory.missing').read(s)).toEqual([]);
    expect(compileMetric('temperature').read({ ...s, temperatures: null })).toEqual([]);
  });

  it('refuses metrics that name nothing a sample has', () => {
    expect(() => compileMetric('bogus')).toThrow(/unknown metric "bogus"/);
    expect(() => compileMetric('gpu.fan')).toThrow(/unknown GPU metric/);
    expect(() => compileMetric('cpu:0')).toThrow(/one value per machine/);
    expect(() => compileMetric('memory.percent:x')).toThrow(/only disk and gpu/);
  });
});

describe('hysteresis', () => {
  it('starts past the threshold and holds until past the recovery line', () => {
    expect(metricHolds(84, '>', 85, 80, false)).toBe(false);
    expect(metricHolds(86, '>', 85, 80, false)).toBe(true);
    expect(metricHolds(81, '>', 85, 80, true)).toBe(true);
    expect(metricHolds(80, '>', 85, 80, true)).toBe(false);
    expect(metricHolds(10, '<', 15, 20, true)).toBe(true);
    expect(metricHolds(84, '>', 85, undefined, true)).toBe(false);
  });
});

describe('silences and words', () => {
  it('a silence matches only when every part it gives matches', () => {
    const matches = compileSilence({ selector: 'role=gpu', rules: ['CPU high'] });
    const gpu = { id: 'ag_1', name: 'gpu-1', labels: { role: 'gpu' } };
    expect(matches(gpu, { id: 'rule_1', name: 'CPU high' })).toBe(true);
    expect(matches(gpu, { id: 'rule_2', name: 'Disk full' })).toBe(false);
    expect(matches({ ...gpu, labels: { role: 'web' } }, { id: 'rule_1', name: 'CPU high' })).toBe(false);
    expect(compileSilence({ all: true })(null, { id: 'r', name: 'r' })).toBe(true);
  });

  it('formats values and spans for people', () => {
    expect(formatValue(93.14, '%')).toBe('93.1 %');
    expect(formatValue(85, '%')).toBe('85 %');
    expect(formatValue(3 * 1024 * 1024, 'B/s')).toBe('3.0 MB/s');
    expect(formatValue(2.5, null)).toBe('2.5');
    expect(formatSpan(300_000)).toBe('5 min');
    expect(formatSpan(2 * 3_600_000 + 5 * 60_000)).toBe('2 h 5 min');
    expect(formatSpan(40_000)).toBe('40 s');
  });
});
