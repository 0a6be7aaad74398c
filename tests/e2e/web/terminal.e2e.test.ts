import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentList, TerminalSessionList } from '@farol/protocol';
import { ADMIN_TOKEN, agentBundle, api, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from '../support/processes.js';
import { cspViolations, launchChromium, type PageProblems } from './browser.js';
import { openDashboard } from './session.js';

// The machine page's Terminal button in Debian's Chromium: xterm.js under the dashboard's strict
// CSP, a hub process, and an agent process running a real login shell on a real PTY.

describe('the Terminal of a machine page', () => {
  const dir = tempDir('web-terminal');
  let hub: Proc & { url: string };
  let agent: Proc;
  let browser: Browser;
  let page: Page;
  let problems: PageProblems;

  beforeAll(async () => {
    hub = await startHubProcess(path.join(dir.path, 'hub'), await freePort());
    const token = await joinToken(hub.url);
    agent = run([agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(dir.path, 'agent'), '--name', 'term-box', '--interval', '2s', '--reconnect-max', '2s'], {
      env: { SHELL: '/bin/bash', HOME: dir.path },
    });
    [, browser] = await Promise.all([
      waitFor(async () => (await api<AgentList>(hub.url, 'GET', '/api/agents?status=online')).body.agents[0], 30_000, 'the agent online'),
      launchChromium(),
    ]);
    ({ page, problems } = await openDashboard(browser, {
      hub: hub.url,
      timeoutMs: 20_000,
      signIn: { token: ADMIN_TOKEN, until: '[data-testid=machine-card][data-agent-name="term-box"]' },
    }));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
    await hub?.stop();
    dir.remove();
  });

  /** The terminal's screen as text, one string per row (xterm's DOM renderer). */
  const screen = () => page.locator('[data-testid=terminal] .xterm-rows > div').allTextContents();
  const rowsWith = async (pattern: RegExp) => (await screen()).filter((row) => pattern.test(row.replace(/\u00a0/g, ' ').trimEnd()));

  it('types `echo hi` in the browser terminal and reads the answer, within the CSP', async () => {
    await page.goto(`${hub.url}/machines/term-box`);
    await page.getByTestId('terminal-button').click();
    await expect.poll(() => page.getByTestId('terminal-status').getAttribute('data-state')).toBe('open');
    expect(await page.getByTestId('terminal-status').textContent()).toContain('/bin/bash -l');

    await page.locator('[data-testid=terminal] .xterm-helper-textarea').focus();
    await page.keyboard.type('echo h""i');
    await page.keyboard.press('Enter');
    await expect.poll(() => rowsWith(/^hi$/)).toHaveLength(1);

    // Non-ASCII text and a 24-bit colour: bytes pass through intact, and xterm's colouring
    // (style attributes and <style> elements, which the CSP forbids as markup) still applies.
    await page.keyboard.type("printf '\\033[38;2;255;100;0mol\\303\\241 \\342\\234\\223\\033[0m\\n'");
    await page.keyboard.press('Enter');
    await expect.poll(() => rowsWith(/^olá ✓$/)).toHaveLength(1);
    const colour = await page.locator('[data-testid=terminal] .xterm-rows span', { hasText: 'olá' }).first().evaluate((span) => (globalThis as unknown as { getComputedStyle(element: unknown): { color: string } }).getComputedStyle(span).color);
    expect(colour).toBe('rgb(255, 100, 0)');

    await page.keyboard.type('exit 7');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('terminal-status').getAttribute('data-state')).toBe('closed');
    expect(await page.getByTestId('terminal-status').textContent()).toBe('The shell exited with code 7.');
    const sessions = (await api<TerminalSessionList>(hub.url, 'GET', '/api/terminal/sessions?agent=term-box')).body.sessions;
    expect(sessions[0]).toMatchObject({ actor: 'admin', closeReason: 'exited', exitCode: 7 });

    // Open again, then close the dialog: the session ends on the hub.
    await page.getByTestId('terminal-again').click();
    await expect.poll(() => page.getByTestId('terminal-status').getAttribute('data-state')).toBe('open');
    await page.getByTestId('terminal-close').click();
    await expect
      .poll(async () => (await api<TerminalSessionList>(hub.url, 'GET', '/api/terminal/sessions?agent=term-box')).body.sessions[0]?.closeReason)
      .toBe('closed');

    expect(await cspViolations(page, problems)).toEqual([]);
    expect(problems.errors).toEqual([]);
  });
});
