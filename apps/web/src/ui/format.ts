/**
 * Number, size and time formatting for the dashboard. Every function takes the locale (and,
 * where words are involved, the message templates) so the same numbers read naturally in
 * English and Portuguese.
 */
import { byteAxis, scaleBytes } from '@farol/protocol';

/** The few words relative times need, taken from the i18n dictionary. */
export interface AgoMessages {
  'time.justNow': string;
  'time.secondsAgo': string;
  'time.minutesAgo': string;
  'time.hoursAgo': string;
  'time.daysAgo': string;
  'time.never': string;
}


/** Fills `{name}` placeholders; unknown names are left as they are. */
export function interpolate(template: string, values: Record<string, string | number> = {}): string {
  return template.replace(/\{(\w+)\}/g, (match, name: string) => (name in values ? String(values[name]) : match));
}

// Building an Intl.NumberFormat costs far more than using one; a fleet page formats thousands
// of numbers a second, so each (locale, digits) pair is built once.
const numberFormats = new Map<string, Intl.NumberFormat>();
const dateTimeFormats = new Map<string, Intl.DateTimeFormat>();

function number(value: number, locale: string, maximumFractionDigits: number): string {
  const key = `${locale}|${maximumFractionDigits}`;
  let format = numberFormats.get(key);
  if (!format) numberFormats.set(key, (format = new Intl.NumberFormat(locale, { maximumFractionDigits, minimumFractionDigits: 0 })));
  return format.format(value);
}

/**
 * 1536 → "1.5 KiB": binary multiples, labelled as such, in the same units as the CLI
 * (`scaleBytes` from @farol/protocol, issue #21).
 */
export function formatBytes(bytes: number | null | undefined, locale: string): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '—';
  const { value, unit, power } = scaleBytes(Math.max(0, bytes));
  const digits = power === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${number(value, locale, digits)} ${unit}`;
}

/** Ticks and labels for a chart axis of bytes (or bytes per second with `suffix` "/s"). */
export interface AxisTicks {
  top: number;
  ticks: number[];
  labels: string[];
}

/** Round ticks in one unit for data up to `max` (see byteAxis): "0 KiB/s, 500 KiB/s, 1000 KiB/s". */
export function byteAxisTicks(max: number, locale: string, suffix = '', targetTicks = 4): AxisTicks {
  const axis = byteAxis(max, targetTicks);
  const divisor = 1024 ** axis.power;
  return { top: axis.top, ticks: axis.ticks, labels: axis.ticks.map((tick) => `${number(tick / divisor, locale, axis.decimals)} ${axis.unit}${suffix}`) };
}

/** Bytes per second → "1.2 MiB/s". */
export function formatRate(bytesPerSecond: number | null | undefined, locale: string): string {
  const text = formatBytes(bytesPerSecond, locale);
  return text === '—' ? text : `${text}/s`;
}

/** 12.345 → "12.3%" (whole numbers from 100 up). */
export function formatPercent(value: number | null | undefined, locale: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return `${number(value, locale, Math.abs(value) >= 100 ? 0 : 1)}%`;
}

/** A plain number with at most `digits` decimals, in the locale's notation. */
export function formatNumber(value: number | null | undefined, locale: string, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return number(value, locale, digits);
}

/** How long ago `at` was, relative to `now`: "just now", "12 s ago", "5 min ago", "3 h ago", "2 d ago". */
export function formatAgo(at: number | null | undefined, now: number, messages: AgoMessages): string {
  if (at === null || at === undefined) return messages['time.never'];
  const seconds = Math.max(0, Math.floor((now - at) / 1000));
  if (seconds < 2) return messages['time.justNow'];
  if (seconds < 60) return interpolate(messages['time.secondsAgo'], { n: seconds });
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return interpolate(messages['time.minutesAgo'], { n: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return interpolate(messages['time.hoursAgo'], { n: hours });
  return interpolate(messages['time.daysAgo'], { n: Math.floor(hours / 24) });
}

/** Seconds → "3 d 4 h", "5 h 12 min", "42 min", "30 s" (the two largest units). */
export function formatDuration(totalSeconds: number | null | undefined): string {
  if (totalSeconds === null || totalSeconds === undefined || !Number.isFinite(totalSeconds)) return '—';
  const seconds = Math.max(0, Math.floor(totalSeconds));
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3_600);
  const minutes = Math.floor((seconds % 3_600) / 60);
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
  if (hours > 0) return minutes > 0 ? `${hours} h ${minutes} min` : `${hours} h`;
  if (minutes > 0) return `${minutes} min`;
  return `${seconds} s`;
}

/** A date and time in the locale's short form. */
export function formatDateTime(at: number | null | undefined, locale: string): string {
  if (at === null || at === undefined) return '—';
  let format = dateTimeFormats.get(locale);
  if (!format) dateTimeFormats.set(locale, (format = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' })));
  return format.format(at);
}

/** Green below 70 %, amber below 90 %, red above: the same thresholds everywhere. */
export type UsageLevel = 'ok' | 'warn' | 'critical' | 'unknown';

export function usageLevel(percent: number | null | undefined): UsageLevel {
  if (percent === null || percent === undefined || !Number.isFinite(percent)) return 'unknown';
  if (percent >= 90) return 'critical';
  if (percent >= 70) return 'warn';
  return 'ok';
}
