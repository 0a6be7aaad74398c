import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentContainers } from '@farol/protocol';
import { dockerSkipReason, startDockerEngine, TEST_IMAGE, type DockerEngine } from '../../support/docker-engine.js';
import { ADMIN_TOKEN, agentBundle, api, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from '../support/processes.js';
import { cspViolations, launchChromium, type PageProblems } from './browser.js';
import { openDashboard } from './session.js';

// The deploy form of the machine page (issue #18 item 1) in Debian's Chromium, against a hub
// process and an agent process on a dockerd of its own: a wrong field is refused at the field
// before anything is sent (same parsers and schema as the CLI), a right one deploys.

const skip = dockerSkipReason();
const APP = 'farol-test/app:1';
const SECRET = 'farol-web-deploy-secret-51c2';

interface Inspect {
  Config: { Env: string[]; Labels: Record<string, string>; Healthcheck?: { Test: string[] } };
  HostConfig: { Binds: string[] | null; RestartPolicy: { Name: string }; NetworkMode: string };
}

describe.skipIf(skip !== null)('the deploy form of a machine page (#18)', () => {
  const dir = tempDir('web-deploy');
  let engine: DockerEngine;
  let hub: Proc & { url: string };
  let agent: Proc;
  let browser: Browser;
  let page: Page;
  let problems: PageProblems;

  beforeAll(async () => {
    engine = await startDockerEngine();
    // An image with a command of its own (the form, like the CLI, runs the image's CMD).
    await engine.docker(['run', '--name', 'maker', '--network', 'none', TEST_IMAGE, 'true']);
    await engine.docker(['commit', '--change', 'CMD ["sh","-c","trap \\"exit 0\\" TERM; while true; do sleep 1; done"]', 'maker', APP]);
    await engine.docker(['rm', 'maker']);
    hub = await startHubProcess(path.join(dir.path, 'hub'), await freePort());
    expect((await api(hub.url, 'PUT', '/api/secrets/APP_TOKEN', { value: SECRET, scope: '*' })).status).toBeLessThan(300);
    const state = path.join(dir.path, 'agent');
    agent = run([agentBundle, 'run', '--hub', hub.url, '--token', await joinToken(hub.url), '--state', state, '--name', 'dock', '--interval', '2s', '--docker-host', engine.host]);
    [, browser] = await Promise.all([
      waitFor(async () => {
        const { status, body } = await api<AgentContainers>(hub.url, 'GET', '/api/agents/dock/containers');
        return status === 200 && body.docker?.state === 'available' ? true : undefined;
      }, 30_000, 'dock reporting Docker'),
      launchChromium(),
    ]);
    writeFileSync(path.join(state, 'policy.json'), JSON.stringify({ allow: ['docker', 'docker.deploy', 'docker.images'] }));
    ({ page, problems } = await openDashboard(browser, {
      hub: hub.url,
      context: { viewport: { width: 1280, height: 1000 } },
      timeoutMs: 30_000,
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

  it('refuses a wrong field at the field, then deploys with every field set', async () => {
    await page.goto(`${hub.url}/machines/dock`);
    await page.getByTestId('containers').getByRole('button', { name: 'Deploy' }).click();
    const form = page.getByTestId('deploy-form');
    await form.waitFor();
    await form.locator('input[name=image]').fill(APP);
    await form.locator('input[name=name]').fill('web');
    await form.locator('input[name=ports]').fill('8080:80;reboot');
    await form.getByRole('button', { name: 'Deploy' }).click();
    await expect.poll(() => form.getByRole('alert').textContent()).toContain('a port is HOST:CONTAINER');
    await form.locator('input[name=ports]').fill('');
    await form.locator('input[name=name]').fill('../etc');
    await form.getByRole('button', { name: 'Deploy' }).click();
    await expect.poll(() => form.getByRole('alert').textContent()).toContain('a container name is letters, digits');
    // Nothing was sent for either.
    expect((await api<{ jobs: unknown[] }>(hub.url, 'GET', '/api/jobs')).body.jobs).toEqual([]);

    await form.locator('input[name=name]').fill('web');
    await form.locator('textarea[name=env]').fill('MODE=prod\nLEVEL=2');
    await form.locator('input[name=secrets]').fill('APP_TOKEN');
    await form.locator('textarea[name=volumes]').fill(`${dir.path}:/data:ro`);
    await form.locator('select[name=restart]').selectOption('unless-stopped');
    await form.locator('textarea[name=labels]').fill('team=web\nfarol.auto-update=true');
    await form.locator('input[name=network]').fill('none');
    await form.locator('input[name=healthCmd]').fill('test -d /data');
    await form.getByRole('button', { name: 'Deploy' }).click();
    await page.getByText('Deployed web on dock', { exact: true }).waitFor();
    await form.waitFor({ state: 'detached' });

    const web = await engine.waitForContainer('web', (c) => c.State.Health?.Status === 'healthy', 30_000, 'healthy');
    const inspect = await engine.api<Inspect>(`/containers/${web.Id}/json`);
    expect(inspect.Config.Env).toEqual(expect.arrayContaining(['MODE=prod', 'LEVEL=2', `APP_TOKEN=${SECRET}`]));
    expect(inspect.Config.Labels).toMatchObject({ team: 'web', 'farol.auto-update': 'true' });
    expect(inspect.Config.Healthcheck?.Test).toEqual(['CMD', 'test', '-d', '/data']);
    expect(inspect.HostConfig).toMatchObject({ Binds: [`${dir.path}:/data:ro`], RestartPolicy: { Name: 'unless-stopped' }, NetworkMode: 'none' });
    // The table shows it once the next heartbeat carries it; the job holds the secret's name only.
    await page.getByTestId('containers').locator('[data-testid=container-row][data-name="web"]').waitFor();
    const jobs = JSON.stringify((await api(hub.url, 'GET', '/api/jobs')).body);
    expect(jobs).toContain('APP_TOKEN');
    expect(jobs).not.toContain(SECRET);

    expect(await cspViolations(page, problems)).toEqual([]);
    expect(problems.errors).toEqual([]);
  });
});
