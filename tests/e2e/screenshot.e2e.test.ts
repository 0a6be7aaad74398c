import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES, type AgentList, type Job } from '@farol/protocol';
import { decodePng } from '../../apps/agent/src/screenshot/png.js';
import { hasImageMagickConvert, hasProgram, skipNote, startXvfb, xrun, xvfbSkipReason, type Xvfb } from '../../apps/agent/src/testing/xvfb.js';
import { ADMIN_TOKEN, agentBundle, api, farolBin, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from './support/processes.js';

// Screenshots against the real thing: X servers (Xvfb), a hub process, agent processes that
// capture them, the REST API and the farol CLI.

const dir = tempDir('screenshot');
const procs: Proc[] = [];
const agents: Record<string, Proc> = {};
const displays: Xvfb[] = [];
let hub: Proc & { url: string };
let token: string;

function startAgent(name: string, env: Record<string, string>, extra: string[] = []): Proc {
  const proc = run([agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(dir.path, name), '--name', name, '--interval', '1s', '--reconnect-max', '1s', ...extra], { env });
  procs.push(proc);
  agents[name] = proc;
  return proc;
}

function cli(args: string[]): Promise<{ code: number | null; output: string }> {
  const proc = run([farolBin, ...args], { env: { FAROL_HUB_URL: hub.url, FAROL_TOKEN: ADMIN_TOKEN }, cwd: dir.path });
  return proc.exited.then((code) => ({ code, output: proc.output() }));
}

/** ImageMagick's reading of one pixel: an independent PNG decoder. */
function magickPixel(file: string, x: number, y: number): string {
  const out = spawnSync('convert', [file, '-format', `%[fx:int(255*p{${x},${y}}.r)],%[fx:int(255*p{${x},${y}}.g)],%[fx:int(255*p{${x},${y}}.b)]`, 'info:-'], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`convert: ${out.stderr}`);
  return out.stdout.trim();
}

// Skipped tests say why in their name (issue #21).
const noXvfb = xvfbSkipReason();
const imageMagick = hasImageMagickConvert();
const noNoise = hasProgram('display') && hasProgram('import') && imageMagick ? null : 'needs ImageMagick (display, import, convert)';

describe.skipIf(noXvfb !== null)(`screenshots end to end (Xvfb, hub and agent processes, CLI)${skipNote(noXvfb)}`, () => {
  let painted: Xvfb;
  let noisy: Xvfb;

  beforeAll(async () => {
    painted = await startXvfb('640x480x24');
    displays.push(painted);
    xrun(painted.display, 'xsetroot', ['-solid', '#ff8000']);
    noisy = await startXvfb('1920x1080x24');
    displays.push(noisy);
    if (noNoise === null) {
      // Random pixels do not compress: the PNG is far over one Socket.IO message.
      const noise = path.join(dir.path, 'noise.png');
      const made = spawnSync('convert', ['-size', '1920x1080', 'xc:', '+noise', 'Random', noise]);
      if (made.status !== 0) throw new Error(`convert: ${made.stderr}`);
      spawnSync('display', ['-display', noisy.display, '-window', 'root', noise], { timeout: 30_000 });
    }
    const port = await freePort();
    hub = await startHubProcess(path.join(dir.path, 'hub'), port);
    procs.push(hub);
    token = await joinToken(hub.url, { uses: 10 });
    const policy = path.join(dir.path, 'locked-policy.json');
    writeFileSync(policy, JSON.stringify({ allow: ['metrics'] }));
    startAgent('painted', { DISPLAY: painted.display });
    startAgent('noisy', { DISPLAY: noisy.display });
    startAgent('locked', { DISPLAY: painted.display }, ['--policy', policy]);
    // A DISPLAY naming an X server that is not running: the machine has nothing to capture.
    let absent = 4242;
    while (existsSync(`/tmp/.X11-unix/X${absent}`)) absent++;
    startAgent('headless', { DISPLAY: `:${absent}` });
    await waitFor(async () => ((await api<AgentList>(hub.url, 'GET', '/api/agents?status=online')).body.agents.length === 4 ? true : undefined), 30_000, 'four agents online');
  }, 60_000);

  afterAll(async () => {
    for (const proc of procs) await proc.stop('SIGKILL');
    for (const xvfb of displays) await xvfb.stop();
    dir.remove();
  });

  it('answers POST /api/agents/:id/screenshot with a PNG of the machine\'s screen', async () => {
    const response = await fetch(`${hub.url}/api/agents/painted/screenshot`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    const png = Buffer.from(await response.arrayBuffer());
    const image = decodePng(png);
    expect([image.width, image.height]).toEqual([640, 480]);
    const file = path.join(dir.path, 'rest.png');
    writeFileSync(file, png);
    for (const [x, y] of [[0, 0], [639, 479], [320, 240]] as const) {
      expect([...image.rgb.subarray((y * 640 + x) * 3, (y * 640 + x) * 3 + 3)]).toEqual([255, 128, 0]);
      // And as an independent decoder reads it.
      if (imageMagick) expect(magickPixel(file, x, y)).toBe('255,128,0');
    }

    const job = (await api<Job>(hub.url, 'GET', `/api/jobs/${response.headers.get('x-farol-job-id')}`)).body;
    expect(job.targets[0]).toMatchObject({ agentName: 'painted', state: 'succeeded', data: { kind: 'screenshot', width: 640, height: 480, method: 'x11' } });
  });

  it('farol screenshot AGENT -o FILE writes a valid PNG', async () => {
    const { code, output } = await cli(['screenshot', 'painted', '-o', 'cli.png', '--max-width', '320']);
    expect(code, output).toBe(0);
    expect(output).toContain('320x240 PNG');
    const png = readFileSync(path.join(dir.path, 'cli.png'));
    const image = decodePng(png);
    expect([image.width, image.height]).toEqual([320, 240]);
    expect([...image.rgb.subarray((100 * 320 + 100) * 3, (100 * 320 + 100) * 3 + 3)]).toEqual([255, 128, 0]);
    if (imageMagick) expect(magickPixel(path.join(dir.path, 'cli.png'), 100, 100)).toBe('255,128,0');
  });

  it.skipIf(noNoise !== null)(`carries a screenshot far over one message (1920x1080 of noise) intact${skipNote(noNoise)}`, async () => {
    const response = await fetch(`${hub.url}/api/agents/noisy/screenshot`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(response.status).toBe(200);
    const png = Buffer.from(await response.arrayBuffer());
    expect(png.length).toBeGreaterThan(3 * MAX_MESSAGE_BYTES);
    // Pixel for pixel what ImageMagick's own capture of that display sees.
    const reference = spawnSync('import', ['-display', noisy.display, '-silent', '-window', 'root', 'png24:-'], { maxBuffer: 64 * 1024 * 1024 });
    expect(reference.status).toBe(0);
    const ours = decodePng(png);
    const theirs = decodePng(reference.stdout);
    expect([ours.width, ours.height]).toEqual([1920, 1080]);
    expect(ours.rgb.equals(theirs.rgb)).toBe(true);
  });

  it('says in one line when the machine has no display', async () => {
    const { code, output } = await cli(['screenshot', 'headless', '-o', 'never.png']);
    expect(code).not.toBe(0);
    expect(output.trim().split('\n')).toHaveLength(1);
    expect(output).toMatch(/^farol: headless has no display to capture \(no display: no X server is running on :\d+ .*\); screenshots need a desktop session/);
    expect(existsSync(path.join(dir.path, 'never.png'))).toBe(false);
  });

  it('says in one line when the machine\'s policy refuses, and when it is offline', async () => {
    const refused = await cli(['screenshot', 'locked', '-o', 'never.png']);
    expect(refused.code).not.toBe(0);
    expect(refused.output.trim().split('\n')).toHaveLength(1);
    expect(refused.output).toContain('locked refused: refused by agent policy: screenshot is not allowed here');

    await agents.locked!.stop('SIGTERM');
    await waitFor(async () => ((await api<{ status: string }>(hub.url, 'GET', '/api/agents/locked')).body.status === 'offline' ? true : undefined), 20_000, 'locked offline');
    const offline = await cli(['screenshot', 'locked']);
    expect(offline.code).not.toBe(0);
    expect(offline.output.trim().split('\n')).toHaveLength(1);
    expect(offline.output).toMatch(/locked is offline; a screenshot needs the machine connected; see .* agents ls locked/);
  });
});
