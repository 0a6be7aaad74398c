import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCliHarness, type CliHarness } from '../test-support/cli-runner.js';
import { NOW, sampleAgent, startFakeHub, type FakeHub } from '../test-support/fake-hub.js';

let cli: CliHarness;
let hub: FakeHub;

const offline = sampleAgent({
  id: 'ag_aaaaaaaaaaaaaaaa',
  name: 'db-1',
  status: 'offline',
  labels: {},
  lastSeen: NOW - 2 * 3_600_000,
});

beforeEach(async () => {
  cli = await createCliHarness();
  hub = await startFakeHub({ 'GET /api/agents': { status: 200, body: { agents: [sampleAgent(), offline] } } }, { token: 'tok' });
});
afterEach(async () => {
  await hub.close();
  await cli.cleanup();
});

describe('farol agents ls', () => {
  it('prints an aligned table with the latest values and a counts line', async () => {
    const result = await cli.run(['agents', 'ls', '--hub', hub.url, '--token', 'tok']);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        'NAME   STATUS   CPU  MEM  DISK  LAST SEEN  LABELS',
        'db-1   offline  -    -    -     2h ago     -',
        'web-1  online   12%  45%  71%   12s ago    env=prod,role=web',
        '2 agents: 1 online, 1 offline',
        '',
      ].join('\n'),
    );
    expect(hub.calls()).toEqual(['GET /api/agents']);
  });

  it('sends the status and every label filter to the hub', async () => {
    await cli.run(['agents', 'ls', '--status', 'online', '--label', 'role=web', '--label', 'env=prod', '--hub', hub.url, '--token', 'tok']);
    expect(hub.requests[0]?.query).toEqual({ status: 'online', label: ['role=web', 'env=prod'] });
  });

  it('prints the hub\'s JSON with --json', async () => {
    const result = await cli.run(['agents', 'ls', '--json', '--hub', hub.url, '--token', 'tok']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ agents: [sampleAgent(), offline] });
  });

  it('refuses a status other than online or offline with a usage error', async () => {
    const result = await cli.run(['agents', 'ls', '--status', 'up', '--hub', hub.url, '--token', 'tok']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('expected online or offline');
    expect(hub.requests).toEqual([]);
  });

  it('says how to add a machine when there is none', async () => {
    await hub.close();
    hub = await startFakeHub({ 'GET /api/agents': { status: 200, body: { agents: [] } } });
    const result = await cli.run(['agents', 'ls', '--hub', hub.url, '--token', 'tok']);
    expect(result.stdout).toBe('no agents yet; add a machine with: farol join-tokens create\n');
  });

  it('uses FAROL_HUB_URL and FAROL_TOKEN when no flag is given', async () => {
    const result = await cli.run(['agents', 'ls'], { FAROL_HUB_URL: hub.url, FAROL_TOKEN: 'tok' });
    expect(result.code).toBe(0);
    expect(hub.requests[0]?.authorization).toBe('Bearer tok');
  });
});

describe('farol agents ls with several hubs (issue #14)', () => {
  it('adds a HUB column naming the hub of each machine once they are held by more than one hub', async () => {
    const onA = sampleAgent({ id: 'ag_bbbbbbbbbbbbbbbb', name: 'web-a', hub: 'hub-a' });
    const onB = sampleAgent({ id: 'ag_cccccccccccccccc', name: 'web-b', hub: 'hub-b' });
    const gone = sampleAgent({ id: 'ag_dddddddddddddddd', name: 'web-c', status: 'offline', hub: null, lastSeen: NOW - 60_000 });
    await hub.close();
    hub = await startFakeHub({ 'GET /api/agents': { status: 200, body: { agents: [onA, onB, gone] } } }, { token: 'tok' });
    const result = await cli.run(['agents', 'ls', '--hub', hub.url, '--token', 'tok']);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/LAST SEEN\s+HUB\s+LABELS/);
    expect(lines.find((line) => line.startsWith('web-a'))).toMatch(/\bhub-a\b/);
    expect(lines.find((line) => line.startsWith('web-b'))).toMatch(/\bhub-b\b/);
    expect(lines.find((line) => line.startsWith('web-c'))).not.toMatch(/\bhub-/);
  });

  it('shows no HUB column when one hub holds every machine', async () => {
    await hub.close();
    hub = await startFakeHub({ 'GET /api/agents': { status: 200, body: { agents: [sampleAgent({ hub: 'hub-a' }), offline] } } }, { token: 'tok' });
    const result = await cli.run(['agents', 'ls', '--hub', hub.url, '--token', 'tok']);
    expect(result.stdout.split('\n')[0]).not.toContain('HUB');
  });
});
