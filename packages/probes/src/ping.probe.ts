import { execFile } from 'node:child_process';
import type { CheckProbe, CheckRunResult } from '@farol/protocol';
import type { PinHost } from './index.js';

type PingProbe = Extract<CheckProbe, { kind: 'ping' }>;

/**
 * ICMP echo through the system's `ping` (iputils or BusyBox): no raw sockets or privileges in
 * the agent. Arguments as argv, the host validated by the schema (no leading `-`).
 */
export async function runPingProbe(probe: PingProbe, timeoutMs: number, pingPath = 'ping', pinHost?: PinHost): Promise<CheckRunResult> {
  const waitSeconds = Math.max(1, Math.floor(timeoutMs / 1000));
  const host = probe.host.replace(/^\[(.*)\]$/, '$1');
  let target: string;
  try {
    target = pinHost ? await pinHost(host) : host;
  } catch (error) {
    return { status: 'critical', latencyMs: null, message: `${host}: ${(error as Error).message}`.slice(0, 1024), certDaysLeft: null, perfdata: [] };
  }
  const args = ['-n', '-c', String(probe.count), '-W', String(waitSeconds), '-w', String(waitSeconds), '--', target];
  return new Promise((resolve) => {
    execFile(pingPath, args, { timeout: timeoutMs + 500, encoding: 'utf8', windowsHide: true }, (error, stdout, stderr) => {
      const times = [...stdout.matchAll(/time[=<]([\d.]+)\s*ms/g)].map((m) => Number(m[1]));
      if (times.length > 0) {
        const latencyMs = Math.round((times.reduce((a, b) => a + b, 0) / times.length) * 100) / 100;
        const loss = Math.round((1 - times.length / probe.count) * 100);
        resolve({
          status: 'ok',
          latencyMs,
          message: `${host}: ${times.length}/${probe.count} replies, ${latencyMs} ms average`,
          certDaysLeft: null,
          perfdata: [
            { label: 'rta', value: latencyMs, unit: 'ms', warn: null, crit: null, min: 0, max: null },
            { label: 'pl', value: loss, unit: '%', warn: null, crit: null, min: 0, max: 100 },
          ],
        });
        return;
      }
      const missing = (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
      const reason = missing ? 'the system has no `ping` command (install iputils-ping)' : (stderr.trim().split('\n')[0] || `no reply from ${host}`);
      resolve({ status: missing ? 'unknown' : 'critical', latencyMs: null, message: reason.slice(0, 1024), certDaysLeft: null, perfdata: [] });
    });
  });
}
