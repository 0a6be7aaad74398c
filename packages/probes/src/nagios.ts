import type { CheckStatus, PerfData } from '@farol/protocol';

/** Exit code of a Nagios plugin → status; anything else is UNKNOWN (plugin guidelines). */
export function statusOfExitCode(code: number | null): CheckStatus {
  switch (code) {
    case 0:
      return 'ok';
    case 1:
      return 'warning';
    case 2:
      return 'critical';
    default:
      return 'unknown';
  }
}

const NUMBER = String.raw`-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?`;
const PERF_ITEM = new RegExp(String.raw`^(${NUMBER})([A-Za-z%/]*)$`);

function threshold(text: string | undefined): number | null {
  if (text === undefined || text === '') return null;
  // Ranges (10:20, @10:20, ~:20) keep their upper end: what a chart line can show.
  const match = new RegExp(`(${NUMBER})$`).exec(text.replace(/^@/, ''));
  return match ? Number(match[1]) : null;
}

/** Splits `label=value[UOM];[warn];[crit];[min];[max]` items; labels may be quoted with '. */
export function parsePerfData(text: string): PerfData[] {
  const items: PerfData[] = [];
  const pattern = /('(?:[^']|'')+'|[^\s=']+)=(\S+)/g;
  for (const match of text.matchAll(pattern)) {
    if (items.length >= 32) break;
    const label = match[1]!.startsWith("'") ? match[1]!.slice(1, -1).replace(/''/g, "'") : match[1]!;
    const [valueText, warn, crit, min, max] = match[2]!.split(';');
    const value = PERF_ITEM.exec(valueText ?? '');
    if (!value) continue;
    items.push({
      label: label.slice(0, 128),
      value: Number(value[1]),
      unit: value[2] ? value[2].slice(0, 16) : null,
      warn: threshold(warn),
      crit: threshold(crit),
      min: threshold(min),
      max: threshold(max),
    });
  }
  return items;
}

/**
 * A plugin's output: the first line up to `|` is the message; performance data follows `|` on
 * the first line and on any later line (long output), per the Nagios plugin API.
 */
export function parsePluginOutput(output: string): { message: string; perfdata: PerfData[] } {
  const lines = output.replace(/\r\n/g, '\n').split('\n');
  const first = lines[0] ?? '';
  const bar = first.indexOf('|');
  const message = (bar === -1 ? first : first.slice(0, bar)).trim();
  const perfTexts = bar === -1 ? [] : [first.slice(bar + 1)];
  for (const line of lines.slice(1)) {
    const at = line.indexOf('|');
    if (at !== -1) perfTexts.push(line.slice(at + 1));
  }
  return { message, perfdata: perfTexts.flatMap(parsePerfData).slice(0, 32) };
}
