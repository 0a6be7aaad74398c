import { spawn, execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentList, Job } from '@farol/protocol';
import { agentBundle, api, freePort, joinToken, root, run, startHubProcess, tempDir, waitFor, type Proc } from './support/processes.js';

// Issue #20, item 2: the shipped Grafana dashboard, scrape configuration and alerting rules,
// checked against Debian's Prometheus scraping a real hub that has a real agent. Every query of
// every panel must return data; promtool must accept the rules and the configuration.

const execFileAsync = promisify(execFile);
const dashboardFile = path.join(root, 'deploy/grafana/farol-dashboard.json');
const rulesFile = path.join(root, 'deploy/prometheus/farol-rules.yml');
const configFile = path.join(root, 'deploy/prometheus/prometheus.yml');
const PASSWORD = 'a long enough password for prometheus';

interface PanelTarget {
  expr: string;
  refId: string;
}
interface Panel {
  type: string;
  title: string;
  targets?: PanelTarget[];
  panels?: Panel[];
}
interface PromResult {
  status: string;
  data: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

const dir = tempDir('grafana-prometheus');
const procs: Proc[] = [];
let hub: Proc & { url: string };
let prometheus: { url: string; stop(): Promise<void>; output(): string };

/** `$__rate_interval` and friends are Grafana's; with a 1 s scrape, 15 s holds several samples. */
function forPrometheus(expr: string): string {
  return expr.replaceAll('$__rate_interval', '15s').replaceAll('$__interval', '5s').replaceAll('$__range', '1m');
}

function panelsOf(dashboard: { panels: Panel[] }): Panel[] {
  return dashboard.panels.flatMap((panel) => (panel.type === 'row' ? (panel.panels ?? []) : [panel]));
}

async function query(expr: string): Promise<PromResult> {
  const response = await fetch(`${prometheus.url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
  const body = (await response.json()) as PromResult & { error?: string };
  if (body.status !== 'success') throw new Error(`Prometheus refused ${expr}: ${body.error ?? response.status}`);
  return body;
}

async function startPrometheus(config: string): Promise<typeof prometheus> {
  const port = await freePort();
  const child = spawn(
    'prometheus',
    [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir.path, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`prometheus exited: ${output}`);
    try {
      return (await fetch(`${url}/-/ready`)).ok || undefined;
    } catch {
      // Not listening yet.
      return undefined;
    }
  }, 30_000, 'prometheus ready');
  return {
    url,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

beforeAll(async () => {
  // Beyond loopback /metrics needs a token; the test turns that on so the bearer auth of the
  // shipped scrape configuration is what lets Prometheus in.
  hub = await startHubProcess(path.join(dir.path, 'hub'), await freePort(), { FAROL_METRICS_PUBLIC: 'false' });
  procs.push(hub);
  expect((await api(hub.url, 'POST', '/api/users', { username: 'prom', password: PASSWORD, role: 'viewer' })).status).toBe(201);
  const login = await fetch(`${hub.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'prom', password: PASSWORD, issue: 'token', tokenName: 'prometheus' }),
  });
  expect(login.status).toBe(200);
  const { token } = ((await login.json()) as { token: { token: string } }).token;
  const limited = await fetch(`${hub.url}/api/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'x-farol-password': PASSWORD, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'prometheus scrape', permissions: ['metrics:read'], ttl: '365d' }),
  });
  expect(limited.status).toBe(201);
  const tokenFile = path.join(dir.path, 'farol-token');
  writeFileSync(tokenFile, `${((await limited.json()) as { token: string }).token}\n`, { mode: 0o600 });

  // A rule that holds on every heartbeat, so a critical alert is firing while Prometheus scrapes.
  expect((await api(hub.url, 'POST', '/api/alert-rules', { name: 'always up', condition: { kind: 'metric', metric: 'uptime', op: '>', threshold: 0, for: '0s' }, severity: 'critical' })).status).toBe(201);

  const join = await joinToken(hub.url, { uses: 1 });
  // No Docker engine at that socket: the watched container is reported `missing`, a real
  // farol_container_up series of 0.
  procs.push(
    run([
      agentBundle, 'run', '--hub', hub.url, '--token', join, '--state', path.join(dir.path, 'alpha'), '--name', 'alpha', '--interval', '1s',
      '--docker-host', `unix://${path.join(dir.path, 'no-docker.sock')}`, '--watch-containers', 'web',
    ]),
  );
  await waitFor(async () => ((await api<AgentList>(hub.url, 'GET', '/api/agents?status=online')).body.agents.length === 1 ? true : undefined), 30_000, 'alpha online');
  const job = await api<Job>(hub.url, 'POST', '/api/agents/alpha/command', { command: { kind: 'shell', argv: ['true'] } });
  expect(job.body.targets[0]?.state).toBe('succeeded');

  // The shipped configuration, pointed at this hub and this token, scraping every second.
  const shipped = readFileSync(configFile, 'utf8');
  const config = shipped
    .replace('scrape_interval: 15s', 'scrape_interval: 1s')
    .replace('evaluation_interval: 15s', 'evaluation_interval: 1s')
    .replace('/etc/prometheus/farol-token', tokenFile)
    .replace('farol.example.internal:8080', new URL(hub.url).host)
    .replace('- farol-rules.yml', `- ${rulesFile}`);
  expect(config).not.toBe(shipped);
  writeFileSync(path.join(dir.path, 'prometheus.yml'), config);
  prometheus = await startPrometheus(path.join(dir.path, 'prometheus.yml'));
}, 90_000);

afterAll(async () => {
  await prometheus?.stop();
  for (const proc of procs) await proc.stop('SIGKILL');
  dir.remove();
});

