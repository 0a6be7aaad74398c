import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_OUTPUT_BYTES, type Command, type CommandAck, type CommandClaims, type CommandOutput, type CommandResult } from '@farol/protocol';
import { createMemoryLogger } from '../logging/logger.js';
import { systemClock } from '../runtime/clock.js';
import { waitFor } from '../testing/agent-harness.js';
import { signTestCommandClaims } from '../testing/signed-token.js';
import { openCommandState } from './command-state.repository.js';
import { ACCEPTED_ACK_DELAY_MS, createCommandExecutor, type CommandExecutor } from './executor.js';
import { loadPolicy } from './policy.schema.js';
import { plainOutcome } from './remote-command.js';
import { runShellCommand } from './shell.command.js';

const AGENT_ID = 'ag_executortest0001';
const hubKeys = generateKeyPairSync('ed25519');
const otherKeys = generateKeyPairSync('ed25519');

function signCommand(claims: Partial<CommandClaims> & { command: Command }, key: KeyObject = hubKeys.privateKey): { token: string; commandId: string } {
  const { token, claims: full } = signTestCommandClaims({ sub: AGENT_ID, ...claims }, key);
  return { token, commandId: full.commandId };
}

/** A hub link that records what the executor sends and acknowledges it (or not). */
function fakeLink() {
  const sent = { acks: [] as CommandAck[], outputs: [] as CommandOutput[], results: [] as CommandResult[] };
  const link = {
    linked: true,
    refuseResults: null as null | 'forbidden' | 'unavailable',
    isLinked: () => link.linked,
    async request(event: string, payload: unknown) {
      if (!link.linked) throw new Error('not connected to the hub');
      if (event === 'command:ack') sent.acks.push(payload as CommandAck);
      if (event === 'command:output') sent.outputs.push(payload as CommandOutput);
      if (event === 'command:result') {
        if (link.refuseResults) return { ok: false, error: { code: link.refuseResults, message: 'no' } };
        sent.results.push(payload as CommandResult);
        return { ok: true, data: { stored: true } };
      }
      return { ok: true, data: {} };
    },
  };
  return { link, sent };
}

let dir: string;
let stateDir: string;
let policyFile: string;
let lifecycle: string[];

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'farol-exec-'));
  stateDir = path.join(dir, 'state');
  policyFile = path.join(dir, 'policy.json');
  lifecycle = [];
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function executor(link: ReturnType<typeof fakeLink>['link']): CommandExecutor {
  const { logger } = createMemoryLogger('warn');
  return createCommandExecutor({
    agentId: AGENT_ID,
    hubKey: hubKeys.publicKey,
    link: link as never,
    state: openCommandState({ dir: stateDir, clock: systemClock, logger }),
    policy: () => loadPolicy(policyFile),
    handlers: {
      shell: (command, context) => runShellCommand(command, context, { PATH: process.env.PATH, FAROL_JOIN_TOKEN: 'secret' }),
      metrics: async () => plainOutcome({ state: 'succeeded', startedAt: Date.now(), endedAt: Date.now() }),
      processes: async () => plainOutcome({ state: 'succeeded', startedAt: Date.now(), endedAt: Date.now() }),
      docker: async () => plainOutcome({ state: 'succeeded', startedAt: Date.now(), endedAt: Date.now() }),
      screenshot: async () => plainOutcome({ state: 'succeeded', startedAt: Date.now(), endedAt: Date.now() }),
    },
    lifecycle: { describe: (kind) => kind, request: (kind) => lifecycle.push(kind) },
    clock: systemClock,
    logger,
  });
}

const resultOf = (sent: ReturnType<typeof fakeLink>['sent'], commandId: string) => sent.results.find((r) => r.commandId === commandId);
const pidGone = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    // ESRCH: no such process, which is what the test waits for.
    return true;
  }
};

