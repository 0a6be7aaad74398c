/**
 * One unit system for sizes and rates, shared by the dashboard and the CLI (issue #21): binary
 * multiples (1024), labelled as such — KiB, MiB, GiB — never binary values labelled KB/MB/GB.
 * Pure arithmetic: callers format the numbers (the dashboard with Intl, the CLI with toFixed).
 */
export const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;
export type ByteUnit = (typeof BYTE_UNITS)[number];

/** A byte count in the largest unit that keeps it at 1 or more: 1536 → 1.5 KiB. */
export interface ScaledBytes {
  value: number;
  unit: ByteUnit;
  /** The unit's power of 1024 (0 for bytes). */
  power: number;
}

/** The power of 1024 whose unit shows `bytes` as at least 1 (0 for anything below 1 KiB). */
export function bytePower(bytes: number): number {
  let power = 0;
  let value = Math.abs(bytes);
  while (value >= 1024 && power < BYTE_UNITS.length - 1) {
    value /= 1024;
    power += 1;
  }
  return power;
}

export function scaleBytes(bytes: number): ScaledBytes {
  const power = bytePower(bytes);
  return { value: bytes / 1024 ** power, unit: BYTE_UNITS[power]!, power };
}

/** The y axis of a byte chart: where it ends, and its ticks, all in one unit. */
export interface ByteAxis {
  /** The axis maximum in bytes: a whole number of steps at or above the data. */
  top: number;
  /** Distance between ticks, in bytes. */
  step: number;
  /** Tick positions in bytes, from 0 to `top`. */
  ticks: number[];
  /** The unit every tick is labelled in, its power of 1024, and the decimals a label needs. */
  unit: ByteUnit;
  power: number;
  decimals: number;
}

/** 1, 2 or 5 × 10^n: the smallest at or above `raw` (> 0). */
function niceStep(raw: number): number {
  const base = 10 ** Math.floor(Math.log10(raw));
  for (const multiple of [1, 2, 5]) if (multiple * base >= raw * (1 - 1e-9)) return multiple * base;
  return 10 * base;
}

/**
 * Round ticks for a chart of bytes (or bytes per second) whose data reaches `max`: steps of
 * 1 / 2 / 5 × 10^n in the unit of the largest value, every label in that same unit (0, 200,
 * 400, 600 KiB; 0, 0.5, 1, 1.5 MiB), never a fraction of a byte, so an idle chart reads
 * "0 B, 1 B" instead of repeating "1 B" at 0.2, 0.4, 0.6 (issue #21). About `targetTicks`
 * steps; the top is the first tick at or above the data.
 */
export function byteAxis(max: number, targetTicks = 4): ByteAxis {
  const data = Number.isFinite(max) && max > 0 ? max : 0;
  const power = bytePower(data);
  const unitBytes = 1024 ** power;
  const raw = data / unitBytes / Math.max(1, targetTicks);
  const stepInUnit = Math.max(power === 0 ? 1 : 0, raw > 0 ? niceStep(raw) : 1);
  const step = stepInUnit * unitBytes;
  const count = Math.max(1, Math.ceil(data / step - 1e-9));
  const ticks = Array.from({ length: count + 1 }, (_, index) => index * step);
  return { top: count * step, step, ticks, unit: BYTE_UNITS[power]!, power, decimals: Math.max(0, -Math.floor(Math.log10(stepInUnit) + 1e-9)) };
}
