import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { watchedPage, type PageProblems } from './browser.js';

/** How `openDashboard` signs its page in. */
export type DashboardSignIn =
  /**
   * An API token put in sessionStorage before any page loads: signed in as an operator would be
   * after the sign-in page (which dashboard.e2e.test.ts tests), without loading anything yet.
   */
  | { storedToken: string }
  /** The sign-in page's API-token field; then waits for the `until` selector (the Fleet heading when absent). */
  | { token: string; until?: string }
  /**
   * The sign-in page's username and password, then the second factor's code from `otp` when
   * given (asked for only after the password was accepted); then waits as above.
   */
  | { username: string; password: string; otp?: () => Promise<string>; until?: string };

export interface DashboardOptions {
  /** The hub's URL: where the page signs in, and the origin `permissions` are granted for. */
  hub: string;
  /** Browser context options over the defaults, a 1280×900 viewport and the en-US locale. */
  context?: BrowserContextOptions;
  /** Browser permissions granted to the hub's origin, such as `notifications`. */
  permissions?: string[];
  /** Entries put in localStorage before any page script runs, such as a remembered fleet layout. */
  localStorage?: Record<string, string>;
  /** The page's default timeout for actions and waits; Playwright's own (30 s) when absent. */
  timeoutMs?: number;
  /** Left signed out when absent, for tests of the sign-in page itself. */
  signIn?: DashboardSignIn;
}

/**
 * A dashboard page in a browser context of its own, watched for script errors and CSP violations
 * (`watchedPage`) and signed in as `options.signIn` says: the set-up the browser tests share,
 * with only what differs between them passed as options.
 */
export async function openDashboard(browser: Browser, options: DashboardOptions): Promise<{ context: BrowserContext; page: Page; problems: PageProblems }> {
  const { hub, signIn } = options;
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US', ...options.context });
  if (options.permissions) await context.grantPermissions(options.permissions, { origin: hub });
  if (signIn && 'storedToken' in signIn) {
    await context.addInitScript((token) => (globalThis as unknown as { sessionStorage: WebStorage }).sessionStorage.setItem('farol.token', token), signIn.storedToken);
  }
  const { page, problems } = await watchedPage(context);
  if (options.timeoutMs !== undefined) page.setDefaultTimeout(options.timeoutMs);
  if (options.localStorage) {
    await page.addInitScript((entries) => {
      for (const [key, value] of Object.entries(entries)) (globalThis as unknown as { localStorage: WebStorage }).localStorage.setItem(key, value);
    }, options.localStorage);
  }
  if (signIn && !('storedToken' in signIn)) {
    await page.goto(hub);
    if ('token' in signIn) {
      await page.fill('input[name=token]', signIn.token);
      await page.click('button[type=submit]');
    } else {
      await page.fill('input[name=username]', signIn.username);
      await page.fill('input[name=password]', signIn.password);
      await page.click('button[type=submit]');
      if (signIn.otp) {
        await page.fill('input[name=otp]', await signIn.otp());
        await page.click('button[type=submit]');
      }
    }
    await (signIn.until ? page.locator(signIn.until) : page.locator('h1', { hasText: 'Fleet' })).waitFor();
  }
  return { context, page, problems };
}

/** The one Web Storage method used here (the test project compiles without the DOM library). */
interface WebStorage {
  setItem(key: string, value: string): void;
}
