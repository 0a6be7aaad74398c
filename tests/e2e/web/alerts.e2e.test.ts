import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentList } from '@farol/protocol';
import { ADMIN_TOKEN, agentBundle, api, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from '../support/processes.js';
import { cspViolations, launchChromium, type PageProblems } from './browser.js';
import { openDashboard } from './session.js';

/**
 * The Alerts pages in a real browser against a real hub and agent: a webhook channel (an HTTP
 * server on 127.0.0.1 stands in for the receiver, and the test asserts what it was sent) with
 * "send test", a rule that fires on the real agent's heartbeats, acknowledging it, disabling
 * the rule, and a silence added and ended.
 */
interface Received {
  method: string;
  url: string;
  body: { kind?: string; channel?: string; text?: string; title?: string };
}

const dir = tempDir('web-alerts');
let hub: Proc & { url: string };
let agent: Proc;
let agentName: string;
let browser: Browser;
let page: Page;
let problems: PageProblems;
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];

function startReceiver(): Promise<Server> {
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      received.push({ method: request.method ?? '', url: request.url ?? '', body: JSON.parse(text) as Received['body'] });
      response.writeHead(204).end();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  receiver = await startReceiver();
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/farol-hook`;
  const port = await freePort();
  hub = await startHubProcess(path.join(dir.path, 'hub'), port, { FAROL_NOTIFY_ALLOW_NETWORKS: '127.0.0.1/32' });
  const token = await joinToken(hub.url, { labels: { role: 'alerts-e2e' } });
  agent = run([agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(dir.path, 'agent'), '--interval', '2s']);
  const [online, started] = await Promise.all([
    waitFor(async () => (await api<AgentList>(hub.url, 'GET', '/api/agents?status=online')).body.agents[0], 30_000, 'the agent online'),
    launchChromium(),
  ]);
  agentName = online.name;
  browser = started;
  ({ page, problems } = await openDashboard(browser, { hub: hub.url, context: { colorScheme: 'dark' }, timeoutMs: 20_000, signIn: { storedToken: ADMIN_TOKEN } }));
});

afterAll(async () => {
  await browser?.close();
  await agent?.stop();
  await hub?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
  dir.remove();
});

describe('Alerts in a browser', () => {
  it('adds a webhook channel and sends a test: the receiver gets it and the page shows its answer', async () => {
    // No channel yet: the rules page says that alerts notify no one, and links to adding one (#21).
    await page.goto(`${hub.url}/alerts/rules`);
    const warning = page.getByTestId('no-channel-warning');
    await expect.poll(() => warning.textContent()).toMatch(/notify no one/);
    await warning.getByRole('link', { name: 'Add a channel' }).click();
    await page.waitForURL('**/alerts/channels**');
    const form = page.getByTestId('channel-form');
    await form.locator('input[name=name]').fill('e2e-hook');
    await form.locator('select[name=type]').selectOption('webhook');
    await form.locator('input[name=url]').fill(receiverUrl);
    await form.getByRole('button', { name: 'Create channel' }).click();
    const row = page.locator('[data-testid=channel-row][data-channel=e2e-hook]');
    await row.waitFor();
    await expect.poll(() => page.getByTestId('no-channel-warning').count()).toBe(0);
    // The URL is a secret: the page shows the mask, never the address.
    expect(await row.textContent()).not.toContain('/farol-hook');

    await row.getByRole('button', { name: 'Send test' }).click();
    const result = row.getByTestId('channel-test-result');
    await expect.poll(() => result.getAttribute('data-ok')).toBe('true');
    expect(await result.textContent()).toMatch(/^Delivered: the provider answered 204 in \d+ ms\.$/);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ method: 'POST', url: '/farol-hook', body: { kind: 'test', channel: 'e2e-hook' } });
  });

  it('creates a rule that fires on the real agent, notifies the channel, and acknowledges the alert', async () => {
    await page.getByRole('navigation', { name: 'Alert sections' }).getByRole('link', { name: 'Rules' }).click();
    await page.waitForURL('**/alerts/rules');
    await page.getByRole('button', { name: 'New rule' }).click();
    const form = page.getByTestId('rule-form');
    await form.locator('input[name=name]').fill('Always busy');
    await form.locator('select[name=severity]').selectOption('critical');
    await form.locator('select[name=kind]').selectOption('metric');
    await form.locator('input[name=metric]').fill('cpu');
    await form.locator('select[name=op]').selectOption('>=');
    await form.locator('input[name=threshold]').fill('0');
    await form.locator('input[name=for]').fill('');
    await form.locator('select[name=scopeMode]').selectOption('selector');
    await form.locator('input[name=scope]').fill('role=alerts-e2e');
    await form.locator('input[name=channels]').fill('e2e-hook');
    await form.getByRole('button', { name: 'Create rule' }).click();
    const rule = page.locator('[data-testid=rule-row][data-rule="Always busy"]');
    await rule.waitFor();
    expect(await rule.textContent()).toContain('cpu >= 0');
    expect(await rule.textContent()).toContain('On role=alerts-e2e');

    await page.getByRole('navigation', { name: 'Alert sections' }).getByRole('link', { name: 'Alerts' }).click();
    const alert = page.getByTestId('alerts-active').locator('[data-testid=alert-row][data-rule="Always busy"]');
    await expect.poll(() => alert.getAttribute('data-state'), { timeout: 30_000 }).toBe('firing');
    expect(await alert.textContent()).toContain(agentName);
    await waitFor(() => received.find((request) => request.body.kind === 'alerts' && JSON.stringify(request.body).includes('Always busy')), 20_000, 'the alert notice');

    await alert.getByRole('button', { name: 'Acknowledge' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('input[name=note]').fill('looking into it');
    await dialog.getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => alert.textContent()).toContain('acknowledged by admin: looking into it');
    expect(await alert.getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);
  });

  it('disables the rule from the list', async () => {
    await page.getByRole('navigation', { name: 'Alert sections' }).getByRole('link', { name: 'Rules' }).click();
    const rule = page.locator('[data-testid=rule-row][data-rule="Always busy"]');
    await rule.getByRole('button', { name: 'Disable' }).click();
    await expect.poll(() => rule.getAttribute('data-enabled')).toBe('false');
    const stored = await api<{ enabled: boolean }>(hub.url, 'GET', `/api/alert-rules/${encodeURIComponent('Always busy')}`);
    expect(stored.body.enabled).toBe(false);
  });

  it('edits a built-in rule: the threshold changes, what the form does not show is kept', async () => {
    const before = (await api<{ condition: { recovery?: number; for?: number } }>(hub.url, 'GET', `/api/alert-rules/${encodeURIComponent('CPU high')}`)).body;
    expect(before.condition.recovery).toBeDefined();
    await page.getByRole('button', { name: 'Edit CPU high' }).click();
    const form = page.getByTestId('rule-form');
    await form.locator('input[name=threshold]').fill('97');
    await form.getByRole('button', { name: 'Save' }).click();
    const rule = page.locator('[data-testid=rule-row][data-rule="CPU high"]');
    await expect.poll(() => rule.textContent()).toContain('cpu > 97');
    const after = (await api<{ condition: { threshold: number; recovery?: number; for?: number } }>(hub.url, 'GET', `/api/alert-rules/${encodeURIComponent('CPU high')}`)).body;
    expect(after.condition).toMatchObject({ threshold: 97, recovery: before.condition.recovery, for: before.condition.for });
  });

  it('adds a silence for the machine with a window and a reason, lists it, and ends it', async () => {
    await page.getByRole('navigation', { name: 'Alert sections' }).getByRole('link', { name: 'Silences' }).click();
    const form = page.getByTestId('silence-form');
    await form.locator('input[name=targets]').fill(agentName);
    await form.locator('input[name=duration]').fill('2h');
    await form.locator('input[name=reason]').fill('kernel upgrade');
    await form.getByRole('button', { name: 'Add silence' }).click();
    const silence = page.getByTestId('silence-row').filter({ hasText: 'kernel upgrade' });
    await expect.poll(() => silence.getAttribute('data-active')).toBe('true');
    expect(await silence.textContent()).toContain(agentName);
    const { body } = await api<{ silences: Array<{ startsAt: number; endsAt: number; reason: string; matcher: unknown }> }>(hub.url, 'GET', '/api/silences');
    expect(body.silences).toHaveLength(1);
    expect(body.silences[0]).toMatchObject({ reason: 'kernel upgrade', matcher: { agents: [agentName] } });
    expect(body.silences[0]!.endsAt - body.silences[0]!.startsAt).toBe(2 * 3_600_000);

    await silence.getByRole('button', { name: 'End now' }).click();
    await expect.poll(async () => (await api<{ silences: unknown[] }>(hub.url, 'GET', '/api/silences')).body.silences.length).toBe(0);
    await expect.poll(() => page.getByTestId('silence-row').count()).toBe(0);
    expect(await cspViolations(page, problems)).toEqual([]);
    expect(problems.errors).toEqual([]);
  });

  it('reads in Portuguese too', async () => {
    await page.getByRole('button', { name: 'Language' }).click();
    await page.getByRole('menuitemradio', { name: 'Português (Brasil)' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Alertas');
    await page.getByRole('navigation', { name: 'Seções de alertas' }).getByRole('link', { name: 'Regras' }).click();
    const rule = page.locator('[data-testid=rule-row][data-rule="Always busy"]');
    expect(await rule.textContent()).toContain('Desativada');
    expect(await rule.getByRole('button', { name: 'Ativar' }).count()).toBe(1);
  });
});
