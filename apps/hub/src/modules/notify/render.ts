import type { AlertNotice, ChannelTemplate, FleetReport, Notification, Severity } from '@farol/protocol';

/**
 * Turns a Notification into one message for one channel format. Everything that comes from an
 * agent (names, process names, log lines, labels) is escaped for the target format; the
 * operator's template text is used as written, so it may carry the format's own markup.
 */

/** The text formats providers understand. */
export type TextFormat = 'html' | 'discord' | 'slack' | 'teams' | 'whatsapp' | 'plain';

export interface RenderedMessage {
  title: string;
  /** Lines already in the format (escaped values, format markup); an element may hold a whole block. */
  lines: string[];
  /** The highest severity inside, null for tests. */
  severity: Severity | null;
}

interface FormatRules {
  escape(text: string): string;
  bold(text: string): string;
  code(text: string): string;
  /**
   * A block of verbatim lines (log lines). Where it has markup around it, it is ONE element, so
   * cutting a long message between elements never leaves a tag or fence open.
   */
  block(lines: string[]): string[];
  link(url: string, label: string): string;
}

const escapeHtml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** Discord and Teams markdown: a backslash makes any of these characters literal. */
const escapeMarkdown = (text: string): string => text.replace(/[\\*_~`|>#[\]()]/g, (c) => `\\${c}`);
/** Slack mrkdwn has no backslash escape; only &, < and > must (and can) be escaped, which also blocks <!channel> and forged links. */
const escapeSlack = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** Inside a code span or block, a backtick would end it. */
const noBackticks = (text: string): string => text.replace(/`/g, 'ʼ');

const FORMATS: Record<TextFormat, FormatRules> = {
  html: {
    escape: escapeHtml,
    bold: (t) => `<b>${t}</b>`,
    code: (t) => `<code>${escapeHtml(t)}</code>`,
    block: (lines) => [`<pre>${lines.map(escapeHtml).join('\n')}</pre>`],
    link: (url, label) => `<a href="${escapeHtml(url)}">${escapeHtml(label)}</a>`,
  },
  discord: {
    escape: escapeMarkdown,
    bold: (t) => `**${t}**`,
    code: (t) => `\`${noBackticks(t)}\``,
    block: (lines) => [['```', ...lines.map(noBackticks), '```'].join('\n')],
    link: (url, label) => `[${escapeMarkdown(label)}](${url.replace(/[()]/g, encodeURIComponent)})`,
  },
  slack: {
    escape: escapeSlack,
    bold: (t) => `*${t}*`,
    code: (t) => `\`${noBackticks(escapeSlack(t))}\``,
    block: (lines) => [['```', ...lines.map((l) => noBackticks(escapeSlack(l))), '```'].join('\n')],
    link: (url, label) => `<${url.replace(/[<>|]/g, encodeURIComponent)}|${escapeSlack(label).replace(/\|/g, '¦')}>`,
  },
  teams: {
    escape: escapeMarkdown,
    bold: (t) => `**${t}**`,
    code: (t) => escapeMarkdown(t),
    block: (lines) => lines.map((l) => `> ${escapeMarkdown(l)}`),
    link: (url, label) => `[${escapeMarkdown(label)}](${url.replace(/[()]/g, encodeURIComponent)})`,
  },
  // WhatsApp has no escape for *_~; agent text can at worst change emphasis, never inject links.
  whatsapp: {
    escape: (t) => t,
    bold: (t) => `*${t}*`,
    code: (t) => `\`${noBackticks(t)}\``,
    block: (lines) => [['```', ...lines.map(noBackticks), '```'].join('\n')],
    link: (url) => url,
  },
  plain: {
    escape: (t) => t,
    bold: (t) => t,
    code: (t) => t,
    block: (lines) => lines.map((l) => `  ${l}`),
    link: (url, label) => `${label}: ${url}`,
  },
};

/** Placeholders each template field may use; anything else is refused when the channel is saved. */
export const TITLE_PLACEHOLDERS = ['icon', 'headline', 'count', 'event', 'severity', 'hub'] as const;
export const ALERT_PLACEHOLDERS = ['icon', 'event', 'severity', 'agent', 'subject', 'summary', 'rule', 'value', 'threshold', 'since', 'duration'] as const;

/** Defaults per format: the same content, shaped for where it is read. */
const DEFAULT_TEMPLATES: Record<TextFormat, Required<ChannelTemplate>> = {
  html: { title: '{{icon}} <b>{{headline}}</b>', alert: '{{icon}} <b>{{event}}</b> [{{severity}}] <b>{{agent}}</b>: {{summary}}' },
  discord: { title: '{{icon}} {{headline}}', alert: '{{icon}} **{{event}}** [{{severity}}] **{{agent}}**: {{summary}}' },
  slack: { title: '{{icon}} *{{headline}}*', alert: '{{icon}} *{{event}}* [{{severity}}] *{{agent}}*: {{summary}}' },
  teams: { title: '{{icon}} {{headline}}', alert: '{{icon}} **{{event}}** [{{severity}}] **{{agent}}**: {{summary}}' },
  whatsapp: { title: '{{icon}} *{{headline}}*', alert: '{{icon}} *{{event}}* [{{severity}}] *{{agent}}*: {{summary}}' },
  plain: { title: '{{icon}} {{headline}}', alert: '{{icon}} {{event}} [{{severity}}] {{agent}}: {{summary}}' },
};

const PLACEHOLDER = /\{\{\s*([a-zA-Z]+)\s*\}\}/g;

/** Names used in a template that are not in `allowed`. */
export function unknownPlaceholders(template: string, allowed: readonly string[]): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!).filter((name) => !allowed.includes(name));
}

