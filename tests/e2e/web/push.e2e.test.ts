import path from 'node:path';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PushMessageSchema, type PushMessage } from '@farol/protocol';
import { api, freePort, startHubProcess, tempDir, waitFor, type Proc } from '../support/processes.js';
import { cspViolations, launchChromium, watchedPage, type PageProblems } from './browser.js';
import { openDashboard } from './session.js';

/**
 * Browser notifications (issue #20) in Debian's Chromium against a real hub: the Settings toggle
 * shows this browser's state in English and Portuguese, the hub serves the service worker at the
 * root under its CSP, and a push message delivered to that worker (DevTools'
 * ServiceWorker.deliverPushMessage, as the browser does after decrypting one) becomes a
 * notification that names the alert. Headless Chromium has no push service to subscribe with
 * (PushManager.subscribe waits for Google's), so the subscription itself is tested against a
 * loopback push service in apps/hub/src/modules/push/push.int.test.ts.
 */

const PASSWORD = 'correct horse battery staple';
const dir = tempDir('web-push');
let hub: Proc & { url: string };
let browser: Browser;
let context: BrowserContext;
let page: Page;
let problems: PageProblems;

beforeAll(async () => {
  [hub, browser] = await Promise.all([startHubProcess(path.join(dir.path, 'hub'), await freePort()), launchChromium()]);
  expect((await api(hub.url, 'POST', '/api/users', { username: 'nadia', password: PASSWORD, role: 'operator' })).status).toBe(201);
  ({ context, page, problems } = await openDashboard(browser, {
    hub: hub.url,
    context: { reducedMotion: 'reduce' },
    permissions: ['notifications'],
    timeoutMs: 20_000,
    signIn: { username: 'nadia', password: PASSWORD },
  }));
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await hub?.stop();
  dir.remove();
});

/** The page's service worker API as these tests use it (they compile without the DOM library). */
interface PageScope {
  navigator: {
    serviceWorker: {
      register(url: string, options: { scope: string }): Promise<{ scope: string }>;
      ready: Promise<{ getNotifications(): Promise<Array<{ title: string; body: string; tag: string; requireInteraction: boolean }>> }>;
    };
  };
}

/**
 * The registration id DevTools knows the dashboard's service worker by, once its worker version is
 * activated and running: a push delivered to a worker that is still installing is dropped.
 */
async function workerRegistration(cdp: CDPSession): Promise<string> {
  const registrations: Array<{ registrationId: string; scopeURL: string }> = [];
  const versions: Array<{ registrationId: string; status: string; runningStatus: string }> = [];
  cdp.on('ServiceWorker.workerRegistrationUpdated', (event: { registrations: Array<{ registrationId: string; scopeURL: string }> }) => registrations.push(...event.registrations));
  cdp.on('ServiceWorker.workerVersionUpdated', (event: { versions: Array<{ registrationId: string; status: string; runningStatus: string }> }) => versions.push(...event.versions));
  await cdp.send('ServiceWorker.enable');
  const registrationId = await waitFor(() => registrations.find((r) => r.scopeURL === `${hub.url}/`)?.registrationId, 20_000, 'the service worker registration');
  await waitFor(() => versions.some((v) => v.registrationId === registrationId && v.status === 'activated'), 20_000, 'the service worker to be activated');
  return registrationId;
}

interface ShownNotification {
  title: string;
  body: string;
  tag: string;
  requireInteraction: boolean;
}

/** The notifications the service worker shows now. */
async function notifications(): Promise<ShownNotification[]> {
  return page.evaluate(async () =>
    (await (await (globalThis as unknown as PageScope).navigator.serviceWorker.ready).getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, requireInteraction: n.requireInteraction })),
  );
}

/**
 * Delivers a push message until the worker has shown what `shown` accepts. Chromium may start
 * the worker for the first message and drop it while doing so (seen on a loaded CI machine);
 * a browser's push service redelivers in that case, and so does this. The notifications carry
 * the alert's tag, so a second delivery replaces the first instead of adding one.
 */
async function deliverUntilShown(cdp: CDPSession, registrationId: string, data: string, shown: (list: ShownNotification[]) => boolean, what: string): Promise<ShownNotification[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    await cdp.send('ServiceWorker.deliverPushMessage', { origin: hub.url, registrationId, data });
    const settle = Date.now() + 5_000;
    while (Date.now() < settle) {
      const list = await notifications();
      if (shown(list)) return list;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (Date.now() > deadline) throw new Error(`timed out after 30000 ms waiting for ${what}`);
  }
}

