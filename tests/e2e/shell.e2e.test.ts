import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as pty from 'node-pty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentList, AuditList, TerminalSessionList } from '@farol/protocol';
import { ADMIN_TOKEN, agentBundle, api, farolBin, freePort, joinToken, root, run, startHubProcess, tempDir, waitFor, type Proc } from './support/processes.js';

// `farol shell` as an operator uses it: the CLI process on a real PTY (node-pty plays the
// operator's terminal), a hub process, and an agent process that starts a real login shell.

const dir = tempDir('shell');
const policyFile = path.join(dir.path, 'policy.json');
let hub: Proc & { url: string };
let agent: Proc;

beforeAll(async () => {
  hub = await startHubProcess(path.join(dir.path, 'hub'), await freePort(), { FAROL_TERMINAL_RECORD: 'true' });
  const token = await joinToken(hub.url);
  agent = run([agentBundle, 'run', '--hub', hub.url, '--token', token, '--state', path.join(dir.path, 'agent'), '--name', 'box', '--interval', '2s', '--reconnect-max', '2s', '--policy', policyFile], {
    env: { SHELL: '/bin/bash', HOME: dir.path },
  });
  await waitFor(async () => (await api<AgentList>(hub.url, 'GET', '/api/agents?status=online')).body.agents[0], 30_000, 'the agent online');
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await hub?.stop();
  dir.remove();
});

/**
 * `farol ARGS` on a fresh PTY of 100×30; its screen is `output()`. With `thenStty`, a shell runs
 * it and then prints its exit code and the terminal's settings, to see them restored.
 */
function farolOnPty(args: string[], { thenStty = false } = {}) {
  const command = [process.execPath, farolBin, ...args].map((arg) => `'${arg}'`).join(' ');
  const [file, argv] = thenStty ? ['/bin/sh', ['-c', `${command}; echo "CODE=$?"; stty -a`]] : [process.execPath, [farolBin, ...args]];
  const term = pty.spawn(file, argv, {
    name: 'xterm-256color',
    cols: 100,
    rows: 30,
    cwd: root,
    env: { ...process.env, FAROL_HUB_URL: hub.url, FAROL_TOKEN: ADMIN_TOKEN, FAROL_LOG_LEVEL: 'warn' },
  });
  let output = '';
  term.onData((data) => (output += data));
  const exited = new Promise<number>((resolve) => term.onExit(({ exitCode }) => resolve(exitCode)));
  return { term, output: () => output, exited };
}

const until = (probe: () => boolean, what: string, timeoutMs = 15_000) => waitFor(() => (probe() ? true : undefined), timeoutMs, what);

