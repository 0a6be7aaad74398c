import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentUpdateCommand } from '@farol/protocol';
import { createSilentLogger } from '../logging/logger.js';
import type { RemoteCommandContext } from '../remote/remote-command.js';
import { systemClock } from '../runtime/clock.js';
import type { RunningBuild } from './agent-build.js';
import { runUpdateCommand, type UpdateDeps } from './update.command.js';
import { readMarker } from './update-marker.js';

// Issue #15: what the agent does with an agent_update before anything is swapped, against a real
// HTTP server on loopback and real files (the swap itself and the restart: tests/e2e/agent-update).

const NEW_BUILD = 'console.log("0.2.0");\n';
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
let server: Server;
let hubUrl: string;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'farol-update-'));
  server = createServer((request, response) => {
    // A hub that serves something longer than it signed for /download/updates/long.mjs.
    response.end(request.url === '/download/updates/long.mjs' ? `${NEW_BUILD}// more\n` : NEW_BUILD);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hubUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

function machine(name: string): { deps: UpdateDeps; file: string } {
  const home = path.join(dir, name);
  mkdirSync(path.join(home, 'state'), { recursive: true });
  const file = path.join(home, 'farol-agent.mjs');
  writeFileSync(file, 'old build');
  const build: RunningBuild = { platform: 'node', file, launcher: (f) => [process.execPath, f] };
  return { file, deps: { build, hubUrl, fetch, stateDir: path.join(home, 'state'), version: '0.1.0', lock: { held: false } } };
}

const context = (): RemoteCommandContext => ({
  commandId: 'cmd_0a1b2c3d4e5f6g7h',
  timeoutMs: 10_000,
  signal: new AbortController().signal,
  onOutput: () => undefined,
  clock: systemClock,
  logger: createSilentLogger(),
});

const command = (artifact: Partial<AgentUpdateCommand['artifacts'][number]> = {}): AgentUpdateCommand => ({
  kind: 'agent_update',
  version: '0.2.0',
  artifacts: [{ platform: 'node', sha256: sha256(NEW_BUILD), size: Buffer.byteLength(NEW_BUILD), path: '/download/updates/farol-agent-0.2.0.mjs', ...artifact }],
});

function assertUntouched(name: string, file: string): void {
  expect(readFileSync(file, 'utf8')).toBe('old build');
  expect(readdirSync(path.dirname(file)).sort(), name).toEqual(['farol-agent.mjs', 'state']);
  expect(readMarker(path.join(path.dirname(file), 'state'))).toBeNull();
}

describe('an agent_update refused before the swap (#15)', () => {
  it('refuses a download longer than the signed size, and changes nothing', async () => {
    const { deps, file } = machine('long');
    const outcome = await runUpdateCommand(command({ path: '/download/updates/long.mjs' }), deps, context());
    expect(outcome).toMatchObject({ swapped: false, outcome: { state: 'failed', error: expect.stringContaining('larger than the signed') } });
    assertUntouched('long', file);
  });

  it('refuses a build for another platform', async () => {
    const { deps, file } = machine('platform');
    const outcome = await runUpdateCommand(command({ platform: 'linux-arm64' }), deps, context());
    expect(outcome).toMatchObject({ outcome: { error: 'the hub has no node build of 0.2.0 (it offers linux-arm64)' } });
    assertUntouched('platform', file);
  });

  it('refuses a build that says another version than the signed one', async () => {
    const { deps, file } = machine('liar');
    const outcome = await runUpdateCommand({ ...command(), version: '0.3.0' }, deps, context());
    expect(outcome).toMatchObject({ outcome: { error: 'the new build says it is "0.2.0", not 0.3.0; nothing was changed' } });
    assertUntouched('liar', file);
  });

  it('refuses a second update while one is in progress', async () => {
    const { deps, file } = machine('busy');
    deps.lock.held = true;
    expect(await runUpdateCommand(command(), deps, context())).toMatchObject({ outcome: { error: 'another update of this agent is in progress' } });
    assertUntouched('busy', file);
  });

  it('swaps a good build in, keeps the previous one and leaves the trial marker', async () => {
    const { deps, file } = machine('good');
    // The fake build answers `--version` by printing 0.2.0 whatever its arguments.
    const outcome = await runUpdateCommand(command(), deps, context());
    expect(outcome).toEqual({ swapped: true, describe: `updated ${file} from 0.1.0 to 0.2.0; restarting` });
    expect(readFileSync(file, 'utf8')).toBe(NEW_BUILD);
    expect(readFileSync(`${file}.prev`, 'utf8')).toBe('old build');
    expect(existsSync(`${file}.new.mjs`)).toBe(false);
    expect(readMarker(deps.stateDir)).toMatchObject({ state: 'trial', version: '0.2.0', previous: '0.1.0', starts: 0 });
  });
});
