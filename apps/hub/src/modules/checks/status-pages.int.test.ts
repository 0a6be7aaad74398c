import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditList, Check, StatusPage } from '@farol/protocol';
import type { ConfigError } from '../../config.js';
import { startHub } from '../../testing/start-test-hub.js';
import { startHubFixture, type HubFixture } from '../../testing/hub-fixture.js';

const dir = mkdtempSync(path.join(tmpdir(), 'farol-checks-file-'));
const servers: http.Server[] = [];
let port = 0;

beforeAll(async () => {
  const server = http.createServer((_req, res) => res.end('ok'));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

function checksFile(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('checks as code (FAROL_CHECKS_FILE, #19)', () => {
  it('refuses to start on a bad file, listing every problem with its place', async () => {
    const bad = checksFile(
      'bad.yaml',
      `checks:
  - name: api
    probe: { kind: http, url: "ftp://x" }
  - name: api
    probe: { kind: tcp, host: 127.0.0.1, port: 99999 }
    interval: 5s
statusPages:
  - slug: "-bad"
    title: Status
    checks: []
extra: 1
`,
    );
    const failure = await startHub({ port: 0, bind: '127.0.0.1', dataDir: path.join(dir, 'bad-data'), logLevel: 'silent' }, { FAROL_CHECKS_FILE: bad }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ name: 'ConfigError' });
    const problems = (failure as ConfigError).problems;
    expect(problems.every((p) => p.startsWith(`FAROL_CHECKS_FILE ${bad}: `))).toBe(true);
    const text = problems.join('\n');
    expect(text).toContain('extra: unknown key');
    expect(text).toMatch(/checks\[0\] \(api\)\.probe\.url: /);
    expect(text).toMatch(/checks\[1\] \(api\)\.probe\.port: /);
    expect(text).toMatch(/checks\[1\] \(api\)\.interval: at least 10 s/);
    expect(text).toMatch(/statusPages\[0\] \(-bad\)\.slug: /);
    expect(text).toMatch(/statusPages\[0\] \(-bad\)\.checks: /);

    const missing = checksFile('missing-check.yaml', 'statusPages:\n  - slug: main\n    title: Status\n    checks: [{ check: nope, name: Site }]\n');
    const missingFailure = await startHub({ port: 0, bind: '127.0.0.1', dataDir: path.join(dir, 'bad-data2'), logLevel: 'silent' }, { FAROL_CHECKS_FILE: missing }).then(
      () => null,
      (error: unknown) => error,
    );
    expect((missingFailure as ConfigError).problems).toEqual([`FAROL_CHECKS_FILE ${missing}: checks.0.check: no check "nope"`]);
  });

  it('creates its checks and pages read-only, updates and deletes them on the next start', async () => {
    const dataDir = path.join(dir, 'data');
    const file = checksFile(
      'checks.yaml',
      `checks:
  - name: internal api
    probe: { kind: http, url: "http://127.0.0.1:${port}/health" }
    interval: 1m
    timeout: 2s
  - name: old one
    probe: { kind: tcp, host: 127.0.0.1, port: ${port} }
    enabled: false
statusPages:
  - slug: main
    title: Acme status
    checks:
      - { check: internal api, name: Website }
`,
    );
    let hub: HubFixture = await startHubFixture({ FAROL_CHECKS_FILE: file }, { dataDir });
    try {
      const list = ((await hub.api('GET', '/api/checks')).body as { checks: Check[] }).checks;
      expect(list.map((c) => [c.name, c.source])).toEqual([
        ['internal api', 'file'],
        ['old one', 'file'],
      ]);
      const put = await hub.api('PUT', '/api/checks/internal%20api', { name: 'internal api', probe: { kind: 'tcp', host: '127.0.0.1', port } });
      expect(put.status).toBe(409);
      expect(put.body).toMatchObject({ code: 'conflict', detail: expect.stringContaining('FAROL_CHECKS_FILE') });
      expect((await hub.api('DELETE', '/api/checks/old%20one')).status).toBe(409);
      const page = (await hub.api('GET', '/api/status-pages/main')).body as StatusPage;
      expect(page).toMatchObject({ slug: 'main', source: 'file', path: '/status/main', checks: [{ name: 'Website', checkName: 'internal api' }] });
      expect((await hub.api('DELETE', '/api/status-pages/main')).status).toBe(409);
      // A check made through the API keeps working beside them.
      expect((await hub.api('POST', '/api/checks', { name: 'mine', probe: { kind: 'tcp', host: '127.0.0.1', port }, enabled: false })).status).toBe(201);
    } finally {
      await hub.stop();
    }

    writeFileSync(
      file,
      `checks:
  - name: internal api
    probe: { kind: http, url: "http://127.0.0.1:${port}/ready" }
statusPages: []
`,
    );
    hub = await startHubFixture({ FAROL_CHECKS_FILE: file }, { dataDir });
    try {
      const list = ((await hub.api('GET', '/api/checks')).body as { checks: Check[] }).checks;
      expect(list.map((c) => [c.name, c.source])).toEqual([
        ['internal api', 'file'],
        ['mine', 'api'],
      ]);
      expect(list[0]!.probe).toMatchObject({ url: `http://127.0.0.1:${port}/ready` });
      expect((await hub.api('GET', '/api/status-pages')).body).toEqual({ pages: [] });
      const audit = (await hub.api('GET', '/api/audit?limit=100')).body as AuditList;
      const fromFile = audit.entries.filter((e) => e.actor === `file:${file}`).map((e) => e.action);
      expect(fromFile).toEqual(expect.arrayContaining(['check.create', 'check.update', 'check.delete', 'status_page.create', 'status_page.delete']));
    } finally {
      await hub.stop();
    }
  });
});

describe('public status pages (#19)', () => {
  let hub: HubFixture;
  beforeAll(async () => {
    hub = await startHubFixture();
  });
  afterAll(async () => {
    await hub?.stop();
  });

  it('serves chosen checks under display names only, without sign-in, cacheable and locked down', async () => {
    const created = await hub.api('POST', '/api/checks', { name: 'secret-backend', probe: { kind: 'http', url: `http://127.0.0.1:${port}/internal-health` }, interval: '1m', timeout: '2s' });
    expect(created.status).toBe(201);
    expect((await hub.api('POST', '/api/checks/secret-backend/run')).status).toBe(200);

    const refused = await hub.api('POST', '/api/status-pages', { slug: 'main', title: 'Acme', checks: [{ check: 'nope', name: 'X' }] });
    expect(refused).toMatchObject({ status: 400, body: { code: 'validation_failed', issues: [{ path: 'checks.0.check', message: 'no check "nope"' }] } });
    const page = await hub.api('POST', '/api/status-pages', { slug: 'main', title: 'Acme <status>', description: 'Public services', checks: [{ check: 'secret-backend', name: 'Website & API' }] });
    expect(page.status, JSON.stringify(page.body)).toBe(201);
    expect((await hub.api('POST', '/api/status-pages', { slug: 'main', title: 'Again', checks: [{ check: 'secret-backend', name: 'X' }] })).status).toBe(409);

    const response = await fetch(`${hub.url}/status/main`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('public, max-age=30');
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'$/);
    const html = await response.text();
    expect(html).toContain('<title>Acme &lt;status&gt;</title>');
    expect(html).toContain('Website &amp; API');
    expect(html).toContain('Operational');
    expect(html).not.toContain('<script');
    for (const secret of ['secret-backend', '127.0.0.1', String(port), 'internal-health', 'chk_']) expect(html).not.toContain(secret);
    expect(html.match(/<span class="d\d"/g)).toHaveLength(90);
    expect(html).toContain('class="d1"');

    const etag = response.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await fetch(`${hub.url}/status/main`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect((await fetch(`${hub.url}/status/nope`)).status).toBe(404);

    // Its own limit per address, whatever the API's: the 121st request within a minute is refused.
    const statuses: number[] = [];
    for (let i = 0; i < 125; i++) statuses.push((await fetch(`${hub.url}/status/main`, { method: 'HEAD' })).status);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThan(0);
    expect(statuses.slice(0, 100).every((status) => status === 200)).toBe(true);

    const audit = (await hub.api('GET', '/api/audit?limit=20')).body as AuditList;
    expect(audit.entries.find((e) => e.action === 'status_page.create')).toMatchObject({ details: { slug: 'main', title: 'Acme <status>', checks: 1 } });
    expect((await hub.api('DELETE', '/api/status-pages/main')).status).toBe(204);
  });

  it('speaks Brazilian Portuguese or English: by the visitor\'s Accept-Language, or as the page says', async () => {
    if (!((await hub.api('GET', '/api/checks/secret-backend')).status === 200)) {
      expect((await hub.api('POST', '/api/checks', { name: 'secret-backend', probe: { kind: 'http', url: `http://127.0.0.1:${port}/internal-health` }, interval: '1m', timeout: '2s' })).status).toBe(201);
    }
    expect((await hub.api('POST', '/api/checks/secret-backend/run')).status).toBe(200);
    const created = await hub.api('POST', '/api/status-pages', { slug: 'site', title: 'Acme', checks: [{ check: 'secret-backend', name: 'Loja' }] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect((created.body as StatusPage).language).toBe('auto');
    const read = async (acceptLanguage?: string) => {
      const response = await fetch(`${hub.url}/status/site`, { headers: acceptLanguage ? { 'accept-language': acceptLanguage } : {} });
      expect(response.status).toBe(200);
      const html = await response.text();
      // The inline style sheet is the one the page's CSP allows by its hash, in every language.
      const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
      expect(response.headers.get('content-security-policy')).toContain(`style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`);
      return { html, language: response.headers.get('content-language'), vary: response.headers.get('vary'), etag: response.headers.get('etag') };
    };

    const portuguese = await read('pt-BR,pt;q=0.9,en-US;q=0.8');
    expect(portuguese).toMatchObject({ language: 'pt-BR', vary: 'Accept-Language' });
    expect(portuguese.html).toContain('<html lang="pt-BR">');
    expect(portuguese.html).toContain('Todos os serviços estão operacionais');
    expect(portuguese.html).toContain('<span class="st s-ok">Operacional</span>');
    expect(portuguese.html).toContain('<span>há 90 dias</span><span>100% de disponibilidade</span><span>Hoje</span>');
    expect(portuguese.html).toMatch(/<footer>Atualizado em \d\d\/\d\d\/\d{4} \d\d:\d\d UTC<\/footer>/);
    expect(portuguese.html).not.toMatch(/Operational|uptime|Today/);
    const english = await read('en-GB,en;q=0.9');
    expect(english).toMatchObject({ language: 'en', vary: 'Accept-Language' });
    expect(english.html).toContain('<html lang="en">');
    expect(english.html).toContain('All services are operational');
    expect(english.etag).not.toBe(portuguese.etag);
    // A weight says which comes first; no header, or only other languages: English.
    expect((await read('en;q=0.4, pt;q=0.8')).language).toBe('pt-BR');
    expect((await read('fr-FR, de;q=0.9')).language).toBe('en');
    expect((await read()).language).toBe('en');

    // Fixed to one language: every visitor gets it, and caches need not vary.
    const fixed = await hub.api('PUT', '/api/status-pages/site', { slug: 'site', title: 'Acme', language: 'pt-BR', checks: [{ check: 'secret-backend', name: 'Loja' }] });
    expect(fixed.status, JSON.stringify(fixed.body)).toBe(200);
    const always = await read('en-US');
    expect(always).toMatchObject({ language: 'pt-BR', vary: null });
    expect(always.html).toContain('Todos os serviços estão operacionais');
    expect((await hub.api('PUT', '/api/status-pages/site', { slug: 'site', title: 'Acme', language: 'fr', checks: [{ check: 'secret-backend', name: 'Loja' }] })).status).toBe(400);
    const audit = (await hub.api('GET', '/api/audit?limit=20')).body as AuditList;
    expect(audit.entries.find((e) => e.action === 'status_page.update')).toMatchObject({ details: { slug: 'site', language: 'pt-BR' } });
    expect((await hub.api('DELETE', '/api/status-pages/site')).status).toBe(204);
  });
});
