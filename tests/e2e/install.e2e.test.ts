import { execFile, execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentList, JoinTokenCreated } from '@farol/protocol';
import { api, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from './support/processes.js';

const dir = tempDir('install');
const procs: Proc[] = [];
afterAll(async () => {
  for (const proc of procs) await proc.stop('SIGKILL');
  dir.remove();
});

describe('adding a machine with the one-line installer', () => {
  it('downloads the agent from the hub, enrolls it, writes a systemd unit whose command brings it online', async () => {
    const hub = await startHubProcess(path.join(dir.path, 'hub'), await freePort());
    procs.push(hub);
    const token = await joinToken(hub.url, { labels: { via: 'installer' } });
    const prefix = path.join(dir.path, 'prefix');
    const state = path.join(dir.path, 'state');
    const units = path.join(dir.path, 'units');
    execFileSync('sh', ['-c', `curl -fsSL ${hub.url}/install.sh | sh -s -- --token ${token} --prefix ${prefix} --state ${state} --service systemd --service-dir ${units}`], {
      stdio: 'pipe',
    });
    expect(existsSync(path.join(prefix, 'farol-agent.mjs'))).toBe(true);
    const identity = path.join(state, 'identity.json');
    expect(statSync(identity).mode & 0o777).toBe(0o600);
    const unit = readFileSync(path.join(units, 'farol-agent.service'), 'utf8');
    expect(unit).toMatch(/Restart=always/);
    const execStart = /^ExecStart=(.+)$/m.exec(unit)![1]!;
    // Run the service's own command line, as systemd would.
    // systemd's quoting: words, or "double-quoted" words with backslash escapes.
    const [command, ...args] = [...execStart.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] ?? m[2]!).replace(/\\(.)/g, '$1'));
    expect(path.basename(command!)).toMatch(/^node/);
    procs.push(run(args));
    const agents = await waitFor(async () => {
      const { body } = await api<AgentList>(hub.url, 'GET', '/api/agents?status=online');
      return body.agents.length ? body.agents : undefined;
    }, 30_000, 'installed agent online');
    expect(agents[0]!.labels).toEqual({ via: 'installer' });
  });
});

