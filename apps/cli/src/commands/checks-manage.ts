import { readFile } from 'node:fs/promises';
import { createChecksClient } from '@farol/client';
import { DNS_RECORD_TYPES, type CheckInput, type CheckProbe } from '@farol/protocol';
import { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { CliError, UsageError } from '../cli-error.js';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { connectionOptionsOf, explainFailure, withConnectionOptions } from '../options.js';
import { describeProbe, describeRunOn } from './checks-list.js';

interface AddOptions {
  http?: string;
  tcp?: string;
  ping?: string;
  dns?: string;
  command?: boolean;
  method?: string;
  expectStatus?: string;
  keyword?: string;
  maxLatency?: string;
  followRedirects: boolean;
  verifyTls: boolean;
  certDays?: string;
  type: (typeof DNS_RECORD_TYPES)[number];
  expect?: string;
  server?: string;
  count?: string;
  interval?: string;
  timeout?: string;
  on?: string;
  agents?: string;
  selector?: string;
  file?: string;
}

const number = (text: string | undefined, what: string): number | undefined => {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new UsageError(`${what} must be a number (got "${text}")`);
  return value;
};

/** The probe the flags describe; exactly one of --http, --tcp, --ping, --dns, --command. */
export function probeFromOptions(options: AddOptions, argv: readonly string[]): CheckProbe {
  const given = [options.http, options.tcp, options.ping, options.dns, options.command ? 'command' : undefined].filter((v) => v !== undefined);
  if (given.length !== 1) throw new UsageError('say what to check with one of --http URL, --tcp HOST:PORT, --ping HOST, --dns NAME, --command -- /path/plugin ARGS');
  if (options.http !== undefined) {
    return {
      kind: 'http',
      url: options.http,
      method: (options.method ?? 'GET').toUpperCase() as 'GET',
      ...(options.expectStatus ? { expectStatus: options.expectStatus.split(',').map((s) => number(s.trim(), '--expect-status')!) } : {}),
      ...(options.keyword !== undefined ? { keyword: options.keyword } : {}),
      ...(options.maxLatency !== undefined ? { maxLatencyMs: number(options.maxLatency, '--max-latency')! } : {}),
      followRedirects: options.followRedirects,
      verifyTls: options.verifyTls,
      ...(options.certDays !== undefined ? { certExpiryDays: number(options.certDays, '--cert-days')! } : {}),
    };
  }
  if (options.tcp !== undefined) {
    const match = /^(.+):(\d+)$/.exec(options.tcp);
    if (!match) throw new UsageError(`--tcp takes HOST:PORT (got "${options.tcp}")`);
    return { kind: 'tcp', host: match[1]!, port: Number(match[2]) };
  }
  if (options.ping !== undefined) return { kind: 'ping', host: options.ping, count: number(options.count, '--count') ?? 1 };
  if (options.dns !== undefined) {
    return { kind: 'dns', name: options.dns, type: options.type, ...(options.expect !== undefined ? { expect: options.expect } : {}), ...(options.server !== undefined ? { server: options.server } : {}) };
  }
  if (argv.length === 0) throw new UsageError('--command needs the plugin after --, e.g. --command -- /usr/lib/nagios/plugins/check_disk -w 20%');
  return { kind: 'command', argv: [...argv] };
}

/** `farol checks add NAME --http URL …` (or `--file check.yaml`). */
export function createChecksAddCommand(context: CliContext): Command {
  const command = new Command('add')
    .description('create a service check: HTTP(S), TCP, ping, DNS or a Nagios plugin; run by the hub or by machines')
    .argument('[name]', 'check name (letters, digits, space . _ : -)')
    .argument('[argv...]', 'with --command: the plugin and its arguments, after --')
    .option('--http <url>', 'HTTP(S) check of this URL')
    .option('--tcp <host:port>', 'TCP connect check')
    .option('--ping <host>', 'ICMP ping through the system\'s ping')
    .option('--dns <name>', 'DNS check of this name')
    .option('--command', 'run a Nagios-compatible plugin (machines whose policy.json allows checks.command)')
    .option('--method <method>', 'HTTP method', 'GET')
    .option('--expect-status <codes>', 'accepted HTTP status codes, comma-separated (default any 2xx/3xx)')
    .option('--keyword <text>', 'the HTTP body must contain this')
    .option('--max-latency <ms>', 'slower than this is WARNING')
    .option('--no-follow-redirects', 'a 3xx is the answer')
    .option('--no-verify-tls', 'accept any certificate')
    .option('--cert-days <n>', 'WARNING when the certificate expires within n days')
    .addOption(new Option('--type <type>', 'DNS record type').choices([...DNS_RECORD_TYPES]).default('A'))
    .option('--expect <answer>', 'DNS: one answer must equal this')
    .option('--server <ip[:port]>', 'DNS: ask this resolver')
    .option('--count <n>', 'ping: echo requests')
    .option('--interval <duration>', 'how often (at least 10s)', '60s')
    .option('--timeout <duration>', 'give up after', '10s')
    .option('--on <where>', '"hub" (default) to run it on the hub itself')
    .option('--agents <names>', 'run it on these machines (comma-separated)')
    .option('--selector <labels>', 'run it on every machine matching, e.g. role=edge')
    .option('--file <file>', 'the whole check as YAML or JSON (the POST /api/checks body)');
  withConnectionOptions(command).action(async (name: string | undefined, argv: string[]) => {
    const options = command.opts<AddOptions>();
    let input: CheckInput;
    if (options.file !== undefined) {
      try {
        input = parseYaml(await readFile(options.file, 'utf8')) as CheckInput;
      } catch (error) {
        throw new UsageError(`could not read ${options.file} (${(error as Error).message})`, { cause: error });
      }
    } else {
      if (!name) throw new UsageError('give the check a name: farol checks add NAME --http URL');
      const places = [options.on, options.agents, options.selector].filter((v) => v !== undefined);
      if (places.length > 1) throw new UsageError('say where it runs with one of --on hub, --agents NAMES, --selector LABELS');
      if (options.on !== undefined && options.on !== 'hub') throw new UsageError('--on takes "hub"; for machines use --agents or --selector');
      const runOn = options.agents !== undefined ? { agents: options.agents.split(',').map((a) => a.trim()).filter(Boolean) } : options.selector !== undefined ? { selector: options.selector } : { hub: true as const };
      input = { name, probe: probeFromOptions(options, argv), interval: options.interval ?? '60s', timeout: options.timeout ?? '10s', runOn };
    }
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createChecksClient);
    const check = await explainFailure(
      () => client.createCheck(input),
      (error) => (error.status === 409 ? `a check named "${input.name}" exists; pick another name or remove it (${context.commandName} checks rm)` : undefined),
    );
    context.stdout(connection.json ? formatJson(check) : `created check ${check.name} (${check.id}): ${describeProbe(check.probe)} on ${describeRunOn(check.runOn)} every ${check.intervalMs / 1000}s\n`);
  });
  return command;
}

