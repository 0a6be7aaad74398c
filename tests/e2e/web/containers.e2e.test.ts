import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentContainers } from '@farol/protocol';
import { dockerSkipReason, startDockerEngine, TEST_IMAGE, type DockerEngine } from '../../support/docker-engine.js';
import { ADMIN_TOKEN, agentBundle, api, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from '../support/processes.js';
import { cspViolations, launchChromium, type PageProblems } from './browser.js';
import { openDashboard } from './session.js';

// The machine page's containers table in Debian's Chromium, against a hub process and an agent
// process reporting a real dockerd of its own (issue #3, Docker).

const skip = dockerSkipReason();
const XSS_LINE = '<img src=x onerror="window.__xss=7">';

describe.skipIf(skip !== null)('the containers table of a machine page', () => {
  const dir = tempDir('web-containers');
  let engine: DockerEngine;
  let hub: Proc & { url: string };
  let agent: Proc;
  let browser: Browser;
  let page: Page;
  let problems: PageProblems;

  const startedAt = async (name: string) => Date.parse((await engine.api<{ State: { StartedAt: string } }>(`/containers/${name}/json`)).State.StartedAt);

  beforeAll(async () => {
    engine = await startDockerEngine();
    await Promise.all([
      engine.docker(['run', '-d', '--network', 'none', '--name', 'web-api', '--health-cmd', 'true', '--health-interval', '1s', TEST_IMAGE, 'sh', '-c', `echo '${XSS_LINE}'; echo api-ready; trap "exit 0" TERM; while true; do sleep 1; done`]),
      engine.docker(['run', '-d', '--network', 'none', '--name', 'web-cron', TEST_IMAGE, 'sh', '-c', 'exit 0']),
    ]);
    hub = await startHubProcess(path.join(dir.path, 'hub'), await freePort());
    const token = await joinToken(hub.url);
    agent = run([
      agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(dir.path, 'agent'), '--name', 'dock', '--interval', '2s', '--reconnect-max', '2s',
      '--docker-host', engine.host, '--watch-containers', 'web-api,web-db',
    ]);
    [, browser] = await Promise.all([
      waitFor(async () => {
        const { status, body } = await api<AgentContainers>(hub.url, 'GET', '/api/agents/dock/containers');
        return status === 200 && body.containers.some((c) => c.name === 'web-api' && c.health === 'healthy') ? true : undefined;
      }, 30_000, 'dock reporting a healthy web-api'),
      launchChromium(),
    ]);
    ({ page, problems } = await openDashboard(browser, {
      hub: hub.url,
      timeoutMs: 20_000,
      signIn: { token: ADMIN_TOKEN, until: '[data-testid=machine-card][data-agent-name="dock"]' },
    }));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop('SIGKILL');
    await hub?.stop('SIGKILL');
    await engine?.stop();
    dir.remove();
  }, 60_000);

  it('shows the containers, restarts one after confirmation, and shows its log as text', async () => {
    await page.goto(`${hub.url}/machines/dock`);

    const table = page.getByTestId('containers');
    const row = (name: string) => table.locator(`[data-testid=container-row][data-name="${name}"]`);
    await row('web-api').waitFor();
    expect(await row('web-api').getByTestId('container-state').textContent()).toBe('running');
    await expect.poll(() => row('web-api').textContent()).toContain('healthy');
    expect(await row('web-api').textContent()).toContain('watched');
    expect(await row('web-cron').getByTestId('container-state').textContent()).toBe('exited (0)');
    expect(await row('web-cron').textContent()).not.toContain('watched');
    // Watched but absent: listed as missing, with nothing to act on.
    expect(await row('web-db').getByTestId('container-state').textContent()).toBe('missing');
    expect(await row('web-db').getByRole('button').count()).toBe(0);

    const before = await startedAt('web-api');
    await row('web-api').getByRole('button', { name: 'Restart web-api' }).click();
    const confirm = page.getByRole('alertdialog');
    expect(await confirm.textContent()).toContain('Restart web-api on dock?');
    await confirm.getByRole('button', { name: 'Restart' }).click();
    await page.getByText('web-api restarted', { exact: true }).waitFor();
    await confirm.waitFor({ state: 'detached' });
    expect(await startedAt('web-api')).toBeGreaterThan(before);

    await row('web-api').getByRole('button', { name: 'Logs of web-api' }).click();
    const stdout = page.getByTestId('container-logs-stdout');
    await stdout.waitFor();
    // Printed twice (before and after the restart), shown as the characters it is.
    expect(await stdout.textContent()).toBe(`${XSS_LINE}\napi-ready\n${XSS_LINE}\napi-ready\n`);
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined();

    expect(await cspViolations(page, problems)).toEqual([]);
    expect(problems.errors).toEqual([]);
  });
});
