import { spawn } from 'node:child_process';
import type { CheckProbe, CheckRunResult } from '@farol/protocol';
import { parsePluginOutput, statusOfExitCode } from './nagios.js';

type CommandProbe = Extract<CheckProbe, { kind: 'command' }>;

/** Output kept from a plugin (its first line and perfdata are all that is used). */
const MAX_OUTPUT_BYTES = 64 * 1024;

/**
 * Runs a Nagios-compatible plugin as argv (no shell), kills it at the timeout (UNKNOWN, as the
 * plugin guidelines say), and reads its exit code, first line and performance data.
 */
export function runCommandProbe(probe: CommandProbe, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<CheckRunResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    let output = '';
    let settled = false;
    const done = (result: CheckRunResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    // Its own process group (not on Windows), so a timeout ends what the plugin started too.
    const ownGroup = process.platform !== 'win32';
    const child = spawn(probe.argv[0]!, probe.argv.slice(1), { shell: false, stdio: ['ignore', 'pipe', 'pipe'], env, windowsHide: true, detached: ownGroup });
    const timer = setTimeout(() => {
      try {
        if (ownGroup && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch (error) {
        // ESRCH: the group ended between the timeout and the kill; nothing is left to stop.
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
      done({ status: 'unknown', latencyMs: null, message: `the plugin did not finish within ${timeoutMs} ms`, certDaysLeft: null, perfdata: [] });
    }, timeoutMs);
    const keep = (chunk: Buffer): void => {
      if (output.length < MAX_OUTPUT_BYTES) output += chunk.toString('utf8');
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', (chunk: Buffer) => {
      // stderr only counts when stdout said nothing (a plugin that crashed).
      if (output === '') keep(chunk);
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      done({ status: 'unknown', latencyMs: null, message: `cannot run ${probe.argv[0]}: ${error.code ?? error.message}`, certDaysLeft: null, perfdata: [] });
    });
    child.once('close', (code, signal) => {
      const latencyMs = Math.round((performance.now() - started) * 10) / 10;
      const { message, perfdata } = parsePluginOutput(output);
      const shown = message || (signal ? `killed by ${signal}` : `exit code ${code}`);
      done({ status: statusOfExitCode(code), latencyMs, message: shown.slice(0, 1024), certDaysLeft: null, perfdata });
    });
  });
}