/** `farol checks rm NAME`: the check and its history. */
export function createChecksRemoveCommand(context: CliContext): Command {
  const command = new Command('rm').alias('remove').description('delete a check and its history').argument('<check>', 'check name or id');
  withConnectionOptions(command).action(async (ref: string) => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createChecksClient);
    await explainFailure(() => client.deleteCheck(ref), (error) => (error.status === 404 ? `no check "${ref}"; see ${context.commandName} checks ls` : undefined));
    context.stdout(connection.json ? formatJson({ removed: ref }) : `removed check ${ref}\n`);
  });
  return command;
}

/** `farol checks run NAME`: now; the hub's own result is printed, machines are asked. */
export function createChecksRunCommand(context: CliContext): Command {
  const command = new Command('run').description('run a check now (hub checks answer at once; machines send their results as usual)').argument('<check>', 'check name or id');
  withConnectionOptions(command).action(async (ref: string) => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createChecksClient);
    const response = await explainFailure(() => client.runCheck(ref), (error) => (error.status === 404 ? `no check "${ref}"; see ${context.commandName} checks ls` : undefined));
    if (connection.json) {
      context.stdout(formatJson(response));
      return;
    }
    const lines = response.results.map((r) => `${r.location}: ${r.status.toUpperCase()} ${r.message}`);
    if (response.requested.length > 0) lines.push(`asked ${response.requested.join(', ')} to run it; see ${context.commandName} checks show ${ref}`);
    if (response.offline.length > 0) lines.push(`offline: ${response.offline.join(', ')}`);
    context.stdout(`${lines.join('\n') || 'nothing to run (no machine matches where it runs)'}\n`);
    // A script can tell a failing hub check by the exit code.
    if (response.results.some((r) => r.status === 'critical')) throw new CliError(`check ${ref} is down`);
  });
  return command;
}
