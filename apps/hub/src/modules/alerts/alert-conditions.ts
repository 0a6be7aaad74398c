import {
  AlertRuleInputSchema,
  HeartbeatSampleSchema,
  matchesLabels,
  parseLabelSelector,
  type AlertRuleSpec,
  type AlertScope,
  type CheckKind,
  type CheckLocationState,
  type Comparator,
  type ContainerSample,
  type HeartbeatSample,
  type LabelTerm,
  type SilenceMatcher,
} from '@farol/protocol';

/**
 * Pure pieces of the alerts engine: reading a metric out of a sample, comparing, matching
 * scopes and silences, wording. No I/O, no time: the service owns both.
 */

export interface MetricReading {
  /** The mount, GPU or field the value is about; '' when the metric has one value per machine. */
  instance: string;
  value: number;
}

export interface MetricReader {
  label: string;
  unit: string | null;
  /** Which top-process list explains this metric. */
  processes: 'cpu' | 'memory';
  read(sample: HeartbeatSample): MetricReading[];
}

const one = (value: number | null | undefined): MetricReading[] => (typeof value === 'number' && Number.isFinite(value) ? [{ instance: '', value }] : []);

type GpuField = 'utilization' | 'memory' | 'temperature' | 'power';
const GPU_FIELDS: Record<GpuField, { label: string; unit: string; read: (gpu: HeartbeatSample['gpus'][number]) => number | null }> = {
  utilization: { label: 'GPU', unit: '%', read: (gpu) => gpu.utilization },
  memory: {
    label: 'GPU memory',
    unit: '%',
    read: (gpu) => (gpu.memoryUsed !== null && gpu.memoryTotal ? (gpu.memoryUsed / gpu.memoryTotal) * 100 : null),
  },
  temperature: { label: 'GPU temperature', unit: '°C', read: (gpu) => gpu.temperature },
  power: { label: 'GPU power', unit: 'W', read: (gpu) => gpu.powerWatts },
};

const NAMED: Record<string, Omit<MetricReader, 'read'> & { read(sample: HeartbeatSample): MetricReading[] }> = {
  cpu: { label: 'CPU', unit: '%', processes: 'cpu', read: (s) => one(s.cpu.total) },
  memory: { label: 'Memory', unit: '%', processes: 'memory', read: (s) => one(s.memory?.percent) },
  swap: { label: 'Swap', unit: '%', processes: 'memory', read: (s) => one(s.memory?.swapPercent) },
  load1: { label: 'Load (1 min)', unit: null, processes: 'cpu', read: (s) => one(s.cpu.load?.[0]) },
  load5: { label: 'Load (5 min)', unit: null, processes: 'cpu', read: (s) => one(s.cpu.load?.[1]) },
  load15: { label: 'Load (15 min)', unit: null, processes: 'cpu', read: (s) => one(s.cpu.load?.[2]) },
  temperature: { label: 'Temperature', unit: '°C', processes: 'cpu', read: (s) => one(s.temperatures?.max ?? s.temperatures?.cpu) },
  'net.rx': { label: 'Network in', unit: 'B/s', processes: 'cpu', read: (s) => one(s.network?.rxBps) },
  'net.tx': { label: 'Network out', unit: 'B/s', processes: 'cpu', read: (s) => one(s.network?.txBps) },
  'disk.read': { label: 'Disk reads', unit: 'B/s', processes: 'cpu', read: (s) => one(s.diskIo?.readBps) },
  'disk.write': { label: 'Disk writes', unit: 'B/s', processes: 'cpu', read: (s) => one(s.diskIo?.writeBps) },
  processes: { label: 'Processes', unit: null, processes: 'cpu', read: (s) => one(s.processCount) },
  uptime: { label: 'Uptime', unit: 's', processes: 'cpu', read: (s) => one(s.uptimeSeconds) },
};

