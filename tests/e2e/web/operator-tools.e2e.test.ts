import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentList, AuditList, Channel, OutboxList, SecretList, TerminalSessionList } from '@farol/protocol';
import { totpAt } from '../../../apps/hub/src/modules/auth/totp.js';
import { agentBundle, api, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from '../support/processes.js';
import { cspViolations, launchChromium, type PageProblems } from './browser.js';
import { openDashboard } from './session.js';

/**
 * The dashboard's operator tools in Debian's Chromium against a real hub and agent: a user with
 * two-factor sign-in is asked for a code inline when a shell command, a terminal or a secret read
 * needs a fresh second factor (FAROL_MFA_MAX_AGE is 2 s here so every action asks), and the action
 * then goes through; secrets set / listed / revealed; terminal sessions with their recording;
 * editing a channel (its secret URL kept unless replaced) with "send test" to a receiver on
 * 127.0.0.1; event webhooks and the delivery outbox.
 */
interface Received {
  method: string;
  url: string;
  body: { kind?: string; channel?: string; event?: string; type?: string; text?: string };
}

const PASSWORD = 'correct horse battery staple';
const MFA_MAX_AGE_MS = 2_000;
const dir = tempDir('web-operator-tools');
let hub: Proc & { url: string };
let agent: Proc;
let agentName: string;
let browser: Browser;
let page: Page;
let problems: PageProblems;
let receiver: Server;
let receiverBase: string;
const received: Received[] = [];
let totpSecret: string;
let recoveryCodes: string[];

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

/** A request of a signed-in browser session (account-security changes refuse API tokens, issue #11). */
async function as<T>(session: { cookie: string; csrf: string }, method: string, route: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${hub.url}${route}`, {
    method,
    headers: { cookie: session.cookie, 'x-csrf-token': session.csrf, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

const STEP_MS = 30_000;
/** The last TOTP time step the hub accepted from this user; it never accepts it (or an older one) again. */
let lastStep = 0;

/** A TOTP code the hub will take now: a step after the last one used, within its ±1 step of drift. */
async function freshTotp(): Promise<string> {
  while (Math.floor(Date.now() / STEP_MS) < lastStep) await new Promise((resolve) => setTimeout(resolve, 250));
  const step = Math.max(lastStep + 1, Math.floor(Date.now() / STEP_MS));
  lastStep = step;
  return totpAt(totpSecret, step * STEP_MS);
}

/** Recovery codes are single-use: each step-up takes the next, so a retried test gets an unused one. */
let recoveryCodesUsed = 0;
const nextRecoveryCode = (): string => recoveryCodes[recoveryCodesUsed++]!;

/** Lets the second factor of the browser session grow older than FAROL_MFA_MAX_AGE. */
const letMfaExpire = () => new Promise((resolve) => setTimeout(resolve, MFA_MAX_AGE_MS + 500));

/** The step-up dialog: one wrong code first when asked (refused, the dialog stays), then `code`. */
async function answerStepUp(code: string, { wrongFirst = false } = {}): Promise<void> {
  const form = page.getByTestId('step-up-form');
  await form.waitFor();
  if (wrongFirst) {
    await form.locator('input[name=stepUpCode]').fill('000000');
    await form.getByRole('button', { name: 'Confirm and continue' }).click();
    await expect.poll(() => form.textContent()).toContain('That code was not accepted');
  }
  await form.locator('input[name=stepUpCode]').fill(code);
  await form.getByRole('button', { name: 'Confirm and continue' }).click();
  await form.waitFor({ state: 'detached' });
}

beforeAll(async () => {
  receiver = await startReceiver();
  receiverBase = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  // A channel from the configuration file: read-only in the dashboard.
  const alertsFile = path.join(dir.path, 'alerts.yaml');
  writeFileSync(alertsFile, `rules: []\nchannels:\n  - { name: from-file, type: webhook, settings: { url: '${receiverBase}/file' } }\n`);
  hub = await startHubProcess(path.join(dir.path, 'hub'), await freePort(), {
    FAROL_NOTIFY_ALLOW_NETWORKS: '127.0.0.1/32',
    FAROL_MFA_MAX_AGE: `${MFA_MAX_AGE_MS}ms`,
    FAROL_TERMINAL_RECORD: 'true',
    FAROL_ALERTS_FILE: alertsFile,
  });
  const token = await joinToken(hub.url, { labels: { role: 'tools-e2e' } });
  agent = run([agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(dir.path, 'agent'), '--name', 'tools-box', '--interval', '2s', '--reconnect-max', '2s'], {
    env: { SHELL: '/bin/bash', HOME: dir.path },
  });
  const [online, started] = await Promise.all([
    waitFor(async () => (await api<AgentList>(hub.url, 'GET', '/api/agents?status=online')).body.agents[0], 30_000, 'the agent online'),
    launchChromium(),
  ]);
  agentName = online.name;
  browser = started;

  // A real user with two-factor sign-in, enrolled through the API like the Settings page does.
  expect((await api(hub.url, 'POST', '/api/users', { username: 'rita', password: PASSWORD, role: 'admin' })).status).toBe(201);
  const login = await fetch(`${hub.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'rita', password: PASSWORD, issue: 'session' }) });
  const ritaSession = { cookie: login.headers.get('set-cookie')!.split(';')[0]!, csrf: ((await login.json()) as { csrfToken: string }).csrfToken };
  totpSecret = (await as<{ secret: string }>(ritaSession, 'POST', '/api/me/totp')).body.secret;
  lastStep = Math.floor(Date.now() / STEP_MS);
  const confirmed = await as<{ recoveryCodes: string[] }>(ritaSession, 'POST', '/api/me/totp/confirm', { otp: totpAt(totpSecret, lastStep * STEP_MS) });
  expect(confirmed.status).toBe(200);
  recoveryCodes = confirmed.body.recoveryCodes;

  ({ page, problems } = await openDashboard(browser, {
    hub: hub.url,
    context: { acceptDownloads: true, reducedMotion: 'reduce' },
    timeoutMs: 20_000,
    // The next time step: the one used to confirm is never accepted twice.
    signIn: { username: 'rita', password: PASSWORD, otp: freshTotp },
  }));
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await agent?.stop();
  await hub?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
  dir.remove();
});

