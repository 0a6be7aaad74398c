import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentList, AuditList, Job, Rollout } from '@farol/protocol';
import { launchChromium, watchedPage } from './web/browser.js';
import { ADMIN_TOKEN, api, farolBin, freePort, joinToken, root, startHubProcess, tempDir, waitFor, type Proc } from './support/processes.js';
import { BUNDLE_VERSION, bundleOf, superviseAgent, type SupervisedAgent } from './support/supervised-agent.js';

// Issue #15 item 3: agents update from the hub. Real hub, real agents from the bundle, each
// running its own copy of farol-agent.mjs under a small restart loop standing in for systemd
// (FAROL_SUPERVISED=1: the agent exits 75 to be restarted).

const dir = tempDir('agent-update');
const OLD = BUNDLE_VERSION;
const supervise = (name: string, firstArgs: string[], laterArgs: string[], bundle?: string): SupervisedAgent => superviseAgent(path.join(dir.path, name), firstArgs, laterArgs, bundle);

/** The CLI as a child process, asynchronously: the restart loops above live in this process. */
function farol(args: string[], url: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [farolBin, ...args], { cwd: root, env: { ...process.env, FAROL_HUB_URL: url, FAROL_TOKEN: ADMIN_TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
  return new Promise((resolve) => child.once('exit', (status) => (clearTimeout(timer), resolve({ status, stdout, stderr }))));
}

async function versions(url: string): Promise<Record<string, string | undefined>> {
  const { body } = await api<AgentList>(url, 'GET', '/api/agents');
  return Object.fromEntries(body.agents.map((agent) => [agent.name, agent.status === 'online' ? agent.system?.agentVersion : undefined]));
}

async function auditActions(url: string): Promise<Array<{ action: string; details: Record<string, unknown> }>> {
  const { body } = await api<AuditList>(url, 'GET', '/api/audit?limit=500');
  return body.entries.filter((entry) => entry.action.startsWith('agent_update.')).reverse();
}

let hub: Proc & { url: string };
const machines: SupervisedAgent[] = [];
const updatesDir = path.join(dir.path, 'updates');

beforeAll(async () => {
  mkdirSync(updatesDir);
  writeFileSync(path.join(updatesDir, 'farol-agent-0.2.0.mjs'), bundleOf('0.2.0'));
  // Starts and prints its version, but every `run` dies before it can connect.
  const crashPoint = 'let identity = await ensureIdentity(';
  writeFileSync(
    path.join(updatesDir, 'farol-agent-0.3.0.mjs'),
    bundleOf('0.3.0', (text) => {
      expect(text.split(crashPoint)).toHaveLength(2);
      return text.replace(crashPoint, `if (!globalThis.__farolNever) throw new Error("0.3.0 crashes at start");\n    ${crashPoint}`);
    }),
  );
  writeFileSync(path.join(updatesDir, 'farol-agent-0.4.0.mjs'), bundleOf('0.4.0'));
  hub = await startHubProcess(path.join(dir.path, 'hub'), await freePort(), { FAROL_AGENT_UPDATES_DIR: updatesDir });
  for (const name of ['upd-a', 'upd-b']) {
    const token = await joinToken(hub.url, { labels: { fleet: 'upd' } });
    machines.push(supervise(name, ['run', '--hub', hub.url, '--token', token, '--name', name, '--interval', '1s'], ['run', '--interval', '1s']));
  }
  await waitFor(async () => {
    const now = await versions(hub.url);
    return now['upd-a'] === OLD && now['upd-b'] === OLD ? true : undefined;
  }, 30_000, 'both agents online');
}, 60_000);

afterAll(async () => {
  for (const machine of machines) await machine.stop();
  await hub?.stop('SIGKILL');
  dir.remove();
});

describe('agents update from the hub (#15)', () => {
  it('updates every machine in waves to a newly built version: the agents come back reporting it, the audit log has each step', async () => {
    const builds = await api<{ builds: Array<{ version: string }> }>(hub.url, 'GET', '/api/agent-updates/builds');
    expect(builds.body.builds.map((b) => b.version)).toEqual(expect.arrayContaining([OLD, '0.2.0', '0.3.0', '0.4.0']));

    const result = await farol(['agents', 'update', 'fleet=upd', '--version', '0.2.0'], hub.url);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/every machine is on 0\.2\.0/);
    expect(await versions(hub.url)).toEqual({ 'upd-a': '0.2.0', 'upd-b': '0.2.0' });
    for (const machine of machines) {
      expect(readFileSync(machine.file, 'utf8')).toContain('FAROL_VERSION = "0.2.0"');
      expect(readFileSync(`${machine.file}.prev`, 'utf8')).toContain(`FAROL_VERSION = "${OLD}"`);
      expect(existsSync(path.join(machine.state, 'update.json'))).toBe(false);
    }
    const steps = await auditActions(hub.url);
    expect(steps.map((s) => s.action)).toEqual(['agent_update.request', 'agent_update.wave', 'agent_update.succeeded', 'agent_update.wave', 'agent_update.succeeded', 'agent_update.finish']);
    expect(steps.at(-1)!.details).toMatchObject({ state: 'succeeded', updated: 2 });
  }, 120_000);

  it('refuses a tampered download: nothing is swapped and the result says why', async () => {
    const file = path.join(updatesDir, 'farol-agent-0.4.0.mjs');
    // The hub sums a build once per size and mtime; the file then changes under it (a flipped
    // byte, same size, same whole-second mtime), so the signed manifest no longer matches it.
    utimesSync(file, 1_700_000_000, 1_700_000_000);
    expect((await api(hub.url, 'GET', '/api/agent-updates/builds')).status).toBe(200);
    const bytes = readFileSync(file);
    bytes[bytes.length - 2] = bytes[bytes.length - 2] === 0x20 ? 0x0a : 0x20;
    writeFileSync(file, bytes);
    utimesSync(file, 1_700_000_000, 1_700_000_000);
    expect(statSync(file).mtimeMs).toBe(1_700_000_000_000);

    const started = await api<Rollout>(hub.url, 'POST', '/api/agent-updates', { targets: { agents: ['upd-a'] }, version: '0.4.0' });
    expect(started.status).toBe(201);
    const rollout = await waitFor(async () => {
      const { body } = await api<Rollout>(hub.url, 'GET', `/api/agent-updates/${started.body.id}`);
      return body.state === 'running' ? undefined : body;
    }, 60_000, 'the rollout to end');
    expect(rollout.state).toBe('failed');
    const job = await api<Job>(hub.url, 'GET', `/api/jobs/${rollout.targets[0]!.jobId!}`);
    expect(job.body.targets[0]!.error).toMatch(/SHA-256 [0-9a-f]{64} is not the signed [0-9a-f]{64}; nothing was changed/);
    expect(readFileSync(machines[0]!.file, 'utf8')).toContain('FAROL_VERSION = "0.2.0"');
    expect(existsSync(`${machines[0]!.file}.new.mjs`)).toBe(false);
    expect((await versions(hub.url))['upd-a']).toBe('0.2.0');
  }, 120_000);

  it('rolls back a version that crashes at start: the agent comes back on the old version, the rollout stops, the audit log says so', async () => {
    const startsBefore = machines[0]!.starts();
    const result = await farol(['agents', 'update', 'fleet=upd', '--version', '0.3.0'], hub.url);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/stopped: upd-a failed/);
    // The new version started (and died) a few times before putting the old one back.
    expect(machines[0]!.starts() - startsBefore).toBeGreaterThanOrEqual(4);
    expect(machines[0]!.output()).toContain('0.3.0 crashes at start');
    expect(readFileSync(machines[0]!.file, 'utf8')).toContain('FAROL_VERSION = "0.2.0"');
    await waitFor(async () => ((await versions(hub.url))['upd-a'] === '0.2.0' ? true : undefined), 30_000, 'upd-a back on 0.2.0');
    // The second wave was never sent.
    expect((await versions(hub.url))['upd-b']).toBe('0.2.0');

    const steps = (await auditActions(hub.url)).slice(-4);
    expect(steps.map((s) => s.action)).toEqual(['agent_update.request', 'agent_update.wave', 'agent_update.failed', 'agent_update.finish']);
    expect(String(steps[2]!.details.error)).toMatch(/rolled back to 0\.2\.0: 0\.3\.0 started 3 times without connecting/);
    expect(steps[3]!.details).toMatchObject({ state: 'failed', skipped: 1 });
  }, 180_000);

  it('the machine page shows the version and updates that machine from the dashboard', async () => {
    const browser = await launchChromium();
    try {
      const { page, problems } = await watchedPage(await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' }));
      page.setDefaultTimeout(30_000);
      await page.goto(hub.url);
      await page.fill('input[name=token]', ADMIN_TOKEN);
      await page.click('button[type=submit]');
      await page.locator('[data-testid=machine-card][data-agent-name="upd-b"]').waitFor();
      await page.goto(`${hub.url}/machines/upd-b`);
      await page.getByTestId('agent-update-button').click();
      const dialog = page.getByTestId('agent-update-dialog');
      await dialog.getByText('Runs agent version 0.2.0.').waitFor();
      // The hub's own build is offered first; the machine's own version is not offered.
      const select = page.getByTestId('agent-update-version');
      expect(await select.locator('option').allTextContents()).toEqual([`${OLD} (the hub's)`, '0.4.0', '0.3.0']);
      await page.getByTestId('agent-update-start').click();
      await page.locator('[data-testid=agent-update-state][data-state=succeeded]').waitFor({ timeout: 60_000 });
      expect(await page.getByTestId('agent-update-state').textContent()).toBe(`Updated: the agent runs ${OLD}.`);
      expect((await versions(hub.url))['upd-b']).toBe(OLD);
      expect(problems.errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 120_000);

  it('updates by itself the machines the automatic policy names when they run an older version, and only those', async () => {
    const autoHub = await startHubProcess(path.join(dir.path, 'auto-hub'), await freePort(), { FAROL_AGENT_AUTO_UPDATE: 'ring=auto' });
    try {
      const older = bundleOf('0.0.9');
      for (const [name, labels] of [['auto-a', { ring: 'auto' }], ['manual-b', { ring: 'manual' }]] as const) {
        const token = await joinToken(autoHub.url, { labels });
        machines.push(supervise(name, ['run', '--hub', autoHub.url, '--token', token, '--name', name, '--interval', '1s'], ['run', '--interval', '1s'], older));
      }
      await waitFor(async () => ((await versions(autoHub.url))['manual-b'] === '0.0.9' ? true : undefined), 30_000, 'manual-b online');
      await waitFor(async () => ((await versions(autoHub.url))['auto-a'] === OLD ? true : undefined), 60_000, 'auto-a updated to the hub\'s version');
      const { body } = await api<AuditList>(autoHub.url, 'GET', '/api/audit?action=agent_update.request');
      expect(body.entries).toHaveLength(1);
      expect(body.entries[0]).toMatchObject({ actor: 'auto-update', details: { version: OLD, machines: 1 } });
      expect((await versions(autoHub.url))['manual-b']).toBe('0.0.9');
    } finally {
      await autoHub.stop('SIGKILL');
    }
  }, 120_000);
});
