import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, statSync, chmodSync, writeSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { FAROL_VERSION, type AgentUpdateCommand, type UpdateArtifact } from '@farol/protocol';
import { plainOutcome, type RemoteCommandContext, type RemoteOutcome } from '../remote/remote-command.js';
import type { RunningBuild } from './agent-build.js';
import { readMarker, removeMarker, writeMarker } from './update-marker.js';

/** How long the downloaded build has to print its version (it loads everything it bundles). */
const SELF_TEST_TIMEOUT_MS = 30_000;

export interface UpdateDeps {
  /** The build this process runs from, or why it cannot be updated. */
  build: RunningBuild | { error: string };
  /** The hub the agent is linked to; downloads come only from there. */
  hubUrl: string;
  fetch: typeof fetch;
  stateDir: string;
  version?: string;
  /** One update at a time in this process (a second rollout may reach the agent meanwhile). */
  lock: { held: boolean };
}

/** A failed update leaves everything as it was; a swapped one restarts into the new build. */
export type UpdateOutcome = { swapped: false; outcome: RemoteOutcome } | { swapped: true; describe: string };

/**
 * `agent_update`: downloads this platform's build from the hub into a file beside the running
 * one, checks its size and SHA-256 against the signed command, checks it starts and says the
 * promised version, then swaps it in atomically (the old file stays as `<file>.prev`) after
 * writing the trial marker. The result is sent by the next start: success once the new version
 * said hello, failure after a rollback (see update-trial.ts).
 */
export async function runUpdateCommand(command: AgentUpdateCommand, deps: UpdateDeps, context: RemoteCommandContext): Promise<UpdateOutcome> {
  const startedAt = context.clock.now();
  const current = deps.version ?? FAROL_VERSION;
  const fail = (error: string): UpdateOutcome => ({ swapped: false, outcome: plainOutcome({ state: 'failed', startedAt, endedAt: context.clock.now(), error }) });
  if ('error' in deps.build) return fail(deps.build.error);
  const build = deps.build;
  if (command.version === current) {
    return { swapped: false, outcome: plainOutcome({ state: 'succeeded', exitCode: 0, startedAt, endedAt: context.clock.now(), stdout: `already on ${current}\n` }) };
  }
  if (deps.lock.held || readMarker(deps.stateDir) !== null) return fail('another update of this agent is in progress');
  deps.lock.held = true;
  try {
    return await stageAndSwap(command, deps, build, current, context, fail);
  } finally {
    deps.lock.held = false;
  }
}

async function stageAndSwap(
  command: AgentUpdateCommand,
  deps: UpdateDeps,
  build: RunningBuild,
  current: string,
  context: RemoteCommandContext,
  fail: (error: string) => UpdateOutcome,
): Promise<UpdateOutcome> {
  const artifact = command.artifacts.find((candidate) => candidate.platform === build.platform);
  if (!artifact) return fail(`the hub has no ${build.platform} build of ${command.version} (it offers ${command.artifacts.map((a) => a.platform).join(', ')})`);

  // Same extension: Node runs a .mjs as a module only under that name.
  const staged = `${build.file}.new${path.extname(build.file)}`;
  try {
    const download = await downloadVerified(artifact, deps, staged, context);
    if (download !== null) return fail(download);
    const selfTest = checkStarts(build, staged, command.version);
    if (selfTest !== null) return fail(selfTest);
    context.onOutput('stdout', `downloaded ${artifact.size} bytes, SHA-256 ${artifact.sha256} as signed by the hub; ${command.version} starts\n`);
  } catch (error) {
    rmSync(staged, { force: true });
    return fail(`cannot stage the new build beside ${build.file}: ${(error as Error).message}`);
  }

  // The marker first: once the new file is in place, every start knows it is on trial.
  const prevFile = `${build.file}.prev`;
  try {
    keepPrevious(build.file, prevFile);
    writeMarker(deps.stateDir, { state: 'trial', commandId: context.commandId, version: command.version, previous: current, file: build.file, prevFile, startedAt: null, starts: 0 });
    renameSync(staged, build.file);
    syncDir(path.dirname(build.file));
  } catch (error) {
    rmSync(staged, { force: true });
    removeMarker(deps.stateDir);
    return fail(`cannot swap in the new build at ${build.file}: ${(error as Error).message} (the agent needs write access to that folder)`);
  }
  context.logger.info({ from: current, to: command.version, file: build.file }, 'new agent build in place; restarting into it');
  return { swapped: true, describe: `updated ${build.file} from ${current} to ${command.version}; restarting` };
}

