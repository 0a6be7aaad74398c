import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentList, MetricsResponse } from '@farol/protocol';
import { connectPeer, emitAck, enrollPeer, hello, sample } from '../../../apps/hub/src/testing/protocol-peer.js';
import { ADMIN_TOKEN, agentBundle, api, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from '../support/processes.js';
import { cspViolations, launchChromium, type PageProblems } from './browser.js';
import { openDashboard } from './session.js';

/**
 * Mission Control in a real browser against a real hub and a real agent: sign-in, the fleet,
 * a machine's live and historical charts, languages and themes, join tokens, a lost
 * connection, and agent-supplied text that tries to become markup.
 */
const XSS_HOSTNAME = '<img src=x onerror="window.__xss=1">';
const XSS_PROCESS = '<script>window.__xss=2</script>';
const XSS_COMMAND = '<img src=x onerror="window.__xss=3">';

const dir = tempDir('web');
const hubData = path.join(dir.path, 'hub');
// Rollups every 2 s so the 1-minute and 1-hour tiers have points during the test.
const hubEnv = { FAROL_ROLLUP_INTERVAL: '2s' };
let port: number;
let hub: Proc & { url: string };
let agent: Proc;
let agentName: string;
let stopPeer: () => void = () => undefined;
let browser: Browser;
let page: Page;
let problems: PageProblems;

const isDark = async () => ((await page.locator('html').getAttribute('class')) ?? '').split(' ').includes('dark');
const xssOf = () => page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss);

/** A hand-driven agent whose hostname and process names are markup, streaming like a real one. */
async function startHostilePeer(hubUrl: string, token: string): Promise<() => void> {
  const peer = await enrollPeer(hubUrl, token, XSS_HOSTNAME);
  const connection = await connectPeer(hubUrl, peer);
  if (!connection.socket) throw new Error(`hostile peer refused: ${connection.error.message}`);
  const socket = connection.socket;
  const helloAck = await hello(socket, 2_000, XSS_HOSTNAME);
  if (!helloAck.ok) throw new Error(`hostile peer hello refused: ${helloAck.error.code}`);
  const hostileSample = () =>
    sample(Date.now(), 20 + Math.random() * 10, {
      topCpu: [{ pid: 4242, name: XSS_PROCESS, command: XSS_COMMAND, user: '<b>root</b>', cpu: 42, memory: 1.5, rss: 1_000_000 }],
    });
  const report = () => void emitAck(socket, 'metrics:report', { samples: [hostileSample()] }).catch((error: unknown) => console.warn('hostile report', error));
  report();
  const heartbeat = setInterval(report, 2_000);
  let live: ReturnType<typeof setInterval> | undefined;
  socket.on('telemetry:live', ({ intervalMs }: { intervalMs: number | null }) => {
    clearInterval(live);
    if (intervalMs !== null) live = setInterval(() => void emitAck(socket, 'metrics:live', { sample: hostileSample() }).catch(() => undefined), intervalMs);
  });
  return () => {
    clearInterval(heartbeat);
    clearInterval(live);
    socket.close();
  };
}

beforeAll(async () => {
  port = await freePort();
  hub = await startHubProcess(hubData, port, hubEnv);
  const token = await joinToken(hub.url, { labels: { role: 'e2e' } });
  const hostileToken = await joinToken(hub.url, { labels: { role: 'hostile' } });
  agent = run([agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(dir.path, 'agent'), '--interval', '2s', '--reconnect-max', '2s']);
  const [online, browserStarted] = await Promise.all([
    waitFor(async () => (await api<AgentList>(hub.url, 'GET', '/api/agents?status=online&label=role=e2e')).body.agents[0], 30_000, 'the local agent online'),
    launchChromium(),
    startHostilePeer(hub.url, hostileToken).then((stop) => (stopPeer = stop)),
  ]);
  agentName = online.name;
  browser = browserStarted;
  ({ page, problems } = await openDashboard(browser, { hub: hub.url, context: { colorScheme: 'light' }, timeoutMs: 15_000 }));
});