describe('browser notifications in Chromium', () => {
  it('shows the toggle off for a browser that allows notifications but has not subscribed, in both languages', async () => {
    await page.goto(`${hub.url}/settings`);
    const toggle = page.getByTestId('push-toggle');
    await expect.poll(() => toggle.getAttribute('data-state')).toBe('off');
    await expect.poll(() => toggle.textContent()).toContain('Off in this browser');
    expect(await toggle.getByRole('button', { name: 'Turn on' }).isEnabled()).toBe(true);
    await page.getByRole('radio', { name: 'Português (Brasil)' }).click();
    await expect.poll(() => toggle.textContent()).toContain('Desativadas neste navegador');
    expect(await toggle.getByRole('button', { name: 'Ativar' }).isVisible()).toBe(true);
    await page.getByRole('radio', { name: 'English' }).click();
    await expect.poll(() => toggle.textContent()).toContain('Turn on');
  });

  it('says unsupported where push cannot work (no Push API)', async () => {
    const other = await browser.newContext({ locale: 'en-US' });
    // What a browser without the Push API looks like to the dashboard.
    await other.addInitScript(() => {
      delete (globalThis as { PushManager?: unknown }).PushManager;
    });
    const { page: bare } = await watchedPage(other);
    await bare.goto(hub.url);
    await bare.fill('input[name=username]', 'nadia');
    await bare.fill('input[name=password]', PASSWORD);
    await bare.click('button[type=submit]');
    await bare.locator('h1', { hasText: 'Fleet' }).waitFor();
    await bare.goto(`${hub.url}/settings`);
    const toggle = bare.getByTestId('push-toggle');
    await expect.poll(() => toggle.getAttribute('data-state')).toBe('unsupported');
    expect(await toggle.getByRole('button').count()).toBe(0);
    await other.close();
  });

  it('serves the service worker at the root, and a push message becomes a notification of the alert', async () => {
    const served = await fetch(`${hub.url}/push-sw.js`);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(served.headers.get('content-security-policy')).toContain("script-src 'self'");
    const scope = await page.evaluate(async () => (await (globalThis as unknown as PageScope).navigator.serviceWorker.register('/push-sw.js', { scope: '/' })).scope);
    expect(scope).toBe(`${hub.url}/`);
    await page.evaluate(async () => void (await (globalThis as unknown as PageScope).navigator.serviceWorker.ready));

    const message: PushMessage = PushMessageSchema.parse({
      kind: 'alert',
      notice: {
        alertId: 'al_0123456789abcdef',
        ruleId: 'ar_0123456789abcdef',
        ruleName: 'Disk full',
        event: 'firing',
        severity: 'critical',
        agentId: 'ag_0123456789abcdef',
        agentName: 'db-1',
        subject: 'disk /var',
        summary: 'Disk /var 97.2 % > 90 %',
        value: 97.2,
        threshold: 90,
        comparator: '>',
        unit: '%',
        since: Date.now() - 60_000,
        resolvedAt: null,
        labels: { env: 'prod' },
      },
    });
    const cdp = await context.newCDPSession(page);
    const registrationId = await workerRegistration(cdp);
    const shown = await deliverUntilShown(cdp, registrationId, JSON.stringify(message), (list) => list.length > 0, 'the notification');
    expect(shown).toEqual([{ title: '‼ Disk full · db-1', body: 'Disk /var 97.2 % > 90 %', tag: 'al_0123456789abcdef', requireInteraction: true }]);

    // Its resolution replaces it (same tag), and is not sticky.
    const resolved = { ...message, notice: { ...message.notice, event: 'resolved', summary: 'Disk /var 71.0 % back under 90 %' } };
    const replaced = await deliverUntilShown(cdp, registrationId, JSON.stringify(resolved), (list) => list.length === 1 && list[0]!.title.startsWith('✓'), 'the resolution replacing the notification');
    expect(replaced).toEqual([{ title: '✓ Disk full · db-1', body: 'Disk /var 71.0 % back under 90 %', tag: 'al_0123456789abcdef', requireInteraction: false }]);
    expect(await cspViolations(page, problems)).toEqual([]);
    expect(problems.errors).toEqual([]);
  });
});
