import { CSRF_HEADER, OTP_HEADER, problemFor, type SecretSummary } from '@farol/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createAccountsClient } from './accounts.client.js';
import { createAlertsClient } from './alerts.client.js';
import { FarolApiError } from './api-error.js';
import { createChannelsClient } from './channels.client.js';
import { createContainersClient } from './containers.client.js';
import { createScreenshotsClient } from './screenshots.client.js';
import { createSecretsClient } from './secrets.client.js';
import { createTerminalSessionsClient } from './terminal-sessions.client.js';
import { startFakeHub, type FakeHub } from '@farol/test-support';

// The feature clients only declare their calls; these tests pin what reaches the wire and what
// comes back through the shared transport for each kind of call they make.

const ME = { kind: 'user', id: 'usr_1', name: 'admin', role: 'admin', permissions: ['nodes:read'], scope: null, via: 'session', tokenId: null, mfaEnabled: false, mfaAt: null };
const SECRET: SecretSummary = { name: 'db_password', scope: '*', source: 'hub', ref: null, description: null, version: 1, createdAt: 1, updatedAt: 1, updatedBy: 'admin' };
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);

let hub: FakeHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

async function fail(promise: Promise<unknown>): Promise<FarolApiError> {
  const error = await promise.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(FarolApiError);
  return error as FarolApiError;
}

describe('accounts client', () => {
  it('sends the CSRF token on unsafe methods only, the OTP on every call, and resolves a 204 to undefined', async () => {
    hub = await startFakeHub({
      'GET /api/auth/session': { status: 200, body: { principal: ME, csrfToken: 'csrf-1' } },
      'POST /api/auth/logout': { status: 204 },
    });
    const client = createAccountsClient({ baseUrl: hub.url, csrfToken: 'csrf-1', otp: '123456' });
    await expect(client.session()).resolves.toEqual({ principal: ME, csrfToken: 'csrf-1' });
    await expect(client.logout()).resolves.toBeUndefined();

    const [session, logout] = hub.requests;
    expect(session?.headers[CSRF_HEADER]).toBeUndefined();
    expect(session?.headers[OTP_HEADER]).toBe('123456');
    expect(session?.headers.authorization).toBeUndefined();
    expect(logout?.headers[CSRF_HEADER]).toBe('csrf-1');
    expect(logout?.headers[OTP_HEADER]).toBe('123456');
    expect(logout?.headers['content-type']).toBeUndefined();
  });

  it('asks for every token only when told to', async () => {
    hub = await startFakeHub({ 'GET /api/tokens': { status: 200, body: { tokens: [] } } });
    const client = createAccountsClient({ baseUrl: hub.url, token: 't' });
    await client.listTokens();
    await client.listTokens({ all: true });
    expect(hub.requests.map((r) => r.searchParams.toString())).toEqual(['', 'all=true']);
    expect(hub.requests[0]?.headers.authorization).toBe('Bearer t');
  });

  it('turns a refused step-up into a FarolApiError with the hub code', async () => {
    hub = await startFakeHub({ 'POST /api/auth/step-up': { status: 401, body: problemFor('mfa_required', 'wrong code') } });
    const error = await fail(createAccountsClient({ baseUrl: hub.url, token: 't' }).stepUp('000000'));
    expect(error).toMatchObject({ status: 401, code: 'mfa_required', detail: 'wrong code' });
    expect(hub.requests[0]?.body).toEqual({ otp: '000000' });
  });
});

describe('alerts client', () => {
  it('passes the alert filters as a query string and unwraps rule and silence lists', async () => {
    hub = await startFakeHub({
      'GET /api/alerts': { status: 200, body: { alerts: [], nextCursor: null } },
      'GET /api/alert-rules': { status: 200, body: { rules: [] } },
      'GET /api/silences': { status: 200, body: { silences: [] } },
      'DELETE /api/alert-rules/disk%20full': { status: 204 },
    });
    const client = createAlertsClient({ baseUrl: hub.url, token: 't' });
    await expect(client.listAlerts({ state: 'firing', agent: 'web-1', limit: 20 })).resolves.toEqual({ alerts: [], nextCursor: null });
    await expect(client.listRules()).resolves.toEqual([]);
    await expect(client.listSilences(true)).resolves.toEqual([]);
    await expect(client.deleteRule('disk full')).resolves.toBeUndefined();
    expect(hub.requests.map((r) => `${r.method} ${r.rawPath}?${r.searchParams.toString()}`)).toEqual([
      'GET /api/alerts?state=firing&agent=web-1&limit=20',
      'GET /api/alert-rules?',
      'GET /api/silences?all=true',
      'DELETE /api/alert-rules/disk%20full?',
    ]);
  });

  it('sends an empty object when acknowledging without a note', async () => {
    hub = await startFakeHub({ 'POST /api/alerts/al_0123456789abcdef/ack': { status: 404, body: problemFor('not_found', 'no such alert') } });
    const error = await fail(createAlertsClient({ baseUrl: hub.url, token: 't' }).acknowledgeAlert('al_0123456789abcdef'));
    expect(error).toMatchObject({ status: 404, code: 'not_found' });
    expect(hub.requests[0]?.text).toBe('{}');
  });
});