/** Replaces `{{name}}` with the escaped value; a missing value renders empty. */
export function fillTemplate(template: string, values: Record<string, string>, escape: (text: string) => string): string {
  return template.replace(PLACEHOLDER, (_whole, name: string) => escape(values[name] ?? ''));
}

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };
const EVENT_ICON: Record<AlertNotice['event'], string> = { firing: '🔴', repeat: '🔁', escalated: '⏫', resolved: '✅' };

export function maxSeverity(alerts: readonly AlertNotice[]): Severity {
  return alerts.reduce<Severity>((max, a) => (SEVERITY_RANK[a.severity] > SEVERITY_RANK[max] ? a.severity : max), 'info');
}

/** Whether a notification may pass quiet hours and maintenance (a critical alert that is not a resolve). */
export function isCritical(notification: Notification): boolean {
  return notification.kind === 'alerts' && notification.alerts.some((a) => a.severity === 'critical' && a.event !== 'resolved');
}

export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function formatDuration(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 1) return `${Math.max(0, Math.round(ms / 1000))} s`;
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

function formatNumber(value: number | null, unit: string | null): string {
  if (value === null) return '';
  const rounded = Math.abs(value) >= 100 ? value.toFixed(0) : Number.isInteger(value) ? String(value) : value.toFixed(1);
  if (!unit) return rounded;
  return unit === '%' ? `${rounded} %` : `${rounded} ${unit}`;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value >= 10 || unit === 0 ? 0 : 1)} ${units[unit]}`;
}

function alertValues(alert: AlertNotice, now: number): Record<string, string> {
  const end = alert.resolvedAt ?? now;
  return {
    icon: EVENT_ICON[alert.event],
    event: alert.event.toUpperCase(),
    severity: alert.severity,
    agent: alert.agentName ?? 'fleet',
    subject: alert.subject,
    summary: alert.summary,
    rule: alert.ruleName,
    value: formatNumber(alert.value, alert.unit),
    threshold: alert.threshold === null ? '' : `${alert.comparator ?? ''} ${formatNumber(alert.threshold, alert.unit)}`.trim(),
    since: formatTime(alert.since),
    duration: formatDuration(end - alert.since),
  };
}

function headline(alerts: readonly AlertNotice[]): string {
  if (alerts.length === 1) {
    const a = alerts[0]!;
    return `${a.event.toUpperCase()}: ${a.ruleName} on ${a.agentName ?? 'the fleet'}`;
  }
  const counts = new Map<string, number>();
  for (const a of alerts) counts.set(a.event, (counts.get(a.event) ?? 0) + 1);
  return `${alerts.length} alerts (${[...counts].map(([event, n]) => `${n} ${event}`).join(', ')})`;
}

/** The detail lines under an alert: why it fired, since when, what was running. */
function alertDetails(alert: AlertNotice, f: FormatRules, now: number): string[] {
  const lines: string[] = [];
  const v = alertValues(alert, now);
  if (alert.value !== null) {
    lines.push(`    value ${f.bold(f.escape(v.value!))}${v.threshold ? ` vs threshold ${f.escape(v.threshold)}` : ''} (${f.escape(alert.subject)})`);
  }
  lines.push(
    alert.resolvedAt === null
      ? `    since ${f.escape(v.since!)} (${f.escape(v.duration!)})`
      : `    resolved ${f.escape(formatTime(alert.resolvedAt))} after ${f.escape(v.duration!)}`,
  );
  if (alert.topProcesses && alert.topProcesses.length > 0) {
    lines.push('    top processes:');
    for (const p of alert.topProcesses.slice(0, 5)) {
      lines.push(`      ${f.code(`${p.name} (${p.pid})`)} ${f.escape(`${p.cpu.toFixed(1)} % CPU, ${formatBytes(p.memoryBytes)}`)}`);
    }
  }
  if (alert.logLines && alert.logLines.length > 0) {
    lines.push('    last log lines:');
    lines.push(...f.block(alert.logLines.slice(-10).map((l) => l.slice(0, 300))));
  }
  if (alert.url) lines.push(`    ${f.link(alert.url, 'open in Mission Control')}`);
  return lines;
}

function reportLines(report: FleetReport, f: FormatRules, now: number): string[] {
  const hours = Math.round(report.periodMs / 3_600_000);
  const lines = [
    `Machines: ${report.agents.total} (${report.agents.online} online, ${report.agents.offline} offline)`,
    `Last ${hours} h: ${report.firedInPeriod} fired, ${report.resolvedInPeriod} resolved`,
    `Firing now: ${report.firing.length}`,
  ];
  for (const alert of report.firing.slice(0, 20)) {
    lines.push(`  ${EVENT_ICON.firing} [${f.escape(alert.severity)}] ${f.escape(alert.agentName ?? 'fleet')}: ${f.escape(alert.summary)} (${f.escape(formatDuration(now - alert.since))})`);
  }
  if (report.busiest.length > 0) {
    lines.push('Busiest machines:');
    for (const m of report.busiest) {
      const pct = (x: number | null) => (x === null ? '–' : `${x.toFixed(0)} %`);
      lines.push(`  ${f.escape(m.agentName)}: CPU ${pct(m.cpu)}, memory ${pct(m.memory)}, disk ${pct(m.disk)}`);
    }
  }
  return lines;
}

/** Renders one notification as one message (a group of alerts is one message). */
export function renderMessage(notification: Notification, format: TextFormat, template: ChannelTemplate | null, context: { now: number; hub?: string }): RenderedMessage {
  const f = FORMATS[format];
  const defaults = DEFAULT_TEMPLATES[format];
  const titleTemplate = template?.title ?? defaults.title;
  const alertTemplate = template?.alert ?? defaults.alert;
  const hub = context.hub ?? 'Farol';
  if (notification.kind === 'test') {
    return {
      title: fillTemplate(titleTemplate, { icon: '🧪', headline: `${hub} test message`, count: '0', event: 'test', severity: 'info', hub }, f.escape),
      lines: [`This is a test from ${f.escape(hub)}, requested by ${f.escape(notification.requestedBy)}. If you can read it, this channel works.`],
      severity: null,
    };
  }
  if (notification.kind === 'report') {
    const firing = notification.report.firing;
    return {
      title: fillTemplate(titleTemplate, { icon: '📊', headline: `${hub} fleet report`, count: String(firing.length), event: 'report', severity: firing.length ? maxSeverity(firing) : 'info', hub }, f.escape),
      lines: reportLines(notification.report, f, context.now),
      severity: firing.length ? maxSeverity(firing) : null,
    };
  }
  if (notification.kind === 'container_update') {
    const n = notification;
    const failed = n.outcome !== 'updated';
    const headline = n.outcome === 'updated' ? `${n.container} updated on ${n.machine}` : n.outcome === 'rolled_back' ? `${n.container} rolled back on ${n.machine}` : `${n.container} update failed on ${n.machine}`;
    const lines = [`${f.escape(n.image)} → ${f.escape(n.digest)}`];
    if (n.reason) lines.push(`Reason: ${f.escape(n.reason)}`);
    if (n.skipped.length > 0) lines.push(`The rollout stopped; left alone: ${f.escape(n.skipped.join(', '))}`);
    return {
      title: fillTemplate(titleTemplate, { icon: failed ? '↩️' : '📦', headline, count: '1', event: `container ${n.outcome}`, severity: failed ? 'warning' : 'info', hub }, f.escape),
      lines,
      severity: failed ? 'warning' : null,
    };
  }
  const alerts = notification.alerts;
  const severity = maxSeverity(alerts);
  const events = [...new Set(alerts.map((a) => a.event))];
  const title = fillTemplate(
    titleTemplate,
    { icon: alerts.length === 1 ? EVENT_ICON[alerts[0]!.event] : events.every((e) => e === 'resolved') ? '✅' : '🚨', headline: headline(alerts), count: String(alerts.length), event: events.join(', '), severity, hub },
    f.escape,
  );
  const lines: string[] = [];
  for (const alert of alerts) {
    lines.push(fillTemplate(alertTemplate, alertValues(alert, context.now), f.escape));
    lines.push(...alertDetails(alert, f, context.now));
  }
  return { title, lines, severity };
}

/** Color per severity (embeds, cards). */
export function severityColor(severity: Severity | null, resolvedOnly: boolean): number {
  if (resolvedOnly) return 0x2e7d32;
  if (severity === 'critical') return 0xc62828;
  if (severity === 'warning') return 0xef6c00;
  return 0x1565c0;
}
