import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '@farol/protocol';
import { balancerConfig, has, LB_DIR, startBalancer as startExampleBalancer, type Balancer, type BalancerKind } from './support/balancers.js';
import { agentBundle, api, joinToken, run, waitFor, type Proc } from './support/processes.js';
import { startSeveralHubs, type FleetHub, type SeveralHubs } from './support/several-hubs.js';

/*
 * Issue #14, items 7 and 8: two real hub processes on one PostgreSQL and one Redis (sharing the
 * hub identity: the same hub key and secret key), real agents.
 *   - `--hub a,b`: the agent stays on the hub that works; after `kill -9` of that hub it is back
 *     on the other within seconds;
 *   - /metrics of each hub carries hub="<id>" on every series and reports the agent only where
 *     it is connected, so a sum across hubs counts it once;
 *   - the same failover through the HAProxy example of deploy/load-balancers (no sticky
 *     sessions, health checks on /ready), and the nginx and Caddy examples validate (and carry
 *     an agent when those programs are installed).
 */

const HAPROXY = has('haproxy');
const NGINX = has('nginx');
const CADDY = has('caddy');

/** This file's fleet: two hubs, its own database and Redis database number 11. */
let fleet: SeveralHubs;
type Hub = FleetHub;
let hubs: Hub[] = [];
const others: Proc[] = [];

/** The hub URL of every verified hello of an agent, in order (from its JSON log lines). */
function linkedTo(agent: Proc): string[] {
  return agent
    .output()
    .split('\n')
    .filter((line) => line.includes('"msg":"connected to hub"'))
    .map((line) => (JSON.parse(line) as { hubUrl: string }).hubUrl);
}

