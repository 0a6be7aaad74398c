import { collectSystemInfo } from '../collectors/system-info.collector.js';
import { defaultCollectorSource } from '../collectors/collector.js';
import type { AgentConfig } from '../config.js';
import { createCaFetch, readCaFile } from '../hub-link/hub-tls.js';
import { enrollAgent } from '../identity/enroll.client.js';
import { createIdentityRepository, ensureStateDir } from '../identity/identity.repository.js';
import type { IdentityFile } from '../identity/identity.schema.js';
import type { Logger } from '../logging/logger.js';
import { AgentExitError, EXIT_CODES } from '../runtime/exit-error.js';
import type { CommandContext } from './context.js';

/** What an unenrolled agent without a token says. */
export const NOT_ENROLLED_MESSAGE =
  'this agent is not enrolled: pass --hub URL --token TOKEN (create one with `farol token create`)';

/**
 * Returns the identity in the state dir, enrolling first when there is none and a token is
 * given. `requireNew` (the `enroll` command) refuses to replace an existing identity.
 */
export async function ensureIdentity(
  config: AgentConfig,
  context: CommandContext,
  logger: Logger,
  options: { requireNew: boolean },
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

  try {
    ensureStateDir(config.stateDir);
  } catch (error) {
    throw new AgentExitError(
      `cannot create the state dir ${config.stateDir}: ${(error as Error).message} (run as root, or pass --state DIR)`,
      EXIT_CODES.failure,
      { cause: error },
    );
  }
  const identity = await enrollAgent({
    hubUrl: config.hubUrl,
    joinToken: config.joinToken,
    system: await collectSystemInfo(defaultCollectorSource()),
    clock: context.clock,
    ...(config.name ? { name: config.name } : {}),
    // A private CA (--ca-file) is the only one trusted for an https hub, from the first request.
    ...(config.caFile ? { fetch: createCaFetch(readCaFile(config.caFile)) } : context.fetch ? { fetch: context.fetch } : {}),
  });
  repository.save(identity);
  logger.info(
    { agentId: identity.agentId, name: identity.name, hubUrl: identity.hubUrl, hubKeyFingerprint: identity.hubKeyFingerprint, file: repository.filePath },
    `enrolled as ${identity.name}`,
  );
  return identity;
}
