// Shared helpers for benchmarks: start real processes, sample their CPU and memory from /proc.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const farolBin = path.join(root, 'bin/farol.mjs');
export const agentBundle = path.join(root, 'apps/agent/dist/farol-agent.mjs');
const TICKS_PER_SECOND = 100; // Linux USER_HZ

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** CPU seconds (user + system) and RSS bytes of one process. */
export function procSnapshot(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { at: performance.now(), cpuSeconds, rss: rssKb * 1024 };
}

/** Samples a process every `everyMs` until stopped; returns CPU share and RSS stats. */
export function watchProcess(pid, everyMs = 1000) {
  const samples = [procSnapshot(pid)];
  const timer = setInterval(() => {
    try {
      samples.push(procSnapshot(pid));
    } catch {
      clearInterval(timer); // the process is gone; keep what we have
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      const first = samples[0];
      const last = samples.at(-1);
      const seconds = (last.at - first.at) / 1000;
      const rss = samples.map((s) => s.rss);
      return {
        seconds,
        cpuPercentOfOneCore: seconds > 0 ? ((last.cpuSeconds - first.cpuSeconds) / seconds) * 100 : 0,
        rssMaxMiB: Math.max(...rss) / 2 ** 20,
        rssLastMiB: last.rss / 2 ** 20,
        rssAvgMiB: rss.reduce((a, b) => a + b, 0) / rss.length / 2 ** 20,
      };
    },
  };
}

/** Starts `farol hub` on a free port with a known admin token; resolves once /ready answers. */
export async function startHub({ dataDir, env = {} }) {
  const port = await freePort();
  const adminToken = `fat_bench_${Math.random().toString(36).slice(2)}_0123456789`;
  // FAROL_BENCH_HUB_NODE_ARGS adds Node flags to the hub, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.FAROL_BENCH_HUB_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // FAROL_BENCH_HUB_ENV adds variables to the hub's environment only, e.g.
  // "LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2" (the simulator keeps its own).
  const hubEnv = Object.fromEntries(
    (process.env.FAROL_BENCH_HUB_ENV ?? '')
      .split(' ')
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
  const child = spawn(process.execPath, [...nodeArgs, farolBin, 'hub', '--port', String(port), '--data', dataDir], {
    // The API rate limit (per token or address) is off: every simulated agent and the polling
    // client share 127.0.0.1 and one token, which a real fleet does not.
    env: { ...process.env, FAROL_ADMIN_TOKEN: adminToken, FAROL_LOG_LEVEL: 'warn', FAROL_API_RATE_LIMIT: '0', ...hubEnv, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const response = await fetch(`${url}/ready`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('hub did not become ready');
    await sleep(100);
  }
  return { child, url, adminToken, port };
}

export async function api(hub, method, route, body) {
  const response = await fetch(`${hub.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${hub.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? null : response.json();
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function waitExit(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

export function machine() {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${os.release()}, Node ${process.version}`;
}

/**
 * Bundles hub source modules with esbuild (npm dependencies external, like scripts/build.mjs)
 * and imports them, for benchmarks that drive a hub module in-process. `exports` are lines such
 * as "export { startHub } from './apps/hub/src/main.ts';", relative to the repository root.
 */
export async function importHubSource(name, exports) {
  const { build } = await import('esbuild');
  const hubPkg = JSON.parse(readFileSync(path.join(root, 'apps/hub/package.json'), 'utf8'));
  const rootPkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const cacheDir = path.join(root, 'node_modules/.cache/farol-bench');
  mkdirSync(cacheDir, { recursive: true });
  const bundle = path.join(cacheDir, `${name}-${process.pid}.mjs`);
  await build({
    stdin: { contents: exports.join('\n'), resolveDir: root, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    outfile: bundle,
    external: Object.keys(hubPkg.dependencies ?? {}).filter((dep) => !dep.startsWith('@farol/')),
    loader: { '.sh': 'text', '.ps1': 'text' },
    define: { __FAROL_VERSION__: JSON.stringify(rootPkg.version) },
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  try {
    return await import(bundle);
  } finally {
    rmSync(bundle, { force: true });
  }
}