/** Throws with an operator-facing message when the metric names nothing a sample has. */
export function compileMetric(metric: string): MetricReader {
  const colon = metric.indexOf(':');
  const name = colon === -1 ? metric : metric.slice(0, colon);
  const only = colon === -1 ? undefined : metric.slice(colon + 1);
  if (name === 'disk') {
    return {
      label: 'Disk',
      unit: '%',
      processes: 'cpu',
      read: (s) => s.filesystems.filter((fs) => only === undefined || fs.mount === only).map((fs) => ({ instance: fs.mount, value: fs.percent })),
    };
  }
  if (name.startsWith('gpu.')) {
    const field = GPU_FIELDS[name.slice(4) as GpuField];
    if (!field) throw new Error(`unknown GPU metric "${name}": use gpu.utilization, gpu.memory, gpu.temperature or gpu.power`);
    return {
      label: field.label,
      unit: field.unit,
      processes: 'cpu',
      read: (s) =>
        s.gpus.flatMap((gpu) => {
          if (only !== undefined && String(gpu.index) !== only) return [];
          const value = field.read(gpu);
          return value === null ? [] : [{ instance: `gpu${gpu.index}`, value }];
        }),
    };
  }
  const named = NAMED[name];
  if (named) {
    if (only !== undefined) throw new Error(`metric "${name}" has one value per machine: drop ":${only}"`);
    return named;
  }
  if (only !== undefined) throw new Error(`only disk and gpu.* metrics take ":instance" (got "${metric}")`);
  // Any numeric field of the sample, by dotted path.
  const path = name.split('.');
  if (!(path[0]! in HeartbeatSampleSchema.shape)) {
    throw new Error(`unknown metric "${metric}": use cpu, memory, swap, load1, load5, load15, temperature, disk, disk:/mount, gpu.utilization, gpu.memory, gpu.temperature, gpu.power, net.rx, net.tx, disk.read, disk.write, processes, uptime, or a dotted path into the heartbeat sample (memory.available)`);
  }
  return {
    label: metric,
    unit: null,
    processes: 'cpu',
    read: (s) => {
      let value: unknown = s;
      for (const key of path) {
        if (value === null || typeof value !== 'object') return [];
        value = (value as Record<string, unknown>)[key];
      }
      return typeof value === 'number' && Number.isFinite(value) ? [{ instance: '', value }] : [];
    },
  };
}

export function compare(value: number, op: Comparator, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}

/**
 * Whether a metric condition holds. A new alert needs the threshold crossed; an existing one
 * (pending or firing) holds until the value is back past the recovery line, so a value
 * hovering at the threshold neither flaps nor restarts its `for` clock.
 */
export function metricHolds(value: number, op: Comparator, threshold: number, recovery: number | undefined, active: boolean): boolean {
  if (!active || recovery === undefined) return compare(value, op, threshold);
  return compare(value, op, recovery);
}

/** Checks a rule beyond its schema (the metric must name something); returns problems. */
export function checkRule(spec: AlertRuleSpec): string[] {
  const problems: string[] = [];
  const condition = spec.condition;
  if (condition.kind === 'metric') {
    try {
      compileMetric(condition.metric);
    } catch (error) {
      problems.push(`condition.metric: ${(error as Error).message}`);
    }
    if (condition.recovery !== undefined) {
      const above = condition.op === '>' || condition.op === '>=';
      const below = condition.op === '<' || condition.op === '<=';
      if ((above && condition.recovery > condition.threshold) || (below && condition.recovery < condition.threshold)) {
        problems.push(`condition.recovery: must be on the safe side of the threshold (${above ? '<=' : '>='} ${condition.threshold})`);
      }
      if (!above && !below) problems.push('condition.recovery: only with >, >=, < or <=');
    }
  }
  if (condition.kind === 'check' && condition.condition === 'latency' && condition.threshold === undefined) {
    problems.push('condition.threshold: a latency rule needs a threshold in milliseconds');
  }
  if ('selector' in spec.scope) {
    try {
      parseLabelSelector(spec.scope.selector);
    } catch (error) {
      problems.push(`scope.selector: ${(error as Error).message}`);
    }
  }
  return problems;
}

