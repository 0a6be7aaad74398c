import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The image every Docker test uses: busybox imported from the host's static binary. */
export const TEST_IMAGE = 'farol-test/busybox:latest';
const BUSYBOX = '/bin/busybox';

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/sbin', '/usr/bin', '/usr/local/bin', '/sbin'])) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch (error) {
      // Not in this directory: keep looking (ENOENT / EACCES are the expected answers).
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && (error as NodeJS.ErrnoException).code !== 'EACCES') throw error;
    }
  }
  return null;
}

/**
 * Why the Docker tests cannot run here, or null when they can: dockerd, the docker CLI and a
 * static busybox must exist, and dockerd needs root. Under CI a missing piece fails the test
 * file loudly (CI installs them); on a developer machine the tests are skipped with the reason.
 */
export function dockerSkipReason(): string | null {
  const missing: string[] = [];
  if (!onPath('dockerd')) missing.push('dockerd (apt install docker.io)');
  if (!onPath('docker')) missing.push('the docker CLI (apt install docker.io)');
  if (!existsSync(BUSYBOX)) missing.push(`${BUSYBOX} (apt install busybox-static)`);
  if (process.getuid?.() !== 0) missing.push('root (dockerd needs it)');
  if (missing.length === 0) return null;
  const reason = `Docker tests need ${missing.join(', ')}`;
  if (process.env.CI) throw new Error(`${reason}: CI must provide them`);
  console.warn(`skipping Docker tests: ${reason}`);
  return reason;
}

