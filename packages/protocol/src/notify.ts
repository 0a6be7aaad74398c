import { z } from 'zod';

/**
 * The contract between the alerts engine (which decides *what* to say and *to which channels*)
 * and the notifier (which renders it per channel and delivers it through its outbox). Alerts
 * never format text for a provider; the notifier never decides whether something is worth
 * saying.
 */

export const SeveritySchema = z.enum(['info', 'warning', 'critical']);
export type Severity = z.infer<typeof SeveritySchema>;

/** One top process, as shown inside an alert ("why is the CPU high?"). */
export const NoticeProcessSchema = z.object({
  pid: z.number().int(),
  name: z.string(),
  cpu: z.number().describe('% of one core'),
  memoryBytes: z.number().nonnegative(),
});

/** One alert in one notification: everything a person needs to understand it without clicking. */
export const AlertNoticeSchema = z
  .object({
    alertId: z.string(),
    ruleId: z.string(),
    ruleName: z.string(),
    /** firing: first notice; repeat: still firing after the cooldown; escalated: unacknowledged past the escalation delay; resolved: condition cleared. */
    event: z.enum(['firing', 'repeat', 'escalated', 'resolved']),
    severity: SeveritySchema,
    agentId: z.string().nullable().describe('null for fleet-wide alerts'),
    agentName: z.string().nullable(),
    /** What the rule looks at: `cpu`, `disk /var`, `container web`, `offline`, `job job_…`. */
    subject: z.string(),
    /** One human sentence: "CPU 93.1 % > 85 % for 5 min". */
    summary: z.string(),
    value: z.number().nullable(),
    threshold: z.number().nullable(),
    comparator: z.enum(['>', '>=', '<', '<=', '==', '!=']).nullable(),
    unit: z.string().nullable().describe('%, B, °C, …'),
    since: z.number().int().describe('ms epoch: when the condition started to hold'),
    resolvedAt: z.number().int().nullable(),
    labels: z.record(z.string(), z.string()),
    topProcesses: z.array(NoticeProcessSchema).max(10).optional(),
    logLines: z.array(z.string()).max(50).optional().describe('last log lines of a container'),
    /** Link to the alert in Mission Control, when the hub knows its public URL. */
    url: z.string().optional(),
  })
  .meta({ id: 'AlertNotice' });
export type AlertNotice = z.infer<typeof AlertNoticeSchema>;

/** The periodic fleet report (the design notes' Vigilo). */
export const FleetReportSchema = z
  .object({
    periodMs: z.number().int().positive(),
    generatedAt: z.number().int(),
    agents: z.object({ total: z.number().int(), online: z.number().int(), offline: z.number().int() }),
    firing: z.array(AlertNoticeSchema).describe('alerts firing now'),
    firedInPeriod: z.number().int().nonnegative(),
    resolvedInPeriod: z.number().int().nonnegative(),
    busiest: z
      .array(z.object({ agentName: z.string(), cpu: z.number().nullable(), memory: z.number().nullable(), disk: z.number().nullable() }))
      .max(10)
      .describe('machines with the highest CPU now'),
  })
  .meta({ id: 'FleetReport' });
export type FleetReport = z.infer<typeof FleetReportSchema>;

/** What the notifier is asked to deliver to a set of channels. */
export const NotificationSchema = z
  .discriminatedUnion('kind', [
    /** Alerts that changed in one evaluation, grouped: one message per channel. */
    z.object({ kind: z.literal('alerts'), alerts: z.array(AlertNoticeSchema).min(1) }),
    z.object({ kind: z.literal('report'), report: FleetReportSchema }),
    z.object({ kind: z.literal('test'), requestedBy: z.string() }),
    /** An automatic container update (issue #18): one machine updated, or rolled back and the rollout stopped. */
    z.object({
      kind: z.literal('container_update'),
      outcome: z.enum(['updated', 'rolled_back', 'failed']),
      machine: z.string(),
      container: z.string(),
      image: z.string(),
      digest: z.string(),
      reason: z.string().nullable(),
      skipped: z.array(z.string()).describe('Machines the stopped rollout leaves alone'),
    }),
  ])
  .meta({ id: 'Notification' });
export type Notification = z.infer<typeof NotificationSchema>;