/** Streams the build into `staged`, at most its signed size; null when size and SHA-256 match. */
async function downloadVerified(artifact: UpdateArtifact, deps: UpdateDeps, staged: string, context: RemoteCommandContext): Promise<string | null> {
  const url = new URL(artifact.path, deps.hubUrl);
  const controller = new AbortController();
  const onAbort = (): void => controller.abort();
  context.signal.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(onAbort, context.timeoutMs);
  const fd = openSync(staged, 'w', 0o600);
  let ok = false;
  try {
    const response = await deps.fetch(url, { signal: controller.signal });
    if (!response.ok || !response.body) return `the hub answered ${response.status} for ${artifact.path}`;
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > artifact.size) return `the download is larger than the signed ${artifact.size} bytes; nothing was changed`;
      hash.update(chunk);
      writeSync(fd, chunk);
    }
    if (size !== artifact.size) return `the download has ${size} bytes, the signed manifest says ${artifact.size}; nothing was changed`;
    const sha256 = hash.digest('hex');
    if (sha256 !== artifact.sha256) return `the download's SHA-256 ${sha256} is not the signed ${artifact.sha256}; nothing was changed`;
    fsyncSync(fd);
    ok = true;
    return null;
  } catch (error) {
    return `the download from ${url.origin} failed: ${(error as Error).message}; nothing was changed`;
  } finally {
    clearTimeout(timer);
    context.signal.removeEventListener('abort', onAbort);
    closeSync(fd);
    if (!ok) rmSync(staged, { force: true });
  }
}

/** The new build must load and print the version it claims; a build that cannot start is never swapped in. */
function checkStarts(build: RunningBuild, staged: string, version: string): string | null {
  chmodSync(staged, statSync(build.file).mode & 0o777);
  const [program, ...args] = build.launcher(staged);
  const run = spawnSync(program, [...args, '--version'], { encoding: 'utf8', timeout: SELF_TEST_TIMEOUT_MS, env: { ...process.env, FAROL_UPDATE_SELF_TEST: '1' } });
  const said = (run.stdout ?? '').trim();
  if (run.error || run.status !== 0) {
    rmSync(staged, { force: true });
    const lines = (run.stderr ?? '').trim().split('\n');
    const why = run.error?.message ?? `exit ${run.status ?? run.signal}: ${lines.find((line) => /Error\b/.test(line)) ?? lines.at(-1) ?? ''}`;
    return `the new build does not start (${why}); nothing was changed`;
  }
  if (said !== version) {
    rmSync(staged, { force: true });
    return `the new build says it is ${JSON.stringify(said.slice(0, 64))}, not ${version}; nothing was changed`;
  }
  return null;
}

/** `<file>.prev` = the running build, by a hard link when the filesystem has them (no copy of 120 MB). */
function keepPrevious(file: string, prevFile: string): void {
  const temporary = `${prevFile}.${process.pid}.tmp`;
  rmSync(temporary, { force: true });
  try {
    linkSync(file, temporary);
  } catch (error) {
    // No hard links here (some network filesystems): a copy does the same job, slower.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM' && (error as NodeJS.ErrnoException).code !== 'ENOTSUP') throw error;
    copyFileSync(file, temporary);
  }
  renameSync(temporary, prevFile);
}

/** Makes renames in `dir` durable (a power cut after the swap keeps it). */
export function syncDir(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
