import { afterAll } from 'vitest';
import { dropHubDatabases } from './processes.js';

/** Setup of the `e2e-pg` project (issue #13): each file's hub databases are dropped after it. */
afterAll(async () => {
  await dropHubDatabases();
});