describe('Grafana dashboard and Prometheus rules against a real hub', () => {
  it('refuses an unauthenticated scrape, and Prometheus gets in with the metrics:read token', async () => {
    expect((await fetch(`${hub.url}/metrics`)).status).toBe(401);
    const target = await waitFor(async () => {
      const body = (await (await fetch(`${prometheus.url}/api/v1/targets`)).json()) as { data: { activeTargets: Array<{ health: string; lastError: string; labels: Record<string, string> }> } };
      const farol = body.data.activeTargets.find((t) => t.labels.job === 'farol-hub');
      return farol?.health === 'up' ? farol : undefined;
    }, 30_000, 'the hub target up');
    expect(target.lastError).toBe('');
  });

  it('answers every query of every panel with data', async () => {
    const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as { panels: Panel[]; uid: string };
    const panels = panelsOf(dashboard);
    const queries = panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, refId: target.refId, expr: forPrometheus(target.expr) })));
    // Each thing the issue names has a panel.
    expect(panels.map((p) => p.title)).toEqual(
      expect.arrayContaining(['Machines online', 'CPU per machine', 'Memory per machine', 'Disk per machine', 'Containers per machine', 'Alerts firing', 'Connections', 'Heartbeats per second', 'Heartbeat commit lag', 'Event-loop lag', 'Jobs']),
    );
    expect(queries.length).toBeGreaterThanOrEqual(25);
    const empty: string[] = [];
    for (const { panel, refId, expr } of queries) {
      try {
        await waitFor(async () => ((await query(expr)).data.result.length > 0 ? true : undefined), 45_000, `${panel} ${refId}`);
      } catch {
        empty.push(`${panel} [${refId}]: ${expr}`);
      }
    }
    expect(empty).toEqual([]);
  }, 600_000);

  it('shows the machine, its container and the firing alert with their real values', async () => {
    const cpu = await query('max by (name) (farol_agent_cpu_percent)');
    expect(cpu.data.result.map((r) => r.metric.name)).toEqual(['alpha']);
    expect(Number(cpu.data.result[0]!.value[1])).toBeGreaterThanOrEqual(0);
    const container = await query('max by (agent_id, container) (farol_container_up)');
    expect(container.data.result).toEqual([expect.objectContaining({ metric: expect.objectContaining({ container: 'web' }), value: [expect.any(Number), '0'] })]);
    await waitFor(async () => {
      const firing = await query('sum(farol_alerts{state="firing",severity="critical"})');
      return Number(firing.data.result[0]?.value[1] ?? 0) >= 1 ? true : undefined;
    }, 30_000, 'the critical alert counted as firing');
    // The shell command this test ran (the container alert may add a docker_logs job of its own).
    const jobs = await query('sum by (kind) (farol_jobs_created_total)');
    expect(jobs.data.result).toEqual(expect.arrayContaining([expect.objectContaining({ metric: { kind: 'shell' }, value: [expect.any(Number), '1'] })]));
  });

  it('evaluates every alerting rule without error, and the ones whose condition holds are pending or firing', async () => {
    type RuleState = { name: string; health: string; lastError?: string; state: string };
    const rules = await waitFor(async () => {
      const body = (await (await fetch(`${prometheus.url}/api/v1/rules`)).json()) as { data: { groups: Array<{ rules: RuleState[] }> } };
      const all = body.data.groups.flatMap((g) => g.rules);
      return all.length > 0 && all.every((r) => r.health !== 'unknown') ? all : undefined;
    }, 30_000, 'every rule evaluated');
    expect(rules.filter((r) => r.health !== 'ok')).toEqual([]);
    expect(rules.length).toBe(11);
    const byName = Object.fromEntries(rules.map((r) => [r.name, r.state]));
    // A watched container that is missing, and a critical Farol alert firing: both hold now.
    await waitFor(async () => {
      const body = (await (await fetch(`${prometheus.url}/api/v1/alerts`)).json()) as { data: { alerts: Array<{ labels: Record<string, string>; state: string }> } };
      const names = new Set(body.data.alerts.map((a) => a.labels.alertname));
      return names.has('FarolContainerNotRunning') && names.has('FarolCriticalAlertsFiring') ? true : undefined;
    }, 30_000, 'container and critical-alert rules active');
    expect(byName.FarolMachineOffline).toBe('inactive');
    expect(byName.FarolHubDown).toBe('inactive');
  });

  it('passes promtool: the rules file, and the scrape configuration as shipped and as used here', async () => {
    const rules = await execFileAsync('promtool', ['check', 'rules', rulesFile]);
    expect(rules.stdout).toMatch(/SUCCESS: 11 rules found/);
    const shipped = await execFileAsync('promtool', ['check', 'config', '--syntax-only', configFile]);
    expect(shipped.stdout).toMatch(/valid prometheus config file syntax/);
    // The full check also reads the token file and the rules the configuration names.
    const used = await execFileAsync('promtool', ['check', 'config', path.join(dir.path, 'prometheus.yml')]);
    expect(used.stdout).toMatch(/SUCCESS: 11 rules found/);
    // And promtool's own linter accepts the hub's exposition as Prometheus scraped it.
    const exposition = await (await fetch(`${hub.url}/metrics`, { headers: { authorization: `Bearer ${readFileSync(path.join(dir.path, 'farol-token'), 'utf8').trim()}` } })).text();
    const lint = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let lintOutput = '';
    lint.stdout.on('data', (chunk: Buffer) => (lintOutput += chunk.toString()));
    lint.stderr.on('data', (chunk: Buffer) => (lintOutput += chunk.toString()));
    lint.stdin.end(exposition);
    const code = await new Promise<number | null>((resolve) => lint.once('exit', resolve));
    expect({ code, lintOutput }).toEqual({ code: 0, lintOutput: '' });
  });
});
