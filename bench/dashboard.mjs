#!/usr/bin/env node
// Mission Control under a big fleet (npm run bench:dashboard, after npm run build):
//   - size of the built dashboard (gzip), initial and lazy chunks;
//   - the fleet page's first render with N simulated agents: navigation start → cards on
//     screen (the page's own performance mark), cold and warm;
//   - the main thread while N agents report every interval: long tasks, heap;
//   - live mode: from the agent taking a sample (sample.ts) to the dashboard receiving the
//     metrics:live frame (browser clock, same machine), p50/p95/p99.
// Prints the figures and writes bench/results/dashboard.json.
//   node bench/dashboard.mjs [--agents 1000] [--interval 10s] [--live-seconds 60] [--runs 3]
/* global window, document, PerformanceObserver -- used only inside callbacks that Playwright runs in the browser */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { agentBundle, api, machine, root, sleep, startHub } from './lib.mjs';

const { values: options } = parseArgs({
  options: {
    agents: { type: 'string', default: '1000' },
    interval: { type: 'string', default: '10s' },
    'live-seconds': { type: 'string', default: '60' },
    runs: { type: 'string', default: '3' },
  },
});
const agentCount = Number(options.agents);
const liveSeconds = Number(options['live-seconds']);
const runs = Number(options.runs);
const CARDS_VISIBLE_MARK = 'farol:fleet-cards-visible';

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const median = (values) => percentile([...values].sort((a, b) => a - b), 50);
const kib = (bytes) => Math.round((bytes / 1024) * 10) / 10;

/** Gzip sizes of the built dashboard: what index.html loads first, and the on-demand chunks. */
function bundleSizes() {
  const dist = path.join(root, 'apps/web/dist');
  const html = readFileSync(path.join(dist, 'index.html'), 'utf8');
  const initial = new Set([...html.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((match) => match[1]));
  const sizes = { initialJs: 0, initialCss: 0, lazyJs: 0, lazyCss: 0, files: [] };
  for (const name of readdirSync(path.join(dist, 'assets'))) {
    if (!/\.(js|css)$/.test(name)) continue;
    const content = readFileSync(path.join(dist, 'assets', name));
    const gzip = gzipSync(content, { level: 9 }).length;
    const kind = `${initial.has(`assets/${name}`) ? 'initial' : 'lazy'}${name.endsWith('.js') ? 'Js' : 'Css'}`;
    sizes[kind] += gzip;
    sizes.files.push({ name, rawKiB: kib(content.length), gzipKiB: kib(gzip), initial: initial.has(`assets/${name}`) });
  }
  return sizes;
}

const work = mkdtempSync(path.join(tmpdir(), 'farol-bench-dashboard-'));
const children = [];
const run = (args, { quiet = true } = {}) => {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', quiet ? 'ignore' : 'inherit'], env: { ...process.env, FAROL_LOG_LEVEL: 'error' } });
  children.push(child);
  return child;
};

// Other work on the machine slows every figure here; the load average is kept with them.
const results = { machine: machine(), loadAverageAtStart: loadavg().map((value) => Math.round(value * 10) / 10), agents: agentCount, interval: options.interval, bundle: bundleSizes() };
const hub = await startHub({ dataDir: path.join(work, 'hub') });
children.push(hub.child);
try {
  const { token } = await api(hub, 'POST', '/api/join-tokens', { uses: agentCount + 1, labels: { bench: 'dashboard' } });
  run([agentBundle, 'simulate', '--hub', hub.url, '--token', token, '--agents', String(agentCount), '--interval', options.interval, '--state', path.join(work, 'sim')]);
  run([agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(work, 'agent'), '--interval', options.interval], { quiet: false });

  const started = Date.now();
  let local;
  for (;;) {
    const { agents } = await api(hub, 'GET', '/api/agents?status=online');
    local = agents.find((agent) => !agent.name.startsWith('sim-'));
    if (agents.length >= agentCount + 1 && local) break;
    if (Date.now() - started > 180_000) throw new Error(`only ${agents.length} of ${agentCount + 1} agents online after 180 s`);
    await sleep(1_000);
  }
  console.error(`${agentCount + 1} agents online after ${((Date.now() - started) / 1000).toFixed(1)} s; letting every one report once`);
  await sleep(12_000);
  // The fleet page asks for the summary view; the full list is what it used to load.
  const listBytes = async (route) => {
    const response = await fetch(`${hub.url}${route}`, { headers: { authorization: `Bearer ${hub.adminToken}`, 'accept-encoding': 'identity' } });
    return (await response.arrayBuffer()).byteLength;
  };
  results.agentListKiB = kib(await listBytes('/api/agents?view=summary'));
  results.fullAgentListKiB = kib(await listBytes('/api/agents'));

  const browser = await chromium.launch({
    executablePath: process.env.FAROL_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  const newContext = async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'en-US' });
    await context.addInitScript((adminToken) => {
      window.sessionStorage.setItem('farol.token', adminToken);
      // Stamps every metrics:live frame with this browser's receive time.
      window.__liveLatencies = [];
      const NativeWebSocket = window.WebSocket;
      window.WebSocket = class extends NativeWebSocket {
        constructor(...args) {
          super(...args);
          this.addEventListener('message', (event) => {
            if (typeof event.data !== 'string' || !event.data.includes('"metrics:live"')) return;
            const match = /"sample":\{"ts":(\d+)/.exec(event.data);
            if (match) window.__liveLatencies.push(Date.now() - Number(match[1]));
          });
        }
      };
      window.__longTasks = [];
      new PerformanceObserver((list) => window.__longTasks.push(...list.getEntries().map((entry) => entry.duration))).observe({ type: 'longtask', buffered: true });
    }, hub.adminToken);
    return context;
  };

  // First render: a cold context (empty cache) and warm reloads.
  const firstRender = [];
  let context = await newContext();
  let page = await context.newPage();
  for (let i = 0; i < runs; i += 1) {
    if (i === 0) await page.goto(hub.url);
    else await page.reload();
    await page.waitForFunction((mark) => performance.getEntriesByName(mark).length > 0, CARDS_VISIBLE_MARK, { timeout: 60_000 });
    const timing = await page.evaluate((mark) => {
      const navigation = performance.getEntriesByType('navigation')[0];
      const list = performance.getEntriesByType('resource').find((entry) => entry.name.endsWith('/api/agents?view=summary'));
      return {
        cardsVisibleMs: performance.getEntriesByName(mark)[0].startTime,
        domContentLoadedMs: navigation.domContentLoadedEventEnd,
        agentListMs: list ? Math.round(list.responseEnd - list.requestStart) : null,
        cards: document.querySelectorAll('[data-testid=machine-card]').length,
      };
    }, CARDS_VISIBLE_MARK);
    firstRender.push({ cold: i === 0, ...timing });
  }
  results.firstRender = {
    runs: firstRender,
    coldCardsVisibleMs: Math.round(firstRender[0].cardsVisibleMs),
    warmCardsVisibleMsMedian: runs > 1 ? Math.round(median(firstRender.slice(1).map((r) => r.cardsVisibleMs))) : null,
  };

  // The same moment's cost of the two lists in this browser (fetch + JSON parse), to compare
  // under the same load: the summary the page loads, the full list it loaded before.
  results.listInBrowserMs = await page.evaluate(async (adminToken) => {
    const time = async (route) => {
      const started = performance.now();
      const response = await fetch(route, { headers: { authorization: `Bearer ${adminToken}` }, cache: 'no-store' });
      await response.json();
      return Math.round(performance.now() - started);
    };
    const summary = [];
    const full = [];
    for (let i = 0; i < 3; i += 1) {
      summary.push(await time('/api/agents?view=summary'));
      full.push(await time('/api/agents'));
    }
    return { summary, full };
  }, hub.adminToken);

  // Steady state: every agent reports each interval; the store batches, memoized cards render.
  await page.evaluate(() => (window.__longTasks = []));
  const steadySeconds = 20;
  await sleep(steadySeconds * 1000);
  results.steadyState = await page.evaluate((seconds) => {
    const tasks = window.__longTasks;
    return {
      seconds,
      longTasks: tasks.length,
      longTaskMsTotal: Math.round(tasks.reduce((a, b) => a + b, 0)),
      longTaskMsMax: Math.round(Math.max(0, ...tasks)),
      heapMiB: performance.memory ? Math.round(performance.memory.usedJSHeapSize / 2 ** 20) : null,
    };
  }, steadySeconds);
  await context.close();

  // Live mode on the real agent's page.
  context = await newContext();
  page = await context.newPage();
  await page.goto(`${hub.url}/machines/${encodeURIComponent(local.name)}`);
  await page.waitForFunction(() => document.querySelector('[data-testid=live-charts]')?.getAttribute('data-live-state') === 'live', null, { timeout: 60_000 });
  await page.evaluate(() => (window.__liveLatencies = []));
  await sleep(liveSeconds * 1000);
  const latencies = (await page.evaluate(() => window.__liveLatencies)).sort((a, b) => a - b);
  results.liveLatencyMs = { samples: latencies.length, p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99), max: latencies.at(-1) ?? null };
  await context.close();
  await browser.close();
} finally {
  for (const child of children.reverse()) if (child.exitCode === null) child.kill('SIGTERM');
  await sleep(1_000);
  rmSync(work, { recursive: true, force: true });
}

