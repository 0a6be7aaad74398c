import { afterAll } from 'vitest';
import { dropTestDatabases } from './start-test-hub.js';

/**
 * Setup of the `int-pg` test project (issue #13): the hubs the tests start (start-test-hub.ts)
 * run on PostgreSQL, a database each; they are dropped after each file.
 */
afterAll(async () => {
  await dropTestDatabases();
});
