import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCliHarness, type CliHarness } from '../test-support/cli-runner.js';
import { sampleAgent, startFakeHub, type FakeHub } from '../test-support/fake-hub.js';

let cli: CliHarness;
let hub: FakeHub;

beforeEach(async () => {
  cli = await createCliHarness();
  hub = await startFakeHub({
    'GET /api/agents/web-1': { status: 200, body: sampleAgent() },
    'GET /api/agents/new-1': { status: 200, body: sampleAgent({ name: 'new-1', system: null, latest: null }) },
  });
});
afterEach(async () => {
  await hub.close();
  await cli.cleanup();
});

describe('farol agents show', () => {
  it('shows system facts, addresses with the tailscale mark, metrics, filesystems, processes and GPUs', async () => {
    const result = await cli.run(['agents', 'show', 'web-1', '--hub', hub.url, '--token', 't']);

    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(/^name +web-1$/m);
    expect(out).toMatch(/^status +online \(last seen 12s ago\)$/m);
    expect(out).toMatch(/^ {2}os +Debian GNU\/Linux 12 \(linux x64\)$/m);
    expect(out).toMatch(/^ {2}cpu +AMD EPYC 7302, 16 cores$/m);
    expect(out).toMatch(/^ {2}tailscale0 +100\.101\.102\.103 +tailscale$/m);
    expect(out).toMatch(/^ {2}eth0 +192\.168\.1\.10$/m);
    expect(out).toMatch(/^ {2}cpu +12\.4% \(load 0\.50 0\.40 0\.30\)$/m);
    expect(out).toMatch(/^ {2}memory +45\.3% \(29\.0 GiB of 64\.0 GiB\), swap 0\.0%$/m);
    expect(out).toMatch(/^ {2}\/ +\/dev\/sda1 +ext4 +100\.0 GiB +71\.0 GiB +71%$/m);
    expect(out).toMatch(/^ {2}4242 +postgres +postgres +55\.5% +12\.1% +512\.0 MiB$/m);
    expect(out).toMatch(/^ {2}0 +NVIDIA RTX A4000 +37% +4\.0 GiB \/ 16\.0 GiB +55°C +70 W$/m);
    expect(out).toMatch(/^ {2}uptime +1d 1h 1m$/m);
  });

  it('says when an agent has not reported metrics yet', async () => {
    const result = await cli.run(['agents', 'show', 'new-1', '--hub', hub.url, '--token', 't']);
    expect(result.stdout).toContain('No metrics received yet.');
    expect(result.stdout).not.toContain('System');
  });

  it('prints the agent as JSON with --json', async () => {
    const result = await cli.run(['agents', 'show', 'web-1', '--json', '--hub', hub.url, '--token', 't']);
    expect(JSON.parse(result.stdout)).toEqual(sampleAgent());
  });

  it('names an unknown agent id as an id', async () => {
    const result = await cli.run(['agents', 'show', 'ag_ffffffffffffffff', '--hub', hub.url, '--token', 't']);
    expect(result).toMatchObject({ code: 1, stderr: 'farol: no agent with id "ag_ffffffffffffffff"; see farol agents ls\n' });
  });
});
