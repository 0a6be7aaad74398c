import net from 'node:net';
import type { CheckProbe, CheckRunResult } from '@farol/protocol';
import type { PinHost } from './index.js';

type TcpProbe = Extract<CheckProbe, { kind: 'tcp' }>;

/** One TCP connect: up when the handshake completes within the timeout. */
export async function runTcpProbe(probe: TcpProbe, timeoutMs: number, pinHost?: PinHost): Promise<CheckRunResult> {
  const started = performance.now();
  const named = probe.host.replace(/^\[(.*)\]$/, '$1');
  let host: string;
  try {
    host = pinHost ? await pinHost(named) : named;
  } catch (error) {
    return { status: 'critical', latencyMs: null, message: `${probe.host}:${probe.port}: ${(error as Error).message}`.slice(0, 1024), certDaysLeft: null, perfdata: [] };
  }
  return new Promise((resolve) => {
    const socket = net.connect({ host, port: probe.port });
    const finish = (result: CheckRunResult): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ status: 'critical', latencyMs: null, message: `no connection to ${probe.host}:${probe.port} within ${timeoutMs} ms`, certDaysLeft: null, perfdata: [] }), timeoutMs);
    socket.once('connect', () => {
      const latencyMs = Math.round((performance.now() - started) * 10) / 10;
      finish({ status: 'ok', latencyMs, message: `connected to ${probe.host}:${probe.port} in ${Math.round(latencyMs)} ms`, certDaysLeft: null, perfdata: [{ label: 'time', value: latencyMs, unit: 'ms', warn: null, crit: null, min: 0, max: null }] });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      finish({ status: 'critical', latencyMs: null, message: `${probe.host}:${probe.port}: ${error.code ?? error.message}`, certDaysLeft: null, perfdata: [] });
    });
  });
}