describe('farol shell', () => {
  it('types `echo hi` into a remote shell, follows a resize, and exits with the shell\'s code', async () => {
    const shell = farolOnPty(['shell', 'box'], { thenStty: true });
    // The size of the operator's terminal is the remote PTY's.
    shell.term.write('stty size; echo h""i\r');
    // Node's raw mode keeps the local terminal's output processing, so lines end in \r\r\n here.
    await until(() => /\b30 100\r+\n/.test(shell.output()) && /[\r\n]hi\r+\n/.test(shell.output()), 'hi and the size');
    // Raw mode: Ctrl-C goes to the remote shell (interrupting `sleep`), not to the CLI.
    shell.term.write('echo st""arted; sleep 30\r');
    await until(() => /[\r\n]started\r+\n/.test(shell.output()), 'sleep to start');
    shell.term.write('\x03');
    shell.term.write('echo after-int\r');
    await until(() => /[\r\n]after-int\r+\n/.test(shell.output()), 'the shell after Ctrl-C');
    // SIGWINCH reaches the CLI when its terminal changes size; the remote PTY follows.
    shell.term.resize(120, 40);
    // Asked again until the resize has crossed CLI → hub → agent (a loaded machine may be slow).
    let asked = 0;
    await until(() => {
      if (/\b40 120\r+\n/.test(shell.output())) return true;
      if (asked++ % 10 === 0) shell.term.write('stty size\r');
      return false;
    }, 'the new size');
    shell.term.write('exit 3\r');
    await shell.exited;
    expect(shell.output()).toMatch(/CODE=3\r?\n/);
    // The operator's terminal is back to cooked mode with echo.
    const settings = shell.output().slice(shell.output().indexOf('CODE=3'));
    expect(settings).toMatch(/(^|\s)icanon(\s|$)/m);
    expect(settings).toMatch(/(^|\s)echo(\s|$)/m);
    expect(settings).not.toMatch(/-icanon/);

    const sessions = (await api<TerminalSessionList>(hub.url, 'GET', '/api/terminal/sessions?agent=box')).body.sessions;
    expect(sessions[0]).toMatchObject({ agentName: 'box', closeReason: 'exited', exitCode: 3, cols: 120, rows: 40, recorded: true });
    const audit = (await api<AuditList>(hub.url, 'GET', '/api/audit?agent=box')).body.entries;
    expect(audit.filter((entry) => entry.details.sessionId === sessions[0]!.id).map((entry) => entry.action).sort()).toEqual(['terminal.close', 'terminal.open']);
    const recording = await fetch(`${hub.url}/api/terminal/sessions/${sessions[0]!.id}/recording`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const events = (await recording.text()).trim().split('\n').slice(1).map((line) => JSON.parse(line) as [number, string, string]);
    expect(events.filter(([, type]) => type === 'o').map(([, , text]) => text).join('')).toMatch(/\r\nhi\r\n/);
  });

  it('says in one line why a terminal is refused, and exits 1', async () => {
    const unknown = farolOnPty(['shell', 'no-such-machine']);
    expect(await unknown.exited).toBe(1);
    expect(unknown.output().trim()).toBe('farol: no machine named no-such-machine; see farol agents ls');

    writeFileSync(policyFile, JSON.stringify({ allow: ['shell'] }));
    const refused = farolOnPty(['shell', 'box']);
    expect(await refused.exited).toBe(1);
    expect(refused.output().trim().split('\n')).toHaveLength(1);
    expect(refused.output()).toContain('box: refused by agent policy: terminal is not allowed here');
  });

  it('says so when the machine\'s agent has no node-pty next to it (the one-file agent of a new machine)', async () => {
    // The downloaded agent alone in a directory, as install.sh leaves it: no node_modules above it.
    const lonelyDir = path.join(dir.path, 'lonely');
    mkdirSync(lonelyDir);
    const lonelyBundle = path.join(lonelyDir, 'farol-agent.mjs');
    copyFileSync(agentBundle, lonelyBundle);
    const lonely = run([lonelyBundle, 'run', '--hub', hub.url, '--token', await joinToken(hub.url), '--state', path.join(lonelyDir, 'state'), '--name', 'lonely', '--interval', '2s'], { cwd: lonelyDir });
    try {
      await waitFor(async () => ((await api<AgentList>(hub.url, 'GET', '/api/agents?status=online')).body.agents.some((a) => a.name === 'lonely') ? true : undefined), 30_000, 'lonely online');
      const refused = farolOnPty(['shell', 'lonely']);
      expect(await refused.exited).toBe(1);
      expect(refused.output().trim().split('\n')).toHaveLength(1);
      expect(refused.output()).toContain(`lonely: terminal unavailable: node-pty is not installed next to the agent (run \`npm install node-pty@1\` in ${lonelyDir}`);
    } finally {
      await lonely.stop();
    }
  });

  it('ends the remote shell and everything it started when the hub goes away', async () => {
    writeFileSync(policyFile, JSON.stringify({ allow: ['*'] }));
    const shell = farolOnPty(['shell', 'box']);
    shell.term.write('sleep 300 & echo "BG=$!"\r');
    await until(() => /BG=\d+/.test(shell.output()), 'the background job');
    const pid = Number(/BG=(\d+)/.exec(shell.output())![1]);
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(alive()).toBe(true);
    // Abruptly: no goodbye from the hub, only lost connections on both sides.
    await hub.stop('SIGKILL');
    expect(await shell.exited).toBe(1);
    expect(shell.output()).toContain('farol: session closed: the connection to the hub was lost');
    await until(() => !alive(), 'the agent to kill the shell\'s job', 10_000);
  });
});
