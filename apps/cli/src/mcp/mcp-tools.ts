import type { AlertsClient, ContainersClient, FarolClient } from '@farol/client';
import {
  AgentStatusSchema,
  AuditActionSchema,
  ContainerRefSchema,
  DurationInputSchema,
  HISTORY_METRICS,
  JobStateSchema,
  ResolutionSchema,
  SeveritySchema,
  toHistoryValues,
  type Agent,
  type HistoryMetric,
  type Job,
  type JobTarget,
  type MetricsResponse,
  type Permission,
} from '@farol/protocol';
import { z } from 'zod';

/** The hub clients the tools call; every request carries `X-Farol-Client: mcp` (see mcp-serve.ts). */
export interface McpHubClients {
  farol: FarolClient;
  alerts: AlertsClient;
  containers: ContainersClient;
}

/** What a tool hands back to the assistant: a text (JSON for data), and whether it is an error. */
export interface ToolOutcome {
  text: string;
  isError?: boolean;
}

/**
 * One tool of `farol mcp`. `permissions` are what the hub's route (and the command kind) need:
 * the server lists a tool only while the token has all of them. The hub checks them again, with
 * the label scope, on every call; the list is a courtesy to the assistant, not the guard.
 */
export interface McpToolDefinition<Shape extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  permissions: readonly Permission[];
  /** Changes something on the hub or a machine (MCP's readOnlyHint false, and audited by the hub). */
  isAction: boolean;
  input: Shape;
  run(input: z.infer<z.ZodObject<Shape>>, clients: McpHubClients): Promise<ToolOutcome>;
}

function defineTool<Shape extends z.ZodRawShape>(tool: McpToolDefinition<Shape>): McpToolDefinition {
  return tool as unknown as McpToolDefinition;
}

const json = (value: unknown): ToolOutcome => ({ text: JSON.stringify(value, null, 2) });

const MachineRef = z.string().min(1).max(128).describe('Machine name or id (as list_machines shows)');
const MAX_HISTORY_POINTS = 240;
/** How long run_command waits for every machine of a multi-machine job before answering with what it has. */
const JOB_WAIT_MS = 120_000;
const JOB_POLL_MS = 500;

/** A machine as an assistant needs it: facts, latest figures, filesystems, containers. */
function describeMachine(agent: Agent): Record<string, unknown> {
  const latest = agent.latest;
  return {
    id: agent.id,
    name: agent.name,
    hostname: agent.hostname,
    status: agent.status,
    labels: agent.labels,
    lastSeen: agent.lastSeen === null ? null : new Date(agent.lastSeen).toISOString(),
    system: agent.system,
    latest: latest
      ? {
          at: new Date(latest.ts).toISOString(),
          percent: toHistoryValues(latest),
          uptimeSeconds: latest.uptimeSeconds,
          processCount: latest.processCount,
          filesystems: latest.filesystems.map((fs) => ({ mount: fs.mount, percent: fs.percent, size: fs.size, used: fs.used })),
        }
      : null,
  };
}

/**
 * Averages a history into at most `maxPoints` points per metric, keeping min and max, so an
 * hour of one-second samples does not flood the assistant's context.
 */
