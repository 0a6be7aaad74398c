import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import installSh from './install.sh';
import { renderInstallScript } from './install.service.js';
import { startStandInHub, type StandInHub } from './testing/stand-in-hub.js';

/** What install.sh says when the line pins no hub key (ADR 0024): it goes on with SHA-256 only. */
const UNPINNED_WARNING = /^farol: WARNING: no --hub-key: farol-agent\S* is checked only against what the hub sent with it\. [^\n]*\n$/;

/** What `uname -s/-m` says here, as install.sh names it. */
const platform = `${process.platform === 'darwin' ? 'darwin' : 'linux'}-${process.arch === 'arm64' ? 'arm64' : 'x64'}`;

let work: string;
let hub: StandInHub;
let hubUrl: string;
let served: { exe: string; sha256: string };
/** The key this stand-in hub signs downloads with (ADR 0024), and its fingerprint as install lines carry it. */
const hubKey = generateKeyPairSync('ed25519');
const fingerprint = createHash('sha256').update(hubKey.publicKey.export({ type: 'spki', format: 'der' }).subarray(-32)).digest('base64url');

/** Stands in for the executable: records its arguments, writes an identity on enroll. */
function fakeExecutable(log: string): string {
  return ['#!/bin/sh', `printf '%s\\n' "$*" >> ${JSON.stringify(log)}`, 'if [ "$1" = enroll ]; then shift; while [ $# -gt 0 ]; do [ "$1" = --state ] && echo "{}" > "$2/identity.json"; shift; done; fi', 'echo enrolled', ''].join('\n');
}

/** The tools install.sh uses, and no node (this machine has one in /usr/bin). */
const TOOLS = ['sh', 'curl', 'mkdir', 'chmod', 'mv', 'rm', 'cut', 'uname', 'id', 'mktemp', 'sha256sum', 'cat', 'sed', 'printf', 'cp', 'pwd', 'head', 'tail', 'tr', 'openssl'];

async function toolsWithoutNode(leaveOut: string[] = [], uname?: { s: string; m: string }): Promise<string> {
  const bin = path.join(work, 'bin');
  await mkdir(bin);
  for (const tool of TOOLS.filter((name) => !leaveOut.includes(name) && !(uname && name === 'uname'))) {
    const found = ['/usr/bin', '/bin'].map((dir) => path.join(dir, tool)).find((file) => existsSync(file));
    if (found) await symlink(found, path.join(bin, tool));
  }
  // Another platform, as install.sh sees it: the rest of the run is this machine's.
  if (uname) await writeFile(path.join(bin, 'uname'), `#!/bin/sh\ncase "$1" in -s) echo ${uname.s} ;; -m) echo ${uname.m} ;; *) echo ${uname.s} ;; esac\n`, { mode: 0o755 });
  return bin;
}

async function runInstall(args: string, leaveOut: string[] = [], uname?: { s: string; m: string }): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = await toolsWithoutNode(leaveOut, uname);
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', `curl -fsSL ${hubUrl}/install.sh | sh -s -- ${args}`], { env: { PATH: bin, HOME: work }, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'farol-install-exe-'));
  const exe = fakeExecutable(path.join(work, 'calls.log'));
  served = { exe, sha256: createHash('sha256').update(exe).digest('hex') };
  // Serves the same stand-in executable for every linux and macOS platform.
  hub = await startStandInHub((req, res, url) => {
    const download = /^\/download\/(farol-agent-(?:linux|darwin)-(?:x64|arm64))(\.sha256|\.sig)?$/.exec(req.url ?? '');
    if (req.url === '/install.sh') res.writeHead(200).end(renderInstallScript(installSh, url));
    else if (req.url === '/download/hub-key.pem') res.writeHead(200).end(hubKey.publicKey.export({ type: 'spki', format: 'pem' }));
    else if (download?.[2] === '.sha256') res.writeHead(200).end(`${served.sha256}  ${download[1]!}\n`);
    else if (download?.[2] === '.sig') {
      const signed = `farol-download-v1 ${download[1]!} ${createHash('sha256').update(served.exe).digest('hex')}\n`;
      res.writeHead(200).end(`${sign(null, Buffer.from(signed), hubKey.privateKey).toString('base64')}\n`);
    } else if (download) res.writeHead(200).end(served.exe);
    else res.writeHead(404).end();
  });
  hubUrl = hub.url;
});

afterEach(async () => {
  await hub.close();
  await rm(work, { recursive: true, force: true });
});

