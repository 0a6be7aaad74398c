import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentList, AuditList } from '@farol/protocol';
import { ADMIN_TOKEN, agentBundle, api, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from '../support/processes.js';
import { cspViolations, launchChromium, type PageProblems } from './browser.js';
import { openDashboard } from './session.js';

/**
 * Mission Control's Jobs and Audit pages in a real browser, against a real hub and a real
 * agent: run a command and read its output, from the Jobs page and from a machine's page;
 * cancel a long job; the audit log and its chain check; output that tries to become markup;
 * a rename made elsewhere followed by the open dashboard.
 */
const XSS_IMG = '<img src=x onerror="window.__xss=1">';
const XSS_SCRIPT = '<script>window.__xss=2</script>';

const dir = tempDir('web-jobs');
let hub: Proc & { url: string };
let agent: Proc;
let agentName: string;
let agentId: string;
let browser: Browser;
let page: Page;
let problems: PageProblems;
const dialogs: string[] = [];

const xssOf = () => page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss);
const jobView = () => page.getByTestId('job-view');
const target = () => jobView().getByTestId('job-target').first();

async function runFromJobsPage(targets: string, mode: 'Command' | 'Shell script', command: string): Promise<void> {
  const form = page.getByTestId('run-command-form');
  await form.locator('input[name=targets]').fill(targets);
  await form.getByRole('radio', { name: mode }).click();
  await form.locator('[name=command]').fill(command);
  await form.getByRole('button', { name: 'Run', exact: true }).click();
}

beforeAll(async () => {
  const port = await freePort();
  hub = await startHubProcess(path.join(dir.path, 'hub'), port);
  const token = await joinToken(hub.url, { labels: { role: 'jobs-e2e' } });
  agent = run([agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(dir.path, 'agent'), '--interval', '2s', '--reconnect-max', '2s']);
  const [online, started] = await Promise.all([
    waitFor(async () => (await api<AgentList>(hub.url, 'GET', '/api/agents?status=online')).body.agents[0], 30_000, 'the agent online'),
    launchChromium(),
  ]);
  agentName = online.name;
  agentId = online.id;
  browser = started;
  ({ page, problems } = await openDashboard(browser, { hub: hub.url, context: { colorScheme: 'light' }, timeoutMs: 20_000, signIn: { storedToken: ADMIN_TOKEN } }));
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
});

afterAll(async () => {
  await browser?.close();
  await agent?.stop();
  await hub?.stop();
  dir.remove();
});

