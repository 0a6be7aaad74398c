import type { FleetMachine } from './fleet-store.js';

/**
 * What a status dot says: online (green), late (amber: connected but the heartbeat is overdue),
 * offline (red) and never connected (gray).
 */
export type Health = 'online' | 'late' | 'offline' | 'never';
export const HEALTHS: readonly Health[] = ['online', 'late', 'offline', 'never'];

export const SORT_KEYS = ['name', 'cpu', 'memory', 'disk', 'lastSeen'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface FleetFilter {
  /** Matches name, hostname, and labels (`key`, `value` or `key=value`), case-insensitive. */
  query: string;
  health: Health | 'all';
  /** `key=value`, or '' for any. */
  label: string;
  sort: SortKey;
}

export const DEFAULT_FILTER: FleetFilter = { query: '', health: 'all', label: '', sort: 'name' };

const DEFAULT_INTERVAL_MS = 10_000;
/** The hub marks a machine offline after 3 missed heartbeats; "late" warns from 2. */
const LATE_AFTER_INTERVALS = 2;

export function healthOf(machine: FleetMachine, now: number): Health {
  if (machine.status === 'offline') return machine.lastSeen === null ? 'never' : 'offline';
  const interval = machine.heartbeatIntervalMs ?? DEFAULT_INTERVAL_MS;
  if (machine.lastSeen !== null && now - machine.lastSeen > LATE_AFTER_INTERVALS * interval + 1_000) return 'late';
  return 'online';
}

export const labelTerm = (key: string, value: string): string => `${key}=${value}`;

function matchesQuery(machine: FleetMachine, query: string): boolean {
  if (query === '') return true;
  if (machine.name.toLowerCase().includes(query) || machine.hostname.toLowerCase().includes(query)) return true;
  return Object.entries(machine.labels).some(([key, value]) => labelTerm(key, value).toLowerCase().includes(query));
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** Descending by a number; machines without a value go last, then by name. */
function byNumberDesc(pick: (machine: FleetMachine) => number | null) {
  return (a: FleetMachine, b: FleetMachine): number => {
    const x = pick(a);
    const y = pick(b);
    if (x === y) return collator.compare(a.name, b.name);
    if (x === null) return 1;
    if (y === null) return -1;
    return y - x;
  };
}

const COMPARATORS: Record<SortKey, (a: FleetMachine, b: FleetMachine) => number> = {
  name: (a, b) => collator.compare(a.name, b.name),
  cpu: byNumberDesc((m) => m.cpu),
  memory: byNumberDesc((m) => m.memory),
  disk: byNumberDesc((m) => m.disk),
  lastSeen: byNumberDesc((m) => m.lastSeen),
};

export interface FleetRow {
  machine: FleetMachine;
  health: Health;
}

/** The machines to show, filtered and sorted, each with its health at `now`. */
export function selectRows(machines: Iterable<FleetMachine>, filter: FleetFilter, now: number): FleetRow[] {
  const query = filter.query.trim().toLowerCase();
  const [labelKey, labelValue] = filter.label ? splitLabel(filter.label) : [null, null];
  const rows: FleetRow[] = [];
  for (const machine of machines) {
    if (labelKey !== null && machine.labels[labelKey] !== labelValue) continue;
    if (!matchesQuery(machine, query)) continue;
    const health = healthOf(machine, now);
    if (filter.health !== 'all' && health !== filter.health) continue;
    rows.push({ machine, health });
  }
  const compare = COMPARATORS[filter.sort];
  return rows.sort((a, b) => compare(a.machine, b.machine));
}

function splitLabel(term: string): [string, string] {
  const at = term.indexOf('=');
  return at < 0 ? [term, ''] : [term.slice(0, at), term.slice(at + 1)];
}

/** How many machines are in each health state (of the whole fleet, not the filtered view). */
export function countByHealth(machines: Iterable<FleetMachine>, now: number): Record<Health, number> {
  const counts: Record<Health, number> = { online: 0, late: 0, offline: 0, never: 0 };
  for (const machine of machines) counts[healthOf(machine, now)] += 1;
  return counts;
}

/** Every `key=value` in the fleet, sorted, for the label filter. */
export function labelOptions(machines: Iterable<FleetMachine>): string[] {
  const terms = new Set<string>();
  for (const machine of machines) for (const [key, value] of Object.entries(machine.labels)) terms.add(labelTerm(key, value));
  return [...terms].sort(collator.compare);
}
