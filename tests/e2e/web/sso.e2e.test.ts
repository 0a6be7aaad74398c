import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestOidcProvider, type TestOidcProvider } from '../../../apps/hub/src/testing/oidc-provider.js';
import { api, freePort, startHubProcess, tempDir, type Proc } from '../support/processes.js';
import { cspViolations, launchChromium } from './browser.js';
import { openDashboard } from './session.js';

/**
 * Issue #20 in a real browser against the built hub: single sign-on through a real OpenID
 * Connect provider (oidc-provider on loopback) — its own login and consent pages — landing
 * signed in with the role of the group claim; a tampered ID token and a person taken out of the
 * group refused with a readable page; password sign-in turned off.
 */
const dir = tempDir('web-sso');
let provider: TestOidcProvider;
let hub: Proc & { url: string };
let browser: Browser;

// (Evaluated in the page; the test's own types have no DOM.)
type PageFetch = (url: string, init?: { method?: string; headers?: Record<string, string>; body?: string }) => Promise<{ status: number; json(): Promise<unknown> }>;

beforeAll(async () => {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  provider = await startTestOidcProvider({
    redirectUri: `${publicUrl}/api/auth/oidc/callback`,
    people: { carla: { groups: ['staging-ops', 'everyone'] }, dora: { groups: ['farol-admins'] } },
  });
  hub = await startHubProcess(path.join(dir.path, 'hub'), port, {
    FAROL_PUBLIC_URL: publicUrl,
    FAROL_OIDC_ISSUER: provider.issuer,
    FAROL_OIDC_CLIENT_ID: provider.clientId,
    FAROL_OIDC_CLIENT_SECRET: provider.clientSecret,
    FAROL_OIDC_SCOPES: 'openid profile email groups',
    FAROL_OIDC_NAME: 'Acme ID',
    FAROL_OIDC_ROLE_MAP: '- match: farol-admins\n  role: admin\n- match: staging-ops\n  role: operator\n  scope: env=staging\n',
    FAROL_LOCAL_SIGNIN: 'off',
    // Short, so the step-up test need not wait long for the sign-in to go stale.
    FAROL_MFA_MAX_AGE: '4s',
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await hub?.stop();
  await provider?.close();
  dir.remove();
});

/** A signed-out page in a browser context of its own: no session carried over from another test. */
const freshPage = () => openDashboard(browser, { hub: hub.url, timeoutMs: 15_000 });

/** From the hub's sign-in page through the provider's own pages, as a person would. */
async function signInAtProvider(page: Page, login: string): Promise<void> {
  await page.goto(hub.url);
  await page.getByRole('link', { name: 'Sign in with Acme ID' }).click();
  await passProviderPages(page, login);
}

/** The provider's login page (and its consent page, when it asks), back to the hub. */
async function passProviderPages(page: Page, login: string): Promise<void> {
  await page.waitForURL((url) => url.origin === provider.issuer);
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', 'whatever the provider checks');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  // The consent page, unless the provider remembers this person's grant to Farol.
  const consent = page.getByRole('button', { name: 'Continue' });
  const atHub = (url: URL): boolean => url.origin === hub.url;
  await Promise.race([consent.waitFor({ state: 'visible' }), page.waitForURL(atHub)]).catch(async (error: unknown) => {
    throw new Error(`neither the consent page nor the hub: ${page.url()} ${(await page.content()).slice(0, 600)}`, { cause: error });
  });
  if (!atHub(new URL(page.url()))) await consent.click();
  await page.waitForURL(atHub);
}

async function me(page: Page): Promise<{ status: number; body: Record<string, unknown> }> {
  return page.evaluate(async () => {
    const response = await (globalThis as unknown as { fetch: PageFetch }).fetch('/api/me');
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  });
}

describe('single sign-on in Mission Control', () => {
  it('offers only the provider (and the API token) when password sign-in is off', async () => {
    const { context, page, problems } = await freshPage();
    await page.goto(hub.url);
    await expect.poll(() => page.getByRole('link', { name: 'Sign in with Acme ID' }).count()).toBe(1);
    expect(await page.locator('input[name=password]').count()).toBe(0);
    expect(await page.locator('input[name=username]').count()).toBe(0);
    // The break-glass stays: an API token.
    expect(await page.locator('input[name=token]').count()).toBe(1);
    expect(await page.locator('main p').first().textContent()).toMatch(/organisation's account/);
    // And the hub refuses a password sign-in made anyway, with its stable code.
    const refused = await page.evaluate(async () => {
      const response = await (globalThis as unknown as { fetch: PageFetch }).fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'anything at all' }) });
      return { status: response.status, body: (await response.json()) as { code: string } };
    });
    expect(refused).toMatchObject({ status: 403, body: { code: 'password_signin_off' } });
    expect(problems.errors).toEqual([]);
    expect(await cspViolations(page, problems)).toEqual([]);
    await context.close();
  });

  it('signs in through the provider\'s pages and lands with the role of the group claim', async () => {
    const { context, page, problems } = await freshPage();
    await signInAtProvider(page, 'carla');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Fleet');
    const who = await me(page);
    expect(who).toMatchObject({ status: 200, body: { name: 'carla', role: 'operator', scope: 'env=staging', via: 'session', stepUpWith: 'provider' } });
    // A normal session cookie: HttpOnly, SameSite=Strict; the flow cookie is gone.
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'farol_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(cookies.some((c) => c.name === 'farol_oidc')).toBe(false);
    // A reload keeps the session.
    await page.reload();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Fleet');
    const users = await api<{ users: Array<{ username: string; role: string; scope: string | null }> }>(hub.url, 'GET', '/api/users');
    expect(users.body.users.find((user) => user.username === 'carla')).toMatchObject({ role: 'operator', scope: 'env=staging' });
    expect(problems.errors).toEqual([]);
    expect(await cspViolations(page, problems)).toEqual([]);
    await context.close();
  });

  it('refuses a tampered ID token with a readable page', async () => {
    const { context, page } = await freshPage();
    provider.tamper = 'groups-unsigned';
    try {
      await signInAtProvider(page, 'carla');
      await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/The single sign-on did not succeed/);
      expect(new URL(page.url()).search).toBe('');
      expect((await context.cookies()).some((c) => c.name === 'farol_session')).toBe(false);
      expect((await me(page)).status).toBe(401);
    } finally {
      provider.tamper = null;
    }
    await context.close();
  });

  it('sends a single sign-on user back to the provider for a fresh sign-in before revealing a secret', async () => {
    expect((await api(hub.url, 'PUT', '/api/secrets/STAGING_DB', { value: 'hunter2-in-staging', scope: 'env=staging' })).status).toBeLessThan(300);
    const { context, page, problems } = await freshPage();
    await signInAtProvider(page, 'carla');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Fleet');
    // Past FAROL_MFA_MAX_AGE (4 s) and the 5 s a step-up's auth_time may lag its start.
    await page.waitForTimeout(6_000);
    await page.goto(`${hub.url}/settings`);
    const row = page.locator('[data-secret=STAGING_DB]');
    await row.getByRole('button', { name: 'Reveal' }).click();
    const dialog = page.getByTestId('step-up-provider');
    await expect.poll(() => dialog.count()).toBe(1);
    expect(await page.getByRole('dialog').textContent()).toMatch(/go to Acme ID to sign in again/);
    await page.getByRole('link', { name: 'Sign in again at Acme ID' }).click();
    // The provider asks again (prompt=login), even though its own session is alive.
    await passProviderPages(page, 'carla');
    const asked = provider.authorizationRequests.at(-1)!;
    expect(asked.searchParams.get('prompt')).toBe('login');
    expect(asked.searchParams.get('max_age')).toBe('0');
    await page.waitForURL(`${hub.url}/settings`);
    await page.locator('[data-secret=STAGING_DB]').getByRole('button', { name: 'Reveal' }).click();
    await expect.poll(() => page.getByTestId('secret-value').textContent()).toBe('hunter2-in-staging');
    const audit = await api<{ entries: Array<{ actor: string }> }>(hub.url, 'GET', '/api/audit?action=auth.oidc_step_up');
    expect(audit.body.entries.some((entry) => entry.actor === 'carla')).toBe(true);
    expect(problems.errors.filter((error) => !/403|mfa_required/.test(error))).toEqual([]);
    await context.close();
  }, 60_000);

  it('takes access away from someone removed from the group at their next sign-in', async () => {
    const { context, page } = await freshPage();
    await signInAtProvider(page, 'dora');
    await expect.poll(async () => (await me(page)).body.role).toBe('admin');
    provider.people.get('dora')!.groups = ['sales'];
    // The next sign-in (another browser): refused, with the reason; and her first session ends too.
    const next = await freshPage();
    await signInAtProvider(next.page, 'dora');
    await expect.poll(() => next.page.getByRole('alert').textContent()).toMatch(/in no group that may use Farol/);
    expect((await me(page)).status).toBe(401);
    const users = await api<{ users: Array<{ username: string; disabled: boolean }> }>(hub.url, 'GET', '/api/users');
    expect(users.body.users.find((user) => user.username === 'dora')).toMatchObject({ disabled: true });
    await next.context.close();
    await context.close();
  });
});
