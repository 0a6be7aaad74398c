#!/usr/bin/env node
// What the start-up integrity check costs (issue #12): a hub database grown to --mb megabytes
// of heartbeat rows, then `PRAGMA quick_check` (run at every start up to 512 MiB) and the full
// `integrity_check` of `farol db check`, each timed --runs times on the same file.
//   node bench/db-check.mjs [--mb 100] [--runs 3]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { importHubSource, machine } from './lib.mjs';

const { values: args } = parseArgs({ options: { mb: { type: 'string', default: '100' }, runs: { type: 'string', default: '3' } } });
const TARGET_BYTES = Number(args.mb) * 1_048_576;

const m = await importHubSource('db-check', [
  "export { openSqliteDatabase, quickCheck, checkDatabaseFile } from './apps/hub/src/infra/database.ts';",
]);
const dir = mkdtempSync(path.join(tmpdir(), 'farol-bench-db-check-'));
try {
  const { db } = await m.openSqliteDatabase(dir, { integrityCheck: false });
  await db.destroy();
  const sqlite = new Database(path.join(dir, 'farol.db'));
  const columns = sqlite.prepare("select name from pragma_table_info('metrics_raw')").all().map((row) => row.name).filter((name) => name !== 'id');
  const insert = sqlite.prepare(`insert into metrics_raw (${columns.join(',')}) values (${columns.map(() => '?').join(',')})`);
  const size = () => sqlite.prepare('select page_count * page_size as bytes from pragma_page_count(), pragma_page_size()').get().bytes;
  // 500 machines, one row each per 10 s, every metric filled.
  const fill = sqlite.transaction((from) => {
    for (let i = 0; i < 10_000; i++) insert.run(columns.map((name) => (name === 'agent_seq' ? (i % 500) + 1 : name === 'ts' ? from + Math.floor(i / 500) * 10_000 : Math.random() * 100)));
  });
  let ts = Date.UTC(2026, 0, 1);
  while (size() < TARGET_BYTES) {
    fill(ts);
    ts += 200_000;
  }
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  const rows = sqlite.prepare('select count(*) as n from metrics_raw').get().n;
  const megabytes = (size() / 1_048_576).toFixed(1);
  sqlite.close();
  console.log(`database: ${megabytes} MB, ${rows} heartbeat rows; ${machine()}`);
  for (let run = 1; run <= Number(args.runs); run++) {
    const reader = new Database(path.join(dir, 'farol.db'), { readonly: true });
    const quick = m.quickCheck(reader);
    reader.close();
    const full = m.checkDatabaseFile(dir);
    console.log(`run ${run}: quick_check ${quick.durationMs} ms (${quick.ok ? 'ok' : 'FAILED'}), integrity_check ${full.durationMs} ms (${full.ok ? 'ok' : 'FAILED'})`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
