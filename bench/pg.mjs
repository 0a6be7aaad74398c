// PostgreSQL for the benchmarks' `--database-url` (issue #13): a fresh database per run on the
// server of the given URL, the CPU its server processes use, and the size of history tables.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import pg from 'pg';

const TICKS = 100; // USER_HZ on Linux

/** Creates `farol_bench_<pid>` on the server of `adminUrl`; `drop()` removes it (with its connections). */
export async function createBenchDatabase(adminUrl) {
  const name = `farol_bench_${process.pid}_${Date.now() % 100_000}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    /** Connects a client to the bench database; `end()` it before `drop()`. */
    async connect() {
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      return client;
    },
    async drop() {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

function cpuSecondsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return null; // the backend ended (the pool closed an idle connection); counted up to its last sample
  }
}

/**
 * CPU used by the server processes that serve `database` (the hub's pool connections), as a
 * share of one core between `start` and `stop`. Backends that appear later are picked up at
 * every sample; RSS is not reported: PostgreSQL's memory is mostly shared buffers.
 */
export function watchDatabaseCpu(client, database, everyMs = 1000) {
  const first = new Map();
  const last = new Map();
  const started = Date.now();
  const sample = async () => {
    const { rows } = await client.query('select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database]);
    for (const { pid } of rows) {
      const cpu = cpuSecondsOf(pid);
      if (cpu === null) continue;
      if (!first.has(pid)) first.set(pid, cpu);
      last.set(pid, cpu);
    }
  };
  let pending = sample();
  const timer = setInterval(() => {
    pending = pending.then(sample, sample);
  }, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await pending;
      const seconds = (Date.now() - started) / 1000;
      let cpu = 0;
      for (const [pid, end] of last) cpu += end - (first.get(pid) ?? end);
      return { backends: last.size, cpuPercentOfOneCore: seconds > 0 ? +((cpu / seconds) * 100).toFixed(1) : 0 };
    },
  };
}

/** Bytes (with indexes) of raw history, all its partitions, and of the rollup tables. */
export async function historySizes(client) {
  const { rows } = await client.query(`
    select (select count(*) from metrics_raw)::bigint as raw_rows,
      (select coalesce(sum(pg_total_relation_size(relid)), 0) from pg_partition_tree('metrics_raw')) as raw_bytes,
      pg_total_relation_size('metrics_1m') + pg_total_relation_size('metrics_1h') as rollup_bytes`);
  return { rawRows: Number(rows[0].raw_rows), rawBytes: Number(rows[0].raw_bytes), rollupBytes: Number(rows[0].rollup_bytes) };
}

/** The 1-, 5- and 15-minute load averages, for figures taken on a shared machine. */
export const loadAverage = () => os.loadavg().map((l) => +l.toFixed(2));
