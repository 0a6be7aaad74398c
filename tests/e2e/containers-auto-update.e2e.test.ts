import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTO_UPDATE_LABEL, type AgentContainers, type ContainerRollout, type Notification } from '@farol/protocol';
import { dockerSkipReason, startDockerEngine, TEST_IMAGE, type DockerEngine } from '../support/docker-engine.js';
import { loginRegistrySkipReason, startDockerRegistry, type DockerRegistry } from '../support/docker-registry.js';
import { ADMIN_TOKEN, agentBundle, api, farolBin, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from './support/processes.js';
import { launchChromium, watchedPage } from './web/browser.js';

// Issue #18 item 4, against the real thing: a hub process, two agent processes each on a dockerd
// of its own, Debian's docker-registry on loopback, and a webhook channel emulator. The agents
// report "update available" after a new digest is pushed; the hub rolls it out in two waves (one
// machine, then the other); a policy refusal or a failed health gate on the first machine stops
// the rollout, the second wave is skipped, and the channel is told.

const skip = dockerSkipReason() ?? loginRegistrySkipReason();
/** The private registry's login (ADR 0023): it must never be found in clear outside the secret store and the agents' memory. */
const REGISTRY_LOGIN = { username: 'farol-ci', password: 'Reg1stry-pw-7f3c9e2a' };
const LOOP = 'trap "exit 0" TERM; while true; do sleep 1; done';
const FULL_POLICY = { allow: ['docker', 'docker.deploy', 'docker.images'] };

interface Received {
  notification: Notification;
  text: string;
}

describe.skipIf(skip !== null)('container auto-update in waves (hub, two agents, real dockerd and registry) (#18)', () => {
  const dir = tempDir('auto-update');
  const procs: Proc[] = [];
  const engines: Record<'a-box' | 'b-box', DockerEngine> = {} as never;
  let registry: DockerRegistry;
  let privateRegistry: DockerRegistry | undefined;
  let hub: Proc & { url: string };
  let app: string;
  let receiver: Server;
  const received: Received[] = [];
  const policyOf = (machine: string) => path.join(dir.path, machine, 'policy.json');

  function receive(request: IncomingMessage, response: ServerResponse): void {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const parsed = JSON.parse(body) as { title: string; text: string; notification: Notification };
      received.push({ notification: parsed.notification, text: `${parsed.title}\n${parsed.text}` });
      response.writeHead(200).end('ok');
    });
  }

  function cli(args: string[]): Promise<{ code: number | null; output: string }> {
    const proc = run([farolBin, ...args], { env: { FAROL_HUB_URL: hub.url, FAROL_TOKEN: ADMIN_TOKEN } });
    return proc.exited.then((code) => ({ code, output: proc.output() }));
  }

  /**
   * Builds a busybox-based image on engine a (with /ok when healthy), pushes it, drops the local
   * tag; its digest. `config`: a docker CLI config directory holding the login of a private registry.
   */
  async function pushApp(version: string, healthy: boolean, image = app, config: string[] = []): Promise<string> {
    const engine = engines['a-box'];
    const maker = `make-${version}`;
    await engine.docker(['run', '--name', maker, '--network', 'none', TEST_IMAGE, 'sh', '-c', `echo ${version} > /version${healthy ? ' && touch /ok' : ''}`]);
    await engine.docker(['commit', '--change', `CMD ["sh","-c",${JSON.stringify(LOOP)}]`, maker, image]);
    await engine.docker(['rm', maker]);
    await engine.docker([...config, 'push', image]);
    const repoDigest = (await engine.docker(['image', 'inspect', '--format', '{{index .RepoDigests 0}}', image])).trim();
    await engine.docker(['rmi', image]);
    return repoDigest.slice(repoDigest.indexOf('@') + 1);
  }

  const runningDigest = async (machine: 'a-box' | 'b-box', container = 'web'): Promise<string> => {
    const engine = engines[machine];
    const image = (await engine.docker(['inspect', '--format', '{{.Image}}', container])).trim();
    const repoDigests = (await engine.docker(['image', 'inspect', '--format', '{{join .RepoDigests ","}}', image])).trim().split(',');
    return repoDigests.map((d) => d.slice(d.indexOf('@') + 1)).join(',');
  };

  const rolloutFor = async (digest: string, finished = true): Promise<ContainerRollout | undefined> => {
    const answer = await api<{ rollouts: ContainerRollout[] }>(hub.url, 'GET', '/api/container-updates/rollouts');
    const rollout = answer.body.rollouts.find((r) => r.digest === digest);
    return rollout && (!finished || rollout.state !== 'running') ? rollout : undefined;
  };

  const reported = async (machine: string, digest: string, container = 'web'): Promise<true | undefined> => {
    const answer = await api<AgentContainers>(hub.url, 'GET', `/api/agents/${machine}/containers`);
    return answer.body.containers.find((c) => c.name === container)?.availableDigest === digest || undefined;
  };

  beforeAll(async () => {
    receiver = createServer(receive);
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const [a, b] = await Promise.all([startDockerEngine(), startDockerEngine()]);
    engines['a-box'] = a;
    engines['b-box'] = b;
    registry = await startDockerRegistry();
    app = `${registry.address}/app:1`;
    hub = await startHubProcess(path.join(dir.path, 'hub'), await freePort(), { FAROL_CONTAINER_UPDATE_SCAN: '1s', FAROL_NOTIFY_ALLOW_NETWORKS: '127.0.0.0/8' });
    procs.push(hub);
    for (const machine of ['a-box', 'b-box'] as const) {
      const token = await joinToken(hub.url, { uses: 1 });
      procs.push(
        run([agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(dir.path, machine), '--name', machine, '--interval', '1s', '--docker-host', engines[machine].host, '--container-update-check', '1s']),
      );
      await waitFor(async () => ((await api(hub.url, 'GET', `/api/agents/${machine}`)).status === 200 ? true : undefined), 30_000, `${machine} enrolled`);
    }
    const channel = await api(hub.url, 'POST', '/api/channels', { type: 'webhook', name: 'deploys', settings: { url: `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook` } });
    expect(channel.status).toBe(201);
    // Both machines run web from app:1 (v1), opted in by label; a rule names the channel.
    await pushApp('v1', true);
    for (const engine of [a, b]) {
      await engine.docker(['run', '-d', '--name', 'web', '--network', 'none', '--label', `${AUTO_UPDATE_LABEL}=true`, '--health-cmd', 'test -f /ok', '--health-interval', '1s', '--health-retries', '2', app]);
    }
    const rule = await cli(['containers', 'auto-update', 'add', 'all', '-c', 'web', '--channel', 'deploys']);
    expect(rule.code, rule.output).toBe(0);
    expect(rule.output).toMatch(/added auto-update rule cur_\w+: web on all/);
  }, 240_000);

  afterAll(async () => {
    for (const proc of procs) await proc.stop('SIGTERM');
    await Promise.all(Object.values(engines).map((engine) => engine.stop()));
    await registry?.stop();
    await privateRegistry?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
    dir.remove();
  }, 90_000);

  it('reports "update available" after a new digest is pushed, in the API, `containers ls` and the metric; a refusal by policy on the first machine skips the second wave (#18)', async () => {
    // a-box (first in name order, so the first wave) does not allow docker.deploy; b-box does.
    writeFileSync(policyOf('a-box'), JSON.stringify({ allow: ['docker'] }));
    writeFileSync(policyOf('b-box'), JSON.stringify(FULL_POLICY));
    const before = await runningDigest('b-box');
    const v2 = await pushApp('v2', true);
    await waitFor(() => reported('b-box', v2), 30_000, 'b-box reporting v2 as available');
    await waitFor(() => reported('a-box', v2), 30_000, 'a-box reporting v2 as available');
    const listed = await cli(['containers', 'ls', 'b-box']);
    expect(listed.output).toMatch(new RegExp(`web .* ${before.replace(/^sha256:/, '').slice(0, 12)}\\s+available ${v2.replace(/^sha256:/, '').slice(0, 12)} \\(auto\\)`));
    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    const bId = (await api<{ id: string }>(hub.url, 'GET', '/api/agents/b-box')).body.id;
    expect(metrics).toMatch(new RegExp(`farol_container_update_available\\{agent_id="${bId}",container="web",watched="false"[^}]*\\} 1`));

    const rollout = await waitFor(() => rolloutFor(v2), 60_000, 'the v2 rollout to end');
    expect(rollout).toMatchObject({ container: 'web', state: 'failed', image: app });
    expect(rollout.targets).toEqual([
      expect.objectContaining({ agentName: 'a-box', wave: 0, state: 'failed', error: expect.stringMatching(/refused.*docker_update is not allowed here/) }),
      expect.objectContaining({ agentName: 'b-box', wave: 1, state: 'skipped', jobId: null }),
    ]);
    // Nothing changed on either machine, and the channel was told why.
    expect(await runningDigest('b-box')).toBe(before);
    const notice = await waitFor(() => received.find((r) => r.notification.kind === 'container_update' && r.notification.digest === v2), 20_000, 'the failure notice');
    expect(notice.notification).toMatchObject({ outcome: 'failed', machine: 'a-box', container: 'web', skipped: ['b-box'] });
    expect(notice.text).toMatch(/web update failed on a-box/);
  }, 150_000);

  it('rolls a new digest out in two waves, one machine then the other, and tells the channel (#18)', async () => {
    writeFileSync(policyOf('a-box'), JSON.stringify(FULL_POLICY));
    const v3 = await pushApp('v3', true);
    const rollout = await waitFor(() => rolloutFor(v3), 90_000, 'the v3 rollout to end');
    expect(rollout).toMatchObject({ state: 'succeeded', error: null });
    expect(rollout.targets).toEqual([
      expect.objectContaining({ agentName: 'a-box', wave: 0, state: 'updated' }),
      expect.objectContaining({ agentName: 'b-box', wave: 1, state: 'updated' }),
    ]);
    // One job per wave, a-box's first.
    expect(rollout.targets[0]!.jobId).not.toBe(rollout.targets[1]!.jobId);
    for (const machine of ['a-box', 'b-box'] as const) expect(await runningDigest(machine)).toContain(v3);
    const notices = await waitFor(() => {
      const found = received.filter((r) => r.notification.kind === 'container_update' && r.notification.digest === v3);
      return found.length >= 2 ? found : undefined;
    }, 20_000, 'two update notices');
    expect(notices.map((n) => n.notification)).toEqual([
      expect.objectContaining({ outcome: 'updated', machine: 'a-box' }),
      expect.objectContaining({ outcome: 'updated', machine: 'b-box' }),
    ]);
    // Current again: the gauge falls to 0.
    const bId = (await api<{ id: string }>(hub.url, 'GET', '/api/agents/b-box')).body.id;
    await waitFor(async () => ((await (await fetch(`${hub.url}/metrics`)).text()).match(new RegExp(`farol_container_update_available\\{agent_id="${bId}",container="web",watched="false"[^}]*\\} 0`)) || undefined), 30_000, 'the gauge at 0');
  }, 180_000);

  it('stops after a failed health gate on the first machine: rolled back there, second wave skipped, rollback notice sent (#18)', async () => {
    const v4 = await pushApp('v4', false);
    const before = { a: await runningDigest('a-box'), b: await runningDigest('b-box') };
    const rollout = await waitFor(() => rolloutFor(v4), 120_000, 'the v4 rollout to end');
    expect(rollout).toMatchObject({ state: 'failed', error: expect.stringMatching(/a-box rolled back/) });
    expect(rollout.targets).toEqual([
      expect.objectContaining({ agentName: 'a-box', wave: 0, state: 'rolled_back', error: expect.stringMatching(/unhealthy/) }),
      expect.objectContaining({ agentName: 'b-box', wave: 1, state: 'skipped' }),
    ]);
    expect(await runningDigest('a-box')).toBe(before.a);
    expect(await runningDigest('b-box')).toBe(before.b);
    await engines['a-box'].waitForContainer('web', (c) => c.State.Running && c.State.Health?.Status === 'healthy', 30_000, 'healthy after the rollback');
    const notice = await waitFor(() => received.find((r) => r.notification.kind === 'container_update' && r.notification.digest === v4), 20_000, 'the rollback notice');
    expect(notice.notification).toMatchObject({ outcome: 'rolled_back', machine: 'a-box', skipped: ['b-box'] });
    expect(notice.text).toMatch(/web rolled back on a-box/);
    expect(notice.text).toMatch(/left alone: b-box/);
    // Audited step by step, and the digest is not tried again.
    const audit = JSON.stringify((await api(hub.url, 'GET', '/api/audit?limit=500')).body);
    for (const action of ['container_update.rule_create', 'container_update.wave', 'container_update.result', 'container_update.finish']) expect(audit).toContain(action);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const all = (await api<{ rollouts: ContainerRollout[] }>(hub.url, 'GET', '/api/container-updates/rollouts')).body.rollouts;
    expect(all.filter((r) => r.digest === v4)).toHaveLength(1);
  }, 180_000);

  it('pulls, deploys and auto-updates from a private registry with a login from the secret store, which never appears in clear (ADR 0023, #18)', async () => {
    privateRegistry = await startDockerRegistry({ login: REGISTRY_LOGIN });
    const image = `${privateRegistry.address}/papp:1`;
    // The pusher's own docker CLI login, in a config directory of this test (the engines hold none).
    const pusher = ['--config', path.join(dir.path, 'pusher-docker')];
    mkdirSync(pusher[1]!, { recursive: true });
    await engines['a-box'].docker([...pusher, 'login', '-u', REGISTRY_LOGIN.username, '-p', REGISTRY_LOGIN.password, privateRegistry.address]);
    await pushApp('p1', true, image, pusher);
    expect((await api(hub.url, 'PUT', '/api/secrets/REGISTRY_LOGIN', { value: JSON.stringify(REGISTRY_LOGIN), scope: '*' })).status).toBeLessThan(300);
    expect((await api(hub.url, 'PUT', '/api/secrets/NOT_A_LOGIN', { value: 'farol-ci:some-password', scope: '*' })).status).toBeLessThan(300);

    // Refused without the login, and with a secret that is not one; pulled with it.
    const anonymous = await cli(['images', 'pull', 'b-box', image]);
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.output).toMatch(/no basic auth credentials|unauthorized|authentication required/i);
    const malformed = await cli(['images', 'pull', 'b-box', image, '--registry-secret', 'NOT_A_LOGIN']);
    expect(malformed.code).not.toBe(0);
    expect(malformed.output).toContain('secret NOT_A_LOGIN: a registry secret holds {"username":"…","password":"…"}; this value is not JSON');
    expect(malformed.output).not.toContain('some-password');
    const pulled = await cli(['images', 'pull', 'b-box', image, '--registry-secret', 'REGISTRY_LOGIN']);
    expect(pulled.code, pulled.output).toBe(0);
    // a-box has no copy: the deploy pulls with the login too. Both machines run papp, opted in by a rule naming the registry.
    for (const machine of ['a-box', 'b-box']) {
      const deployed = await cli(['containers', 'deploy', machine, '--image', image, '--name', 'papp', '--network', 'none', '--registry-secret', 'REGISTRY_LOGIN', '--health-cmd', 'test -f /ok', '--health-interval', '1']);
      expect(deployed.code, deployed.output).toBe(0);
    }
    expect((await engines['a-box'].docker(['image', 'inspect', '--format', '{{.Id}}', image])).trim()).toMatch(/^sha256:/);
    const bad = await cli(['containers', 'auto-update', 'add', 'all', '-c', 'papp', '--registry-secret', 'REGISTRY_LOGIN']);
    expect(bad.code).not.toBe(0);
    expect(bad.output).toMatch(/registry and registrySecret go together/);
    const rule = await cli(['containers', 'auto-update', 'add', 'all', '-c', 'papp', '--registry', privateRegistry.address, '--registry-secret', 'REGISTRY_LOGIN']);
    expect(rule.code, rule.output).toBe(0);

    // A new digest on the private registry: the agents' background check (with the login the
    // hub handed them) reports it, and the rollout (its jobs carrying the secret's name) applies it.
    const p2 = await pushApp('p2', true, image, pusher);
    await waitFor(() => reported('a-box', p2, 'papp'), 60_000, 'a-box reporting p2 as available from the private registry');
    const rollout = await waitFor(() => rolloutFor(p2), 120_000, 'the p2 rollout to end');
    expect(rollout).toMatchObject({ container: 'papp', state: 'succeeded' });
    expect(rollout.targets.map((t) => [t.agentName, t.state])).toEqual([['a-box', 'updated'], ['b-box', 'updated']]);
    for (const machine of ['a-box', 'b-box'] as const) expect(await runningDigest(machine, 'papp')).toContain(p2);

    // Audited as registry logins handed out; the password is nowhere in clear: not in the
    // jobs, the audit log, the processes' logs or the hub's and agents' files.
    const audit = JSON.stringify((await api(hub.url, 'GET', '/api/audit?limit=1000')).body);
    expect(audit).toMatch(/"purpose":"registry"/);
    expect(audit).toContain('REGISTRY_LOGIN');
    const jobs = await api<{ jobs: Array<{ id: string }> }>(hub.url, 'GET', '/api/jobs?limit=500');
    const jobText = JSON.stringify(await Promise.all(jobs.body.jobs.map(async ({ id }) => (await api(hub.url, 'GET', `/api/jobs/${id}`)).body)));
    expect(jobText).toContain('"kind":"docker_update","container":"papp","registrySecret":"REGISTRY_LOGIN"');
    const files: string[] = [];
    const walk = (at: string): void => {
      for (const entry of readdirSync(at)) {
        const full = path.join(at, entry);
        if (full === pusher[1]) continue; // the pusher's own docker login, outside Farol
        if (statSync(full).isDirectory()) walk(full);
        else files.push(full);
      }
    };
    walk(dir.path);
    expect(files.some((f) => /\.db$/.test(f))).toBe(true);
    const password = Buffer.from(REGISTRY_LOGIN.password);
    // The X-Registry-Auth form (base64 JSON): never written anywhere either.
    const encoded = Buffer.from(JSON.stringify({ ...REGISTRY_LOGIN, serveraddress: privateRegistry.address })).toString('base64').slice(0, 40);
    for (const [what, text] of [['audit', audit], ['jobs', jobText], ...procs.map((proc, i) => [`process ${i} log`, proc.output()])] as const) {
      expect(text.includes(REGISTRY_LOGIN.password), what).toBe(false);
    }
    for (const file of files) {
      const bytes = readFileSync(file);
      expect(bytes.includes(password) || bytes.includes(Buffer.from(encoded)) || bytes.includes(Buffer.from(encoded.replace(/\+/g, '-').replace(/\//g, '_'))), file).toBe(false);
    }
  }, 300_000);

  it('shows the digest, "update available" and the last update on the machine page, and the rollouts on the fleet page (#18)', async () => {
    const browser = await launchChromium();
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, locale: 'en-US' });
      const { page, problems } = await watchedPage(context);
      page.setDefaultTimeout(20_000);
      await page.goto(hub.url);
      await page.fill('input[name=token]', ADMIN_TOKEN);
      await page.click('button[type=submit]');
      const updates = page.getByTestId('container-updates');
      await updates.waitFor();
      await expect.poll(() => updates.textContent()).toContain('a-box: rolled back · b-box: skipped');
      expect(await updates.textContent()).toContain('stopped');
      expect(await updates.textContent()).toContain('a-box: updated · b-box: updated');

      await page.goto(`${hub.url}/machines/a-box`);
      const info = page.getByTestId('containers').locator('[data-testid=container-row][data-name="web"]').getByTestId('container-update');
      await info.waitFor();
      // a-box runs v3 again after the rollback; v4 is still offered (and not tried again).
      await expect.poll(() => info.textContent()).toMatch(/update available \([0-9a-f]{12}\)/);
      expect(await info.textContent()).toContain('auto-update');
      expect(await info.textContent()).toContain('last update: rolled back');

      // The fleet table counts each machine's containers with an update available: web (v4 offered) on both, papp current.
      await page.evaluate('localStorage.setItem("farol.fleet.layout", JSON.stringify("table"))');
      await page.goto(hub.url);
      for (const machine of ['a-box', 'b-box']) {
        const count = page.locator(`[data-testid=machine-row][data-agent-name="${machine}"] [data-testid=updates-available]`);
        await expect.poll(() => count.textContent(), { timeout: 20_000 }).toBe('1');
        expect(await count.getAttribute('title')).toBe('1 container update(s) available');
      }
      expect(problems.errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 90_000);
});
