import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCliHarness, type CliHarness } from '../test-support/cli-runner.js';
import { sampleAgent, startFakeHub, type FakeHub } from '../test-support/fake-hub.js';
import { applyLabelChanges, parseLabelChanges } from './agents-label.js';

let cli: CliHarness;
let hub: FakeHub;
const agent = sampleAgent({ labels: { role: 'web', env: 'prod', old: 'x' } });

beforeEach(async () => {
  cli = await createCliHarness();
  hub = await startFakeHub({
    'GET /api/agents/web-1': { status: 200, body: agent },
    [`PATCH /api/agents/${agent.id}`]: (request) => ({
      status: 200,
      body: { ...agent, labels: (request.body as { labels: Record<string, string> }).labels },
    }),
  });
});
afterEach(async () => {
  await hub.close();
  await cli.cleanup();
});

describe('farol agents label', () => {
  it('reads the labels, applies the changes and sends the whole new set', async () => {
    const result = await cli.run(['agents', 'label', 'web-1', 'env=staging', 'gpu=a4000', 'old-', '--hub', hub.url, '--token', 't']);

    expect(result.code).toBe(0);
    expect(hub.calls()).toEqual(['GET /api/agents/web-1', `PATCH /api/agents/${agent.id}`]);
    expect(hub.requests[1]?.body).toEqual({ labels: { role: 'web', env: 'staging', gpu: 'a4000' } });
    expect(result.stdout).toBe('web-1: env=staging,gpu=a4000,role=web\n');
  });

  it('refuses a malformed change before calling the hub', async () => {
    const result = await cli.run(['agents', 'label', 'web-1', 'bad key=1', '--hub', hub.url, '--token', 't']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^farol: label key "bad key": .*; use key=value to set or key- to remove\n$/);
    expect(hub.requests).toEqual([]);
  });

  it('says so when the agent does not exist', async () => {
    const result = await cli.run(['agents', 'label', 'nope', 'a=b', '--hub', hub.url, '--token', 't']);
    expect(result).toMatchObject({ code: 1, stderr: 'farol: no agent named "nope"; see farol agents ls\n' });
  });
});

describe('label changes', () => {
  it('parses sets and removals in order', () => {
    expect(parseLabelChanges(['a=1', 'b-', 'c='])).toEqual([{ key: 'a', value: '1' }, { key: 'b', remove: true }, { key: 'c', value: '' }]);
  });

  it('applies later changes over earlier ones without touching the input', () => {
    const labels = { a: '1' };
    expect(applyLabelChanges(labels, [{ key: 'a', remove: true }, { key: 'a', value: '2' }])).toEqual({ a: '2' });
    expect(labels).toEqual({ a: '1' });
  });
});