export function condenseHistory(history: MetricsResponse, metrics: readonly HistoryMetric[], maxPoints = MAX_HISTORY_POINTS): Array<Record<string, unknown>> {
  const perBucket = Math.max(1, Math.ceil(history.points.length / maxPoints));
  const condensed: Array<Record<string, unknown>> = [];
  for (let start = 0; start < history.points.length; start += perBucket) {
    const bucket = history.points.slice(start, start + perBucket);
    const point: Record<string, unknown> = { at: new Date(bucket[0]!.ts).toISOString() };
    for (const metric of metrics) {
      const values = bucket.map((p) => p.values[metric]).filter((v) => v !== undefined && v.avg !== null);
      if (values.length === 0) {
        point[metric] = null;
        continue;
      }
      const avg = values.reduce((sum, v) => sum + v!.avg!, 0) / values.length;
      const min = Math.min(...values.map((v) => v!.min ?? v!.avg!));
      const max = Math.max(...values.map((v) => v!.max ?? v!.avg!));
      point[metric] = { avg: round(avg), min: round(min), max: round(max) };
    }
    condensed.push(point);
  }
  return condensed;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function describeTarget(target: JobTarget): Record<string, unknown> {
  return {
    machine: target.agentName,
    state: target.state,
    exitCode: target.exitCode,
    signal: target.signal,
    stdout: target.stdout,
    stderr: target.stderr,
    ...(target.stdoutTruncated || target.stderrTruncated ? { truncated: { stdout: target.stdoutTruncated, stderr: target.stderrTruncated } } : {}),
    error: target.error,
  };
}

function describeJob(job: Job): Record<string, unknown> {
  return { job: job.id, state: job.state, counts: job.counts, targets: job.targets.map(describeTarget) };
}

/** A command's outcome is an error for the assistant when no target succeeded or is still on its way. */
function commandOutcome(job: Job): ToolOutcome {
  const fine = job.targets.every((t) => t.state === 'succeeded' || t.state === 'queued' || t.state === 'sent' || t.state === 'running');
  return { ...json(describeJob(job)), ...(fine ? {} : { isError: true }) };
}

async function waitForJob(farol: FarolClient, job: Job): Promise<Job> {
  const deadline = Date.now() + JOB_WAIT_MS;
  let current = job;
  while (current.state !== 'done' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, JOB_POLL_MS));
    current = await farol.getJob(job.id);
  }
  return current;
}

