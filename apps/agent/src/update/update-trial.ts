import { renameSync } from 'node:fs';
import path from 'node:path';
import { FAROL_VERSION, UPDATE_TRIAL_MAX_STARTS, UPDATE_TRIAL_MS } from '@farol/protocol';
import type { Logger } from '../logging/logger.js';
import type { CommandStateRepository } from '../remote/command-state.repository.js';
import { plainOutcome } from '../remote/remote-command.js';
import type { Clock } from '../runtime/clock.js';
import { syncDir } from './update.command.js';
import { readMarker, removeMarker, writeMarker, type UpdateMarker } from './update-marker.js';

/** What the start-up check decided. */
export type TrialStart =
  /** Nothing on trial. */
  | { kind: 'none' }
  /** This is the new version on trial: confirm it at the first hello, or roll back at `deadline`. */
  | { kind: 'trial'; deadline: number; confirm(): void; rollBack(reason: string): void }
  /** The new version gave up: the previous build is back in place; exit to be restarted. */
  | { kind: 'rolled_back'; reason: string };

export interface TrialOptions {
  stateDir: string;
  commands: CommandStateRepository;
  clock: Clock;
  logger: Logger;
  version?: string;
}

/**
 * Run at every start, before the agent connects: settles an update left by the previous process.
 * The new version counts its starts; after UPDATE_TRIAL_MAX_STARTS starts, or UPDATE_TRIAL_MS
 * after its first, without a hello it puts the previous build back. The old version, started
 * again after that, answers the update command with the reason (the hub's rollout stops on it).
 */
export function beginUpdateTrial({ stateDir, commands, clock, logger, version = FAROL_VERSION }: TrialOptions): TrialStart {
  const marker = readMarker(stateDir);
  if (marker === null) return { kind: 'none' };
  if ('error' in marker) {
    logger.error({ reason: marker.error }, 'the update marker cannot be read; leaving the build as it is');
    removeMarker(stateDir);
    return { kind: 'none' };
  }
  const answer = (state: 'succeeded' | 'failed', text: string): void => {
    const now = clock.now();
    commands.saveResult({ commandId: marker.commandId, ...plainOutcome({ state, exitCode: state === 'succeeded' ? 0 : null, startedAt: marker.startedAt ?? now, endedAt: now, ...(state === 'succeeded' ? { stdout: `${text}\n` } : { error: text }) }) });
  };

  if (marker.state === 'rolled_back' || marker.version !== version) {
    // The old version is running again: after a rollback, or the swap never took effect.
    const reason = marker.state === 'rolled_back' ? `rolled back to ${version}: ${marker.reason ?? 'the new version did not connect'}` : `the agent is still on ${version} after the update to ${marker.version}`;
    logger.warn({ version, wanted: marker.version, reason }, 'update to a new version failed');
    answer('failed', reason);
    removeMarker(stateDir);
    return { kind: 'none' };
  }

  const now = clock.now();
  const startedAt = marker.startedAt ?? now;
  const starts = marker.starts + 1;
  const rollBack = (reason: string): void => rollBackTo(stateDir, marker, reason, logger);
  if (starts > UPDATE_TRIAL_MAX_STARTS) {
    const reason = `${version} started ${marker.starts} times without connecting to the hub`;
    rollBack(reason);
    return { kind: 'rolled_back', reason };
  }
  if (now - startedAt >= UPDATE_TRIAL_MS) {
    const reason = `${version} did not connect to the hub within ${UPDATE_TRIAL_MS / 1000} s`;
    rollBack(reason);
    return { kind: 'rolled_back', reason };
  }
  writeMarker(stateDir, { ...marker, startedAt, starts });
  logger.info({ version, previous: marker.previous, start: starts }, 'new agent version on trial until it connects to the hub');
  let settled = false;
  return {
    kind: 'trial',
    deadline: startedAt + UPDATE_TRIAL_MS,
    confirm() {
      if (settled) return;
      settled = true;
      answer('succeeded', `updated from ${marker.previous} to ${version}`);
      removeMarker(stateDir);
      logger.info({ version, previous: marker.previous }, 'the new agent version connected; update confirmed');
    },
    rollBack(reason) {
      if (settled) return;
      settled = true;
      rollBack(reason);
    },
  };
}

/** Puts `<file>.prev` back in place (atomically) and leaves the reason for the old version. */
function rollBackTo(stateDir: string, marker: UpdateMarker, reason: string, logger: Logger): void {
  logger.error({ version: marker.version, previous: marker.previous, reason }, 'rolling back to the previous agent build');
  renameSync(marker.prevFile, marker.file);
  syncDir(path.dirname(marker.file));
  writeMarker(stateDir, { ...marker, state: 'rolled_back', reason });
}
