import { collectSystemInfo } from '../collectors/system-info.collector.js';
import { defaultCollectorSource } from '../collectors/collector.js';
import type { AgentConfig } from '../config.js';
import { createCaFetch, readCaFile } from '../hub-link/hub-tls.js';
import { createBackoff } from '../hub-link/backoff.js';
import { createHubRotation, splitHubUrls } from '../hub-link/hub-rotation.js';
import { enrollAgent, HubUnreachableError } from '../identity/enroll.client.js';
import { createIdentityRepository, ensureStateDir } from '../identity/identity.repository.js';
import type { IdentityFile } from '../identity/identity.schema.js';
import type { Logger } from '../logging/logger.js';
import { sleep, type RandomSource } from '../runtime/clock.js';
import { AgentExitError, EXIT_CODES } from '../runtime/exit-error.js';
import type { CommandContext } from './context.js';

/** What an unenrolled agent without a token says. */
export const NOT_ENROLLED_MESSAGE =
  'this agent is not enrolled: pass --hub URL --token TOKEN (create one with `farol join-tokens create`)';

/** Creates the state dir (0700), or says in one line why it cannot. */
export function prepareStateDir(stateDir: string): void {
  try {
    ensureStateDir(stateDir);
  } catch (error) {
    throw new AgentExitError(`cannot create the state dir ${stateDir}: ${(error as Error).message} (run as root, or pass --state DIR)`, EXIT_CODES.failure, {
      cause: error,
    });
  }
}

/**
 * Returns the identity in the state dir, enrolling first when there is none and a token is
 * given. `requireNew` (the `enroll` command) refuses to replace an existing identity.
 */
export async function ensureIdentity(
  config: AgentConfig,
  context: CommandContext,
  logger: Logger,
  options: {
    requireNew: boolean;
    /**
     * Retry an unreachable hub with backoff until `signal` aborts (`run`: a machine installed
     * before its hub is up, issue #12). A refused token still ends at once.
     */
    retry?: { signal: AbortSignal; random: RandomSource; capMs: number; baseMs?: number };
  },
): Promise<IdentityFile> {
  const repository = createIdentityRepository(config.stateDir);
  let existing: IdentityFile | null;
  try {
    existing = repository.load();
  } catch (error) {
    throw new AgentExitError((error as Error).message, EXIT_CODES.failure, { cause: error });
  }
  if (existing) {
    if (options.requireNew) {
      throw new AgentExitError(
        `already enrolled as ${existing.name} (${existing.agentId}) with ${existing.hubUrl}: to enroll again, delete ${repository.filePath} first`,
        EXIT_CODES.failure,
      );
    }
    if (config.joinToken) logger.debug('already enrolled; ignoring the join token');
    return existing;
  }
  if (!config.joinToken || !config.hubUrl) throw new AgentExitError(NOT_ENROLLED_MESSAGE, EXIT_CODES.usage);

  prepareStateDir(config.stateDir);
  // Several hubs (`--hub a,b`, issue #14): any of them can enroll (they share one database and
  // one hub key); an unreachable one passes the turn to the next, and identity.json keeps them all.
  const hubs = createHubRotation(splitHubUrls(config.hubUrl), context.random);
  const enroll = async (): Promise<IdentityFile> =>
    enrollAgent({
      hubUrl: hubs.current(),
      joinToken: config.joinToken!,
      system: await collectSystemInfo(defaultCollectorSource()),
      clock: context.clock,
      ...(config.name ? { name: config.name } : {}),
      // A private CA (--ca-file) is the only one trusted for an https hub, from the first request.
      ...(config.caFile ? { fetch: createCaFetch(readCaFile(config.caFile)) } : context.fetch ? { fetch: context.fetch } : {}),
    });
  let identity: IdentityFile | undefined;
  const backoff = options.retry ? createBackoff({ baseMs: options.retry.baseMs ?? 1_000, capMs: options.retry.capMs, random: options.retry.random }) : null;
  let unreachableInARow = 0;
  // Bounded by the shutdown signal: each failed attempt waits up to the reconnect cap.
  while (!identity) {
    try {
      identity = { ...(await enroll()), hubUrl: config.hubUrl };
    } catch (error) {
      if (!(error instanceof HubUnreachableError)) throw error;
      hubs.advance();
      unreachableInARow++;
      // Without retries (`enroll`), every hub gets one try before giving up.
      if (!options.retry || !backoff) {
        if (unreachableInARow < hubs.size) continue;
        throw error;
      }
      const delayMs = backoff.next();
      logger.warn({ delayMs, attempt: backoff.attempt }, `${error.message}; trying to enroll again`);
      await sleep(delayMs, options.retry.signal);
      if (options.retry.signal.aborted) throw new AgentExitError('stopped before the hub could be reached; not enrolled', EXIT_CODES.ok);
    }
  }
  repository.save(identity);
  logger.info(
    { agentId: identity.agentId, name: identity.name, hubUrl: identity.hubUrl, hubKeyFingerprint: identity.hubKeyFingerprint, file: repository.filePath },
    `enrolled as ${identity.name}`,
  );
  return identity;
}
