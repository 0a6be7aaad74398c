import { scaleBytes, type Labels } from '@farol/protocol';

/** The placeholder for a value the hub does not have. */
export const MISSING = '-';

/** `12%`, or `12.3%` with `digits` 1; `-` for null. */
export function formatPercent(value: number | null | undefined, digits = 0): string {
  return value === null || value === undefined ? MISSING : `${value.toFixed(digits)}%`;
}

/**
 * Binary units with one decimal above bytes: `512 B`, `1.5 KiB`, `14.9 GiB`. The units come
 * from @farol/protocol, shared with the dashboard, so both say KiB/MiB/GiB (issue #21).
 */
export function formatBytes(value: number | null | undefined): string {
  if (value === null || value === undefined) return MISSING;
  const { value: scaled, unit, power } = scaleBytes(value);
  return power === 0 ? `${Math.round(scaled)} B` : `${scaled.toFixed(1)} ${unit}`;
}

/** A rate in bytes per second: `1.2 MiB/s`. */
export function formatRate(value: number | null | undefined): string {
  return value === null || value === undefined ? MISSING : `${formatBytes(value)}/s`;
}

/**
 * `45s`, `12m`, `3h`, `5d`: the largest unit that keeps the number small, rounded to the nearest
 * (a silence of 2h seen a few seconds later is still "2h", not "1h", #21).
 */
export function formatSpan(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.round(seconds / 3_600);
  if (hours < 48) return `${hours}h`;
  return `${Math.round(seconds / 86_400)}d`;
}

/** `12s ago`; `never` for null; `in 3h` for a time in the future. */
export function formatRelative(at: number | null | undefined, now: number): string {
  if (at === null || at === undefined) return 'never';
  // A second of clock skew between hub and CLI should not read "in 1s".
  if (at > now + 1000) return `in ${formatSpan(at - now)}`;
  return `${formatSpan(now - at)} ago`;
}

/** `2026-11-23 14:05 UTC`: unambiguous whatever the reader's time zone. */
export function formatTimestamp(at: number): string {
  return `${new Date(at).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** `1d 4h 12m` for an uptime. */
export function formatUptime(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return MISSING;
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3_600);
  const minutes = Math.floor((seconds % 3_600) / 60);
  return [days ? `${days}d` : '', hours ? `${hours}h` : '', `${minutes}m`].filter(Boolean).join(' ');
}

/** `env=prod,role=web` sorted by key; `-` when there are none. */
export function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? MISSING : entries.map(([key, value]) => `${key}=${value}`).join(',');
}

/** Pretty JSON with a final newline, the form every `--json` flag prints. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** `1 agent`, `3 agents`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
