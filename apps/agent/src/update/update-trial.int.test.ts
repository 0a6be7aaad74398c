import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UPDATE_TRIAL_MS } from '@farol/protocol';
import { createSilentLogger } from '../logging/logger.js';
import { openCommandState, type CommandStateRepository } from '../remote/command-state.repository.js';
import { beginUpdateTrial } from './update-trial.js';
import { markerPath, readMarker, writeMarker } from './update-marker.js';

const COMMAND_ID = 'cmd_0a1b2c3d4e5f6g7h';

describe('an agent update on trial after the swap (#15)', () => {
  let dir: string;
  let file: string;
  let now: number;
  const clock = { now: () => now };
  const logger = createSilentLogger();
  const commandsOf = (): CommandStateRepository => openCommandState({ dir: path.join(dir, 'state', 'commands'), clock, logger });
  const start = (version: string) => beginUpdateTrial({ stateDir: path.join(dir, 'state'), commands: commandsOf(), clock, logger, version });

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'farol-trial-'));
    now = 1_800_000_000_000;
    file = path.join(dir, 'farol-agent.mjs');
    // What the update left: the new build in place, the old one beside it, the marker.
    writeFileSync(file, 'new build 0.2.0');
    writeFileSync(`${file}.prev`, 'old build 0.1.0');
    commandsOf().remember({ commandId: COMMAND_ID, jti: 'jti-0123456789abcdef' });
    writeMarker(path.join(dir, 'state'), { state: 'trial', commandId: COMMAND_ID, version: '0.2.0', previous: '0.1.0', file, prevFile: `${file}.prev`, startedAt: null, starts: 0 });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('confirms the new version at its first hello: the update command succeeds and the marker is gone', () => {
    const trial = start('0.2.0');
    expect(trial.kind).toBe('trial');
    if (trial.kind !== 'trial') return;
    expect(trial.deadline).toBe(now + UPDATE_TRIAL_MS);
    trial.confirm();
    expect(commandsOf().result(COMMAND_ID)).toMatchObject({ state: 'succeeded', exitCode: 0, stdout: 'updated from 0.1.0 to 0.2.0\n' });
    expect(existsSync(markerPath(path.join(dir, 'state')))).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('new build 0.2.0');
  });

  it('puts the previous build back after three starts without a hello, and the old version then answers why', () => {
    for (let i = 1; i <= 3; i++) expect(start('0.2.0').kind).toBe('trial');
    const fourth = start('0.2.0');
    expect(fourth).toMatchObject({ kind: 'rolled_back', reason: '0.2.0 started 3 times without connecting to the hub' });
    expect(readFileSync(file, 'utf8')).toBe('old build 0.1.0');
    expect(readMarker(path.join(dir, 'state'))).toMatchObject({ state: 'rolled_back' });

    // The supervisor starts the old build again.
    expect(start('0.1.0').kind).toBe('none');
    expect(commandsOf().result(COMMAND_ID)).toMatchObject({ state: 'failed', error: 'rolled back to 0.1.0: 0.2.0 started 3 times without connecting to the hub' });
    expect(existsSync(markerPath(path.join(dir, 'state')))).toBe(false);
  });

  it('rolls back when a restart comes after the trial minute without a hello', () => {
    expect(start('0.2.0').kind).toBe('trial');
    now += UPDATE_TRIAL_MS;
    expect(start('0.2.0')).toMatchObject({ kind: 'rolled_back', reason: '0.2.0 did not connect to the hub within 60 s' });
    expect(readFileSync(file, 'utf8')).toBe('old build 0.1.0');
  });

  it('the running trial rolls back by itself at its deadline (the timer of run.command.ts)', () => {
    const trial = start('0.2.0');
    if (trial.kind !== 'trial') throw new Error('expected a trial');
    trial.rollBack('the new version did not connect to the hub within its trial');
    trial.confirm();
    expect(readFileSync(file, 'utf8')).toBe('old build 0.1.0');
    expect(readMarker(path.join(dir, 'state'))).toMatchObject({ state: 'rolled_back', reason: 'the new version did not connect to the hub within its trial' });
  });
});