// ADR 0024: the hub signs each download with its key; install.sh, given the key's fingerprint in
// the pasted line, refuses what the hub did not sign. A loopback proxy stands in for someone on
// the path who changes the download and everything served beside it.
describe('install.sh checks the hub signature against the key pinned in the install line (ADR 0024)', () => {
  const platform = `linux-${process.arch === 'arm64' ? 'arm64' : 'x64'}`;
  const name = `farol-agent-${platform}`;
  type Mode = 'pass' | 'tamper-exe' | 'tamper-sig' | 'swap-key';
  let mode: Mode = 'pass';
  const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
  const mitmKey = generateKeyPairSync('ed25519');
  const TAMPERED = '#!/bin/sh\necho tampered';

  /** Forwards to the hub; in the tampering modes, answers some downloads itself. */
  function startProxy(hubUrl: string, port: number): Promise<Server> {
    const target = new URL(hubUrl);
    const server = createServer((req, res) => {
      const forward = (edit?: (body: Buffer) => Buffer | string): void => {
        const upstream = httpRequest({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () => {
            const body = Buffer.concat(chunks);
            const out = edit && answer.statusCode === 200 ? Buffer.from(edit(body)) : body;
            const headers = { ...answer.headers, 'content-length': String(out.length) };
            res.writeHead(answer.statusCode ?? 502, headers).end(out);
          });
        });
        upstream.on('error', () => res.writeHead(502).end());
        req.pipe(upstream);
      };
      const evil = Buffer.from(`${TAMPERED}\n`);
      const url = req.url ?? '';
      if (mode === 'tamper-exe' || mode === 'swap-key') {
        if (url === `/download/${name}`) return void res.writeHead(200).end(evil);
        if (url === `/download/${name}.sha256`) return void res.writeHead(200).end(`${sha256(evil)}  ${name}\n`);
      }
      if (mode === 'swap-key') {
        if (url === '/download/hub-key.pem') return void res.writeHead(200).end(mitmKey.publicKey.export({ type: 'spki', format: 'pem' }));
        if (url === `/download/${name}.sig`) return void res.writeHead(200).end(`${sign(null, Buffer.from(`farol-download-v1 ${name} ${sha256(evil)}\n`), mitmKey.privateKey).toString('base64')}\n`);
      }
      if (mode === 'tamper-sig' && url === `/download/${name}.sig`) {
        return forward((body) => {
          const signature = Buffer.from(body.toString('utf8').trim(), 'base64');
          signature[10] = signature[10]! ^ 0x01;
          return `${signature.toString('base64')}\n`;
        });
      }
      forward();
    });
    return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
  }

  /** Stands in for the executable: records its arguments, writes an identity on enroll. */
  const fakeExe = (log: string): string =>
    ['#!/bin/sh', `printf '%s\\n' "$*" >> ${JSON.stringify(log)}`, 'if [ "$1" = enroll ]; then shift; while [ $# -gt 0 ]; do [ "$1" = --state ] && echo "{}" > "$2/identity.json"; shift; done; fi', ''].join('\n');

  function install(url: string, args: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile('sh', ['-c', `curl -fsSL ${url}/install.sh | sh -s -- --hub ${url} ${args}`], { timeout: 60_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  it('installs what the pinned key signed; refuses a changed executable, a changed signature and a swapped key', async () => {
    const exeDir = path.join(dir.path, 'exe');
    mkdirSync(exeDir);
    const calls = path.join(dir.path, 'calls.log');
    const exe = fakeExe(calls);
    writeFileSync(path.join(exeDir, name), exe);
    chmodSync(path.join(exeDir, name), 0o755);
    writeFileSync(path.join(exeDir, `${name}.sha256`), `${sha256(exe)}  ${name}\n`);
    const hub = await startHubProcess(path.join(dir.path, 'signing-hub'), await freePort(), { FAROL_AGENT_EXE_DIR: exeDir });
    procs.push(hub);
    const proxy = await startProxy(hub.url, await freePort());
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    try {
      const created = await api<JoinTokenCreated>(hub.url, 'POST', '/api/join-tokens', { uses: 5 });
      const fingerprint = created.body.hubKeyFingerprint!;
      expect(fingerprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const args = (tag: string): string => `--token ${created.body.token} --hub-key ${fingerprint} --prefix ${path.join(dir.path, `p-${tag}`)} --state ${path.join(dir.path, `s-${tag}`)} --service none`;

      for (const [tampering, refusal] of [
        ['tamper-exe', /the hub's signature of farol-agent-linux-\w+ \(sha256 [0-9a-f]{64}\) does not verify with hub key/],
        ['tamper-sig', /the hub's signature of farol-agent-linux-\w+ \(sha256 [0-9a-f]{64}\) does not verify with hub key/],
        ['swap-key', /the hub key the hub sent \([A-Za-z0-9_-]{43}\) is not the one in the install line/],
      ] as const) {
        mode = tampering;
        const refused = await install(proxyUrl, args(tampering));
        expect(refused.code, `${tampering}: ${refused.stdout}${refused.stderr}`).not.toBe(0);
        expect(refused.stderr).toMatch(refusal);
        expect(existsSync(path.join(dir.path, `p-${tampering}`, 'farol-agent'))).toBe(false);
        expect(existsSync(path.join(dir.path, `p-${tampering}`, 'farol-agent.download'))).toBe(false);
        expect(existsSync(calls)).toBe(false);
      }

      // Untouched: installed and enrolled, the signature checked.
      mode = 'pass';
      const ok = await install(proxyUrl, args('ok'));
      expect(ok.stderr).toBe('');
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain(`${name} is signed by hub key ${fingerprint}`);
      expect(readFileSync(path.join(dir.path, 'p-ok', 'farol-agent'), 'utf8')).toBe(exe);
      expect(readFileSync(calls, 'utf8')).toMatch(/^enroll --hub /);

      // Without the pin it still installs (SHA-256 only) but says loudly what is not checked.
      const unpinned = await install(hub.url, `--token ${created.body.token} --prefix ${path.join(dir.path, 'p-unpinned')} --state ${path.join(dir.path, 's-unpinned')} --service none`);
      expect(unpinned.code).toBe(0);
      expect(unpinned.stderr).toContain('WARNING: no --hub-key');
    } finally {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  }, 120_000);
});
