import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentList } from '@farol/protocol';
import { ADMIN_TOKEN, agentBundle, api, farolBin, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from './support/processes.js';

/* Faults an operator meets, with real processes (issue #12). */

const dir = tempDir('faults');
const procs: Proc[] = [];

afterAll(async () => {
  for (const proc of procs) await proc.stop('SIGKILL');
  dir.remove();
});

const onlineAgents = async (url: string) => (await api<AgentList>(url, 'GET', '/api/agents?status=online')).body.agents;

describe('one data directory, one hub (#12)', () => {
  it('refuses a second hub on the same data directory, naming it and the first hub, and leaves the agents online (#12)', async () => {
    const dataDir = path.join(dir.path, 'hub');
    const first = await startHubProcess(dataDir, await freePort());
    procs.push(first);
    const token = await joinToken(first.url);
    procs.push(run([agentBundle, 'run', '--hub', first.url, '--token', token, '--state', path.join(dir.path, 'agent'), '--interval', '1s']));
    await waitFor(async () => ((await onlineAgents(first.url)).length === 1 ? true : undefined), 30_000, 'the agent online');

    // Another port: before the lock it ran and raised "Machine offline" for the first hub's machines.
    const second = run([farolBin, 'hub', '--port', String(await freePort()), '--data', dataDir], { env: { FAROL_ADMIN_TOKEN: ADMIN_TOKEN } });
    procs.push(second);
    const code = await Promise.race([second.exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 20_000))]);
    expect(code).toBe(1);
    expect(second.output()).toContain(`another Farol hub (pid ${first.child.pid}) is already running with the data directory ${dataDir}`);

    // Nothing was written: the agent is still online, in the API and in the file.
    expect(await onlineAgents(first.url)).toHaveLength(1);
    const db = new Database(path.join(dataDir, 'farol.db'), { readonly: true });
    try {
      expect(db.prepare('select status from agents').all()).toEqual([{ status: 'online' }]);
    } finally {
      db.close();
    }
  });
});

describe('farol db check (#12)', () => {
  it('says ok on a sound database, and exits 1 with how to restore on one damaged in the middle (#12)', async () => {
    const dataDir = path.join(dir.path, 'check');
    const hub = await startHubProcess(dataDir, await freePort());
    expect(await hub.stop('SIGTERM')).toBe(0);

    const sound = run([farolBin, 'db', 'check', '--data', dataDir]);
    expect(await sound.exited).toBe(0);
    expect(sound.output()).toMatch(/farol\.db: ok \(integrity_check, \d+ ms\)/);

    const file = path.join(dataDir, 'farol.db');
    const db = new Database(file);
    db.exec('create table padding (id integer primary key, body text)');
    const insert = db.prepare('insert into padding (body) values (?)');
    for (let i = 0; i < 400; i++) insert.run('x'.repeat(900));
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const pageSize = readFileSync(file).readUInt16BE(16);
    const pages = readFileSync(file).length / pageSize;
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(pageSize, 0x5a), 0, pageSize, Math.floor(pages * 0.8) * pageSize);
    closeSync(fd);

    const damaged = run([farolBin, 'db', 'check', '--data', dataDir]);
    expect(await damaged.exited).toBe(1);
    expect(damaged.output()).toContain(`${file}: DAMAGED`);
    expect(damaged.output()).toMatch(/restore the latest backup/);
  });
});

describe('farol exec when the hub dies mid-job (#12)', () => {
  it('says the hub went away and exits 255 (#12)', async () => {
    const hub = await startHubProcess(path.join(dir.path, 'exec-hub'), await freePort());
    procs.push(hub);
    const token = await joinToken(hub.url);
    procs.push(run([agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(dir.path, 'exec-agent'), '--name', 'sleeper', '--interval', '1s']));
    await waitFor(async () => ((await onlineAgents(hub.url)).length === 1 ? true : undefined), 30_000, 'the agent online');

    const exec = run([farolBin, 'exec', 'sleeper', '--timeout', '2m', '--shell', 'sleep 60'], { env: { FAROL_HUB_URL: hub.url, FAROL_TOKEN: ADMIN_TOKEN } });
    procs.push(exec);
    await waitFor(() => (/job \S+: /.test(exec.output()) ? true : undefined), 15_000, 'the job created');
    hub.child.kill('SIGKILL');
    await hub.exited;
    const code = await Promise.race([exec.exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 40_000))]);
    expect(code).toBe(255);
    expect(exec.output()).toMatch(/the hub went away while job \S+ was running/);
  });
});
