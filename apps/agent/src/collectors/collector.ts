import type * as SystemInformationModule from 'systeminformation';

/**
 * One source of measurements. `collect` may throw: the sampler catches, logs once and uses
 * `fallback`, so one broken sensor never stops the heartbeat.
 */
export interface Collector<T> {
  readonly name: string;
  collect(): Promise<T>;
  /** What the sample carries when this collector fails (null or an empty list). */
  readonly fallback: T;
}

/**
 * Where collectors read from: `procfs` reads Linux /proc and /sys directly (cheap, no child
 * processes); `portable` calls systeminformation, which works everywhere but shells out.
 */
export type CollectorSource = 'procfs' | 'portable';

/** procfs on Linux, systeminformation elsewhere. */
export function defaultCollectorSource(platform: NodeJS.Platform = process.platform): CollectorSource {
  return platform === 'linux' ? 'procfs' : 'portable';
}

type SystemInformation = typeof SystemInformationModule;

let systemInformation: Promise<SystemInformation> | undefined;

/**
 * Loads systeminformation on first use. On Linux the agent never needs it, and not evaluating
 * its many modules keeps the agent's memory lower. Memoised: a module is loaded once per
 * process anyway, so this holds no state of ours.
 */
export function loadSystemInformation(): Promise<SystemInformation> {
  systemInformation ??= import('systeminformation').then((module) => ('default' in module ? module.default : module) as SystemInformation);
  return systemInformation;
}

/** Rounds to two decimals: samples are stored and shipped, and more digits are noise. */
export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Bytes-per-second between two readings of cumulative counters; null when not computable. */
export interface RateMeter {
  /** Feeds cumulative counters for `key`; returns per-second rates since the previous call. */
  update(key: string, read: number, written: number, atMs: number): { read: number; written: number } | null;
  /** Forget keys not updated in the last call (interfaces or disks that went away). */
  prune(keep: Set<string>): void;
}

/** A rate meter with no baselines yet. */
export function createRateMeter(): RateMeter {
  const previous = new Map<string, { read: number; written: number; atMs: number }>();
  return {
    update(key, read, written, atMs) {
      const before = previous.get(key);
      previous.set(key, { read, written, atMs });
      if (!before) return null;
      const seconds = (atMs - before.atMs) / 1000;
      // A counter that went backwards was reset (driver reload, wrap): skip this interval.
      if (seconds <= 0 || read < before.read || written < before.written) return null;
      return { read: (read - before.read) / seconds, written: (written - before.written) / seconds };
    },
    prune(keep) {
      for (const key of previous.keys()) if (!keep.has(key)) previous.delete(key);
    },
  };
}
