#!/usr/bin/env node
// Screenshots of Mission Control for the README (npm run screenshots, after npm run build):
// a real hub, this machine's agent and a few simulated fleets with different labels, one of
// them stopped so the fleet shows an offline machine. Writes docs/screenshots/*.png:
// fleet, machine, jobs, alerts and settings in light and dark at 1280×800, the audit log, a new
// join token with its install commands, channels + event webhooks + deliveries, a channel's edit
// dialog, the secrets panel (dark), and the fleet, a job and the channels on a phone.
/* global window -- used only inside callbacks that Playwright runs in the browser */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { agentBundle, api, root, sleep, startHub } from '../bench/lib.mjs';

const outDir = path.join(root, 'docs/screenshots');
const work = mkdtempSync(path.join(tmpdir(), 'farol-shots-'));
const children = [];

function start(args, { quiet = false } = {}) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', quiet ? 'ignore' : 'inherit'], env: { ...process.env, FAROL_LOG_LEVEL: 'error' } });
  children.push(child);
  return child;
}

/** Polls until `probe` returns something, or fails after `ms`. */
async function until(what, ms, probe) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

async function simulate(hub, count, labels, name) {
  const { token } = await api(hub, 'POST', '/api/join-tokens', { uses: count, labels, note: name });
  // Quiet: the simulator prints a summary when it is stopped.
  return start([agentBundle, 'simulate', '--hub', hub.url, '--token', token, '--agents', String(count), '--interval', '2s', '--state', path.join(work, name)], { quiet: true });
}

