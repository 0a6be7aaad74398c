import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentList } from '@farol/protocol';
import { farolBin, freePort, run, tempDir, waitFor, type Proc } from './support/processes.js';

const dir = tempDir('dev-start');
const procs: Proc[] = [];
afterAll(async () => {
  for (const proc of procs) await proc.stop('SIGKILL');
  dir.remove();
});

/** The command lines of a process's children, as any local user can read them in /proc. */
function childCommandLines(pid: number): string[] {
  const lines: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === pid) lines.push(readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' '));
    } catch {
      // The process ended between the listing and the read: not a child any more.
    }
  }
  return lines;
}

describe('npm start (farol dev)', () => {
  it('honours FAROL_DATA_DIR and FAROL_PORT, logs short lines, and keeps the join token off the agent\'s command line (#21, #11)', async () => {
    const cwd = path.join(dir.path, 'somewhere');
    const dataDir = path.join(dir.path, 'farol-data');
    const port = await freePort();
    mkdirSync(cwd);
    const dev = run([farolBin, 'dev'], { cwd, env: { FAROL_DATA_DIR: dataDir, FAROL_PORT: String(port) } });
    procs.push(dev);
    const url = `http://127.0.0.1:${port}`;
    const tokenFile = path.join(dataDir, 'admin-token');
    await waitFor(() => (existsSync(tokenFile) && dev.output().includes('Press Ctrl-C to stop.') ? true : undefined), 30_000, 'the banner');
    const adminToken = readFileSync(tokenFile, 'utf8').trim();
    expect(existsSync(path.join(cwd, 'data'))).toBe(false);

    const agents = await waitFor(async () => {
      const response = await fetch(`${url}/api/agents?status=online`, { headers: { authorization: `Bearer ${adminToken}` } });
      const body = (await response.json()) as AgentList;
      return body.agents.length === 1 ? body.agents : undefined;
    }, 40_000, 'the local agent online');
    expect(agents[0]!.status).toBe('online');
    expect(existsSync(path.join(dataDir, 'agent', 'identity.json'))).toBe(true);

    const agentLines = childCommandLines(dev.child.pid!).filter((line) => line.includes('farol-agent'));
    expect(agentLines).toHaveLength(1);
    expect(agentLines[0]).not.toContain('--token');
    expect(agentLines[0]).not.toMatch(/\bjt_/);

    const output = dev.output();
    expect(output).toMatch(/^\d\d:\d\d:\d\d INFO {2}hub listening /m);
    expect(output).toMatch(/^\d\d:\d\d:\d\d WARN {2}no notification channel is configured/m);
    expect(output).toContain('Alerts notify no one until you add a notification channel');
    expect(output).not.toMatch(/^\{"level"/m);
    expect(await dev.stop('SIGINT')).toBe(0);
  });
});