describe('Jobs and Audit in a browser', () => {
  it('runs a command from the Jobs page and shows its output as it streams, then the outcome', async () => {
    await page.goto(`${hub.url}/jobs`);
    await runFromJobsPage(agentName, 'Shell script', 'echo first; sleep 2; echo second >&2; echo third; exit 3');
    await jobView().waitFor();
    // The first line arrives while the command still runs.
    await expect.poll(() => target().getAttribute('data-state')).toBe('running');
    await expect.poll(async () => (await target().getByTestId('target-stdout').textContent({ timeout: 1_000 }).catch(() => '')) ?? '').toContain('first');
    expect(await jobView().getAttribute('data-job-state')).toBe('running');

    await expect.poll(() => jobView().getAttribute('data-job-state'), { timeout: 20_000 }).toBe('done');
    expect(await target().getAttribute('data-state')).toBe('failed');
    expect(await target().getAttribute('data-exit-code')).toBe('3');
    expect(await target().getByTestId('target-stdout').textContent()).toBe('first\nthird\n');
    expect(await target().getByTestId('target-stderr').textContent()).toBe('second\n');
    expect(await page.getByTestId('job-progress').textContent()).toBe('1 of 1 done');

    // The history lists it, and its page shows the same outcome.
    const jobId = await jobView().getAttribute('data-job-id');
    const row = page.locator(`[data-testid=job-row][data-job-id="${jobId}"]`);
    await expect.poll(() => row.getAttribute('data-job-state')).toBe('done');
    await row.click();
    await page.waitForURL(`**/jobs/${jobId}`);
    await expect.poll(() => target().getAttribute('data-exit-code')).toBe('3');
    expect(await target().getByTestId('target-stdout').textContent()).toBe('first\nthird\n');
  });

  it('runs a command from the machine page and links to its job', async () => {
    await page.goto(`${hub.url}/machines/${agentName}`);
    await page.getByTestId('machine-actions').getByRole('button', { name: 'Run command' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('input[name=command]').fill('echo "hello from the machine page"');
    await dialog.getByRole('button', { name: 'Run', exact: true }).click();
    await expect.poll(() => dialog.getByTestId('job-view').getAttribute('data-job-state')).toBe('done');
    expect(await dialog.getByTestId('job-target').getAttribute('data-state')).toBe('succeeded');
    expect(await dialog.getByTestId('target-stdout').textContent()).toBe('hello from the machine page\n');

    const jobId = await dialog.getByTestId('job-view').getAttribute('data-job-id');
    await dialog.getByRole('link', { name: 'Open the job page' }).click();
    await page.waitForURL(`**/jobs/${jobId}`);
    await expect.poll(() => target().getAttribute('data-state')).toBe('succeeded');
  });

  it('cancels a long job: the running command is stopped on the machine', async () => {
    await page.goto(`${hub.url}/jobs`);
    await runFromJobsPage(agentName, 'Command', 'sleep 120');
    await expect.poll(() => target().getAttribute('data-state')).toBe('running');
    const startedAt = Date.now();
    await jobView().getByRole('button', { name: 'Cancel job' }).click();
    await expect.poll(() => jobView().getAttribute('data-job-state'), { timeout: 20_000 }).toBe('done');
    expect(await target().getAttribute('data-state')).toBe('cancelled');
    // Stopped, not run to its end.
    expect(Date.now() - startedAt).toBeLessThan(60_000);
    expect(await jobView().getByRole('button', { name: 'Cancel job' }).count()).toBe(0);
  });

  it('renders command output as text: markup in it runs nothing and violates no CSP', async () => {
    await page.goto(`${hub.url}/jobs`);
    await runFromJobsPage(agentName, 'Command', `printf '%s\\n' '${XSS_IMG}' '${XSS_SCRIPT}'`);
    await expect.poll(() => jobView().getAttribute('data-job-state')).toBe('done');
    expect(await target().getByTestId('target-stdout').textContent()).toBe(`${XSS_IMG}\n${XSS_SCRIPT}\n`);
    // The command line itself (shown in the header and the history) is text too.
    expect(await jobView().locator('code').first().textContent()).toContain('<img src=x onerror=');
    expect(await page.locator('img[src=x]').count()).toBe(0);
    expect(await page.locator('main script').count()).toBe(0);
    expect(await xssOf()).toBeUndefined();
    expect(dialogs).toEqual([]);
    expect(await cspViolations(page, problems)).toEqual([]);
    expect(problems.errors).toEqual([]);
  });

  it('shows the audit log with filters, and verifies the chain as intact', async () => {
    const { body } = await api<AuditList>(hub.url, 'GET', '/api/audit?limit=1000');
    const commandEntries = body.entries.filter((entry) => entry.action.startsWith('command.'));
    expect(commandEntries.length).toBeGreaterThanOrEqual(8);

    await page.getByRole('navigation', { name: 'Main' }).first().getByRole('link', { name: 'Audit' }).click();
    await page.waitForURL('**/audit');
    await page.getByTestId('audit-row').first().waitFor();
    await expect.poll(() => page.locator('[data-testid=audit-row][data-action="command.cancel"]').count()).toBe(1);
    expect(await page.locator('[data-testid=audit-row][data-action="command.create"]').count()).toBe(4);
    // Details read as sentences, not key=value dumps (#21).
    const created = (await page.locator('[data-testid=audit-row][data-action="command.create"] [data-testid=audit-details]').first().textContent()) ?? '';
    expect(created).toMatch(new RegExp(`^ran \`.+\` on ${agentName}$`));

    await page.getByLabel('Action', { exact: true }).selectOption('command.result');
    await expect.poll(() => page.locator('[data-testid=audit-row][data-action="command.create"]').count()).toBe(0);
    const results = body.entries.filter((entry) => entry.action === 'command.result').length;
    await expect.poll(() => page.locator('[data-testid=audit-row][data-action="command.result"]').count()).toBe(results);
    await page.getByLabel('Action', { exact: true }).selectOption('');
    await page.getByLabel('Machine', { exact: true }).fill('no-such-machine');
    await page.getByText('No entry matches these filters.').waitFor();
    await page.getByLabel('Machine', { exact: true }).fill(agentName);
    await expect.poll(() => page.locator('[data-testid=audit-row][data-action="command.create"]').count()).toBe(4);

    await page.getByRole('button', { name: 'Verify chain' }).click();
    const result = page.getByTestId('audit-verify-result');
    await expect.poll(() => result.getAttribute('data-ok')).toBe('true');
    expect(await result.textContent()).toMatch(/^Chain intact: \d+ entries checked\.$/);
  });

  it('loads the fleet from the summary view and follows a rename made elsewhere without a reload', async () => {
    // Independent of an earlier try of this test: the machine starts under its own name.
    await api(hub.url, 'PATCH', `/api/agents/${agentId}`, { name: agentName, labels: { role: 'jobs-e2e' } });
    // The live connection is held back until after the rename: the list was read before it, so
    // only the list read again on connect can show the rename.
    const held: Array<{ connect: () => void }> = [];
    await page.routeWebSocket(/\/socket\.io\//, (ws) => {
      held.push({ connect: () => ws.connectToServer() });
    });
    const summary = page.waitForResponse((response) => response.url().endsWith('/api/agents?view=summary'));
    await page.goto(hub.url);
    expect((await summary).status()).toBe(200);
    const card = page.locator(`[data-testid=machine-card][data-agent-name="${agentName}"]`);
    await card.waitFor();
    await expect.poll(() => held.length).toBe(1);

    await api(hub.url, 'PATCH', `/api/agents/${agentId}`, { name: 'renamed-elsewhere', labels: { role: 'jobs-e2e', site: 'lab' } });
    const relisted = page.waitForResponse((response) => response.url().endsWith('/api/agents?view=summary'));
    held[0]!.connect();
    await page.unrouteAll();
    expect((await relisted).status()).toBe(200);
    const renamed = page.locator('[data-testid=machine-card][data-agent-name="renamed-elsewhere"]');
    await renamed.waitFor();
    expect(await renamed.textContent()).toContain('site=lab');

    // An open machine page moves to the new name when it changes again.
    await renamed.click();
    await page.waitForURL('**/machines/renamed-elsewhere');
    await page.getByTestId('machine-name').waitFor();
    await api(hub.url, 'PATCH', `/api/agents/${agentId}`, { name: agentName });
    await page.waitForURL(`**/machines/${agentName}`);
    await expect.poll(() => page.getByTestId('machine-name').textContent()).toBe(agentName);
    expect(await cspViolations(page, problems)).toEqual([]);
  });

  // Last: the agent is gone afterwards.
  it('asks before restarting or stopping the agent, and links the stop to its job', async () => {
    // Under its own name even when the rename test above failed half-way.
    await api(hub.url, 'PATCH', `/api/agents/${agentId}`, { name: agentName, labels: { role: 'jobs-e2e' } });
    await page.goto(`${hub.url}/machines/${agentName}`);
    const actions = page.getByTestId('machine-actions');
    const jobsBefore = (await api<{ jobs: unknown[] }>(hub.url, 'GET', '/api/jobs?limit=500')).body.jobs.length;
    await actions.getByRole('button', { name: 'Restart agent' }).click();
    const confirm = page.getByRole('alertdialog');
    expect(await confirm.textContent()).toContain(`Restart the agent on ${agentName}?`);
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'detached' });
    expect((await api<{ jobs: unknown[] }>(hub.url, 'GET', '/api/jobs?limit=500')).body.jobs.length).toBe(jobsBefore);

    await actions.getByRole('button', { name: 'Stop agent' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Stop agent' }).click();
    await actions.getByText('Stop requested.').waitFor();
    await actions.getByRole('link', { name: 'View the job' }).click();
    await page.waitForURL('**/jobs/job_*');
    await expect.poll(() => target().getAttribute('data-state')).toBe('succeeded');
    expect(await jobView().locator('code').first().textContent()).toBe('stop');
    // The agent process really ended.
    expect(await Promise.race([agent.exited.then(() => 'exited'), new Promise((resolve) => setTimeout(() => resolve('still running'), 15_000))])).toBe('exited');
  });
});
