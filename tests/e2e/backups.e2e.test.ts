import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentList, AuditList } from '@farol/protocol';
import { ADMIN_TOKEN, agentBundle, api, farolBin, freePort, joinToken, run, startHubProcess, tempDir, waitFor, type Proc } from './support/processes.js';

const dir = tempDir('backups');
const procs: Proc[] = [];
afterAll(async () => {
  for (const proc of procs) await proc.stop('SIGKILL');
  dir.remove();
});

const PASSPHRASE = 'a long backup passphrase for e2e';

async function farol(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const proc = run([farolBin, ...args], { env });
  procs.push(proc);
  const code = await proc.exited;
  return { code, output: proc.output() };
}

describe('backups of a running hub (#15)', () => {
  it('restores into a fresh directory: the same agent reconnects without re-enrolling, the audit chain verifies, secrets open', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const firstDir = path.join(dir.path, 'hub-a');
    const hub = await startHubProcess(firstDir, port);
    procs.push(hub);
    const agentState = path.join(dir.path, 'agent');
    const agent = run([agentBundle, 'run', '--hub', url, '--token', await joinToken(url), '--state', agentState, '--interval', '1s']);
    procs.push(agent);
    const [enrolled] = await waitFor(async () => {
      const { body } = await api<AgentList>(url, 'GET', '/api/agents?status=online');
      return body.agents.length === 1 ? body.agents : undefined;
    }, 30_000, 'agent online');
    expect((await api(url, 'PUT', '/api/secrets/DB_PASSWORD', { value: 's3cr3t-value-for-restore', scope: '*' })).status).toBeLessThan(300);
    const stateBefore = readdirSync(agentState).sort();

    // Backed up while the hub runs and the agent reports every second.
    const backupFile = path.join(dir.path, 'nightly.fbk');
    const cliEnv = { FAROL_HUB_URL: url, FAROL_TOKEN: ADMIN_TOKEN, FAROL_BACKUP_PASSPHRASE: PASSPHRASE };
    const created = await farol(['backup', 'create', '--to', backupFile], cliEnv);
    expect(created.output).toContain('backup written');
    expect(created.code).toBe(0);
    expect(readFileSync(backupFile).includes(Buffer.from('s3cr3t-value-for-restore'))).toBe(false);

    // A wrong passphrase: one clear line, exit 1, nothing written.
    const wrongDir = path.join(dir.path, 'hub-wrong');
    const wrong = await farol(['backup', 'restore', backupFile, '--data-dir', wrongDir], { FAROL_BACKUP_PASSPHRASE: 'not the right passphrase' });
    expect(wrong.code).toBe(1);
    expect(wrong.output.trim().split('\n')).toEqual([expect.stringMatching(/^farol: wrong passphrase for this backup/)]);
    expect(readdirSync(dir.path)).not.toContain('hub-wrong');

    // The passphrase from a file, into a fresh directory; the old hub goes away.
    const passphraseFile = path.join(dir.path, 'passphrase');
    writeFileSync(passphraseFile, `${PASSPHRASE}\n`, { mode: 0o600 });
    const secondDir = path.join(dir.path, 'hub-b');
    const restored = await farol(['backup', 'restore', backupFile, '--data-dir', secondDir, '--passphrase-file', passphraseFile], {});
    expect(restored.code).toBe(0);
    expect(readdirSync(secondDir).sort()).toEqual(['farol.db', 'hub-key.json', 'secret.key']);
    expect(await hub.stop('SIGTERM')).toBe(0);
    const refused = await farol(['backup', 'restore', backupFile, '--data-dir', secondDir, '--passphrase-file', passphraseFile], {});
    expect(refused.code).toBe(1);
    expect(refused.output).toMatch(/is not empty/);

    const second = await startHubProcess(secondDir, port);
    procs.push(second);
    const [back] = await waitFor(async () => {
      const { body } = await api<AgentList>(url, 'GET', '/api/agents?status=online');
      return body.agents.length === 1 ? body.agents : undefined;
    }, 40_000, 'the same agent online on the restored hub');
    expect(back!.id).toBe(enrolled!.id);
    expect(readdirSync(agentState).sort()).toEqual(stateBefore);
    expect(agent.child.exitCode).toBeNull();

    const verify = await farol(['audit', 'verify'], cliEnv);
    expect(verify.output).toContain('audit log intact');
    expect(verify.code).toBe(0);
    const audit = await api<AuditList>(url, 'GET', '/api/audit?limit=200');
    expect(audit.body.entries.map((e) => e.action)).toContain('backup.create');
    const reveal = await api<{ value: string }>(url, 'POST', '/api/secrets/DB_PASSWORD/reveal');
    expect(reveal.status).toBe(200);
    expect(reveal.body.value).toBe('s3cr3t-value-for-restore');
  });
});
