import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FAROL_VERSION } from '@farol/protocol';
import { runAgentCommand } from '../main.js';
import type { CommandContext } from '../commands/context.js';
import { mathRandom, systemClock } from '../runtime/clock.js';
import { createTestHubState, startTestHub, type TestHub } from '../testing/test-hub.js';
import { createIdentityRepository } from './identity.repository.js';

describe('farol-agent enroll', () => {
  let hub: TestHub;
  let stateDir: string;
  let stderr: string;
  let stdout: string;
  const context = (): CommandContext => ({
    env: {},
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    clock: systemClock,
    random: mathRandom,
  });
  const run = async (...args: string[]): Promise<number> => {
    process.exitCode = undefined;
    await runAgentCommand(['node', 'farol-agent', ...args], context());
    const code = Number(process.exitCode ?? 0);
    process.exitCode = undefined;
    return code;
  };

  beforeEach(async () => {
    hub = await startTestHub(await createTestHubState('good-token'));
    stateDir = path.join(mkdtempSync(path.join(tmpdir(), 'farol-enroll-')), 'state');
    stderr = '';
    stdout = '';
  });
  afterEach(async () => {
    await hub.close();
    rmSync(path.dirname(stateDir), { recursive: true, force: true });
  });

  it('writes identity.json readable by its owner only, in a private state dir', async () => {
    expect(await run('enroll', '--hub', `${hub.url}/`, '--token', 'good-token', '--state', stateDir, '--name', 'web-1')).toBe(0);
    const identity = createIdentityRepository(stateDir).load()!;
    expect(identity).toMatchObject({ name: 'web-1', hubUrl: hub.url, labels: { env: 'test' }, hubPublicKey: hub.state.hubKey.publicJwk });
    expect(hub.state.agents.get(identity.agentId)?.publicKey).toEqual(identity.publicKeyJwk);
    expect(statSync(path.join(stateDir, 'identity.json')).mode & 0o777).toBe(0o600);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    expect(stdout).toContain('enrolled as web-1');
  });

  it('prints the hub refusal as one line with its code and exits 1', async () => {
    expect(await run('enroll', '--hub', hub.url, '--token', 'wrong-token', '--state', stateDir)).toBe(1);
    expect(stderr).toBe('farol-agent: enrollment refused: join token is not valid (token_invalid)\n');
    expect(createIdentityRepository(stateDir).load()).toBeNull();
  });

  it('says what to do when an unenrolled agent is started without a token', async () => {
    expect(await run('run', '--state', stateDir)).toBe(2);
    expect(stderr).toBe(
      'farol-agent: this agent is not enrolled: pass --hub URL --token TOKEN (create one with `farol join-tokens create`)\n',
    );
  });

  it('refuses to enroll twice over an existing identity', async () => {
    expect(await run('enroll', '--hub', hub.url, '--token', 'good-token', '--state', stateDir)).toBe(0);
    expect(await run('enroll', '--hub', hub.url, '--token', 'good-token', '--state', stateDir)).toBe(1);
    expect(stderr).toMatch(/^farol-agent: already enrolled as .+ delete .+identity\.json first\n$/);
  });

  it('explains an unreachable hub', async () => {
    expect(await run('enroll', '--hub', 'http://127.0.0.1:1', '--token', 'good-token', '--state', stateDir)).toBe(1);
    expect(stderr).toMatch(/^farol-agent: cannot reach the hub at http:\/\/127\.0\.0\.1:1: .+\(check --hub\)\n$/);
  });

  it('lists every configuration problem at once and exits 2', async () => {
    expect(await run('run', '--hub', 'ftp://x', '--interval', '10 seconds', '--buffer-max-bytes', 'lots', '--state', stateDir)).toBe(2);
    expect(stderr).toContain('invalid configuration');
    expect(stderr).toContain('--hub / FAROL_HUB_URL');
    expect(stderr).toContain('--interval / FAROL_HEARTBEAT_INTERVAL');
    expect(stderr).toContain('--buffer-max-bytes / FAROL_BUFFER_MAX_BYTES');
  });

  it('prints its version', async () => {
    expect(await run('--version')).toBe(0);
    expect(stdout.trim()).toBe(FAROL_VERSION);
  });
});
