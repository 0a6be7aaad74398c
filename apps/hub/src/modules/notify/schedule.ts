import type { MaintenanceWindow, QuietHours } from '@farol/protocol';

const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Minutes since local midnight in a time zone, and the seconds/ms past that minute. */
function localClock(now: number, timezone: string): { minute: number; intoMinuteMs: number } {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(now));
  const hour = Number(parts.find((p) => p.type === 'hour')?.value ?? 0);
  const minute = Number(parts.find((p) => p.type === 'minute')?.value ?? 0);
  return { minute: hour * 60 + minute, intoMinuteMs: now % 60_000 };
}

/**
 * When quiet hours that hold now end (ms epoch), or null when they do not hold. A window whose
 * end is before its start spans midnight (22:00–07:00).
 */
export function quietHoursEnd(quiet: QuietHours | null, now: number): number | null {
  if (!quiet) return null;
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  if (start === end) return null;
  const { minute, intoMinuteMs } = localClock(now, quiet.timezone);
  const inside = start < end ? minute >= start && minute < end : minute >= start || minute < end;
  if (!inside) return null;
  const minutesLeft = (end - minute + 1440) % 1440;
  return now - intoMinuteMs + minutesLeft * 60_000;
}

/** The maintenance window holding now, if any. */
export function activeMaintenance(windows: readonly MaintenanceWindow[], now: number): MaintenanceWindow | null {
  return windows.find((w) => w.start <= now && now < w.end) ?? null;
}