/** One private Docker engine for a test file. */
export interface DockerEngine {
  /** `unix:///.../docker.sock`, for DOCKER_HOST / --docker-host. */
  readonly host: string;
  readonly socketPath: string;
  /** Runs the docker CLI against this engine; resolves with stdout. */
  docker(args: string[]): Promise<string>;
  /** GET on the Engine API; the parsed JSON. */
  api<T>(apiPath: string): Promise<T>;
  /** Polls `docker inspect` until `check` holds. */
  waitForContainer(name: string, check: (inspect: ContainerInspect) => boolean, timeoutMs?: number, what?: string): Promise<ContainerInspect>;
  /** The engine's log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export interface ContainerInspect {
  Id: string;
  Name: string;
  RestartCount: number;
  State: { Status: string; Running: boolean; ExitCode: number; StartedAt: string; Health?: { Status: string } };
}

function apiGet<T>(socketPath: string, apiPath: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path: apiPath, headers: { host: 'docker' }, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        if ((res.statusCode ?? 0) >= 300) reject(new Error(`GET ${apiPath}: HTTP ${res.statusCode} ${body}`));
        else resolve((body.startsWith('{') || body.startsWith('[') ? JSON.parse(body) : body) as T);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${apiPath}: timed out`)));
    req.on('error', reject);
  });
}

/**
 * Starts a dockerd of its own: its own data root, exec root (and so its own containerd),
 * socket and pid file in a temp dir; no iptables, no bridge (containers run with
 * `--network none`), vfs storage (works inside any container). Waits for /_ping and imports
 * busybox as TEST_IMAGE.
 */
export async function startDockerEngine(options: { storageDriver?: 'vfs' | 'overlay2' } = {}): Promise<DockerEngine> {
  const dir = mkdtempSync(path.join(tmpdir(), 'farol-dockerd-'));
  const socketPath = path.join(dir, 'docker.sock');
  const host = `unix://${socketPath}`;
  const logFile: string[] = [];
  const child: ChildProcess = spawn(
    onPath('dockerd')!,
    [
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      // vfs copies every layer whole: fine for busybox, slow for image builds (overlay2 there, when the kernel has it).
      `--storage-driver=${options.storageDriver ?? 'vfs'}`,
      '--data-root', path.join(dir, 'data'),
      '--exec-root', path.join(dir, 'exec'),
      '--pidfile', path.join(dir, 'dockerd.pid'),
      '-H', host,
      // Containers are removed before the engine stops; nothing needs a long grace.
      '--shutdown-timeout', '2',
      '--log-level', 'warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DOCKER_HOST: host } },
  );
  child.stdout!.on('data', (chunk: Buffer) => logFile.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => logFile.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const docker = async (args: string[]): Promise<string> => {
    try {
      const { stdout } = await run(onPath('docker')!, args, { env: { ...process.env, DOCKER_HOST: host }, maxBuffer: 16 * 1024 * 1024 });
      return stdout;
    } catch (error) {
      const failure = error as Error & { stderr?: string };
      throw new Error(`docker ${args.join(' ')} failed: ${failure.stderr ?? failure.message}`, { cause: error });
    }
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null) {
      try {
        const ids = (await docker(['ps', '-aq'])).split('\n').filter(Boolean);
        if (ids.length > 0) await docker(['rm', '-f', ...ids]);
      } catch (error) {
        // The engine is stopped next either way; its containers die with it.
        console.warn(`could not remove test containers before stopping dockerd: ${(error as Error).message}`);
      }
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    // A dockerd that had to be killed can leave mounts behind (its default netns, overlay2 layers).
    const leftovers = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((line) => line.split(' ')[1] ?? '').filter((mount) => mount.startsWith(`${dir}/`));
    for (const mount of leftovers.reverse()) await run('umount', ['-l', mount]).catch((error: Error) => console.warn(`could not unmount ${mount}: ${error.message}`));
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`dockerd exited with ${child.exitCode}:\n${logFile.join('')}`);
      try {
        if ((await apiGet<string>(socketPath, '/_ping')) === 'OK') break;
      } catch (error) {
        // Not listening yet: ENOENT / ECONNREFUSED until dockerd is up.
        if (Date.now() > deadline) throw new Error(`dockerd did not answer /_ping within 30 s (${(error as Error).message}):\n${logFile.join('')}`, { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // busybox and its applet links, as a one-layer image.
    const rootfs = path.join(dir, 'rootfs');
    mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
    mkdirSync(path.join(rootfs, 'tmp'));
    copyFileSync(BUSYBOX, path.join(rootfs, 'bin/busybox'));
    const { stdout: applets } = await run(BUSYBOX, ['--list']);
    for (const applet of applets.split('\n')) {
      if (applet && applet !== 'busybox' && /^[\w.[-]+$/.test(applet)) symlinkSync('busybox', path.join(rootfs, 'bin', applet));
    }
    const tarball = path.join(dir, 'busybox.tar');
    await run('tar', ['-C', rootfs, '-cf', tarball, '.']);
    await docker(['import', '--change', 'ENV PATH=/bin', tarball, TEST_IMAGE]);
    rmSync(rootfs, { recursive: true, force: true });
  } catch (error) {
    await stop();
    throw error;
  }

  const engine: DockerEngine = {
    host,
    socketPath,
    docker,
    api: (apiPath) => apiGet(socketPath, apiPath),
    async waitForContainer(name, check, timeoutMs = 20_000, what = 'the container state') {
      const deadline = Date.now() + timeoutMs;
      let last: ContainerInspect | null = null;
      for (;;) {
        last = await apiGet<ContainerInspect>(socketPath, `/containers/${name}/json`);
        if (check(last)) return last;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} of ${name}; last: ${JSON.stringify(last.State)} restarts ${last.RestartCount}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    log: () => logFile.join(''),
    stop,
  };
  return engine;
}

/** Names of the containers `startTestContainers` runs. */
export const TEST_CONTAINERS = {
  healthy: 'farol-healthy',
  unhealthy: 'farol-unhealthy',
  exited: 'farol-exited',
  restarting: 'farol-restarting',
} as const;

/**
 * The fleet of test containers: one healthy (health check `true`) that writes `err-line-1` to
 * stderr, then (in that order, 0.3 s later) `out-line-1` and `out-line-2` to stdout, one unhealthy (health check `false`), one that exited with code 3 and one
 * in a restart loop. Resolves once each has reached its state.
 */
export async function startTestContainers(engine: DockerEngine): Promise<void> {
  const common = ['run', '-d', '--network', 'none', '--log-driver', 'json-file'];
  await Promise.all([
    engine.docker([
      ...common, '--name', TEST_CONTAINERS.healthy, '--health-cmd', 'true', '--health-interval', '1s', '--health-start-period', '0s',
      TEST_IMAGE, 'sh', '-c', 'echo err-line-1 >&2; sleep 0.3; echo out-line-1; echo out-line-2; trap "exit 0" TERM; while true; do sleep 1; done',
    ]),
    engine.docker([
      ...common, '--name', TEST_CONTAINERS.unhealthy, '--health-cmd', 'false', '--health-interval', '1s', '--health-retries', '1',
      TEST_IMAGE, 'sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done',
    ]),
    engine.docker([...common, '--name', TEST_CONTAINERS.exited, TEST_IMAGE, 'sh', '-c', 'echo bye; exit 3']),
    engine.docker([...common, '--name', TEST_CONTAINERS.restarting, '--restart', 'always', TEST_IMAGE, 'sh', '-c', 'exit 1']),
  ]);
  await Promise.all([
    engine.waitForContainer(TEST_CONTAINERS.healthy, (c) => c.State.Health?.Status === 'healthy', 20_000, 'healthy'),
    engine.waitForContainer(TEST_CONTAINERS.unhealthy, (c) => c.State.Health?.Status === 'unhealthy', 20_000, 'unhealthy'),
    engine.waitForContainer(TEST_CONTAINERS.exited, (c) => c.State.Status === 'exited', 20_000, 'exited'),
    engine.waitForContainer(TEST_CONTAINERS.restarting, (c) => c.RestartCount >= 2, 20_000, 'a few restarts'),
  ]);
}
