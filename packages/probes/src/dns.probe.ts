import { Resolver } from 'node:dns/promises';
import type { PinHost } from './index.js';
import type { CheckProbe, CheckRunResult } from '@farol/protocol';

type DnsProbe = Extract<CheckProbe, { kind: 'dns' }>;

async function lookup(resolver: Resolver, probe: DnsProbe): Promise<string[]> {
  switch (probe.type) {
    case 'A':
      return resolver.resolve4(probe.name);
    case 'AAAA':
      return resolver.resolve6(probe.name);
    case 'CNAME':
      return resolver.resolveCname(probe.name);
    case 'NS':
      return resolver.resolveNs(probe.name);
    case 'MX':
      return (await resolver.resolveMx(probe.name)).map((mx) => mx.exchange);
    case 'TXT':
      return (await resolver.resolveTxt(probe.name)).map((parts) => parts.join(''));
  }
}

/** One DNS question, to the system's resolvers or to `server`; `expect` must be among the answers. */
export async function runDnsProbe(probe: DnsProbe, timeoutMs: number, pinHost?: PinHost): Promise<CheckRunResult> {
  if (probe.server && pinHost) {
    try {
      await pinHost(probe.server.replace(/^\[(.*)\](:\d+)?$/, '$1').replace(/^(\d[\d.]*)(:\d+)?$/, '$1'));
    } catch (error) {
      return { status: 'critical', latencyMs: null, message: `resolver ${probe.server}: ${(error as Error).message}`.slice(0, 1024), certDaysLeft: null, perfdata: [] };
    }
  }
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
  if (probe.server) resolver.setServers([probe.server]);
  const started = performance.now();
  let answers: string[];
  try {
    answers = await lookup(resolver, probe);
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    return { status: 'critical', latencyMs: null, message: `${probe.type} ${probe.name}: ${err.code ?? err.message}`, certDaysLeft: null, perfdata: [] };
  } finally {
    resolver.cancel();
  }
  const latencyMs = Math.round((performance.now() - started) * 10) / 10;
  const shown = answers.slice(0, 5).join(', ').slice(0, 500);
  const perfdata = [{ label: 'time', value: latencyMs, unit: 'ms', warn: null, crit: null, min: 0, max: null }];
  const normalize = (text: string): string => text.toLowerCase().replace(/\.$/, '');
  if (probe.expect !== undefined && !answers.some((answer) => normalize(answer) === normalize(probe.expect!))) {
    return { status: 'critical', latencyMs, message: `${probe.type} ${probe.name} is ${shown || 'empty'}, expected ${probe.expect}`, certDaysLeft: null, perfdata };
  }
  return { status: 'ok', latencyMs, message: `${probe.type} ${probe.name}: ${shown}`, certDaysLeft: null, perfdata };
}