afterAll(async () => {
  stopPeer();
  await browser?.close();
  await agent?.stop();
  await hub?.stop();
  dir.remove();
});

describe('Mission Control in a browser', () => {
  it('refuses a wrong token with a clear error', async () => {
    await page.goto(hub.url);
    await page.fill('input[name=token]', 'fat_not_the_right_token');
    await page.click('button[type=submit]');
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/refused this token/);
    expect(await page.isVisible('[data-testid=machine-card]')).toBe(false);
  });

  it('signs in with the admin token and shows the local agent online on the fleet page', async () => {
    await page.fill('input[name=token]', ADMIN_TOKEN);
    await page.click('button[type=submit]');
    const card = page.locator(`[data-testid=machine-card][data-agent-name="${agentName}"]`);
    await card.waitFor();
    await expect.poll(() => card.getAttribute('data-health')).toBe('online');
    expect(await card.textContent()).toContain('role=e2e');
    expect(await page.locator('h1').textContent()).toBe('Fleet');
  });

  it('opens the machine page, where the live chart moves every second', async () => {
    await page.click(`[data-testid=machine-card][data-agent-name="${agentName}"]`);
    await page.waitForURL(`**/machines/${agentName}`);
    const live = page.getByTestId('live-charts');
    await expect.poll(() => live.getAttribute('data-live-state'), { timeout: 15_000 }).toBe('live');
    const before = Number(await live.getAttribute('data-live-points'));
    await page.waitForTimeout(3_000);
    const after = Number(await live.getAttribute('data-live-points'));
    expect(after - before).toBeGreaterThanOrEqual(2);
    expect(Number(await page.getByTestId('live-cpu-chart').getAttribute('data-points'))).toBe(after);
    expect(await page.getByTestId('live-cpu-value').textContent()).toMatch(/%$/);
  });

  it('changes the history range: the hub picks a coarser resolution and the charts redraw', async () => {
    const history = page.getByTestId('history');
    await expect.poll(() => history.getAttribute('data-resolution')).toBe('raw');
    // Raw points are plain lines; rollups get a min–max band.
    expect(await history.getByText('Min–max').count()).toBe(0);

    const answer = page.waitForResponse((response) => response.url().includes('/metrics?') && response.request().method() === 'GET');
    await history.getByRole('radio', { name: '24 h' }).click();
    const response = (await (await answer).json()) as MetricsResponse;
    expect(response.resolution).toBe('1m');
    expect(response.to - response.from).toBe(86_400_000);
    expect(response.points.length).toBeGreaterThan(0);
    await expect.poll(() => history.getAttribute('data-resolution')).toBe('1m');
    expect(await history.getAttribute('data-points')).toBe(String(response.points.length));
    expect(await page.getByTestId('history-cpu').getAttribute('data-points')).toBe(String(response.points.length));
    expect(await history.getByText('Min–max').count()).toBeGreaterThan(0);

    await history.getByRole('radio', { name: '7 d' }).click();
    await expect.poll(() => history.getAttribute('data-resolution')).toBe('1h');
  });

  it('switches to Portuguese and to the dark theme, and remembers both', async () => {
    await page.getByRole('button', { name: 'Language' }).click();
    await page.getByRole('menuitemradio', { name: 'Português (Brasil)' }).click();
    await expect.poll(() => page.getByTestId('history').locator('h2').textContent()).toBe('Histórico');
    expect(await page.locator('html').getAttribute('lang')).toBe('pt-BR');

    await page.getByRole('button', { name: 'Tema' }).click();
    await page.getByRole('menuitemradio', { name: 'Escuro' }).click();
    await expect.poll(() => isDark()).toBe(true);

    await page.reload();
    await page.getByTestId('history').waitFor();
    expect(await page.getByTestId('history').locator('h2').textContent()).toBe('Histórico');
    expect(await isDark()).toBe(true);

    await page.getByRole('button', { name: 'Idioma' }).click();
    await page.getByRole('menuitemradio', { name: 'English' }).click();
    await page.getByRole('button', { name: 'Theme' }).click();
    await page.getByRole('menuitemradio', { name: 'Light' }).click();
    await expect.poll(() => isDark()).toBe(false);
  });

  it('"Add a machine" on the fleet page opens the join-token dialog with the install commands (#21)', async () => {
    await page.getByRole('navigation', { name: 'Main' }).first().getByRole('link', { name: 'Fleet' }).click();
    await page.getByRole('button', { name: 'Add a machine' }).click();
    // The dialog opens where the operator is: no trip to Settings.
    expect(new URL(page.url()).pathname).toBe('/');
    await page.fill('input[name=labels]', 'role=edge, site=lab');
    await page.fill('input[name=note]', 'browser test');
    await page.getByRole('button', { name: 'Create token' }).click();

    const token = (await page.getByTestId('created-token').textContent()) ?? '';
    expect(token).toMatch(/^jt_[a-z0-9]+\.[A-Za-z0-9_-]+$/);
    // The line pins the hub key (ADR 0024): install.sh refuses an agent the hub did not sign.
    const fingerprint = (await fetch(`${hub.url}/download/hub-key.pem`)).headers.get('x-farol-hub-key-fingerprint');
    expect(fingerprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await page.getByTestId('install-command-unix').textContent()).toBe(`curl -fsSL ${hub.url}/install.sh | sh -s -- --token ${token} --hub-key ${fingerprint}`);
    expect(await page.getByTestId('install-command-windows').textContent()).toBe(`& ([scriptblock]::Create((irm ${hub.url}/install.ps1))) -Token ${token}`);
    expect(await page.getByTestId('install-command-checkout').textContent()).toContain(`--token ${token}`);
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('navigation', { name: 'Main' }).first().getByRole('link', { name: 'Settings' }).click();
    await expect.poll(() => page.getByTestId('join-token-row').filter({ hasText: 'browser test' }).count()).toBe(1);
  });

  it('renders hostnames and process names from agents as text: nothing runs, nothing violates the CSP', async () => {
    await page.getByRole('navigation', { name: 'Main' }).first().getByRole('link', { name: 'Fleet' }).click();
    const hostile = page.locator('[data-testid=machine-card]').filter({ hasText: XSS_HOSTNAME });
    await hostile.waitFor();
    expect(await page.locator('img[src=x]').count()).toBe(0);

    await hostile.click();
    await page.getByTestId('process-name').filter({ hasText: XSS_PROCESS }).first().waitFor();
    expect(await page.getByTestId('system-panel').textContent()).toContain(XSS_HOSTNAME);
    expect(await page.locator('[data-testid=process-table]').first().textContent()).toContain(XSS_COMMAND);
    expect(await page.locator('img[src=x]').count()).toBe(0);
    expect(await xssOf()).toBeUndefined();
    expect(await cspViolations(page, problems)).toEqual([]);
    expect(problems.errors).toEqual([]);
  });

  it('shows a banner while the hub is away and recovers without a reload', async () => {
      await page.goto(`${hub.url}/machines/${agentName}`);
    await expect.poll(() => page.getByTestId('live-charts').getAttribute('data-live-state'), { timeout: 15_000 }).toBe('live');
    stopPeer();
    await hub.stop();
    await page.getByTestId('reconnecting-banner').waitFor();

    hub = await startHubProcess(hubData, port, hubEnv);
    await page.getByTestId('reconnecting-banner').waitFor({ state: 'detached', timeout: 20_000 });
    // The page watches the machine again by itself once the agent is back.
    const before = Number(await page.getByTestId('live-charts').getAttribute('data-live-points'));
    await expect
      .poll(async () => Number(await page.getByTestId('live-charts').getAttribute('data-live-points')), { timeout: 25_000 })
      .toBeGreaterThan(before + 1);
    expect(await cspViolations(page, problems)).toEqual([]);
  });
});