describe('remote command executor', () => {
  it('passes argv to the program as is: shell syntax in arguments, env and cwd arrives literally', async () => {
    const { link, sent } = fakeLink();
    const run = executor(link);
    const marker = path.join(dir, 'pwned');
    const hostile = [`a; touch ${marker}`, `$(touch ${marker})`, `\`touch ${marker}\``, `x\ntouch ${marker}`, `&& touch ${marker}`, `| tee ${marker}`, "'q' \"dq\" *"];
    const odd = path.join(dir, `d;touch ${path.basename(marker)}`);
    mkdirSync(odd);
    const echo = signCommand({ command: { kind: 'shell', argv: ['echo', ...hostile] } });
    const env = signCommand({ command: { kind: 'shell', argv: ['printenv', 'INJECTED'], env: { INJECTED: `$(touch ${marker}); \`touch ${marker}\`` } } });
    const cwd = signCommand({ command: { kind: 'shell', argv: ['pwd'], cwd: odd } });
    const secret = signCommand({ command: { kind: 'shell', argv: ['printenv', 'FAROL_JOIN_TOKEN'] } });
    await Promise.all([run.run(echo), run.run(env), run.run(cwd), run.run(secret)]);

    expect(resultOf(sent, echo.commandId)).toMatchObject({ state: 'succeeded', exitCode: 0, stdout: `${hostile.join(' ')}\n` });
    expect(resultOf(sent, env.commandId)!.stdout).toBe(`$(touch ${marker}); \`touch ${marker}\`\n`);
    expect(resultOf(sent, cwd.commandId)!.stdout).toBe(`${odd}\n`);
    // The agent's own FAROL_* settings (a join token) never reach a command.
    expect(resultOf(sent, secret.commandId)).toMatchObject({ state: 'failed', exitCode: 1, stdout: '' });
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(path.join(odd, path.basename(marker)))).toBe(false);
  });

  it('runs a script only through /bin/sh -c, when asked for, and reports its exit code and stderr', async () => {
    const { link, sent } = fakeLink();
    const script = signCommand({ command: { kind: 'shell', shell: true, script: 'echo $((40+2)); echo oops >&2; exit 3' } });
    await executor(link).run(script);
    expect(resultOf(sent, script.commandId)).toMatchObject({ state: 'failed', exitCode: 3, stdout: '42\n', stderr: 'oops\n', error: 'exited with code 3' });
    // It finished within ACCEPTED_ACK_DELAY_MS: its result is its only answer.
    expect(sent.acks).toEqual([]);
  });

  it('tells the hub a longer command is running once ACCEPTED_ACK_DELAY_MS has passed', async () => {
    const { link, sent } = fakeLink();
    const slow = signCommand({ command: { kind: 'shell', shell: true, script: 'sleep 0.6; echo done' } });
    const started = Date.now();
    const done = executor(link).run(slow);
    await waitFor(() => sent.acks.length === 1, 3_000, 'the accepted acknowledgement');
    expect(Date.now() - started).toBeGreaterThanOrEqual(ACCEPTED_ACK_DELAY_MS - 5);
    expect(sent.acks).toEqual([expect.objectContaining({ commandId: slow.commandId, status: 'accepted' })]);
    expect(sent.results).toHaveLength(0);
    await done;
    expect(resultOf(sent, slow.commandId)).toMatchObject({ state: 'succeeded', stdout: 'done\n' });
    expect(sent.acks).toHaveLength(1);
  });

  it('streams output in ordered chunks and caps what it keeps at 64 KiB', async () => {
    const { link, sent } = fakeLink();
    const big = signCommand({ command: { kind: 'shell', argv: [process.execPath, '-e', "process.stdout.write('x'.repeat(100000)); process.stderr.write('done')"] } });
    await executor(link).run(big);
    const result = resultOf(sent, big.commandId)!;
    expect(result.stdout.length).toBe(MAX_OUTPUT_BYTES);
    expect(result.stdoutTruncated).toBe(true);
    expect(result.stderr).toBe('done');
    const chunks = sent.outputs.filter((o) => o.commandId === big.commandId);
    expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i));
    // What streamed is the start of the result's output; the rest came with the result.
    const streamed = chunks.filter((c) => c.stream === 'stdout').map((c) => c.data).join('');
    expect(streamed.length).toBeGreaterThan(0);
    expect(result.stdout.startsWith(streamed)).toBe(true);
  });

  it('kills the whole process tree when the timeout passes', async () => {
    const { link, sent } = fakeLink();
    const slow = signCommand({ timeoutMs: 700, command: { kind: 'shell', shell: true, script: 'sleep 300 & echo $!; wait' } });
    await executor(link).run(slow);
    const result = resultOf(sent, slow.commandId)!;
    expect(result).toMatchObject({ state: 'timed_out', error: 'timed out after 700 ms; its process tree was killed' });
    const child = Number(result.stdout.trim());
    expect(child).toBeGreaterThan(0);
    await waitFor(() => pidGone(child), 3_000, `child ${child} to be killed`);
  });

  it('kills the process tree on cancel, including children that ignore SIGTERM', async () => {
    const { link, sent } = fakeLink();
    const run = executor(link);
    const hang = signCommand({ command: { kind: 'shell', shell: true, script: "sh -c 'trap \"\" TERM; sleep 300' & echo $!; wait" } });
    const done = run.run(hang);
    await waitFor(() => sent.outputs.some((o) => o.commandId === hang.commandId), 3_000, 'the child pid');
    const child = Number(sent.outputs.find((o) => o.commandId === hang.commandId)!.data.trim());
    run.cancel(hang.commandId);
    await done;
    expect(resultOf(sent, hang.commandId)).toMatchObject({ state: 'cancelled' });
    await waitFor(() => pidGone(child), 4_000, `child ${child} to be killed`);
  });

  it('refuses a replayed signed command, and runs a redelivered command id only once', async () => {
    const { link, sent } = fakeLink();
    const run = executor(link);
    const counter = path.join(dir, 'counter');
    const first = signCommand({ command: { kind: 'shell', shell: true, script: `echo ran >> ${counter}` } });
    await run.run(first);
    await run.run(first);
    const redelivery = signCommand({ commandId: first.commandId, command: { kind: 'shell', shell: true, script: `echo ran >> ${counter}` } });
    await run.run(redelivery);

    expect(readFileSync(counter, 'utf8')).toBe('ran\n');
    expect(sent.acks.map((a) => a.status)).toEqual(['refused', 'duplicate']);
    expect(sent.acks[0]!.reason).toContain('replayed');
    expect(sent.results.filter((r) => r.commandId === first.commandId)).toHaveLength(1);
  });

  it('remembers command ids across a restart (on disk), so a redelivery after it does not run again', async () => {
    const counter = path.join(dir, 'counter');
    const first = signCommand({ command: { kind: 'shell', shell: true, script: `echo ran >> ${counter}` } });
    const before = fakeLink();
    await executor(before.link).run(first);
    const after = fakeLink();
    await executor(after.link).run(signCommand({ commandId: first.commandId, command: { kind: 'shell', shell: true, script: `echo ran >> ${counter}` } }));
    expect(readFileSync(counter, 'utf8')).toBe('ran\n');
    expect(after.sent.acks.map((a) => a.status)).toEqual(['duplicate']);
  });

  it('refuses commands signed by another key or for another agent, without running them', async () => {
    const { link, sent } = fakeLink();
    const run = executor(link);
    const marker = path.join(dir, 'ran');
    const forged = signCommand({ command: { kind: 'shell', argv: ['touch', marker] } }, otherKeys.privateKey);
    const elsewhere = signCommand({ sub: 'ag_someoneelse00001', command: { kind: 'shell', argv: ['touch', marker] } });
    await run.run(forged);
    await run.run(elsewhere);
    await run.run({ token: 'not.a.jws' });
    expect(existsSync(marker)).toBe(false);
    expect(sent.acks).toEqual([
      expect.objectContaining({ commandId: forged.commandId, status: 'refused', reason: 'the signature does not verify with the hub key pinned at enrollment' }),
      expect.objectContaining({ commandId: elsewhere.commandId, status: 'refused', reason: 'the command is signed for another agent' }),
    ]);
    expect(sent.results).toEqual([]);
  });

  it('answers an expired command with state expired and never runs it', async () => {
    const { link, sent } = fakeLink();
    const marker = path.join(dir, 'ran');
    const late = signCommand({ exp: Math.floor(Date.now() / 1000) - 1, command: { kind: 'shell', argv: ['touch', marker] } });
    await executor(link).run(late);
    await waitFor(() => sent.results.length === 1, 2_000, 'the result');
    expect(sent.results[0]).toMatchObject({ commandId: late.commandId, state: 'expired', startedAt: null });
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses what the local policy does not allow, as refused by agent policy', async () => {
    const { link, sent } = fakeLink();
    const run = executor(link);
    writeFileSync(policyFile, JSON.stringify({ allow: ['metrics'] }));
    const shell = signCommand({ command: { kind: 'shell', argv: ['true'] } });
    const metrics = signCommand({ command: { kind: 'metrics' } });
    await run.run(shell);
    await run.run(metrics);
    writeFileSync(policyFile, '{ "allow": [');
    const broken = signCommand({ command: { kind: 'metrics' } });
    await run.run(broken);
    await waitFor(() => sent.results.length === 3, 2_000, 'three results');
    expect(resultOf(sent, shell.commandId)).toMatchObject({ state: 'refused', error: 'refused by agent policy: shell is not allowed here' });
    expect(resultOf(sent, metrics.commandId)).toMatchObject({ state: 'succeeded' });
    expect(resultOf(sent, broken.commandId)!.error).toMatch(/^refused by agent policy: the agent policy .* cannot be read/);
  });

  it('keeps results on disk while the hub is away and sends them after the next hello', async () => {
    const { link, sent } = fakeLink();
    const run = executor(link);
    link.linked = false;
    const offline = signCommand({ command: { kind: 'shell', argv: ['echo', 'kept'] } });
    await run.run(offline);
    expect(sent.results).toEqual([]);
    expect(readFileSync(path.join(stateDir, 'results', `${offline.commandId}.json`), 'utf8')).toContain('kept');

    link.linked = true;
    link.refuseResults = 'unavailable';
    await run.flushOutbox();
    expect(existsSync(path.join(stateDir, 'results', `${offline.commandId}.json`))).toBe(true);
    link.refuseResults = null;
    await run.flushOutbox();
    expect(resultOf(sent, offline.commandId)!.stdout).toBe('kept\n');
    expect(existsSync(path.join(stateDir, 'results', `${offline.commandId}.json`))).toBe(false);
  });

  it('sends a result the hub could not take again on the same connection, until it is acknowledged (issue #14)', async () => {
    // Several hubs: the agent's hub could not reach the job's hub in time and answered `unavailable`.
    const { link, sent } = fakeLink();
    const run = executor(link);
    link.refuseResults = 'unavailable';
    const command = signCommand({ command: { kind: 'shell', argv: ['echo', 'again'] } });
    await run.run(command);
    expect(sent.results).toEqual([]);
    expect(existsSync(path.join(stateDir, 'results', `${command.commandId}.json`))).toBe(true);
    link.refuseResults = null;
    // No new hello, no flushOutbox: the executor sends it again by itself.
    await waitFor(() => resultOf(sent, command.commandId) !== undefined, 20_000, 'the result sent again');
    expect(resultOf(sent, command.commandId)!.stdout).toBe('again\n');
    await waitFor(() => !existsSync(path.join(stateDir, 'results', `${command.commandId}.json`)), 5_000, 'the result dropped once acknowledged');
  });

  it('reports a command that was running when the agent died, once', async () => {
    mkdirSync(path.join(stateDir, 'running'), { recursive: true });
    const commandId = 'cmd_interrupted00001';
    writeFileSync(path.join(stateDir, 'running', `${commandId}.json`), JSON.stringify({ commandId, pid: 4242, startedAt: Date.now() - 1_000 }));
    const { link, sent } = fakeLink();
    await executor(link).flushOutbox();
    expect(resultOf(sent, commandId)).toMatchObject({ state: 'failed', error: 'the agent stopped while the command ran (process 4242 may still be running)' });
    const again = fakeLink();
    await executor(again.link).flushOutbox();
    expect(again.sent.results).toEqual([]);
  });

  it('answers restart and stop, then asks the agent to do it', async () => {
    const { link, sent } = fakeLink();
    const run = executor(link);
    const restart = signCommand({ command: { kind: 'restart' } });
    await run.run(restart);
    expect(resultOf(sent, restart.commandId)).toMatchObject({ state: 'succeeded', stdout: 'restart\n' });
    expect(lifecycle).toEqual(['restart']);
  });
});