describe('install.sh with the one-file agent (#15)', () => {
  it('picks the executable for this platform by uname, checks its SHA-256, enrolls without Node.js and writes a hardened unit', async () => {
    const prefix = path.join(work, 'p');
    const state = path.join(work, 's');
    const units = path.join(work, 'units');
    const result = await runInstall(`--token T0k3n --prefix ${prefix} --state ${state} --service systemd --service-dir ${units}`);
    expect(result.stderr).toMatch(UNPINNED_WARNING);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('no Node.js needed');
    expect(await readFile(path.join(prefix, 'farol-agent'), 'utf8')).toBe(served.exe);
    expect(existsSync(path.join(prefix, 'farol-agent.mjs'))).toBe(false);
    expect(await readFile(path.join(work, 'calls.log'), 'utf8')).toBe(`enroll --hub ${hubUrl} --token T0k3n --state ${state}\n`);
    const unit = await readFile(path.join(units, 'farol-agent.service'), 'utf8');
    expect(unit).toContain(`ExecStart="${prefix}/farol-agent" run --state "${state}"\n`);
    expect(unit).toMatch(/^NoNewPrivileges=yes$/m);
    expect(unit).toMatch(/^ProtectSystem=strict$/m);
    expect(unit).toContain(`ReadWritePaths="${state}"`);
  });

  it('refuses an executable whose SHA-256 is not the one the hub lists, and installs and enrolls nothing', async () => {
    served = { ...served, sha256: createHash('sha256').update('another file').digest('hex') };
    const prefix = path.join(work, 'p');
    const result = await runInstall(`--token T0k3n --prefix ${prefix} --state ${path.join(work, 's')} --service none`);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/SHA-256 is [0-9a-f]{64}, the hub says [0-9a-f]{64}; nothing was installed/);
    expect(existsSync(path.join(prefix, 'farol-agent'))).toBe(false);
    expect(existsSync(path.join(work, 'calls.log'))).toBe(false);
  });

  it('with --hub-key checks the signature with OpenSSL 3 and installs', async () => {
    const prefix = path.join(work, 'p');
    const result = await runInstall(`--token T0k3n --hub-key ${fingerprint} --prefix ${prefix} --state ${path.join(work, 's')} --service none`);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`farol-agent-${platform} is signed by hub key ${fingerprint}`);
    expect(await readFile(path.join(prefix, 'farol-agent'), 'utf8')).toBe(served.exe);
  });

  it('with --hub-key but no OpenSSL 3, refuses before downloading or enrolling anything (a pinned key is never skipped)', async () => {
    const prefix = path.join(work, 'p');
    const result = await runInstall(`--token T0k3n --hub-key ${fingerprint} --prefix ${prefix} --state ${path.join(work, 's')} --service none`, ['openssl']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("--hub-key needs OpenSSL 3 to check the hub's signature (no openssl in PATH)");
    expect(existsSync(prefix)).toBe(false);
    expect(existsSync(path.join(work, 'calls.log'))).toBe(false);
  });

  it('refuses a --hub-key that is not a fingerprint', async () => {
    const result = await runInstall(`--token T0k3n --hub-key 'abc;def' --service none`);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--hub-key must be the hub key fingerprint (43 base64url characters)');
  });

  it('on macOS (uname faked: Darwin arm64) picks farol-agent-darwin-arm64 and writes a launchd plist that is valid XML with the expected keys', async () => {
    const prefix = path.join(work, 'p');
    const state = path.join(work, 's');
    const daemons = path.join(work, 'LaunchDaemons');
    const result = await runInstall(`--token T0k3n --hub-key ${fingerprint} --prefix ${prefix} --state ${state} --service-dir ${daemons}`, [], { s: 'Darwin', m: 'arm64' });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`farol-agent-darwin-arm64 is signed by hub key ${fingerprint}`);
    const plist = path.join(daemons, 'com.farol.agent.plist');
    // What plutil -lint checks that matters here: well-formed XML with a plist root of one dict.
    const xpath = (expression: string) =>
      new Promise<string>((resolve, reject) => execFile('xmllint', ['--xpath', expression, plist], (error, stdout) => (error ? reject(error) : resolve(stdout.trim()))));
    expect(await xpath('count(/plist[@version="1.0"]/dict)')).toBe('1');
    expect(await xpath('string(/plist/dict/key[.="Label"]/following-sibling::*[1])')).toBe('com.farol.agent');
    expect(await xpath('/plist/dict/key[.="ProgramArguments"]/following-sibling::*[1]/string/text()')).toBe([`${prefix}/farol-agent`, 'run', '--state', state].join('\n'));
    expect(await xpath('name(/plist/dict/key[.="RunAtLoad"]/following-sibling::*[1])')).toBe('true');
    expect(await xpath('name(/plist/dict/key[.="KeepAlive"]/following-sibling::*[1])')).toBe('true');
    expect(await xpath('string(/plist/dict/key[.="Umask"]/following-sibling::*[1])')).toBe('63');
    expect(await xpath('string(/plist/dict/key[.="StandardErrorPath"]/following-sibling::*[1])')).toBe(`${state}/agent.log`);
    // Keys and values alternate inside the dict, as launchd requires.
    const children = (await xpath('/plist/dict/*')).split(/\n(?=<)/).map((element) => /^<(\w+)/.exec(element)![1]);
    expect(children.filter((_, index) => index % 2 === 0).every((tag) => tag === 'key')).toBe(true);
    expect(children.filter((_, index) => index % 2 === 1).includes('key')).toBe(false);
    expect(result.stdout).toContain('not loading it');
  });

  it('on macOS as a plain user without --service-dir, refuses up front when launchctl is missing (it is not on Linux)', async () => {
    const result = await runInstall(`--token T0k3n --prefix ${path.join(work, 'p')} --state ${path.join(work, 's')}`, [], { s: 'Darwin', m: 'x86_64' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('launchctl is not in PATH');
    expect(existsSync(path.join(work, 'p'))).toBe(false);
  });

  it('with --runtime node ignores the executable and asks for Node.js', async () => {
    const result = await runInstall(`--token T0k3n --prefix ${path.join(work, 'p')} --state ${path.join(work, 's')} --service none --runtime node`);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('Node.js 20 or newer is required, and node is not in PATH');
  });
});
