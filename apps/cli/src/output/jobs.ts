import { describeCommand, type Job, type JobSummary, type JobTarget, type TargetCounts } from '@farol/protocol';
import { formatRelative, MISSING } from './format.js';
import { renderFields, renderTable } from './table.js';

/** `2 succeeded, 1 failed` from per-state counts, in a fixed order; states with none are left out. */
export function formatCounts(counts: TargetCounts): string {
  const order: Array<keyof TargetCounts> = ['succeeded', 'failed', 'timed_out', 'refused', 'cancelled', 'expired', 'running', 'sent', 'queued'];
  const parts = order.filter((state) => counts[state] > 0).map((state) => `${counts[state]} ${state.replace('_', ' ')}`);
  return parts.length > 0 ? parts.join(', ') : 'no targets';
}

/** `0.12s`, `3.4s`, `2m05s`. */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}

/** One line about how a target ended: `succeeded (exit 0, 0.12s)`, `failed: exited with code 3`. */
export function describeOutcome(target: JobTarget): string {
  const took = target.startedAt !== null && target.endedAt !== null ? formatDuration(Math.max(0, target.endedAt - target.startedAt)) : null;
  if (target.state === 'succeeded') return `succeeded (exit 0${took ? `, ${took}` : ''})`;
  const detail = target.error ?? (target.exitCode !== null ? `exit ${target.exitCode}` : null);
  return `${target.state.replace('_', ' ')}${detail ? `: ${detail}` : ''}`;
}

/** True when every target succeeded: `farol exec` exits 0 only then. */
export function allSucceeded(job: Pick<JobSummary, 'total' | 'counts'>): boolean {
  return job.counts.succeeded === job.total;
}

/** Prefixes each line with the machine name, padded so the output lines up. */
export function prefixLines(text: string, name: string, width: number): string {
  const prefix = `${name.padEnd(width)} | `;
  return text
    .split('\n')
    .map((line) => `${prefix}${line}`)
    .join('\n');
}

/** The table of `farol jobs ls`. */
export function renderJobs(jobs: readonly JobSummary[], now: number): string {
  if (jobs.length === 0) return 'no jobs\n';
  return renderTable(
    ['ID', 'COMMAND', 'TARGETS', 'STATE', 'RESULT', 'CREATED', 'BY'],
    jobs.map((job) => [job.id, truncate(describeCommand(job.command), 40), String(job.total), job.state, formatCounts(job.counts), formatRelative(job.createdAt, now), job.createdBy]),
  );
}

/** The page of `farol jobs show`: the job, each target's outcome, then each target's output. */
export function renderJob(job: Job, now: number): string {
  const sections = [
    renderFields([
      ['job', job.id],
      ['command', describeCommand(job.command)],
      ['state', `${job.state}${job.cancelledAt !== null ? ' (cancelled)' : ''}: ${formatCounts(job.counts)}`],
      ['created', `${formatRelative(job.createdAt, now)} by ${job.createdBy}`],
      ['expires', job.state === 'done' ? undefined : formatRelative(job.expiresAt, now)],
      ['timeout', formatDuration(job.timeoutMs)],
    ]),
    renderTable(
      ['MACHINE', 'STATE', 'EXIT', 'TOOK', 'ERROR'],
      job.targets.map((t) => [
        t.agentName,
        t.state,
        t.exitCode === null ? MISSING : String(t.exitCode),
        t.startedAt !== null && t.endedAt !== null ? formatDuration(t.endedAt - t.startedAt) : MISSING,
        t.error ?? '',
      ]),
    ),
  ];
  const width = Math.max(...job.targets.map((t) => t.agentName.length));
  for (const target of job.targets) {
    const parts: string[] = [];
    if (target.stdout) parts.push(prefixLines(target.stdout.replace(/\n$/, ''), target.agentName, width));
    if (target.stderr) parts.push(prefixLines(target.stderr.replace(/\n$/, ''), `${target.agentName} (stderr)`, width));
    if (target.stdoutTruncated || target.stderrTruncated) parts.push(`${target.agentName.padEnd(width)} | [output cut at 64 KiB]`);
    if (target.data) parts.push(prefixLines(JSON.stringify(target.data, null, 2), target.agentName, width));
    if (parts.length > 0) sections.push(`${parts.join('\n')}\n`);
  }
  return sections.join('\n');
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
