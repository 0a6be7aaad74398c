import { problemFor } from '@farol/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCliHarness, type CliHarness } from '../test-support/cli-runner.js';
import { startFakeHub, type FakeHub } from '../test-support/fake-hub.js';

// The commands that explain a hub refusal in one line (explainFailure), each against the problem
// the hub really answers; unknown routes of the fake hub answer 404 not_found.

let cli: CliHarness;
let hub: FakeHub;

beforeEach(async () => {
  cli = await createCliHarness();
  hub = await startFakeHub({
    'DELETE /api/channels/from-file': { status: 409, body: problemFor('conflict', 'defined in the configuration file') },
    'DELETE /api/channels/broken': { status: 500, body: problemFor('internal', 'database is locked') },
    'POST /api/alerts/al_0123456789abcdef/ack': { status: 409, body: problemFor('conflict', 'already resolved') },
    'DELETE /api/silences/bad-id': { status: 400, body: problemFor('validation_failed', 'silence ids look like sil_') },
  });
});
afterEach(async () => {
  await hub.close();
  await cli.cleanup();
});

const run = (...args: string[]) => cli.run([...args, '--hub', hub.url, '--token', 't']);

describe('one-line explanations of hub refusals', () => {
  it('says which name is unknown and where to look', async () => {
    expect(await run('channels', 'rm', 'nope')).toMatchObject({ code: 1, stderr: 'farol: no channel "nope"; see farol channels ls\n' });
    expect(await run('secrets', 'rm', 'nope')).toMatchObject({ code: 1, stderr: 'farol: no secret "nope"; see farol secrets ls\n' });
    expect(await run('secrets', 'reveal', 'nope')).toMatchObject({ code: 1, stderr: 'farol: no secret "nope"; see farol secrets ls\n', stdout: '' });
    expect(await run('tokens', 'revoke', 'tok_nope')).toMatchObject({ code: 1, stderr: 'farol: no API token "tok_nope"; see farol api-tokens ls\n' });
    expect(await run('alerts', 'ack', 'al_ffffffffffffffff')).toMatchObject({ code: 1, stderr: 'farol: no alert al_ffffffffffffffff; see farol alerts ls\n' });
    expect(await run('silence', 'rm', 'sil_ffffffffffffffff')).toMatchObject({ code: 1, stderr: 'farol: no silence sil_ffffffffffffffff; see farol silence ls\n' });
    expect(await run('silence', 'rm', 'bad-id')).toMatchObject({ code: 1, stderr: 'farol: no silence bad-id; see farol silence ls\n' });
  });

  it('explains a conflict by what it means for that command', async () => {
    expect(await run('channels', 'rm', 'from-file')).toMatchObject({ code: 1, stderr: 'farol: channel from-file comes from the configuration file; remove it there\n' });
    expect(await run('alerts', 'ack', 'al_0123456789abcdef')).toMatchObject({ code: 1, stderr: 'farol: alert al_0123456789abcdef is already resolved\n' });
  });

  it('lets a refusal it cannot explain through as the hub said it', async () => {
    const result = await run('channels', 'rm', 'broken');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('database is locked');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});
