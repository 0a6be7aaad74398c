import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditList } from '@farol/protocol';
import { startHubFixture, type HubFixture } from '../../testing/hub-fixture.js';

// Issue #20: requests through `farol mcp` say so in the audit log (`details.client: 'mcp'`),
// next to the credential (`details.via`); the header is a label and nothing else.

let hub: HubFixture;

beforeAll(async () => {
  hub = await startHubFixture();
});

afterAll(async () => {
  await hub?.stop();
});

async function silenceWith(headers: Record<string, string>, reason: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${hub.url}/api/silences`, {
    method: 'POST',
    headers: { authorization: `Bearer ${hub.adminToken}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ matcher: { all: true }, duration: '1h', reason }),
  });
  expect(response.status).toBe(201);
  const audit = await hub.api('GET', '/api/audit?action=silence.create&limit=50');
  const entry = (audit.body as AuditList).entries.find((e) => e.details.reason === reason);
  expect(entry).toBeDefined();
  return entry!.details;
}

describe('the client label of a request in the audit log', () => {
  it('records X-Farol-Client: mcp as details.client, keeping the token in details.via', async () => {
    expect(await silenceWith({ 'x-farol-client': 'mcp' }, 'through mcp')).toMatchObject({ via: 'tok_admin', client: 'mcp' });
  });

  it('leaves the label out without the header, and ignores values it does not know', async () => {
    expect(await silenceWith({}, 'no header')).not.toHaveProperty('client');
    const spoofed = await silenceWith({ 'x-farol-client': 'session' }, 'unknown label');
    expect(spoofed).not.toHaveProperty('client');
    // The header never replaces the credential the hub authenticated.
    expect(spoofed.via).toBe('tok_admin');
  });

  it('grants nothing: a viewer token sending the label is still refused', async () => {
    const created = await hub.api('POST', '/api/users', { username: 'vera', password: 'correct horse battery staple', role: 'viewer' });
    expect(created.status).toBe(201);
    const login = await hub.api('POST', '/api/auth/login', { username: 'vera', password: 'correct horse battery staple', issue: 'token' }, null);
    const token = (login.body as { token: { token: string } }).token.token;
    const response = await fetch(`${hub.url}/api/silences`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-farol-client': 'mcp' },
      body: JSON.stringify({ matcher: { all: true }, duration: '1h', reason: 'viewer' }),
    });
    expect(response.status).toBe(403);
  });
});
