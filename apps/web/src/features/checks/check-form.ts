import { CheckInputSchema, type Check, type CheckInput, type CheckKind, type CheckStatus } from '@farol/protocol';
import { formatDurationText, splitList } from '../alerts/alert-format.js';

export type RunOnMode = 'hub' | 'machines' | 'selector';

/** The check dialog's fields, all text as typed; `inputOf` turns them into the API's body. */
export interface CheckForm {
  name: string;
  description: string;
  kind: CheckKind;
  url: string;
  method: string;
  keyword: string;
  expectStatus: string;
  maxLatency: string;
  verifyTls: boolean;
  certDays: string;
  host: string;
  port: string;
  dnsName: string;
  dnsType: string;
  dnsExpect: string;
  dnsServer: string;
  argv: string;
  interval: string;
  timeout: string;
  runOn: RunOnMode;
  where: string;
  enabled: boolean;
}

export const EMPTY_CHECK_FORM: CheckForm = {
  name: '',
  description: '',
  kind: 'http',
  url: 'https://',
  method: 'GET',
  keyword: '',
  expectStatus: '',
  maxLatency: '',
  verifyTls: true,
  certDays: '',
  host: '',
  port: '',
  dnsName: '',
  dnsType: 'A',
  dnsExpect: '',
  dnsServer: '',
  argv: '',
  interval: '1m',
  timeout: '10s',
  runOn: 'hub',
  where: '',
  enabled: true,
};

const numberOrNaN = (text: string): number => (text.trim() === '' ? Number.NaN : Number(text.trim()));

/** A stored check as form fields (editing). */
export function formOf(check: Check): CheckForm {
  const probe = check.probe;
  return {
    ...EMPTY_CHECK_FORM,
    name: check.name,
    description: check.description ?? '',
    kind: probe.kind,
    ...(probe.kind === 'http'
      ? {
          url: probe.url,
          method: probe.method,
          keyword: probe.keyword ?? '',
          expectStatus: probe.expectStatus?.join(', ') ?? '',
          maxLatency: probe.maxLatencyMs === undefined ? '' : String(probe.maxLatencyMs),
          verifyTls: probe.verifyTls,
          certDays: probe.certExpiryDays === undefined ? '' : String(probe.certExpiryDays),
        }
      : {}),
    ...(probe.kind === 'tcp' ? { host: probe.host, port: String(probe.port) } : {}),
    ...(probe.kind === 'ping' ? { host: probe.host } : {}),
    ...(probe.kind === 'dns' ? { dnsName: probe.name, dnsType: probe.type, dnsExpect: probe.expect ?? '', dnsServer: probe.server ?? '' } : {}),
    ...(probe.kind === 'command' ? { argv: probe.argv.join('\n') } : {}),
    interval: formatDurationText(check.intervalMs),
    timeout: formatDurationText(check.timeoutMs),
    runOn: 'hub' in check.runOn ? 'hub' : 'agents' in check.runOn ? 'machines' : 'selector',
    where: 'agents' in check.runOn ? check.runOn.agents.join(', ') : 'selector' in check.runOn ? check.runOn.selector : '',
    enabled: check.enabled,
  };
}

function probeOf(form: CheckForm): CheckInput['probe'] {
  switch (form.kind) {
    case 'http':
      return {
        kind: 'http',
        url: form.url.trim(),
        method: form.method as 'GET',
        ...(form.keyword ? { keyword: form.keyword } : {}),
        ...(form.expectStatus.trim() ? { expectStatus: splitList(form.expectStatus).map(numberOrNaN) } : {}),
        ...(form.maxLatency.trim() ? { maxLatencyMs: numberOrNaN(form.maxLatency) } : {}),
        verifyTls: form.verifyTls,
        ...(form.certDays.trim() ? { certExpiryDays: numberOrNaN(form.certDays) } : {}),
      };
    case 'tcp':
      return { kind: 'tcp', host: form.host.trim(), port: numberOrNaN(form.port) };
    case 'ping':
      return { kind: 'ping', host: form.host.trim() };
    case 'dns':
      return {
        kind: 'dns',
        name: form.dnsName.trim(),
        type: form.dnsType as 'A',
        ...(form.dnsExpect.trim() ? { expect: form.dnsExpect.trim() } : {}),
        ...(form.dnsServer.trim() ? { server: form.dnsServer.trim() } : {}),
      };
    case 'command':
      return { kind: 'command', argv: form.argv.split('\n').map((line) => line.trim()).filter(Boolean) };
  }
}

/** The request body (the API's own schema checks it before it is sent). */
export function inputOf(form: CheckForm): CheckInput {
  return {
    name: form.name.trim(),
    ...(form.description.trim() ? { description: form.description.trim() } : {}),
    probe: probeOf(form),
    interval: form.interval.trim(),
    timeout: form.timeout.trim(),
    runOn: form.runOn === 'hub' ? { hub: true } : form.runOn === 'machines' ? { agents: splitList(form.where) } : { selector: form.where.trim() },
    enabled: form.enabled,
  };
}

/** The first problem of the form as `path: message`, or null when the API would take it. */
export function formProblem(form: CheckForm): string | null {
  const checked = CheckInputSchema.safeParse(inputOf(form));
  if (checked.success) return null;
  const issue = checked.error.issues[0]!;
  return `${issue.path.join('.')}: ${issue.message}`;
}

export type StatusTone = 'good' | 'warn' | 'bad' | 'neutral';
export const STATUS_TONE: Record<CheckStatus, StatusTone> = { ok: 'good', warning: 'warn', critical: 'bad', unknown: 'neutral' };

/** Where it runs, in a few words: `hub`, the machines, or the selector. */
export function describeRunOn(runOn: Check['runOn']): string {
  if ('hub' in runOn) return 'hub';
  if ('agents' in runOn) return runOn.agents.join(', ');
  return runOn.selector;
}

/** What it checks, in a few words (the list's second line). */
export function describeProbe(probe: Check['probe']): string {
  switch (probe.kind) {
    case 'http':
      return `${probe.method} ${probe.url}`;
    case 'tcp':
      return `tcp ${probe.host}:${probe.port}`;
    case 'ping':
      return `ping ${probe.host}`;
    case 'dns':
      return `dns ${probe.type} ${probe.name}${probe.server ? ` @${probe.server}` : ''}`;
    case 'command':
      return probe.argv.join(' ');
  }
}

/** The smallest certificate days left over a check's locations; null when none reports one. */
export function certDaysLeft(check: Pick<Check, 'locations'>): number | null {
  const days = check.locations.map((l) => l.certDaysLeft).filter((d): d is number => d !== null);
  return days.length === 0 ? null : Math.min(...days);
}

/** The newest latency over a check's locations, the slowest one. */
export function worstLatency(check: Pick<Check, 'locations'>): number | null {
  const values = check.locations.map((l) => l.latencyMs).filter((v): v is number => v !== null);
  return values.length === 0 ? null : Math.max(...values);
}
