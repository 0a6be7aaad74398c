import type { CheckProbe, CheckRunResult } from '@farol/protocol';
import { runCommandProbe } from './command.probe.js';
import { runDnsProbe } from './dns.probe.js';
import { runHttpProbe } from './http.probe.js';
import { runPingProbe } from './ping.probe.js';
import { runTcpProbe } from './tcp.probe.js';

export { parsePerfData, parsePluginOutput, statusOfExitCode } from './nagios.js';
export { runCommandProbe, runDnsProbe, runHttpProbe, runPingProbe, runTcpProbe };

/** Where a probe may look: the command probe only where the caller allows it (the agent's policy). */
export interface ProbeOptions {
  /** false: command checks answer UNKNOWN with `refusal` instead of running. */
  allowCommand: boolean;
  refusal?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Where the hub runs a probe, every host it connects to goes through this first: it resolves the
   * name, refuses addresses the runner must never reach (throws with the reason) and returns the
   * address to connect to, so a name cannot resolve to another address between check and connect.
   */
  pinHost?: PinHost;
}

/** Resolves and checks a host name or address literal; returns the address to use. */
export type PinHost = (host: string) => Promise<string>;

/** Runs one probe; never throws: every failure is a result with a message. */
export async function runProbe(probe: CheckProbe, timeoutMs: number, options: ProbeOptions): Promise<CheckRunResult> {
  try {
    switch (probe.kind) {
      case 'http':
        return await runHttpProbe(probe, timeoutMs, Date.now, options.pinHost);
      case 'tcp':
        return await runTcpProbe(probe, timeoutMs, options.pinHost);
      case 'ping':
        return await runPingProbe(probe, timeoutMs, 'ping', options.pinHost);
      case 'dns':
        return await runDnsProbe(probe, timeoutMs, options.pinHost);
      case 'command':
        if (!options.allowCommand) return { status: 'unknown', latencyMs: null, message: options.refusal ?? 'command checks are not allowed here', certDaysLeft: null, perfdata: [] };
        return await runCommandProbe(probe, timeoutMs, options.env);
    }
  } catch (error) {
    // A probe bug must not stop the scheduler: it becomes an UNKNOWN result with the reason.
    return { status: 'unknown', latencyMs: null, message: `probe failed: ${(error as Error).message}`.slice(0, 1024), certDaysLeft: null, perfdata: [] };
  }
}
export { createCheckScheduler, type CheckScheduler, type CheckSchedulerOptions } from './scheduler.js';
