import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentList, AuditList, Rollout } from '@farol/protocol';
import { ADMIN_TOKEN, api, freePort, joinToken, startHubProcess, tempDir, waitFor, type Proc } from '../support/processes.js';
import { BUNDLE_VERSION, bundleOf, superviseAgent, type SupervisedAgent } from '../support/supervised-agent.js';
import { launchChromium } from './browser.js';
import { openDashboard } from './session.js';

// Issue #15 item 3, in Debian's Chromium: the fleet table shows each machine's agent version,
// marks the ones older than the hub's build, and starts the same rollout as
// `farol agents update` (waves, audited) for users with agents:update only. Real hub, real
// agents from the bundle made to say an older version, under a restart loop standing in for
// systemd.

const OLDER = '0.0.9';
const PASSWORD = 'correct horse battery staple';
const dir = tempDir('web-agent-updates');
let hub: Proc & { url: string };
const machines: SupervisedAgent[] = [];
let browser: Browser;

async function versions(): Promise<Record<string, string | undefined>> {
  const { body } = await api<AgentList>(hub.url, 'GET', '/api/agents');
  return Object.fromEntries(body.agents.map((agent) => [agent.name, agent.status === 'online' ? agent.system?.agentVersion : undefined]));
}

beforeAll(async () => {
  hub = await startHubProcess(path.join(dir.path, 'hub'), await freePort());
  const older = bundleOf(OLDER);
  for (const name of ['tbl-a', 'tbl-b']) {
    const token = await joinToken(hub.url, { labels: { ring: 'tbl' } });
    machines.push(superviseAgent(path.join(dir.path, name), ['run', '--hub', hub.url, '--token', token, '--name', name, '--interval', '1s'], ['run', '--interval', '1s'], older));
  }
  [, browser] = await Promise.all([
    waitFor(async () => {
      const now = await versions();
      return now['tbl-a'] === OLDER && now['tbl-b'] === OLDER ? true : undefined;
    }, 30_000, 'both agents online on the older version'),
    launchChromium(),
  ]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const machine of machines) await machine.stop();
  await hub?.stop();
  dir.remove();
});

function signedInTable(token: string, locale: string) {
  return openDashboard(browser, {
    hub: hub.url,
    context: { viewport: { width: 1400, height: 900 }, locale },
    localStorage: { 'farol.fleet.layout': JSON.stringify('table') },
    timeoutMs: 30_000,
    signIn: { token, until: '[data-testid=machine-row][data-agent-name="tbl-b"]' },
  });
}

describe('agent updates from the fleet table (#15)', () => {
  it('shows versions to a read-only user, in Portuguese, without any update action', async () => {
    expect((await api(hub.url, 'POST', '/api/users', { username: 'vera', password: PASSWORD, role: 'viewer' })).status).toBe(201);
    const login = await fetch(`${hub.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'vera', password: PASSWORD, issue: 'token', tokenName: 'browser' }),
    });
    expect(login.status).toBe(200);
    const viewerToken = ((await login.json()) as { token: { token: string } }).token.token;
    const { page, problems } = await signedInTable(viewerToken, 'pt-BR');
    const cell = page.locator('[data-testid=machine-row][data-agent-name="tbl-a"] [data-testid=agent-version]');
    await expect.poll(() => cell.getAttribute('data-outdated')).toBe('true');
    expect(await cell.getAttribute('data-version')).toBe(OLDER);
    expect(await cell.textContent()).toContain('Atualização disponível');
    expect(await page.getByRole('columnheader', { name: 'Agente' }).count()).toBe(1);
    expect(await page.getByTestId('agent-updates-count').textContent()).toBe(`2 máquinas rodam um agente mais antigo que o do hub (${BUNDLE_VERSION}).`);
    // The permission decides: no button anywhere for this user, and the hub refuses anyway.
    expect(await page.getByTestId('agent-update-row').count()).toBe(0);
    expect(await page.getByTestId('agent-updates-all').count()).toBe(0);
    const refused = await fetch(`${hub.url}/api/agent-updates`, {
      method: 'POST',
      headers: { authorization: `Bearer ${viewerToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ targets: { agents: ['tbl-a'] } }),
    });
    expect(refused.status).toBe(403);
    await page.goto(`${hub.url}/machines/tbl-a`);
    await page.getByTestId('machine-actions').waitFor();
    expect(await page.getByTestId('agent-update-button').count()).toBe(0);
    expect(problems.errors).toEqual([]);
    await page.context().close();
  }, 60_000);

  it('updates every outdated machine in waves from the table, showing each step, and the table then shows the new version', async () => {
    const { page, problems } = await signedInTable(ADMIN_TOKEN, 'en-US');
    await expect.poll(() => page.getByTestId('agent-updates-count').getAttribute('data-count')).toBe('2');
    expect(await page.getByTestId('agent-update-row').count()).toBe(2);
    await page.getByTestId('agent-updates-all').click();
    const dialog = page.getByTestId('agent-update-dialog');
    await dialog.getByText('Machines: tbl-a, tbl-b.', { exact: false }).waitFor();
    expect(await page.getByTestId('agent-update-version').locator('option').first().textContent()).toBe(`${BUNDLE_VERSION} (the hub's)`);
    await page.getByTestId('agent-update-start').click();
    await page.locator('[data-testid=agent-update-state][data-state=succeeded]').waitFor({ timeout: 90_000 });
    expect(await page.locator('[data-testid=agent-update-step]').evaluateAll((items) => items.map((item) => `${item.getAttribute('data-agent-name')}:${item.getAttribute('data-state')}`))).toEqual([
      'tbl-a:succeeded',
      'tbl-b:succeeded',
    ]);
    expect(await versions()).toEqual({ 'tbl-a': BUNDLE_VERSION, 'tbl-b': BUNDLE_VERSION });
    await page.getByRole('button', { name: 'Close' }).first().click();
    // The table reads the machines again: new versions, nothing outdated, the bar gone.
    await expect.poll(() => page.locator('[data-testid=machine-row][data-agent-name="tbl-b"] [data-testid=agent-version]').getAttribute('data-version')).toBe(BUNDLE_VERSION);
    expect(await page.getByTestId('agent-updates-bar').count()).toBe(0);

    // The same rollout as the CLI's: one machine, then the rest, each step audited as admin.
    const { body } = await api<AuditList>(hub.url, 'GET', '/api/audit?limit=100');
    const steps = body.entries.filter((entry) => entry.action.startsWith('agent_update.')).reverse();
    expect(steps.map((entry) => entry.action)).toEqual(['agent_update.request', 'agent_update.wave', 'agent_update.succeeded', 'agent_update.wave', 'agent_update.succeeded', 'agent_update.finish']);
    expect(steps.every((entry) => entry.actor === 'admin')).toBe(true);
    const rolloutId = String(steps[0]!.details.rollout);
    const rollout = await api<Rollout>(hub.url, 'GET', `/api/agent-updates/${rolloutId}`);
    expect(rollout.body).toMatchObject({ state: 'succeeded', waves: 2 });
    expect(problems.errors).toEqual([]);
    await page.context().close();
  }, 150_000);
});
