import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentList } from '@farol/protocol';
import { api, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from './support/processes.js';

const dir = tempDir('install');
const procs: Proc[] = [];
afterAll(async () => {
  for (const proc of procs) await proc.stop('SIGKILL');
  dir.remove();
});

describe('adding a machine with the one-line installer', () => {
  it('downloads the agent from the hub, enrolls it, writes a systemd unit whose command brings it online', async () => {
    const hub = await startHubProcess(path.join(dir.path, 'hub'), await freePort());
    procs.push(hub);
    const token = await joinToken(hub.url, { labels: { via: 'installer' } });
    const prefix = path.join(dir.path, 'prefix');
    const state = path.join(dir.path, 'state');
    const units = path.join(dir.path, 'units');
    execFileSync('sh', ['-c', `curl -fsSL ${hub.url}/install.sh | sh -s -- --token ${token} --prefix ${prefix} --state ${state} --service systemd --service-dir ${units}`], {
      stdio: 'pipe',
    });
    expect(existsSync(path.join(prefix, 'farol-agent.mjs'))).toBe(true);
    const identity = path.join(state, 'identity.json');
    expect(statSync(identity).mode & 0o777).toBe(0o600);
    const unit = readFileSync(path.join(units, 'farol-agent.service'), 'utf8');
    expect(unit).toMatch(/Restart=always/);
    const execStart = /^ExecStart=(.+)$/m.exec(unit)![1]!;
    // Run the service's own command line, as systemd would.
    // systemd's quoting: words, or "double-quoted" words with backslash escapes.
    const [command, ...args] = [...execStart.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] ?? m[2]!).replace(/\\(.)/g, '$1'));
    expect(path.basename(command!)).toMatch(/^node/);
    procs.push(run(args));
    const agents = await waitFor(async () => {
      const { body } = await api<AgentList>(hub.url, 'GET', '/api/agents?status=online');
      return body.agents.length ? body.agents : undefined;
    }, 30_000, 'installed agent online');
    expect(agents[0]!.labels).toEqual({ via: 'installer' });
  });
});
