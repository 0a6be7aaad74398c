import { chmodSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentList, CheckHistory, CheckResult } from '@farol/protocol';
import { ADMIN_TOKEN, agentBundle, api, farolBin, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from './support/processes.js';

// Service checks (issue #19) against the real thing: a hub process, two agent processes (one
// whose policy.json allows plugins, one without a policy), a real Nagios-style plugin script,
// a loopback HTTP service, and the farol CLI.

const dir = tempDir('checks');
const procs: Proc[] = [];
let hub: Proc & { url: string };
let web: http.Server;
let webUrl: string;
const plugin = path.join(dir.path, 'check_fake_disk.sh');

function cli(args: string[]): Promise<{ code: number | null; output: string }> {
  const proc = run([farolBin, ...args], { env: { FAROL_HUB_URL: hub.url, FAROL_TOKEN: ADMIN_TOKEN } });
  return proc.exited.then((code) => ({ code, output: proc.output() }));
}

const resultsAt = async (check: string, location: string): Promise<CheckResult[]> =>
  (await api<CheckHistory>(hub.url, 'GET', `/api/checks/${encodeURIComponent(check)}/results?location=${location}`)).body.results ?? [];
const firstResult = (check: string, location: string): Promise<CheckResult> =>
  waitFor(async () => (await resultsAt(check, location))[0], 30_000, `a ${check} result from ${location}`);

beforeAll(async () => {
  web = http.createServer((_req, res) => res.end('farol e2e: healthy'));
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  webUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}/`;
  writeFileSync(plugin, "#!/bin/sh\necho \"DISK WARNING - free space: / 900 MB | '/'=900MB;1000;500;0;10000\"\necho 'second line, ignored'\nexit 1\n");
  chmodSync(plugin, 0o755);
  const allowing = path.join(dir.path, 'allowing-policy.json');
  writeFileSync(allowing, JSON.stringify({ allow: ['*', 'checks.command'] }));

  const port = await freePort();
  hub = await startHubProcess(path.join(dir.path, 'hub'), port);
  procs.push(hub);
  const token = await joinToken(hub.url, { uses: 2 });
  for (const [name, extra] of [
    ['plugged', ['--policy', allowing]],
    ['locked', []],
  ] as const) {
    const proc = run([agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(dir.path, name), '--name', name, '--interval', '2s', '--reconnect-max', '1s', ...extra]);
    procs.push(proc);
  }
  await waitFor(async () => ((await api<AgentList>(hub.url, 'GET', '/api/agents?status=online')).body.agents.length === 2 ? true : undefined), 30_000, 'two agents online');
}, 60_000);

afterAll(async () => {
  for (const proc of procs) await proc.stop('SIGKILL');
  await new Promise((resolve) => web.close(resolve));
  dir.remove();
});

describe('service checks from real agents (#19)', () => {
  it('runs an HTTP check on each machine and from the hub, added and shown with the CLI', async () => {
    const added = await cli(['checks', 'add', 'web', '--http', webUrl, '--keyword', 'healthy', '--agents', 'plugged,locked', '--interval', '10s', '--timeout', '2s']);
    expect(added.code, added.output).toBe(0);
    expect(added.output).toContain('created check web');
    for (const location of ['plugged', 'locked']) expect(await firstResult('web', location)).toMatchObject({ status: 'ok', message: expect.stringMatching(/^HTTP 200 in \d+ ms$/) });

    const fromHub = await cli(['checks', 'add', 'web from hub', '--http', webUrl, '--interval', '10s', '--timeout', '2s']);
    expect(fromHub.code, fromHub.output).toBe(0);
    const ran = await cli(['checks', 'run', 'web from hub']);
    expect(ran.code, ran.output).toBe(0);
    expect(ran.output).toMatch(/^hub: OK HTTP 200 in \d+ ms/);

    const listed = await cli(['checks', 'ls']);
    expect(listed.code, listed.output).toBe(0);
    expect(listed.output).toMatch(/web\s+ok\s+GET http:\/\/127\.0\.0\.1/);
    const shown = await cli(['checks', 'show', 'web']);
    expect(shown.code, shown.output).toBe(0);
    expect(shown.output).toMatch(/locked\s+ok/);
    expect(shown.output).toMatch(/plugged\s+ok/);
  }, 60_000);

  it('runs a Nagios plugin where the policy allows it (WARNING, perfdata parsed) and refuses it where it does not', async () => {
    const added = await cli(['checks', 'add', 'disk', '--agents', 'plugged,locked', '--interval', '10s', '--timeout', '5s', '--command', '--', plugin]);
    expect(added.code, added.output).toBe(0);
    expect(await firstResult('disk', 'plugged')).toMatchObject({
      status: 'warning',
      message: 'DISK WARNING - free space: / 900 MB',
      perfdata: [{ label: '/', value: 900, unit: 'MB', warn: 1000, crit: 500, min: 0, max: 10000 }],
    });
    const refused = await firstResult('disk', 'locked');
    expect(refused.status).toBe('unknown');
    expect(refused.message).toContain('command check refused by this machine\'s policy');
    expect(refused.message).toContain('checks.command');

    const removed = await cli(['checks', 'rm', 'disk']);
    expect(removed.code, removed.output).toBe(0);
    expect((await api(hub.url, 'GET', '/api/checks/disk')).status).toBe(404);
    const missing = await cli(['checks', 'rm', 'disk']);
    expect(missing.code).not.toBe(0);
    expect(missing.output).toContain('no check "disk"');
  }, 60_000);
});