describe('channels client', () => {
  it('filters the outbox and tests a channel without a body', async () => {
    hub = await startFakeHub({
      'GET /api/notify/outbox': { status: 200, body: { entries: [] } },
      'POST /api/channels/ops/test': { status: 200, body: { ok: true, status: 200, error: null, durationMs: 12 } },
    });
    const client = createChannelsClient({ baseUrl: hub.url, token: 't' });
    await expect(client.listOutbox({ state: 'failed', limit: 5 })).resolves.toEqual({ entries: [] });
    await expect(client.testChannel('ops')).resolves.toEqual({ ok: true, status: 200, error: null, durationMs: 12 });
    expect(hub.requests[0]?.query).toEqual({ state: 'failed', limit: '5' });
    expect(hub.requests[1]?.headers['content-type']).toBeUndefined();
  });
});

describe('secrets client', () => {
  it('puts a value as JSON under the encoded name and reveals it', async () => {
    hub = await startFakeHub({
      'PUT /api/secrets/db_password': { status: 200, body: SECRET },
      'POST /api/secrets/db_password/reveal': { status: 200, body: { name: 'db_password', value: 's3cret' } },
    });
    const client = createSecretsClient({ baseUrl: hub.url, token: 't' });
    await expect(client.putSecret('db_password', { value: 's3cret', scope: '*' })).resolves.toEqual(SECRET);
    await expect(client.revealSecret('db_password')).resolves.toEqual({ name: 'db_password', value: 's3cret' });
    expect(hub.requests[0]?.method).toBe('PUT');
    expect(hub.requests[0]?.body).toEqual({ value: 's3cret', scope: '*' });
  });
});

describe('containers client', () => {
  it('reports an answer that breaks the protocol', async () => {
    hub = await startFakeHub({ 'GET /api/agents/web-1/containers': { status: 200, body: { containers: 'nope' } } });
    const error = await fail(createContainersClient({ baseUrl: hub.url, token: 't' }).listContainers('web-1'));
    expect(error).toMatchObject({ status: 200, code: 'internal' });
    expect(error.message).toContain('GET /api/agents/web-1/containers');
  });
});

describe('screenshots client', () => {
  it('returns the PNG bytes and the ids from the headers', async () => {
    hub = await startFakeHub({
      'POST /api/agents/web-1/screenshot': { status: 200, body: PNG, contentType: 'image/png', headers: { 'x-farol-screenshot-id': 'shot_1', 'x-farol-job-id': 'job_1' } },
      'GET /api/screenshots/shot_1': { status: 200, body: PNG, contentType: 'image/png' },
    });
    const client = createScreenshotsClient({ baseUrl: hub.url, token: 't' });
    await expect(client.takeScreenshot('web-1', { display: ':0' })).resolves.toEqual({ id: 'shot_1', jobId: 'job_1', png: PNG });
    await expect(client.getScreenshot('shot_1')).resolves.toEqual({ id: '', jobId: null, png: PNG });
    expect(hub.requests[0]?.headers.accept).toBe('image/png');
    expect(hub.requests[0]?.body).toEqual({ display: ':0' });
    expect(hub.requests[1]?.headers.accept).toBe('image/png');
  });

  it('refuses a body that is not a PNG, and passes on the hub problem', async () => {
    hub = await startFakeHub({
      'GET /api/screenshots/shot_1': { status: 200, body: '<html></html>', contentType: 'text/html' },
      'POST /api/agents/web-1/screenshot': { status: 422, body: problemFor('no_display', 'no X display') },
    });
    const client = createScreenshotsClient({ baseUrl: hub.url, token: 't' });
    const wrongType = await fail(client.getScreenshot('shot_1'));
    expect(wrongType).toMatchObject({ status: 200, code: 'internal' });
    expect(String((wrongType.cause as Error).message)).toBe('expected image/png, got text/html');
    await expect(fail(client.takeScreenshot('web-1'))).resolves.toMatchObject({ status: 422, code: 'no_display', detail: 'no X display' });
  });

  it('asks for JSON metadata and checks it', async () => {
    hub = await startFakeHub({ 'POST /api/agents/web-1/screenshot': { status: 200, body: { id: 'x' } } });
    const error = await fail(createScreenshotsClient({ baseUrl: hub.url, token: 't' }).takeScreenshotInfo('web-1'));
    expect(error).toMatchObject({ status: 200, code: 'internal' });
    expect(hub.requests[0]?.headers.accept).toBe('application/json');
  });
});

describe('terminal sessions client', () => {
  it('filters the session list and downloads a recording as it is', async () => {
    const cast = '{"version":2,"width":80,"height":24}\n[0.1,"o","$ "]\n';
    hub = await startFakeHub({
      'GET /api/terminal/sessions': { status: 200, body: { sessions: [] } },
      'GET /api/terminal/sessions/term_1/recording': { status: 200, body: cast, contentType: 'application/x-asciicast' },
    });
    const client = createTerminalSessionsClient({ baseUrl: hub.url, token: 't' });
    await expect(client.listSessions({ agent: 'web-1', limit: 10 })).resolves.toEqual({ sessions: [] });
    const recording = await client.downloadRecording('term_1');
    expect(await recording.text()).toBe(cast);
    expect(hub.requests[0]?.query).toEqual({ agent: 'web-1', limit: '10' });
    expect(hub.requests[1]?.headers.accept).toBe('application/x-asciicast, */*');
  });

  it('passes on the problem of a session without a recording', async () => {
    hub = await startFakeHub({});
    await expect(fail(createTerminalSessionsClient({ baseUrl: hub.url, token: 't' }).downloadRecording('term_2'))).resolves.toMatchObject({ status: 404, code: 'not_found' });
  });
});
