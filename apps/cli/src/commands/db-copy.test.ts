import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCliHarness, type CliHarness } from '../test-support/cli-runner.js';

let cli: CliHarness;
beforeEach(async () => {
  cli = await createCliHarness();
});
afterEach(async () => {
  await cli.cleanup();
});

describe('farol db copy (#13)', () => {
  it('refuses a target that is not a PostgreSQL URL, with exit 2 and what to pass', async () => {
    const result = await cli.run(['db', 'copy', '--from', 'data/farol.db', '--to', 'mysql://db/farol']);
    expect(result).toMatchObject({ code: 2, stderr: 'farol: --to must be a PostgreSQL URL such as postgres://farol@127.0.0.1:5432/farol\n' });
  });

  it('needs both --from and --to', async () => {
    expect((await cli.run(['db', 'copy', '--to', 'postgres://x@127.0.0.1/db'])).code).toBe(2);
  });
});