const { bundle, firstRender, steadyState, liveLatencyMs } = results;
console.log(`dashboard benchmark on ${results.machine}; load average at start ${results.loadAverageAtStart.join(' ')}`);
console.log(`  bundle (gzip): initial JS ${kib(bundle.initialJs)} KiB, CSS ${kib(bundle.initialCss)} KiB; on demand JS ${kib(bundle.lazyJs)} KiB, CSS ${kib(bundle.lazyCss)} KiB`);
console.log(`  fleet of ${agentCount + 1} (${options.interval} heartbeats), agent list (summary view) ${results.agentListKiB} KiB, full list ${results.fullAgentListKiB} KiB`);
console.log(`  first render (navigation → cards visible): cold ${firstRender.coldCardsVisibleMs} ms, warm median ${firstRender.warmCardsVisibleMsMedian} ms; agent list request ${firstRender.runs.map((r) => r.agentListMs).join(' / ')} ms`);
console.log(`  agent list in the browser (fetch + parse): summary ${results.listInBrowserMs.summary.join(' / ')} ms, full ${results.listInBrowserMs.full.join(' / ')} ms`);
console.log(`  steady state over ${steadyState.seconds} s: ${steadyState.longTasks} long tasks, ${steadyState.longTaskMsTotal} ms in total (max ${steadyState.longTaskMsMax} ms), JS heap ${steadyState.heapMiB} MiB`);
console.log(`  live mode (sample → browser frame, ${liveLatencyMs.samples} samples): p50 ${liveLatencyMs.p50} ms, p95 ${liveLatencyMs.p95} ms, p99 ${liveLatencyMs.p99} ms, max ${liveLatencyMs.max} ms`);
mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(path.join(root, 'bench/results/dashboard.json'), `${JSON.stringify(results, null, 2)}\n`);
