import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentList } from '@farol/protocol';
import { ADMIN_TOKEN, agentBundle, api, farolBin, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from '../support/processes.js';
import { cspViolations, launchChromium, watchedPage, type PageProblems } from './browser.js';
import { openDashboard } from './session.js';

/**
 * The Checks pages (issue #19) in a real browser, against a hub process and an agent process:
 * a check made in the dashboard runs on the agent against a loopback HTTP service that goes
 * down and comes back; a check from FAROL_CHECKS_FILE is shown read-only; a public status page
 * made in the dashboard is read without signing in and shows nothing marked private.
 */
const dir = tempDir('web-checks');
const AGENT = 'edge-private-7';
const CHECK = 'backend-secret-check';
const FILE_CHECK = 'file-defined-probe';
let hub: Proc & { url: string };
let agent: Proc;
let browser: Browser;
let page: Page;
let problems: PageProblems;
let service: http.Server;
let servicePort = 0;
const sockets = new Set<Socket>();

function startService(port: number): Promise<http.Server> {
  const server = http.createServer((_req, res) => res.end('service is healthy'));
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

async function stopService(): Promise<void> {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => service.close(resolve));
}

/** Waits for a status; on a timeout, the failure carries what the hub knows of the check (its locations' messages). */
async function expectStatus(read: () => Promise<string | null>, status: string, timeout: number): Promise<void> {
  try {
    await expect.poll(read, { timeout }).toBe(status);
  } catch (error) {
    const state = await api(hub.url, 'GET', `/api/checks/${CHECK}`);
    const runs = await api(hub.url, 'GET', `/api/checks/${CHECK}/results?limit=10`);
    throw new Error(`${(error as Error).message}\nthe check: ${JSON.stringify(state.body)}\nits last runs: ${JSON.stringify(runs.body)}`);
  }
}

beforeAll(async () => {
  service = await startService(0);
  servicePort = (service.address() as AddressInfo).port;
  const checksFile = path.join(dir.path, 'checks.yaml');
  writeFileSync(checksFile, `checks:\n  - name: ${FILE_CHECK}\n    probe: { kind: tcp, host: 127.0.0.1, port: ${servicePort} }\n    interval: 30s\n    timeout: 2s\n`);
  const port = await freePort();
  hub = await startHubProcess(path.join(dir.path, 'hub'), port, { FAROL_CHECKS_FILE: checksFile });
  const token = await joinToken(hub.url, {});
  agent = run([agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(dir.path, 'agent'), '--name', AGENT, '--interval', '2s', '--reconnect-max', '1s']);
  const [, started] = await Promise.all([
    waitFor(async () => (await api<AgentList>(hub.url, 'GET', '/api/agents?status=online')).body.agents[0], 30_000, 'the agent online'),
    launchChromium(),
  ]);
  browser = started;
  ({ page, problems } = await openDashboard(browser, { hub: hub.url, timeoutMs: 20_000, signIn: { storedToken: ADMIN_TOKEN } }));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await agent?.stop();
  await hub?.stop();
  if (service.listening) await stopService();
  dir.remove();
});

describe('Checks in a browser (#19)', () => {
  it('creates a check on the agent, follows the service going down and coming back, per location', async () => {
    // A retry starts over: the check a failed attempt made is deleted, its service listens again.
    await api(hub.url, 'DELETE', `/api/checks/${CHECK}`);
    if (!service.listening) service = await startService(servicePort);
    await page.goto(`${hub.url}/`);
    await page.getByRole('navigation', { name: 'Main' }).first().getByRole('link', { name: 'Checks' }).click();
    await page.waitForURL('**/checks');
    // The file's check: listed with its badge, read-only.
    const fileRow = page.locator(`[data-testid=check-row][data-check="${FILE_CHECK}"]`);
    await fileRow.getByTestId('check-file-badge').waitFor();

    await page.getByRole('button', { name: 'New check' }).click();
    const form = page.getByTestId('check-form');
    await form.locator('input[name=name]').fill(CHECK);
    await form.locator('input[name=url]').fill(`http://127.0.0.1:${servicePort}/health`);
    await form.locator('input[name=keyword]').fill('healthy');
    await form.locator('input[name=interval]').fill('10s');
    // The service answers from this test's process, which shares two busy cores with the whole suite.
    await form.locator('input[name=timeout]').fill('5s');
    await form.locator('select[name=runOn]').selectOption('machines');
    await form.locator('input[name=where]').fill(AGENT);
    await form.getByRole('button', { name: 'Create check' }).click();

    const row = page.locator(`[data-testid=check-row][data-check="${CHECK}"]`);
    await expectStatus(() => row.getAttribute('data-status'), 'ok', 40_000);
    expect(await row.locator(`[data-testid=check-location][data-location="${AGENT}"]`).getAttribute('data-status')).toBe('ok');
    expect(await row.getByTestId('uptime').locator('[data-window=h24]').textContent()).toBe('100%');

    await row.getByRole('link', { name: CHECK }).click();
    await page.waitForURL(`**/checks/${CHECK}`);
    const location = page.locator(`[data-testid=location-row][data-location="${AGENT}"]`);
    await expect.poll(() => location.getAttribute('data-status')).toBe('ok');

    await stopService();
    await expectStatus(() => location.getAttribute('data-status'), 'critical', 40_000);
    expect(await page.getByTestId('check-status').getAttribute('data-status')).toBe('critical');
    await expect.poll(() => page.getByTestId('check-messages').textContent()).toContain('ECONNREFUSED');

    service = await startService(servicePort);
    await expectStatus(() => location.getAttribute('data-status'), 'ok', 40_000);
    // The latency chart (uPlot) draws the location's runs; the timeline holds the whole story: up, down, up again.
    // The last hour draws every run (longer ranges draw per-minute or hourly buckets).
    await page.getByRole('radio', { name: '1h', exact: true }).click();
    await page.getByTestId('check-latency-chart').locator('canvas').waitFor();
    // The timeline follows the stored runs, which may come a moment after the live status.
    const colours = async (): Promise<string> => {
      const segments = await location.getByTestId('status-timeline').locator('span').evaluateAll((spans) => spans.map((span) => span.className));
      return segments.map((name) => (name.includes('bg-red-500') ? 'down' : name.includes('bg-emerald-500') ? 'up' : 'other')).join(',');
    };
    await expect.poll(colours, { timeout: 30_000 }).toMatch(/up.*down.*up/);
    const uptime = Number((await location.getByTestId('uptime').locator('[data-window=h24]').textContent())!.replace('%', ''));
    expect(uptime).toBeGreaterThan(0);
    expect(uptime).toBeLessThan(100);

    // The file's check has no Edit or Delete; this one has both.
    expect(await page.getByRole('button', { name: 'Edit' }).count()).toBe(1);
    await page.goto(`${hub.url}/checks/${FILE_CHECK}`);
    await page.getByTestId('check-file-badge').waitFor();
    expect(await page.getByRole('button', { name: 'Edit' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    expect(problems.errors).toEqual([]);
    expect(await cspViolations(page, problems)).toEqual([]);
  }, 150_000);

  it('publishes a status page that anyone can read without signing in, leaking nothing private', async () => {
    await page.goto(`${hub.url}/checks`);
    await page.getByRole('button', { name: 'New status page' }).click();
    const form = page.getByTestId('status-page-form');
    await form.locator('input[name=slug]').fill('acme');
    await form.locator('input[name=title]').fill('Acme services');
    await form.locator(`input[name="show-${CHECK}"]`).check();
    await form.locator(`input[name="display-${CHECK}"]`).fill('Website');
    await form.getByRole('button', { name: 'Publish' }).click();
    await page.locator('[data-testid=status-page-row][data-slug=acme]').waitFor();
    // The CLI lists the same page (REST, CLI and dashboard share one API).
    const cli = run([farolBin, 'status-pages', 'ls'], { env: { FAROL_HUB_URL: hub.url, FAROL_TOKEN: ADMIN_TOKEN } });
    expect(await cli.exited, cli.output()).toBe(0);
    expect(cli.output()).toContain(`/status/acme  "Acme services"\n  Website ← ${CHECK}`);

    // A stranger: a fresh browser context, no token, no cookie.
    const stranger = await browser.newContext({ locale: 'en-US', javaScriptEnabled: true });
    const watched = await watchedPage(stranger);
    const response = await watched.page.goto(`${hub.url}/status/acme`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['cache-control']).toBe('public, max-age=30');
    expect(response?.headers()['content-security-policy']).toMatch(/^default-src 'none'; style-src 'sha256-/);
    const html = await watched.page.content();
    expect(await watched.page.locator('h1').textContent()).toBe('Acme services');
    const section = watched.page.locator('section[data-check]');
    expect(await section.count()).toBe(1);
    expect(await section.locator('.name').textContent()).toBe('Website');
    expect(await section.locator('.st').textContent()).toBe('Operational');
    expect(await section.locator('.bars span').count()).toBe(90);
    // The style sheet applied (allowed by its hash), no script on the page at all.
    // Page code runs in the browser: its globals are reached through globalThis (no DOM types here).
    type BrowserSide = { getComputedStyle(el: unknown): { backgroundColor: string }; document: { scripts: { length: number } } };
    expect(await watched.page.locator('.banner').evaluate((el) => (globalThis as unknown as BrowserSide).getComputedStyle(el).backgroundColor)).toBe('rgb(22, 163, 74)');
    expect(await watched.page.evaluate(() => (globalThis as unknown as BrowserSide).document.scripts.length)).toBe(0);
    for (const secret of [CHECK, FILE_CHECK, AGENT, '127.0.0.1', String(servicePort), '/health', 'healthy', 'chk_', 'ag_']) expect(html, `the page shows ${secret}`).not.toContain(secret);
    expect(watched.problems.errors).toEqual([]);
    expect(await cspViolations(watched.page, watched.problems)).toEqual([]);
    await stranger.close();

    // A browser set to Brazilian Portuguese reads the same page in Portuguese, styled the same.
    const brazilian = await browser.newContext({ locale: 'pt-BR', javaScriptEnabled: true });
    const lido = await watchedPage(brazilian);
    const answer = await lido.page.goto(`${hub.url}/status/acme`);
    expect(answer?.headers()['content-language']).toBe('pt-BR');
    expect(await lido.page.locator('html').getAttribute('lang')).toBe('pt-BR');
    expect(await lido.page.locator('section[data-check] .st').textContent()).toBe('Operacional');
    expect(await lido.page.locator('.banner').textContent()).toBe('Todos os serviços estão operacionais');
    expect(await lido.page.locator('.banner').evaluate((el) => (globalThis as unknown as BrowserSide).getComputedStyle(el).backgroundColor)).toBe('rgb(22, 163, 74)');
    expect(lido.problems.errors).toEqual([]);
    expect(await cspViolations(lido.page, lido.problems)).toEqual([]);
    await brazilian.close();
  }, 60_000);

  it('deletes the check from its page', async () => {
    await page.goto(`${hub.url}/checks/${CHECK}`);
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL('**/checks');
    await page.locator(`[data-testid=check-row][data-check="${FILE_CHECK}"]`).waitFor();
    expect(await page.locator(`[data-testid=check-row][data-check="${CHECK}"]`).count()).toBe(0);
    expect(problems.errors).toEqual([]);
  }, 30_000);
});