/** Every tool `farol mcp` can offer, in the order they are listed. */
export const MCP_TOOLS: readonly McpToolDefinition[] = [
  defineTool({
    name: 'list_machines',
    title: 'List machines',
    description: 'The machines of the fleet (those your token may see): status, labels, OS, and the latest CPU, memory and fullest-disk percentages.',
    permissions: ['nodes:read'],
    isAction: false,
    input: {
      status: AgentStatusSchema.optional().describe('Only online or only offline machines'),
      labels: z.array(z.string().regex(/^[^=]+=.*$/, 'key=value')).max(20).optional().describe('key=value labels; all must match'),
    },
    async run({ status, labels }, { farol }) {
      const { agents } = await farol.listAgentSummaries({ status, label: labels });
      return json({
        machines: agents.map((a) => ({
          id: a.id,
          name: a.name,
          status: a.status,
          labels: a.labels,
          os: a.distro ?? a.os,
          lastSeen: a.lastSeen === null ? null : new Date(a.lastSeen).toISOString(),
          cpuPercent: a.cpu,
          memoryPercent: a.memory,
          diskPercent: a.disk,
        })),
      });
    },
  }),
  defineTool({
    name: 'show_machine',
    title: 'Show a machine',
    description: 'One machine in detail: system, labels, latest figures, filesystems and Docker containers.',
    permissions: ['nodes:read'],
    isAction: false,
    input: { machine: MachineRef },
    async run({ machine }, { farol, containers }) {
      const agent = await farol.getAgent(machine);
      const reported = await containers.listContainers(agent.id);
      return json({
        ...describeMachine(agent),
        docker: reported.docker,
        containers: reported.containers.map((c) => ({ name: c.name, image: c.image, state: c.state, health: c.health, status: c.status, restarts: c.restartCount, watched: c.watched })),
      });
    },
  }),
  defineTool({
    name: 'metric_history',
    title: 'Metric history of a machine',
    description: `Stored history of a machine's metrics (${HISTORY_METRICS.join(', ')}), averaged into at most ${MAX_HISTORY_POINTS} points with min and max. CPU, memory, swap and disk are percentages; net and disk I/O bytes per second.`,
    permissions: ['nodes:read'],
    isAction: false,
    input: {
      machine: MachineRef,
      minutes: z.number().int().min(1).max(60 * 24 * 90).default(60).describe('How far back from now; default 60'),
      metrics: z.array(z.enum(HISTORY_METRICS)).min(1).max(HISTORY_METRICS.length).default(['cpu', 'memory', 'disk']).describe('Default cpu, memory, disk'),
      resolution: ResolutionSchema.optional().describe('raw, 1m or 1h; default the finest stored for that range'),
    },
    async run({ machine, minutes, metrics, resolution }, { farol }) {
      const to = Date.now();
      const history = await farol.getMetrics(machine, { from: to - minutes * 60_000, to, resolution });
      return json({
        machine,
        from: new Date(history.from).toISOString(),
        to: new Date(history.to).toISOString(),
        resolution: history.resolution,
        storedPoints: history.points.length,
        points: condenseHistory(history, metrics),
      });
    },
  }),
  defineTool({
    name: 'list_alerts',
    title: 'List alerts',
    description: 'Alerts of the fleet: firing by default; also pending, active (pending and firing), resolved or all.',
    permissions: ['nodes:read'],
    isAction: false,
    input: {
      state: z.enum(['firing', 'pending', 'active', 'resolved', 'all']).default('firing'),
      machine: MachineRef.optional(),
      severity: SeveritySchema.optional(),
      limit: z.number().int().min(1).max(200).default(50),
    },
    async run({ state, machine, severity, limit }, { alerts }) {
      const list = await alerts.listAlerts({ state, agent: machine, severity, limit });
      return json(list);
    },
  }),
  defineTool({
    name: 'list_jobs',
    title: 'List jobs',
    description: 'Commands run on machines, newest first, with how many targets succeeded or failed.',
    permissions: ['nodes:read'],
    isAction: false,
    input: { state: JobStateSchema.optional(), limit: z.number().int().min(1).max(200).default(20) },
    async run({ state, limit }, { farol }) {
      const { jobs } = await farol.listJobs({ state, limit });
      return json({ jobs: jobs.map((j) => ({ id: j.id, command: j.command, state: j.state, createdBy: j.createdBy, createdAt: new Date(j.createdAt).toISOString(), counts: j.counts })) });
    },
  }),
  defineTool({
    name: 'show_job',
    title: 'Show a job',
    description: 'One job with every machine\'s state, exit code, output and error.',
    permissions: ['nodes:read'],
    isAction: false,
    input: { job: z.string().min(1).max(128).describe('Job id (job_…)') },
    async run({ job }, { farol }) {
      return json(describeJob(await farol.getJob(job)));
    },
  }),
  defineTool({
    name: 'list_audit',
    title: 'Read the audit log',
    description: 'The audit log, newest first: who did what on which machine. Entries made through this server carry details.client "mcp".',
    permissions: ['audit:read'],
    isAction: false,
    input: {
      actor: z.string().min(1).max(128).optional(),
      action: AuditActionSchema.optional(),
      machine: MachineRef.optional(),
      limit: z.number().int().min(1).max(500).default(50),
    },
    async run({ actor, action, machine, limit }, { farol }) {
      const list = await farol.listAudit({ actor, action, agent: machine, limit });
      return json({ entries: list.entries.map(({ prevHash: _prev, hash: _hash, ...entry }) => ({ ...entry, at: new Date(entry.at).toISOString() })) });
    },
  }),
  defineTool({
    name: 'run_command',
    title: 'Run a command on machines',
    description:
      'Runs a program on one or more machines (argv, no shell: use ["sh", "-c", "..."] for pipes) and returns each machine\'s exit code and output. ' +
      'Offline machines run it when they return. The hub checks your permissions and label scope, and audits the command.',
    permissions: ['commands:exec'],
    isAction: true,
    input: {
      machines: z.array(MachineRef).min(1).max(100).optional().describe('Machine names or ids'),
      selector: z.string().min(1).max(1024).optional().describe('Or a label selector, e.g. role=web,env=prod'),
      argv: z.array(z.string().max(32_768)).min(1).max(1_024).describe('Program and arguments, e.g. ["df", "-h"]'),
      timeoutSeconds: z.number().int().min(1).max(3_600).optional().describe('Per machine; default the hub\'s (60 s)'),
    },
    async run({ machines, selector, argv, timeoutSeconds }, { farol }) {
      if ((machines === undefined) === (selector === undefined)) return { text: 'give either machines or selector', isError: true };
      const command = { kind: 'shell' as const, argv };
      const timeoutMs = timeoutSeconds === undefined ? undefined : timeoutSeconds * 1_000;
      if (machines?.length === 1) return commandOutcome(await farol.runCommand(machines[0]!, { command, timeoutMs }));
      const job = await farol.createJob({ command, targets: machines ? { agents: machines } : { selector: selector! }, timeoutMs });
      return commandOutcome(await waitForJob(farol, job));
    },
  }),
  defineTool({
    name: 'restart_container',
    title: 'Restart a container',
    description: 'Restarts a Docker container on one machine (docker restart). Needs containers:manage; audited by the hub.',
    permissions: ['commands:exec', 'containers:manage'],
    isAction: true,
    input: {
      machine: MachineRef,
      container: ContainerRefSchema.describe('Container name or id'),
      timeoutSeconds: z.number().int().min(0).max(600).optional().describe('Grace before Docker kills it; default 10'),
    },
    async run({ machine, container, timeoutSeconds }, { farol }) {
      return commandOutcome(await farol.runCommand(machine, { command: { kind: 'docker_restart', container, ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }) } }));
    },
  }),
  defineTool({
    name: 'silence_alerts',
    title: 'Silence alerts',
    description: 'Silences notifications for a time: of one alert (its rule on its machine), or of machines and/or rules. Audited by the hub.',
    permissions: ['alerts:manage'],
    isAction: true,
    input: {
      alert: z.string().min(1).max(128).optional().describe('An alert id from list_alerts: silences its rule on its machine'),
      machines: z.array(MachineRef).min(1).max(100).optional(),
      rules: z.array(z.string().min(1).max(128)).min(1).max(100).optional().describe('Rule names or ids'),
      duration: DurationInputSchema.optional().describe('e.g. 30m, 2h, 1d; default 1h'),
      reason: z.string().min(1).max(500).describe('Why, for the people who see the silence'),
    },
    async run({ alert, machines, rules, duration, reason }, { alerts }) {
      if (alert === undefined && machines === undefined && rules === undefined) return { text: 'give alert, machines or rules', isError: true };
      let agents = machines;
      let ruleRefs = rules;
      if (alert !== undefined) {
        const found = await alerts.getAlert(alert);
        ruleRefs = [...(rules ?? []), found.ruleId];
        if (found.agentId !== null) agents = [...(machines ?? []), found.agentId];
      }
      const silence = await alerts.createSilence({
        matcher: { ...(agents ? { agents } : {}), ...(ruleRefs ? { rules: ruleRefs } : {}) },
        duration: duration ?? '1h',
        reason,
      });
      return json(silence);
    },
  }),
  defineTool({
    name: 'acknowledge_alert',
    title: 'Acknowledge an alert',
    description: 'Marks a firing alert as seen (it stops escalating). Audited by the hub.',
    permissions: ['alerts:manage'],
    isAction: true,
    input: { alert: z.string().min(1).max(128).describe('Alert id from list_alerts'), note: z.string().max(500).optional() },
    async run({ alert, note }, { alerts }) {
      return json(await alerts.acknowledgeAlert(alert, note));
    },
  }),
];

/** The tools a token with `permissions` can use. */
export function toolsAllowed(permissions: readonly Permission[]): McpToolDefinition[] {
  return MCP_TOOLS.filter((tool) => tool.permissions.every((p) => permissions.includes(p)));
}