export interface AgentFacts {
  id: string;
  name: string;
  labels: Record<string, string>;
}

/** A scope compiled once: `(agent) => covered`. */
export function compileScope(scope: AlertScope): (agent: AgentFacts) => boolean {
  if ('all' in scope) return () => true;
  if ('agents' in scope) {
    const refs = new Set(scope.agents);
    return (agent) => refs.has(agent.id) || refs.has(agent.name);
  }
  const terms: LabelTerm[] = parseLabelSelector(scope.selector);
  return (agent) => matchesLabels(agent.labels, terms);
}

export function compileSilence(matcher: SilenceMatcher): (agent: AgentFacts | null, rule: { id: string; name: string }) => boolean {
  const agents = matcher.agents ? new Set(matcher.agents) : undefined;
  const terms = matcher.selector ? parseLabelSelector(matcher.selector) : undefined;
  const rules = matcher.rules ? new Set(matcher.rules) : undefined;
  return (agent, rule) => {
    if (agents && (!agent || !(agents.has(agent.id) || agents.has(agent.name)))) return false;
    if (terms && (!agent || !matchesLabels(agent.labels, terms))) return false;
    if (rules && !(rules.has(rule.id) || rules.has(rule.name))) return false;
    return true;
  };
}

// ---- containers ---------------------------------------------------------------------------------

const DOWN_STATES = new Set(['exited', 'dead', 'missing', 'created']);

export function containerIsDown(container: ContainerSample): boolean {
  return DOWN_STATES.has(container.state);
}

/** Which containers of a sample a rule looks at: named ones, every one (`*`), or the watched ones. */
export function selectContainers(containers: ContainerSample[], names: string[] | undefined): ContainerSample[] {
  if (!names) return containers.filter((c) => c.watched);
  if (names.includes('*')) return containers;
  const wanted = new Set(names);
  return containers.filter((c) => wanted.has(c.name));
}

// ---- service checks (issue #19) -----------------------------------------------------------------

export interface CheckStateFacts {
  checkId: string;
  checkName: string;
  kind: CheckKind;
  /** The locations that reported recently, with their newest result. */
  locations: CheckLocationState[];
}

export interface CheckVerdict {
  holds: boolean;
  value: number | null;
  threshold: number | null;
  comparator: Comparator | null;
  unit: string | null;
  /** Sentence for a firing alert: the failing locations and the last message. */
  describe(heldMs: number): string;
  cleared: string;
}

type CheckCondition = Extract<AlertRuleSpec['condition'], { kind: 'check' }>;

