import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createMemoryLogger } from '../logging/logger.js';
import { systemClock } from '../runtime/clock.js';
import { createProcessesCollector, detectPageSize, redactSecrets } from './processes.collector.js';

describe('process collector', () => {
  it('masks secret-looking argument values before command lines leave the machine', () => {
    expect(redactSecrets(['farol-agent', '--hub', 'http://h', '--token', 'jt_abc.def', '--state', '/x'])).toEqual([
      'farol-agent', '--hub', 'http://h', '--token', '***', '--state', '/x',
    ]);
    expect(redactSecrets(['mysql', '--password=hunter2', '-u', 'root'])).toEqual(['mysql', '--password=***', '-u', 'root']);
    expect(redactSecrets(['app', '--api-key', 'k', '--github_token=t', '--verbose'])).toEqual(['app', '--api-key', '***', '--github_token=***', '--verbose']);
    expect(redactSecrets(['tool', '--token-file', '/etc/x'])).toEqual(['tool', '--token-file', '***']);
  });

  it.runIf(process.platform === 'linux')('finds a busy process among the top CPU users, with its command masked', async () => {
    const busy = spawn(process.execPath, ['-e', 'const end = Date.now() + 15000; while (Date.now() < end);', '--', '--token', 'jt_secret'], {
      stdio: 'ignore',
    });
    try {
      const { logger } = createMemoryLogger();
      const collector = createProcessesCollector('procfs', { clock: systemClock, logger });
      await collector.collect();
      // On a loaded machine the busy loop gets less of a core in some windows: a few readings,
      // 700 ms apart, until one shows it busy.
      let reading = await collector.collect();
      let found: (typeof reading.topCpu)[number] | undefined;
      for (let attempt = 0; attempt < 10; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 700));
        reading = await collector.collect();
        found = reading.topCpu.find((p) => p.pid === busy.pid);
        if (found && found.cpu > 30) break;
      }
      expect(found).toBeDefined();
      expect(found!.cpu).toBeGreaterThan(30);
      expect(found!.command).toContain('--token ***');
      expect(found!.command).not.toContain('jt_secret');
      expect(found!.rss).toBeGreaterThan(1024 * 1024);
      expect(reading.count).toBeGreaterThan(1);
    } finally {
      busy.kill();
    }
  });

  it.runIf(process.platform === 'linux')('derives the kernel page size', () => {
    expect([4096, 16_384, 65_536]).toContain(detectPageSize());
  });
});
