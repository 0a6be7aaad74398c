import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentList } from '@farol/protocol';
import { skipNote, startXvfb, xrun, xvfbSkipReason, type Xvfb } from '../../../apps/agent/src/testing/xvfb.js';
import { ADMIN_TOKEN, agentBundle, api, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from '../support/processes.js';
import { cspViolations, launchChromium, type PageProblems } from './browser.js';
import { openDashboard } from './session.js';

// The machine page's Screenshot button in Debian's Chromium, against a hub process and an agent
// process whose screen is a real X server (Xvfb) painted orange.

// A skip says why in the test's name (issue #21).
const noXvfb = xvfbSkipReason();

// The few DOM shapes used inside page.evaluate (the test project has no DOM lib).
interface Img {
  complete: boolean;
  naturalWidth: number;
  naturalHeight: number;
}
interface Canvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { drawImage(image: unknown, x: number, y: number): void; getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
}

describe.skipIf(noXvfb !== null)(`the Screenshot button of a machine page${skipNote(noXvfb)}`, () => {
  const dir = tempDir('web-screenshot');
  let xvfb: Xvfb;
  let hub: Proc & { url: string };
  let agent: Proc;
  let browser: Browser;
  let page: Page;
  let problems: PageProblems;

  beforeAll(async () => {
    xvfb = await startXvfb('640x480x24');
    xrun(xvfb.display, 'xsetroot', ['-solid', '#ff8000']);
    hub = await startHubProcess(path.join(dir.path, 'hub'), await freePort());
    const token = await joinToken(hub.url);
    agent = run([agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(dir.path, 'agent'), '--name', 'desk', '--interval', '2s', '--reconnect-max', '2s'], {
      env: { DISPLAY: xvfb.display },
    });
    [, browser] = await Promise.all([
      waitFor(async () => (await api<AgentList>(hub.url, 'GET', '/api/agents?status=online')).body.agents[0], 30_000, 'the agent online'),
      launchChromium(),
    ]);
    ({ page, problems } = await openDashboard(browser, {
      hub: hub.url,
      context: { acceptDownloads: true },
      timeoutMs: 20_000,
      signIn: { token: ADMIN_TOKEN, until: '[data-testid=machine-card][data-agent-name="desk"]' },
    }));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop('SIGKILL');
    await hub?.stop('SIGKILL');
    await xvfb?.stop();
    dir.remove();
  });

  it('takes a screenshot, shows it and offers it for download, within the CSP', async () => {
    await page.goto(`${hub.url}/machines/desk`);
    await page.getByTestId('screenshot-button').click();

    const image = page.getByTestId('screenshot-image');
    await image.waitFor();
    await expect.poll(() => image.evaluate((img) => (img as unknown as Img).complete && (img as unknown as Img).naturalWidth)).toBe(640);
    expect(await image.evaluate((img) => (img as unknown as Img).naturalHeight)).toBe(480);
    // The pixels the browser decoded are the X server's.
    const centre = await image.evaluate((img) => {
      const doc = (globalThis as unknown as { document: { createElement(tag: 'canvas'): Canvas } }).document;
      const canvas = doc.createElement('canvas');
      canvas.width = (img as unknown as Img).naturalWidth;
      canvas.height = (img as unknown as Img).naturalHeight;
      const context = canvas.getContext('2d');
      context.drawImage(img, 0, 0);
      return [...context.getImageData(320, 240, 1, 1).data.slice(0, 3)];
    });
    expect(centre).toEqual([255, 128, 0]);

    const link = page.getByTestId('screenshot-download');
    expect(await link.getAttribute('href')).toMatch(/^blob:/);
    expect(await link.getAttribute('download')).toMatch(/^desk-\d{8}-\d{6}\.png$/);
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toMatch(/^desk-.*\.png$/);

    expect(await cspViolations(page, problems)).toEqual([]);
    expect(problems.errors).toEqual([]);
  });
});