/** Whether a check rule's condition holds for a check's current state, and its words. */
export function evaluateCheckCondition(condition: CheckCondition, state: CheckStateFacts): CheckVerdict {
  const subject = `check ${state.checkName}`;
  const total = state.locations.length;
  const newestFirst = (list: CheckLocationState[]): CheckLocationState[] => [...list].sort((a, b) => b.at - a.at);
  const where = (list: CheckLocationState[]): string => list.map((l) => l.location).sort().join(', ');
  const lastMessage = (list: CheckLocationState[]): string => {
    const last = newestFirst(list)[0];
    return last ? `: ${last.message}` : '';
  };
  switch (condition.condition) {
    case 'down':
    case 'plugin': {
      const isFailing =
        condition.condition === 'down'
          ? (l: CheckLocationState) => l.status === 'critical'
          : (l: CheckLocationState) => state.kind === 'command' && (condition.states as string[]).includes(l.status);
      const failing = state.locations.filter(isFailing);
      const what = condition.condition === 'down' ? 'down' : failing.some((l) => l.status === 'critical') ? 'CRITICAL' : 'WARNING';
      return {
        holds: failing.length >= condition.minLocations,
        value: failing.length,
        threshold: condition.minLocations,
        comparator: '>=',
        unit: null,
        describe: (heldMs) => `${subject} ${what} from ${failing.length} of ${total} locations (${where(failing)})${lastMessage(failing)} for ${formatSpan(heldMs)}`,
        cleared: `${subject} is ${condition.condition === 'down' ? 'up' : 'OK'} again (${total - failing.length} of ${total} locations)`,
      };
    }
    case 'latency': {
      const threshold = condition.threshold ?? Infinity;
      const failing = state.locations.filter((l) => l.latencyMs !== null && l.latencyMs > threshold);
      const worst = Math.max(...failing.map((l) => l.latencyMs ?? 0), 0);
      return {
        holds: failing.length >= condition.minLocations,
        value: failing.length > 0 ? worst : null,
        threshold: condition.threshold ?? null,
        comparator: '>',
        unit: 'ms',
        describe: (heldMs) => `${subject} latency ${Math.round(worst)} ms > ${threshold} ms from ${failing.length} of ${total} locations (${where(failing)})${lastMessage(failing)} for ${formatSpan(heldMs)}`,
        cleared: `${subject} latency back under ${threshold} ms`,
      };
    }
    case 'certificate': {
      const failing = state.locations.filter((l) => l.certDaysLeft !== null && l.certDaysLeft < condition.days);
      const fewest = Math.min(...failing.map((l) => l.certDaysLeft ?? Infinity));
      return {
        holds: failing.length > 0,
        value: failing.length > 0 ? fewest : null,
        threshold: condition.days,
        comparator: '<',
        unit: 'days',
        describe: () => `${subject}: the certificate expires in ${fewest} days (within ${condition.days}), seen from ${where(failing)}`,
        cleared: `${subject}: the certificate was renewed`,
      };
    }
  }
}

// ---- words --------------------------------------------------------------------------------------

export function formatValue(value: number, unit: string | null): string {
  const rounded = Number.isInteger(value) || Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(1);
  if (unit === null) return rounded;
  if (unit === 'B/s') return `${formatBytes(value)}/s`;
  return `${rounded} ${unit}`;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let index = 0;
  while (value >= 1024 && index < units.length - 1) {
    value /= 1024;
    index++;
  }
  return `${value.toFixed(value >= 100 || index === 0 ? 0 : 1)} ${units[index]}`;
}

/** "5 min", "2 h 5 min", "40 s". */
export function formatSpan(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours < 48) return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
  return `${Math.round(hours / 24)} d`;
}

// ---- defaults -----------------------------------------------------------------------------------

/**
 * The rules a new hub starts with (the design notes' thresholds): created once on first
 * start, then editable and disable-able like any other rule.
 */
export const DEFAULT_RULES: AlertRuleSpec[] = [
  { name: 'CPU high', condition: { kind: 'metric', metric: 'cpu', op: '>', threshold: 85, recovery: 80, for: 300_000 }, severity: 'warning' },
  { name: 'Memory high', condition: { kind: 'metric', metric: 'memory', op: '>', threshold: 90, recovery: 85, for: 300_000 }, severity: 'warning' },
  { name: 'Disk full', condition: { kind: 'metric', metric: 'disk', op: '>', threshold: 90, recovery: 88, for: 300_000 }, severity: 'critical' },
  // Presence already waits 3 missed heartbeats on a hung link; the grace covers an agent's own restart.
  { name: 'Machine offline', condition: { kind: 'offline', for: 30_000 }, severity: 'critical' },
  { name: 'Watched container down', condition: { kind: 'container', condition: 'down', for: 0, restarts: 3, window: 600_000 }, severity: 'critical' },
  { name: 'Watched container unhealthy', condition: { kind: 'container', condition: 'unhealthy', for: 60_000, restarts: 3, window: 600_000 }, severity: 'warning' },
].map((rule) => AlertRuleInputSchema.parse(rule));
