import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const REGISTRY_BIN = '/usr/bin/docker-registry';
const HTPASSWD_BIN = '/usr/bin/htpasswd';

/** Why the registry tests cannot run, or null (CI installs Debian's docker-registry; see .ci/run). */
export function registrySkipReason(): string | null {
  if (existsSync(REGISTRY_BIN)) return null;
  const reason = `${REGISTRY_BIN} is missing (apt install docker-registry)`;
  if (process.env.CI) throw new Error(`${reason}: CI must provide it`);
  console.warn(`skipping registry tests: ${reason}`);
  return reason;
}

/** Why a registry with a login cannot be started, or null (CI installs apache2-utils for htpasswd; see .ci/run). */
export function loginRegistrySkipReason(): string | null {
  const missing = registrySkipReason();
  if (missing) return missing;
  if (existsSync(HTPASSWD_BIN)) return null;
  const reason = `${HTPASSWD_BIN} is missing (apt install apache2-utils)`;
  if (process.env.CI) throw new Error(`${reason}: CI must provide it`);
  console.warn(`skipping private registry tests: ${reason}`);
  return reason;
}

/** A private Docker registry (Debian's docker-registry) on 127.0.0.1, for one test file. */
export interface DockerRegistry {
  /** `127.0.0.1:PORT`: dockerd treats loopback registries as insecure-allowed, so plain HTTP works. */
  readonly address: string;
  log(): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * Starts the registry with its own config file and storage directory; resolves once /v2/
 * answers. With `login`, it wants that user name and password (htpasswd, bcrypt) for every
 * request, as a private registry does.
 */
export async function startDockerRegistry(options: { login?: { username: string; password: string } } = {}): Promise<DockerRegistry> {
  const dir = mkdtempSync(path.join(tmpdir(), 'farol-registry-'));
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const storage = path.join(dir, 'storage');
  mkdirSync(storage);
  const config = path.join(dir, 'config.yml');
  const auth: string[] = [];
  if (options.login) {
    const htpasswd = path.join(dir, 'htpasswd');
    // -B bcrypt (the only scheme the registry reads), -b password from argv, -n print the line.
    writeFileSync(htpasswd, execFileSync(HTPASSWD_BIN, ['-Bbn', options.login.username, options.login.password], { encoding: 'utf8' }));
    auth.push('auth:', '  htpasswd:', '    realm: farol-test', `    path: ${htpasswd}`);
  }
  writeFileSync(
    config,
    ['version: 0.1', 'log:', '  level: warn', 'storage:', '  filesystem:', `    rootdirectory: ${storage}`, '  delete:', '    enabled: true', 'http:', `  addr: ${address}`, ...auth, ''].join('\n'),
  );
  const output: string[] = [];
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`docker-registry exited with ${child.exitCode}:\n${output.join('')}`);
    }
    try {
      const answer = await fetch(`http://${address}/v2/`);
      // A registry with a login answers 401 to the anonymous probe: up all the same.
      if (answer.ok || (options.login && answer.status === 401)) break;
    } catch (error) {
      // Not listening yet (ECONNREFUSED) until the registry is up.
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`docker-registry did not answer on ${address} within 15 s (${(error as Error).message}):\n${output.join('')}`, { cause: error });
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { address, log: () => output.join(''), stop };
}
