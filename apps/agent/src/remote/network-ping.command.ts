import { execFile } from 'node:child_process';
import { DEFAULT_NETWORK_PING_COUNT, type NetworkPingCommand, type NetworkPingData } from '@farol/protocol';
import { plainOutcome, type RemoteCommandContext, type RemoteOutcome } from './remote-command.js';

/** What `ping` printed, reduced to the figures the hub keeps. */
export function parsePingOutput(host: string, sent: number, stdout: string): NetworkPingData {
  const times = [...stdout.matchAll(/time[=<]([\d.]+)\s*ms/g)].map((m) => Number(m[1])).filter(Number.isFinite);
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  const received = Math.min(times.length, sent);
  return {
    kind: 'network_ping',
    host,
    sent,
    received,
    rttMinMs: received > 0 ? round(Math.min(...times)) : null,
    rttAvgMs: received > 0 ? round(times.reduce((a, b) => a + b, 0) / times.length) : null,
    rttMaxMs: received > 0 ? round(Math.max(...times)) : null,
  };
}

/**
 * `network_ping` (issue #19): ICMP echo to one address through the system's `ping` (iputils or
 * BusyBox), as the ping check does: argv only, the address validated as an IP literal by the
 * schema, so no shell and no option can be smuggled in. Exit 0 when at least one reply came.
 */
export function runNetworkPingCommand(command: NetworkPingCommand, context: RemoteCommandContext, pingPath = 'ping'): Promise<RemoteOutcome> {
  const startedAt = context.clock.now();
  const count = command.count ?? DEFAULT_NETWORK_PING_COUNT;
  // One second between requests (iputils' default), a second more for the last reply.
  const deadlineSeconds = Math.max(2, Math.min(Math.ceil(context.timeoutMs / 1000), count + 2));
  const args = ['-n', '-c', String(count), '-W', '2', '-w', String(deadlineSeconds), '--', command.host];
  return new Promise((resolve) => {
    execFile(pingPath, args, { timeout: context.timeoutMs, signal: context.signal, encoding: 'utf8', windowsHide: true }, (error, stdout, stderr) => {
      const endedAt = context.clock.now();
      if (context.signal.aborted) {
        resolve(plainOutcome({ state: 'cancelled', startedAt, endedAt, error: 'cancelled' }));
        return;
      }
      const data = parsePingOutput(command.host, count, stdout);
      const output = { stdout: stdout.slice(0, 16_384), stderr: stderr.slice(0, 4_096) };
      if (data.received > 0) {
        resolve(plainOutcome({ state: 'succeeded', exitCode: 0, startedAt, endedAt, data, ...output }));
        return;
      }
      const missing = (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
      const reason = missing ? 'this machine has no `ping` command (install iputils-ping)' : stderr.trim().split('\n')[0] || `no reply from ${command.host}`;
      const exitCode = typeof (error as { code?: unknown } | null)?.code === 'number' ? ((error as { code: number }).code || 1) : 1;
      resolve(plainOutcome({ state: 'failed', exitCode, startedAt, endedAt, data, error: reason.slice(0, 1_000), ...output }));
    });
  });
}
