import { existsSync, readFileSync } from 'node:fs';
import type { CheckAssignment, CheckProbe, CheckResultReport, CheckResults, CheckResultsAck, CheckRunResult } from '@farol/protocol';
import { createCheckScheduler, runProbe as defaultRunProbe, type ProbeOptions } from '@farol/probes';
import type { CheckedAck } from '../hub-link/hub-link.client.js';
import type { Logger } from '../logging/logger.js';
import { COMMAND_CHECKS_POLICY, PolicyFileSchema } from '../remote/policy.schema.js';
import type { Clock } from '../runtime/clock.js';

/** Results kept while the hub is away; past this the oldest are dropped (a clear log line says so). */
export const MAX_BUFFERED_RESULTS = 10_000;
/** One `check:results` message at most (the protocol allows 500). */
const BATCH = 500;
const SEND_TIMEOUT_MS = 15_000;

/**
 * Whether this machine's policy.json lets service checks run plugins. Off by default: no file,
 * an unreadable file, or a file without `checks.command` refuses (issue #19). Read at every run,
 * so a change takes effect without a restart.
 */
export function commandChecksAllowed(policyFile: string): { ok: true } | { ok: false; reason: string } {
  const refuse = (why: string) => ({ ok: false as const, reason: `command check refused by this machine's policy: ${why}` });
  if (!existsSync(policyFile)) return refuse(`add "${COMMAND_CHECKS_POLICY}" to "allow" in ${policyFile} to let checks run plugins`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(policyFile, 'utf8'));
  } catch (error) {
    return refuse(`${policyFile} cannot be read (${(error as Error).message})`);
  }
  const parsed = PolicyFileSchema.safeParse(raw);
  if (!parsed.success) return refuse(`${policyFile} is invalid`);
  return parsed.data.allow.includes(COMMAND_CHECKS_POLICY) ? { ok: true } : refuse(`${policyFile} does not allow "${COMMAND_CHECKS_POLICY}"`);
}

/** What the checks need of the hub link (HubLink fits). */
export interface ResultsLink {
  isLinked(): boolean;
  request(event: 'check:results', payload: CheckResults, timeoutMs: number): Promise<CheckedAck<CheckResultsAck>>;
}

export interface AgentChecks {
  /** `checks:assign`: the complete list, replacing the previous one. */
  assign(checks: readonly CheckAssignment[]): void;
  /** `checks:run`. */
  runNow(checkIds: readonly string[]): void;
  /** After a verified hello: buffered results go out. */
  linked(): void;
  pending(): number;
  stop(): Promise<void>;
}

/**
 * The agent's service checks (issue #19): runs what the hub assigned at each check's interval and
 * sends the results with `check:results`, in batches. While the hub is away they wait in a
 * bounded in-memory buffer (MAX_BUFFERED_RESULTS, oldest dropped first; lost on an agent
 * restart, unlike heartbeat samples, which are on disk). Assignments are not kept across
 * restarts: the hub sends them again after every hello.
 */
export function createAgentChecks({
  link,
  policyFile,
  clock,
  logger,
  env = process.env,
  maxBuffered = MAX_BUFFERED_RESULTS,
  runProbe = defaultRunProbe,
}: {
  link: ResultsLink;
  policyFile: string;
  clock: Clock;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  maxBuffered?: number;
  runProbe?: (probe: CheckProbe, timeoutMs: number, options: ProbeOptions) => Promise<CheckRunResult>;
}): AgentChecks {
  let buffer: CheckResultReport[] = [];
  let dropped = 0;
  let flushing: Promise<void> | null = null;

  const scheduler = createCheckScheduler({
    run: (check) => {
      if (check.probe.kind !== 'command') return runProbe(check.probe, check.timeoutMs, { allowCommand: false });
      const policy = commandChecksAllowed(policyFile);
      if (!policy.ok) logger.warn({ checkId: check.id, check: check.name }, policy.reason);
      return runProbe(check.probe, check.timeoutMs, policy.ok ? { allowCommand: true, env } : { allowCommand: false, refusal: policy.reason });
    },
    onResult: (check, result, ts) => {
      buffer.push({ checkId: check.id, ts, ...result });
      if (buffer.length > maxBuffered) {
        dropped += buffer.length - maxBuffered;
        buffer = buffer.slice(buffer.length - maxBuffered);
      }
      flush();
    },
    now: () => clock.now(),
  });

  async function sendAll(): Promise<void> {
    if (dropped > 0) {
      logger.warn({ dropped }, 'check results dropped: the hub was away longer than the buffer holds');
      dropped = 0;
    }
    while (buffer.length > 0 && link.isLinked()) {
      const batch = buffer.slice(0, BATCH);
      let ack;
      try {
        ack = await link.request('check:results', { results: batch }, SEND_TIMEOUT_MS);
      } catch (error) {
        // Not linked, a timeout, a dropped connection: the batch stays for the next hello.
        logger.debug({ err: error, pending: buffer.length }, 'check results not sent yet');
        return;
      }
      if (!ack.ok && ack.error.code !== 'validation_failed') {
        logger.warn({ code: ack.error.code, pending: buffer.length }, `the hub did not take check results: ${ack.error.message}`);
        return;
      }
      // Taken, or refused as invalid (resending cannot help): either way they leave the buffer.
      if (!ack.ok) logger.error({ results: batch.length, message: ack.error.message }, 'the hub refused check results as invalid; dropped');
      const sent = new Set(batch);
      buffer = buffer.filter((r) => !sent.has(r));
    }
  }

  function flush(): void {
    if (flushing || !link.isLinked()) return;
    flushing = sendAll()
      .catch((error: unknown) => logger.error({ err: error }, 'sending check results failed'))
      .finally(() => {
        flushing = null;
      });
  }

  return {
    assign(checks) {
      logger.info({ checks: checks.length }, 'service checks assigned by the hub');
      scheduler.assign(checks);
    },
    runNow: (checkIds) => scheduler.runNow(checkIds),
    linked: flush,
    pending: () => buffer.length,
    async stop() {
      await scheduler.stop();
      await flushing;
    },
  };
}
