import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium; Playwright's own browser downloads are not available here. */
export const CHROMIUM_PATH = process.env.FAROL_CHROMIUM ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** What a page reported that a user would never want: script errors and CSP violations. */
export interface PageProblems {
  errors: string[];
  cspViolations: string[];
}

/**
 * A page that records uncaught errors, console errors and Content-Security-Policy violations
 * (the `securitypolicyviolation` event, collected by a script Playwright injects outside the
 * page's CSP).
 */
export async function watchedPage(context: BrowserContext): Promise<{ page: Page; problems: PageProblems }> {
  await context.addInitScript(() => {
    const store = globalThis as unknown as { __cspViolations: string[]; addEventListener(type: string, listener: (event: unknown) => void): void };
    store.__cspViolations = [];
    store.addEventListener('securitypolicyviolation', (event) => {
      const violation = event as { violatedDirective: string; blockedURI: string };
      store.__cspViolations.push(`${violation.violatedDirective} ${violation.blockedURI}`);
    });
  });
  const page = await context.newPage();
  const problems: PageProblems = { errors: [], cspViolations: [] };
  page.on('pageerror', (error) => problems.errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    const text = message.text();
    if (/Content Security Policy/i.test(text)) problems.cspViolations.push(text);
    else if (message.type() === 'error' && !/Failed to load resource|WebSocket connection|ERR_CONNECTION_REFUSED/.test(text)) problems.errors.push(`console: ${text}`);
  });
  return { page, problems };
}

/** Violations the page itself saw, plus those reported on the console. */
export async function cspViolations(page: Page, problems: PageProblems): Promise<string[]> {
  const seen = await page.evaluate(() => (globalThis as unknown as { __cspViolations?: string[] }).__cspViolations ?? []);
  return [...seen, ...problems.cspViolations];
}
