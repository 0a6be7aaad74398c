// Check history tiers (issue #19, ADR 0028): what storing results and the leader's rollup pass
// cost, and what 30-day uptime costs once it reads the rollups.
//
//   node bench/check-rollups.mjs [--locations 1000] [--checks 10] [--rounds 4] [--database-url postgres://…]
//
// Stores `rounds` rounds of `checks` results from each of `locations` locations (batches of 100,
// as agents send them), then runs the rollup pass (5,000 results per transaction, as the hub
// does) and reads uptime over 30 days for every check and location. Without --database-url it
// uses a fresh SQLite file; with it, a fresh database made on that server (dropped after).
// The machine and its load average are printed: other work on the machine skews the figures.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { importHubSource, machine } from './lib.mjs';

const { values } = parseArgs({
  options: {
    locations: { type: 'string', default: '1000' },
    checks: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '4' },
    'database-url': { type: 'string' },
  },
});
const LOCATIONS = Number(values.locations);
const CHECKS = Number(values.checks);
const ROUNDS = Number(values.rounds);
const load = () => loadavg().map((value) => +value.toFixed(2));

const hub = await importHubSource('check-rollups', [
  "export { openSqliteDatabase } from './apps/hub/src/infra/database.ts';",
  "export { openPostgresDatabase } from './apps/hub/src/infra/postgres.ts';",
  "export { createTestDatabase } from './apps/hub/src/testing/postgres-test-db.ts';",
  "export { createChecksRepository } from './apps/hub/src/modules/checks/checks.repository.ts';",
]);

let db;
let cleanup;
if (values['database-url']) {
  const database = await hub.createTestDatabase(undefined, values['database-url']);
  ({ db } = await hub.openPostgresDatabase({ url: database.url, poolSize: 4 }));
  cleanup = async () => {
    await db.destroy();
    await database.drop();
  };
} else {
  const dir = mkdtempSync(path.join(tmpdir(), 'farol-bench-check-rollups-'));
  ({ db } = await hub.openSqliteDatabase(dir));
  cleanup = async () => {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
}

const repo = hub.createChecksRepository(db);
const start = Date.UTC(2026, 0, 1);
const loadAtStart = load();
let stored = 0;
const storing = performance.now();
for (let round = 0; round < ROUNDS; round++) {
  for (let first = 0; first < LOCATIONS; first += 10) {
    const batch = [];
    for (let x = first; x < Math.min(LOCATIONS, first + 10); x++) {
      for (let c = 0; c < CHECKS; c++) {
        const down = (x + c + round) % 13 === 0;
        batch.push({ checkId: `chk_${c}`, location: `ag_${x}`, agentId: `ag_${x}`, ts: start + round * 30_000 + x * 30, status: down ? 'critical' : 'ok', latencyMs: down ? null : (x * 7 + c) % 300, message: 'bench', certDaysLeft: null, perfdata: [] });
      }
    }
    await repo.record(batch, Date.now());
    stored += batch.length;
  }
}
const storeMs = performance.now() - storing;

// A tree before ADR 0028 (an A/B baseline) has no rollup pass: its hourly counters were
// written with every result, inside the storing time above.
const rolling = performance.now();
let transactions = 0;
if (repo.rollupProgress) {
  let progress = await repo.rollupProgress();
  while (progress.done < progress.newest) {
    const pass = await repo.rollup(Math.min(progress.newest, progress.done + 5_000));
    progress = { ...progress, done: pass.to };
    transactions++;
  }
}
const rollupMs = repo.rollupProgress ? performance.now() - rolling : null;

const reading = performance.now();
const counts = await repo.counts(start + ROUNDS * 30_000 - 30 * 86_400_000);
const uptimeMs = performance.now() - reading;
const loadAtEnd = load();
await cleanup();

console.log(
  JSON.stringify(
    {
      machine: machine(),
      database: values['database-url'] ? 'postgres' : 'sqlite',
      results: stored,
      store: { totalMs: Math.round(storeMs), perResultUs: Math.round((storeMs * 1000) / stored) },
      rollup: rollupMs === null ? null : { totalMs: Math.round(rollupMs), perResultUs: Math.round((rollupMs * 1000) / stored), transactions },
      uptime30d: { ms: Math.round(uptimeMs), checkLocations: counts.length },
      load: { start: loadAtStart, end: loadAtEnd },
    },
    null,
    2,
  ),
);
