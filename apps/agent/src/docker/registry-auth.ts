import { DOCKER_HUB_REGISTRY, parseRegistryCredential, type RegistryCredential } from '@farol/protocol';
import type { HubLink } from '../hub-link/hub-link.client.js';
import type { Logger } from '../logging/logger.js';
import type { Clock } from '../runtime/clock.js';
import { DockerApiError } from './docker-engine.client.js';

// ADR 0023: private registries. The login comes from Farol's secret store, through the hub, and
// lives in this process's memory only: for one command (a pull, deploy or update that names a
// registry secret), or for the digest check until the hub's ttl runs out.

/** How long the hub has to hand a login over. */
const FETCH_TIMEOUT_MS = 15_000;

/**
 * The `X-Registry-Auth` value of a login: JSON in URL-safe base64 *with* padding, as the docker
 * CLI sends it; engines of Docker 20.10 decode it strictly and quietly pull anonymously without
 * the padding.
 */
export function registryAuthHeader(credential: RegistryCredential, registry: string): string {
  // Docker Hub's logins are keyed by this address in the engine, not by docker.io.
  const serveraddress = registry === DOCKER_HUB_REGISTRY ? 'https://index.docker.io/v1/' : registry;
  const json = JSON.stringify({ username: credential.username, password: credential.password, serveraddress });
  return Buffer.from(json, 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** True when an engine error says the registry wants (other) credentials. */
export function isRegistryAuthFailure(error: unknown): boolean {
  if (!(error instanceof DockerApiError)) return false;
  return error.status === 401 || /unauthorized|authentication required|no basic auth credentials|access.*denied|denied: requested access/i.test(error.message);
}

/**
 * Fetches the registry secret a command names (`secrets:fetch`, answered only for this agent's
 * own unfinished command that names it, and a secret scoped to this machine) and parses it.
 * Errors say which secret and why, never its value.
 */
export async function fetchRegistryLogin(link: Pick<HubLink, 'request'>, commandId: string, name: string): Promise<RegistryCredential> {
  const answer = await link.request('secrets:fetch', { commandId, names: [name] }, FETCH_TIMEOUT_MS);
  if (!answer.ok) throw new Error(`the hub refused the registry secret ${name}: ${answer.error.message} (${answer.error.code})`);
  const value = answer.data.secrets.find((secret) => secret.name === name)?.value;
  if (value === undefined) throw new Error(`the hub did not send the registry secret ${name}`);
  const credential = parseRegistryCredential(value);
  if (typeof credential === 'string') throw new Error(`secret ${name}: ${credential}`);
  return credential;
}

/** The registry logins the background digest check may use, kept in memory for the hub's ttl. */
export interface RegistryLogins {
  /** The header of a login still held for this registry, or null. */
  held(registry: string): string | null;
  /**
   * Asks the hub for the registry's login (at most once per `retryMs` after a refusal); the
   * header, or null when the hub has none for this machine.
   */
  fetch(registry: string): Promise<string | null>;
  /** Drops a login the registry refused. */
  forget(registry: string): void;
}

export function createRegistryLogins({
  link,
  clock,
  logger,
  retryMs,
}: {
  link: () => Pick<HubLink, 'request'>;
  clock: Clock;
  logger: Logger;
  /** A refused registry is not asked for again before this long (one check interval). */
  retryMs: number;
}): RegistryLogins {
  const logins = new Map<string, { header: string; until: number }>();
  const refusedAt = new Map<string, number>();
  return {
    held(registry) {
      const login = logins.get(registry);
      if (!login) return null;
      if (clock.now() >= login.until) {
        logins.delete(registry);
        return null;
      }
      return login.header;
    },
    async fetch(registry) {
      const refused = refusedAt.get(registry);
      if (refused !== undefined && clock.now() - refused < retryMs) return null;
      let answer;
      try {
        answer = await link().request('registry:credentials', { registry }, FETCH_TIMEOUT_MS);
      } catch (error) {
        // Not linked right now (or an older hub): the check goes on without a login.
        refusedAt.set(registry, clock.now());
        logger.info({ registry, reason: (error as Error).message }, 'could not ask the hub for a registry login');
        return null;
      }
      if (!answer.ok) {
        refusedAt.set(registry, clock.now());
        logger.info({ registry, code: answer.error.code, reason: answer.error.message }, 'the hub has no registry login for this machine');
        return null;
      }
      refusedAt.delete(registry);
      const header = registryAuthHeader(answer.data, registry);
      logins.set(registry, { header, until: clock.now() + answer.data.ttlMs });
      logger.info({ registry, ttlMs: answer.data.ttlMs }, 'received a registry login from the hub for the digest check');
      return header;
    },
    forget(registry) {
      logins.delete(registry);
    },
  };
}