// Notification channels may reach only public addresses unless allowed; the one shown here is local.
const hub = await startHub({ dataDir: path.join(work, 'hub'), env: { FAROL_ROLLUP_INTERVAL: '5s', FAROL_LOG_LEVEL: 'error', FAROL_NOTIFY_ALLOW_NETWORKS: '127.0.0.1/32' } });
children.push(hub.child);
try {
  const { token: localToken } = await api(hub, 'POST', '/api/join-tokens', { labels: { role: 'workstation', site: 'lab' }, note: 'this machine' });
  start([agentBundle, 'run', '--hub', hub.url, '--token', localToken, '--state', path.join(work, 'agent'), '--interval', '2s']);
  await simulate(hub, 6, { role: 'web', env: 'prod' }, 'web-fleet');
  await simulate(hub, 4, { role: 'db', env: 'prod' }, 'db-fleet');
  const staging = await simulate(hub, 2, { role: 'web', env: 'staging' }, 'staging');

  const agents = await until('13 machines online', 60_000, async () => {
    const { agents: list } = await api(hub, 'GET', '/api/agents?status=online');
    return list.length >= 13 ? list : undefined;
  });
  const local = agents.find((agent) => agent.labels.role === 'workstation');
  // Simulated agents are called sim-<run>-<n>; give them the names a real fleet would have.
  const counters = {};
  for (const agent of agents.filter((a) => a !== local).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }))) {
    const base = agent.labels.env === 'staging' ? 'staging-web' : agent.labels.role;
    counters[base] = (counters[base] ?? 0) + 1;
    await api(hub, 'PATCH', `/api/agents/${agent.id}`, { name: `${base}-${String(counters[base]).padStart(2, '0')}` });
  }
  // Alerts: a rule that fires on the database machines, a channel, a silence, and one alert acknowledged.
  const hook = await api(hub, 'POST', '/api/channels', { type: 'webhook', name: 'ops-webhook', settings: { url: 'http://127.0.0.1:9/farol' } });
  await api(hub, 'POST', '/api/alert-rules', {
    name: 'DB load',
    description: 'database machines busier than usual',
    condition: { kind: 'metric', metric: 'cpu', op: '>=', threshold: 0 },
    scope: { selector: 'role=db' },
    severity: 'critical',
    channels: [hook.name],
  });
  await api(hub, 'POST', '/api/silences', { matcher: { selector: 'env=staging' }, duration: '4h', reason: 'staging rebuild' });
  // Channels page: an event webhook and an edited channel; Settings: two secrets (names only).
  await api(hub, 'POST', '/api/webhooks', { name: 'n8n', url: 'http://127.0.0.1:9/webhook/farol', secret: 'a-shared-hmac-secret-0123', events: ['agent.offline', 'alert.firing', 'job.finished'], selector: { labels: 'env=prod' } });
  await api(hub, 'PATCH', '/api/channels/ops-webhook', { quietHours: { start: '23:00', end: '07:00', timezone: 'America/Sao_Paulo' }, template: { title: 'Farol: {{count}} {{event}}' } });
  await api(hub, 'PUT', '/api/secrets/DB_PASSWORD', { value: 'not-shown-anywhere', scope: 'role=db', description: 'postgres superuser' });
  await api(hub, 'PUT', '/api/secrets/DEPLOY_KEY', { value: 'not-shown-either', scope: 'role=web,env=prod' });
  // A short history (sparklines, charts), then one machine goes away so the fleet shows it.
  await sleep(20_000);
  const { alerts } = await api(hub, 'GET', '/api/alerts?state=active');
  if (alerts[0]) await api(hub, 'POST', `/api/alerts/${alerts[0].id}/ack`, { note: 'known: nightly backup' });
  staging.kill('SIGKILL');
  await sleep(3_000);
  // Jobs: one on the web machines (simulated agents run echo), for the history and the audit log.
  await api(hub, 'POST', '/api/jobs', { command: { kind: 'shell', argv: ['echo', 'deployed v2.4.1'] }, targets: { selector: 'role=web,env=prod' } });

  mkdirSync(outDir, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.FAROL_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--hide-scrollbars'],
  });
  const shoot = async ({ theme, width, height, scale = 1, pages }) => {
    const context = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: scale, colorScheme: theme, locale: 'en-US' });
    await context.addInitScript((token) => window.sessionStorage.setItem('farol.token', token), hub.adminToken);
    const page = await context.newPage();
    for (const [name, visit] of pages) {
      await visit(page);
      await page.screenshot({ path: path.join(outDir, `${name}.png`) });
      console.log(`wrote docs/screenshots/${name}.png`);
    }
    await context.close();
  };
  const fleet = async (page) => {
    await page.goto(hub.url);
    // The grid is windowed: only the cards on screen exist; wait for the whole fleet's count.
    await page.getByText('13 machines').waitFor();
    await page.locator('[data-testid=machine-card]').first().waitFor();
    await sleep(1_500);
  };
  const machine = async (page) => {
    await page.goto(`${hub.url}/machines/${encodeURIComponent(local.name)}`);
    await until('live points', 30_000, async () => Number(await page.getByTestId('live-charts').getAttribute('data-live-points')) >= 12);
    await page.mouse.move(0, 0);
  };
  const settings = async (page) => {
    await page.goto(`${hub.url}/settings`);
    await page.getByTestId('join-token-row').first().waitFor();
    await sleep(500);
  };
  const newToken = async (page) => {
    await page.getByRole('button', { name: 'Create join token' }).click();
    await page.fill('input[name=labels]', 'role=gpu, site=rack-4');
    await page.fill('input[name=note]', 'rack 4 GPU nodes');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByTestId('created-token').waitFor();
    await sleep(300);
  };
  const jobs = async (page) => {
    await page.goto(`${hub.url}/jobs`);
    await page.locator('input[name=targets]').fill(local.name);
    await page.getByRole('radio', { name: 'Shell script' }).click();
    await page.locator('[name=command]').fill('df -h / /tmp | column -t; uptime');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await until('the job done', 30_000, async () => (await page.getByTestId('job-view').getAttribute('data-job-state')) === 'done');
    await page.getByTestId('job-row').nth(1).waitFor();
    await page.mouse.move(0, 0);
    await sleep(500);
  };
  const jobPage = async (page) => {
    await page.goto(`${hub.url}/jobs`);
    await page.getByTestId('job-row').first().click();
    await until('the job done', 30_000, async () => (await page.getByTestId('job-view').getAttribute('data-job-state')) === 'done');
    await sleep(300);
  };
  const alertsPage = async (page) => {
    await page.goto(`${hub.url}/alerts`);
    await page.locator('[data-testid=alert-row][data-state=firing]').first().waitFor();
    await sleep(300);
  };
  const rulesPage = async (page) => {
    await page.goto(`${hub.url}/alerts/rules`);
    await page.getByTestId('rule-row').first().waitFor();
    await sleep(300);
  };
  const audit = async (page) => {
    await page.goto(`${hub.url}/audit`);
    await page.getByTestId('audit-row').first().waitFor();
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await page.getByTestId('audit-verify-result').waitFor();
    await sleep(300);
  };
  const channels = async (page) => {
    await page.goto(`${hub.url}/alerts/channels`);
    await page.locator('[data-testid=webhook-row]').first().waitFor();
    await sleep(300);
  };
  const channelEdit = async (page) => {
    await channels(page);
    await page.locator('[data-testid=channel-row][data-channel=ops-webhook]').getByRole('button', { name: 'Edit', exact: true }).click();
    await page.getByTestId('channel-edit-form').waitFor();
    await sleep(300);
  };
  const secrets = async (page) => {
    await page.goto(`${hub.url}/settings`);
    await page.locator('[data-testid=secret-row]').first().waitFor();
    await page.getByTestId('secrets').scrollIntoViewIfNeeded();
    await sleep(300);
  };
  for (const theme of ['light', 'dark']) {
    await shoot({
      theme,
      width: 1280,
      height: 800,
      pages: [
        [`fleet-${theme}`, fleet],
        [`machine-${theme}`, machine],
        [`jobs-${theme}`, jobs],
        [`alerts-${theme}`, alertsPage],
        [`settings-${theme}`, settings],
      ],
    });
  }
  await shoot({ theme: 'light', width: 1280, height: 800, pages: [['alert-rules', rulesPage], ['audit', audit]] });
  await shoot({ theme: 'light', width: 1280, height: 800, pages: [['join-token', async (page) => (await settings(page), await newToken(page))]] });
  await shoot({ theme: 'light', width: 1280, height: 800, pages: [['channels', channels], ['channel-edit', channelEdit]] });
  await shoot({ theme: 'dark', width: 1280, height: 800, pages: [['secrets', secrets]] });
  await shoot({ theme: 'light', width: 390, height: 844, scale: 2, pages: [['fleet-phone', fleet], ['job-phone', jobPage], ['channels-phone', channels]] });
  await browser.close();
} finally {
  for (const child of children.reverse()) if (child.exitCode === null) child.kill('SIGTERM');
  await sleep(500);
  rmSync(work, { recursive: true, force: true });
}
