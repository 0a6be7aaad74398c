import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCliHarness, type CliHarness } from '../test-support/cli-runner.js';
import { sampleAgent, startFakeHub, type FakeHub } from '../test-support/fake-hub.js';

let cli: CliHarness;
let hub: FakeHub;

beforeEach(async () => {
  cli = await createCliHarness();
  hub = await startFakeHub({
    'DELETE /api/agents/web-1': { status: 204 },
    'PATCH /api/agents/web-1': (request) => ({ status: 200, body: sampleAgent({ name: (request.body as { name: string }).name }) }),
  });
});
afterEach(async () => {
  await hub.close();
  await cli.cleanup();
});

describe('farol agents rm', () => {
  it('deletes the agent by name', async () => {
    const result = await cli.run(['agents', 'rm', 'web-1', '--hub', hub.url, '--token', 't']);
    expect(result).toMatchObject({ code: 0, stdout: 'removed agent web-1\n' });
    expect(hub.calls()).toEqual(['DELETE /api/agents/web-1']);
  });

  it('names the agent it could not find', async () => {
    const result = await cli.run(['agents', 'rm', 'web-9', '--hub', hub.url, '--token', 't']);
    expect(result).toMatchObject({ code: 1, stderr: 'farol: no agent named "web-9"; see farol agents ls\n' });
  });
});

describe('farol agents rename', () => {
  it('sends the new name as a patch', async () => {
    const result = await cli.run(['agents', 'rename', 'web-1', 'web-2', '--hub', hub.url, '--token', 't']);
    expect(result).toMatchObject({ code: 0, stdout: 'renamed web-1 to web-2\n' });
    expect(hub.requests[0]).toMatchObject({ method: 'PATCH', path: '/api/agents/web-1', body: { name: 'web-2' } });
  });

  it('refuses a name the hub would refuse, without calling it', async () => {
    const result = await cli.run(['agents', 'rename', 'web-1', 'bad name', '--hub', hub.url, '--token', 't']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^farol: "bad name": names are/);
    expect(hub.requests).toEqual([]);
  });
});