/** The value of one series in a Prometheus text exposition, or undefined when absent. */
function series(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.lastIndexOf('}'));
    if (Object.entries(labels).every(([key, value]) => body.includes(`${key}="${value}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

const metricsOf = async (hub: Hub): Promise<string> => (await fetch(`${hub.url}/metrics`)).text();

beforeAll(async () => {
  fleet = await startSeveralHubs({ idPrefix: 'failover', redisDb: 11 });
  await fleet.start('a');
  await fleet.start('b');
  hubs = fleet.hubs;
}, 120_000);

afterAll(async () => {
  for (const proc of others) await proc.stop('SIGKILL');
  await fleet?.close();
});

/** Starts hubs that an earlier test killed again, on their port and data directory. */
async function reviveHubs(): Promise<void> {
  for (const hub of [...hubs]) if (!hub.isAlive()) await fleet.start(hub.name);
}

function startAgent(name: string, hubUrl: string, token: string): Proc {
  const agent = run([agentBundle, 'run', '--hub', hubUrl, '--token', token, '--name', name, '--state', path.join(fleet.dir, `agent-${name}`), '--interval', '2s'], {
    env: { FAROL_LOG_LEVEL: 'info' },
  });
  others.push(agent);
  return agent;
}

describe('an agent given several hubs (--hub a,b)', () => {
  it('stays on one hub, is reported by that hub\'s /metrics only, and after kill -9 of it is back on the other within seconds', async () => {
    const [a, b] = hubs as [Hub, Hub];
    const agent = startAgent('twin', `${a.url},${b.url}`, await joinToken(a.url));
    await waitFor(() => linkedTo(agent)[0], 30_000, 'the agent linked');
    const holder = hubs.find((hub) => hub.url === linkedTo(agent)[0])!;
    const other = hubs.find((hub) => hub !== holder)!;
    // Both hubs see one fleet: the agent is online whichever hub answers.
    for (const hub of hubs) {
      await waitFor(async () => (await api<Agent>(hub.url, 'GET', '/api/agents/twin')).body.status === 'online' || undefined, 15_000, `online on ${hub.id}`);
    }
    const agentId = (await api<Agent>(a.url, 'GET', '/api/agents/twin')).body.id;

    // Item 8: every Farol series is labelled with its hub; the agent is on its holder's only.
    const held = await metricsOf(holder);
    const notHeld = await metricsOf(other);
    for (const [text, hub] of [[held, holder], [notHeld, other]] as const) {
      const farolLines = text.split('\n').filter((line) => line.startsWith('farol_'));
      expect(farolLines.length).toBeGreaterThan(20);
      for (const line of farolLines) expect(line).toContain(`hub="${hub.id}"`);
    }
    expect(series(held, 'farol_agent_up', { agent_id: agentId })).toBe(1);
    expect(series(notHeld, 'farol_agent_up', { agent_id: agentId })).toBeUndefined();
    const onlineSum = [held, notHeld].reduce((sum, text) => sum + (series(text, 'farol_agents', { status: 'online' }) ?? 0), 0);
    expect(onlineSum).toBe(1);

    // Stays put while its hub works.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(linkedTo(agent)).toHaveLength(1);

    await holder.proc.stop('SIGKILL');
    const killedAt = Date.now();
    await waitFor(() => linkedTo(agent)[1], 20_000, 'the agent on the other hub');
    const movedAfterMs = Date.now() - killedAt;
    expect(linkedTo(agent)[1]).toBe(other.url);
    // Full jitter from a 1 s base: the first retry (to the dead hub or the other) within 1 s,
    // the next within 2 s more; the connect and hello take milliseconds.
    expect(movedAfterMs).toBeLessThan(5_000);
    const moved = await metricsOf(other);
    expect(series(moved, 'farol_agent_up', { agent_id: agentId })).toBe(1);
    expect((await api<Agent>(other.url, 'GET', '/api/agents/twin')).body.status).toBe('online');
    await agent.stop();
  });
});

/** A balancer from deploy/load-balancers in front of this file's two hubs. */
async function startBalancer(kind: BalancerKind): Promise<Balancer> {
  const balancer = await startExampleBalancer(kind, hubs.map((hub) => hub.port), fleet.dir);
  others.push(balancer.proc);
  return balancer;
}

/** Through a balancer: an agent links, its hub is killed, it links again through the balancer. */
async function failoverThrough(kind: BalancerKind): Promise<void> {
  await reviveHubs();
  const balancer = await startBalancer(kind);
  const name = `via-${kind}`;
  const agent = startAgent(name, balancer.url, await joinToken(hubs[0]!.url));
  await waitFor(() => linkedTo(agent)[0], 30_000, 'the agent linked through the balancer');
  expect(linkedTo(agent)[0]).toBe(balancer.url);
  const agentId = (await api<Agent>(hubs[0]!.url, 'GET', `/api/agents/${name}`)).body.id;
  // Which hub holds it: the one whose /metrics reports it.
  const holder = await waitFor(async () => {
    for (const hub of hubs) if (series(await metricsOf(hub), 'farol_agent_up', { agent_id: agentId }) === 1) return hub;
    return undefined;
  }, 15_000, 'the hub holding the agent');
  const other = hubs.find((hub) => hub !== holder)!;

  await holder.proc.stop('SIGKILL');
  const killedAt = Date.now();
  await waitFor(() => linkedTo(agent)[1], 30_000, 'the agent linked again through the balancer');
  const movedAfterMs = Date.now() - killedAt;
  await waitFor(async () => series(await metricsOf(other), 'farol_agent_up', { agent_id: agentId }) === 1 || undefined, 15_000, 'the agent on the surviving hub');
  expect((await api<Agent>(other.url, 'GET', `/api/agents/${name}`)).body.status).toBe('online');
  expect(movedAfterMs).toBeLessThan(10_000);
  await agent.stop();
  await balancer.proc.stop();
}

describe('load balancer examples (deploy/load-balancers)', () => {
  it.skipIf(!HAPROXY)('HAProxy: an agent reconnects through it to the other hub after kill -9 of its hub (needs haproxy)', async () => {
    const check = spawnSync('haproxy', ['-c', '-f', path.join(LB_DIR, 'haproxy.cfg')], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(`${check.stdout}${check.stderr}`).not.toContain('WARNING');
    await failoverThrough('haproxy');
  });

  it.skipIf(!NGINX)('nginx: the example passes nginx -t and carries an agent through a hub failure (needs nginx)', async () => {
    const work = path.join(fleet.dir, 'nginx-check');
    mkdirSync(work, { recursive: true });
    const file = path.join(work, 'nginx.conf');
    writeFileSync(file, balancerConfig('nginx', 8080, hubs.map((hub) => hub.port), work));
    const check = spawnSync('nginx', ['-t', '-c', file], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    expect(check.stderr).toContain('syntax is ok');
    await failoverThrough('nginx');
  });

  it.skipIf(!CADDY)('Caddy: the example passes caddy validate and carries an agent through a hub failure (needs caddy)', async () => {
    const check = spawnSync('caddy', ['validate', '--adapter', 'caddyfile', '--config', path.join(LB_DIR, 'Caddyfile')], {
      encoding: 'utf8',
      env: { ...process.env, HOME: fleet.dir, XDG_DATA_HOME: fleet.dir, XDG_CONFIG_HOME: fleet.dir },
    });
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout + check.stderr).toContain('Valid configuration');
    await failoverThrough('caddy');
  });

  it('every example keeps WebSockets open past the Socket.IO ping (25 s + 20 s) and has no sticky sessions', () => {
    const haproxy = readFileSync(path.join(LB_DIR, 'haproxy.cfg'), 'utf8');
    expect(haproxy).toMatch(/^ {4}timeout tunnel 1h$/m);
    expect(haproxy).toMatch(/^ {4}option httpchk GET \/ready$/m);
    const nginx = readFileSync(path.join(LB_DIR, 'nginx.conf'), 'utf8');
    expect(nginx).toMatch(/proxy_read_timeout 1h;/);
    expect(nginx).toMatch(/proxy_set_header Upgrade \$http_upgrade;/);
    const caddy = readFileSync(path.join(LB_DIR, 'Caddyfile'), 'utf8');
    expect(caddy).toMatch(/health_uri \/ready/);
    for (const text of [haproxy, nginx, caddy]) {
      const config = text
        .split('\n')
        .filter((line) => !line.trim().startsWith('#'))
        .join('\n');
      expect(config).not.toMatch(/\bcookie\b|\bstick\b|ip_hash|hash \$remote_addr|lb_policy (cookie|ip_hash|client_ip_hash)/);
    }
    expect(existsSync(path.join(LB_DIR, 'Caddyfile'))).toBe(true);
  });
});
