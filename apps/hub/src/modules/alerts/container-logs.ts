import { JobCreateSchema, type Job, type JobCreate } from '@farol/protocol';
import type { Logger } from '../../infra/logger.js';

/** The part of the jobs service the log fetch uses. */
export interface JobsForLogs {
  create(input: JobCreate, actor: string): Promise<Job>;
  waitForFinal(commandId: string, timeoutMs: number): Promise<boolean>;
  get(jobId: string): Promise<Job>;
}

/** Lines a container alert carries, and how long the agent is given to answer. */
export const CONTAINER_LOG_LINES = 20;
const LOG_TIMEOUT_MS = 5_000;

/**
 * The last lines of a container's log, through the agent's `docker_logs` command (a job by
 * `alerts`, so it is audited like any other). Timestamps are asked for so stdout and stderr
 * can be merged in order. Resolves to [] when the machine cannot answer in time.
 */
export function createContainerLogFetcher(jobs: JobsForLogs, logger: Logger): (agentId: string, container: string) => Promise<string[]> {
  return async (agentId, container) => {
    // The container name comes from the agent, which is not trusted (#11): the command is
    // checked with the schema an operator's request passes, and an invalid one is never made.
    const request = JobCreateSchema.safeParse({
      command: { kind: 'docker_logs', container, tail: CONTAINER_LOG_LINES, timestamps: true },
      targets: { agents: [agentId] },
      ttlMs: LOG_TIMEOUT_MS,
      timeoutMs: LOG_TIMEOUT_MS,
    });
    if (!request.success) {
      logger.warn({ agentId, container: container.slice(0, 200), problem: request.error.issues[0]?.message }, 'agent reported a container name no command may carry; its logs are not fetched');
      return [];
    }
    const job = await jobs.create(request.data, 'alerts');
    const commandId = job.targets[0]?.commandId;
    if (!commandId) return [];
    await jobs.waitForFinal(commandId, LOG_TIMEOUT_MS * 2);
    const target = (await jobs.get(job.id)).targets[0];
    if (!target || target.state !== 'succeeded') return [];
    const lines = [...target.stdout.split('\n'), ...target.stderr.split('\n')].filter((line) => line.trim() !== '');
    // RFC 3339 timestamps first on each line: sorting the text sorts by time.
    return lines.sort().slice(-CONTAINER_LOG_LINES);
  };
}