describe('Operator tools in a browser', () => {
  it('asks for the second factor inline when a shell command needs it, then runs the command', async () => {
    await letMfaExpire();
    await page.goto(`${hub.url}/jobs`);
    const form = page.getByTestId('run-command-form');
    await form.locator('input[name=targets]').fill(agentName);
    await form.getByRole('radio', { name: 'Shell script' }).click();
    await form.locator('[name=command]').fill('echo "stepped up $((40 + 2))"');
    await form.getByRole('button', { name: 'Run', exact: true }).click();
    // A recovery code works as well as a TOTP code.
    await answerStepUp(nextRecoveryCode(), { wrongFirst: true });
    const view = page.getByTestId('job-view');
    await expect.poll(() => view.getAttribute('data-job-state'), { timeout: 20_000 }).toBe('done');
    expect(await view.getByTestId('target-stdout').textContent()).toBe('stepped up 42\n');
    // The wrong code is counted as authentication noise, not as an audit entry (issue #11).
    const failures = await api<{ failures: Array<{ lastReason: string; failures: number }> }>(hub.url, 'GET', '/api/auth/failures?username=rita');
    expect(failures.body.failures).toContainEqual(expect.objectContaining({ lastReason: 'wrong second factor' }));
  });

  it('asks again from the machine page\'s Run command dialog; cancelling leaves the command unsent', async () => {
    await letMfaExpire();
    await page.goto(`${hub.url}/machines/${agentName}`);
    await page.getByTestId('machine-actions').getByRole('button', { name: 'Run command' }).click();
    const dialog = page.getByRole('dialog', { name: `Run a command on ${agentName}` });
    await dialog.getByRole('radio', { name: 'Shell script' }).click();
    await dialog.locator('[name=command]').fill('echo from-dialog');
    await dialog.getByRole('button', { name: 'Run', exact: true }).click();
    await page.getByTestId('step-up-form').getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => dialog.textContent()).toContain('confirm with your authenticator code first');
    const before = (await api<{ jobs: unknown[] }>(hub.url, 'GET', '/api/jobs?limit=100')).body.jobs.length;

    await dialog.getByRole('button', { name: 'Run', exact: true }).click();
    await answerStepUp(nextRecoveryCode());
    // A job that does not finish says where it stands (this step failed once in CI, cause unknown).
    try {
      await expect.poll(() => dialog.getByTestId('job-view').getAttribute('data-job-state'), { timeout: 20_000 }).toBe('done');
    } catch (error) {
      const jobs = (await api<{ jobs: unknown[] }>(hub.url, 'GET', '/api/jobs?limit=2')).body.jobs;
      const agents = (await api<AgentList>(hub.url, 'GET', '/api/agents')).body.agents.map((a) => ({ name: a.name, status: a.status }));
      throw new Error(`${(error as Error).message}\nthe dialog says: ${await dialog.textContent()}\nnewest jobs: ${JSON.stringify(jobs)}\nmachines: ${JSON.stringify(agents)}`, { cause: error });
    }
    expect(await dialog.getByTestId('target-stdout').textContent()).toBe('from-dialog\n');
    expect((await api<{ jobs: unknown[] }>(hub.url, 'GET', '/api/jobs?limit=100')).body.jobs.length).toBe(before + 1);
    await page.keyboard.press('Escape');
  });

  it('asks for the second factor when opening a terminal, then opens it', async () => {
    await page.goto(`${hub.url}/machines/${agentName}`);
    await letMfaExpire();
    await page.getByTestId('terminal-button').click();
    // A code from the authenticator (computed from the enrolled secret, RFC 6238).
    await answerStepUp(await freshTotp());
    await expect.poll(() => page.getByTestId('terminal-status').getAttribute('data-state')).toBe('open');
    await page.locator('[data-testid=terminal] .xterm-helper-textarea').focus();
    await page.keyboard.type('echo recorded-$((6 * 7))');
    await page.keyboard.press('Enter');
    await expect
      .poll(async () => (await page.locator('[data-testid=terminal] .xterm-rows > div').allTextContents()).some((row) => row.replace(/\u00a0/g, ' ').trim() === 'recorded-42'))
      .toBe(true);
    await page.keyboard.type('exit');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('terminal-status').getAttribute('data-state')).toBe('closed');
    await page.getByTestId('terminal-close').click();
  });

  it('lists terminal sessions on the Audit page and downloads the recording', async () => {
    await page.goto(`${hub.url}/audit`);
    const sessions = (await api<TerminalSessionList>(hub.url, 'GET', '/api/terminal/sessions')).body.sessions;
    expect(sessions[0]).toMatchObject({ actor: 'rita', agentName: 'tools-box', closeReason: 'exited', recorded: true });
    const row = page.locator(`[data-testid=terminal-session-row][data-session="${sessions[0]!.id}"]`);
    await row.waitFor();
    const text = (await row.textContent()) ?? '';
    expect(text).toContain('rita');
    expect(text).toContain('tools-box');
    expect(text).toContain('shell exited');
    expect(text).toMatch(/typed \d+ B · output [\d.,]+ (B|KiB)/);
    const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('button', { name: 'Download recording' }).click()]);
    expect(download.suggestedFilename()).toBe(`tools-box-${sessions[0]!.id}.cast`);
    const cast = readFileSync((await download.path())!, 'utf8').split('\n');
    expect(JSON.parse(cast[0]!)).toMatchObject({ version: 2 });
    expect(cast.slice(1).join('\n')).toContain('recorded-42');
  });

  it('sets a secret (write-only), lists it, and reveals it once after a step-up', async () => {
    const value = 'sup3r-s3cret-value-for-e2e';
    await page.goto(`${hub.url}/settings`);
    const panel = page.getByTestId('secrets');
    await panel.getByRole('button', { name: 'New secret' }).click();
    const form = page.getByTestId('secret-form');
    expect(await form.locator('input[name=secretValue]').getAttribute('type')).toBe('password');
    await form.locator('input[name=secretName]').fill('E2E_TOKEN');
    await form.locator('input[name=secretValue]').fill(value);
    await form.locator('input[name=secretScope]').fill('role=tools-e2e');
    await form.getByRole('button', { name: 'Save secret' }).click();
    const row = panel.locator('[data-testid=secret-row][data-secret=E2E_TOKEN]');
    await row.waitFor();
    expect(await row.textContent()).toContain('for role=tools-e2e');
    expect(await page.content()).not.toContain(value);
    const listed = (await api<SecretList>(hub.url, 'GET', '/api/secrets')).body.secrets;
    expect(listed).toEqual([expect.objectContaining({ name: 'E2E_TOKEN', scope: 'role=tools-e2e', updatedBy: 'rita' })]);

    await letMfaExpire();
    await row.getByRole('button', { name: 'Reveal' }).click();
    await answerStepUp(nextRecoveryCode());
    await expect.poll(() => page.getByTestId('secret-value').textContent()).toBe(value);
    // The one dialog that shows the value; its Hide button forgets it.
    const shown = page.getByRole('dialog').filter({ has: page.getByTestId('secret-value') });
    await shown.getByRole('button', { name: 'Hide' }).click();
    await page.getByTestId('secret-value').waitFor({ state: 'detached' });
    expect(await page.content()).not.toContain(value);
    const audit = await api<AuditList>(hub.url, 'GET', '/api/audit?action=secret.reveal');
    expect(audit.body.entries[0]).toMatchObject({ actor: 'rita' });
  });

  it('edits a channel (secret URL kept, then replaced) and sends a test to the receiver', async () => {
    const created = await api<Channel>(hub.url, 'POST', '/api/channels', { type: 'webhook', name: 'edit-me', settings: { url: `${receiverBase}/original` } });
    expect(created.status).toBe(201);
    await page.goto(`${hub.url}/alerts/channels`);
    // The file channel is read-only: a badge, no Edit.
    const fileRow = page.locator('[data-testid=channel-row][data-channel=from-file]');
    await fileRow.getByTestId('channel-file-badge').waitFor();
    expect(await fileRow.getByRole('button', { name: 'Edit', exact: true }).count()).toBe(0);

    const row = page.locator('[data-testid=channel-row][data-channel=edit-me]');
    await row.getByRole('button', { name: 'Edit', exact: true }).click();
    let form = page.getByTestId('channel-edit-form');
    expect(await form.locator('input[name=url]').inputValue()).toBe('');
    expect(await form.locator('input[name=url]').getAttribute('type')).toBe('password');
    await form.locator('input[name=templateTitle]').fill('Farol says {{event}}');
    await form.locator('input[name=rateCount]').fill('5');
    await form.locator('input[name=ratePer]').fill('300');
    await form.locator('input[name=quiet]').check();
    await form.locator('input[name=quietStart]').fill('23:00');
    await form.locator('input[name=quietEnd]').fill('06:00');
    await form.locator('input[name=quietTimezone]').fill('America/Sao_Paulo');
    await form.getByRole('button', { name: 'Add a window' }).click();
    await form.locator('input[name=maintenanceReason0]').fill('kernel upgrade');
    await form.getByRole('button', { name: 'Save changes' }).click();
    await form.waitFor({ state: 'detached' });

    const saved = (await api<Channel>(hub.url, 'GET', '/api/channels/edit-me')).body;
    expect(saved).toMatchObject({
      template: { title: 'Farol says {{event}}' },
      rateLimit: { count: 5, perSeconds: 300 },
      quietHours: { start: '23:00', end: '06:00', timezone: 'America/Sao_Paulo' },
      maintenance: [expect.objectContaining({ reason: 'kernel upgrade' })],
      enabled: true,
    });
    expect(saved.maintenance[0]!.end - saved.maintenance[0]!.start).toBe(2 * 60 * 60_000);

    // The URL was not retyped: the test still reaches the original address.
    await row.getByRole('button', { name: 'Send test' }).click();
    await expect.poll(() => row.getByTestId('channel-test-result').getAttribute('data-ok')).toBe('true');
    expect(received.filter((request) => request.body.kind === 'test' && request.body.channel === 'edit-me').map((request) => request.url)).toEqual(['/original']);

    // Typing a new URL replaces it.
    await row.getByRole('button', { name: 'Edit', exact: true }).click();
    form = page.getByTestId('channel-edit-form');
    await form.locator('input[name=url]').fill(`${receiverBase}/replaced`);
    await form.getByRole('button', { name: 'Save changes' }).click();
    await form.waitFor({ state: 'detached' });
    await row.getByRole('button', { name: 'Send test' }).click();
    await expect.poll(() => received.filter((request) => request.body.kind === 'test' && request.body.channel === 'edit-me').map((request) => request.url)).toEqual(['/original', '/replaced']);
    expect(await row.textContent()).not.toContain('/replaced');
  });

  it('creates and edits an event webhook, sees its deliveries in the outbox, and deletes it', async () => {
    const panel = page.getByTestId('webhooks');
    await panel.getByRole('button', { name: 'New webhook' }).click();
    const form = page.getByTestId('webhook-form');
    await form.locator('input[name=webhookName]').fill('n8n-e2e');
    await form.locator('input[name=webhookUrl]').fill(`${receiverBase}/events`);
    await form.locator('input[name="event-agent.offline"]').uncheck();
    await form.getByRole('button', { name: 'Create webhook' }).click();
    const row = panel.locator('[data-testid=webhook-row][data-webhook=n8n-e2e]');
    await row.waitFor();
    expect(await row.textContent()).toContain('alert.firing');
    expect(await row.textContent()).not.toContain('/events');

    // Edit: job.finished instead of alert.firing, and a signing secret; the URL (not retyped) is kept.
    await row.getByRole('button', { name: 'Edit', exact: true }).click();
    const edit = page.getByTestId('webhook-form');
    expect(await edit.locator('input[name=webhookUrl]').inputValue()).toBe('');
    await edit.locator('input[name="event-alert.firing"]').uncheck();
    await edit.locator('input[name="event-job.finished"]').check();
    await edit.locator('input[name=webhookSecret]').fill('an-hmac-secret-of-some-length');
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await edit.waitFor({ state: 'detached' });
    await expect.poll(() => row.textContent()).toContain('job.finished');
    const hooks = (await api<{ webhooks: Array<{ name: string; events: string[]; signed: boolean }> }>(hub.url, 'GET', '/api/webhooks')).body.webhooks;
    expect(hooks.find((hook) => hook.name === 'n8n-e2e')).toMatchObject({ events: ['job.finished'], signed: true });

    // A job on the machine: the hub posts job.finished to the webhook through the outbox.
    const job = await api<{ id: string }>(hub.url, 'POST', '/api/jobs', { targets: { agents: [agentName] }, command: { kind: 'shell', argv: ['true'] } });
    expect(job.status).toBe(201);
    await waitFor(() => received.find((request) => request.url === '/events'), 20_000, 'the job.finished delivery');
    // The receiver has the request before the hub records the answer: wait for the record.
    const delivery = await waitFor(async () => {
      const outbox = (await api<OutboxList>(hub.url, 'GET', '/api/notify/outbox?limit=100')).body.entries;
      const entry = outbox.find((e) => e.target === 'webhook' && e.kind === 'job.finished');
      return entry && entry.state !== 'sending' ? entry : undefined;
    }, 10_000, 'the job.finished delivery recorded');
    expect(delivery).toMatchObject({ state: 'sent', attempts: 1 });
    const outboxRow = page.getByTestId('outbox-panel').locator(`[data-testid=outbox-row][data-kind="job.finished"]`);
    await expect.poll(() => outboxRow.first().getAttribute('data-state'), { timeout: 15_000 }).toBe('sent');
    expect(await outboxRow.first().textContent()).toContain('n8n-e2e');
    expect(await outboxRow.first().textContent()).toContain('Attempts: 1');

    await row.getByRole('button', { name: 'Delete webhook n8n-e2e' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Delete webhook' }).click();
    await row.waitFor({ state: 'detached' });
  });

  it('shows the new pages in Portuguese, and nothing broke the CSP', async () => {
    await page.getByRole('button', { name: 'Language' }).click();
    await page.getByRole('menuitemradio', { name: 'Português (Brasil)' }).click();
    await expect.poll(() => page.getByTestId('webhooks').locator('h2').first().textContent()).toBe('Webhooks de eventos');
    expect(await page.getByTestId('outbox-panel').locator('h2').first().textContent()).toBe('Entregas');
    await page.goto(`${hub.url}/settings`);
    await expect.poll(() => page.getByTestId('secrets').locator('h2').first().textContent()).toBe('Segredos');
    await page.goto(`${hub.url}/audit`);
    await expect.poll(() => page.getByTestId('terminal-sessions-panel').locator('h2').first().textContent()).toBe('Sessões de terminal');
    expect(await cspViolations(page, problems)).toEqual([]);
    expect(problems.errors).toEqual([]);
  });
});
