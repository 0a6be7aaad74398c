import { AUTO_UPDATE_LABEL, AUTO_UPDATE_WINDOW_LABEL, isImageRef, registryOf, type ContainerSample } from '@farol/protocol';
import type { Logger } from '../logging/logger.js';
import type { Clock } from '../runtime/clock.js';
import { DockerApiError, type DockerClient } from './docker-engine.client.js';
import { isRegistryAuthFailure, type RegistryLogins } from './registry-auth.js';

// Issue #18 (the Watchtower role): the agent asks the registry, through the engine's own
// `GET /distribution/{name}/json` (a manifest HEAD with the engine's registry settings), which
// digest each container's tag names now, and reports it next to the digest the container runs.
// The hub decides what to update; the agent only says what is available.

/** Registry lookups in flight at once. */
const CHECK_CONCURRENCY = 2;
/** Most distinct tags checked in one round (bounded work for a machine with many images). */
const MAX_TAGS_PER_ROUND = 100;

/** What `/containers/json` says of a container that the check needs. */
export interface ListedForUpdate {
  Id: string;
  Image?: string;
  ImageID?: string;
  Labels?: Record<string, string> | null;
}

interface TagState {
  /** The digest the registry named at the last check; null when the lookup failed. */
  remote: string | null;
  checkedAt: number;
}

/** The digest part of `repo@sha256:…`. */
function digestOf(repoDigest: string): string {
  return repoDigest.slice(repoDigest.indexOf('@') + 1);
}

/** The repository of a tag reference (`registry:5000/app:1` → `registry:5000/app`). */
export function repositoryOf(reference: string): string {
  const slash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  return colon > slash ? reference.slice(0, colon) : reference;
}

/** A reference that can be looked up again: a tag, not a digest or an image id. */
export function isCheckableTag(reference: string): boolean {
  return reference !== '' && !reference.includes('@') && !reference.startsWith('sha256:') && isImageRef(reference);
}

export interface UpdateChecker {
  /**
   * Sets digest, availableDigest, updateCheckedAt and autoUpdate on the samples from what is
   * known; starts a registry round when one is due and learns unknown images, both in the background.
   */
  annotate(samples: ContainerSample[], listed: readonly ListedForUpdate[]): void;
  /** Resolves when the work in flight (if any) ends; for tests. */
  settled(): Promise<void>;
}

/** The window label as reported: an over-long value is cut so that it can never read as a valid window. */
function windowLabelOf(labels: Record<string, string> | null | undefined): string | null {
  const value = labels?.[AUTO_UPDATE_WINDOW_LABEL];
  if (value === undefined) return null;
  return value.length > 100 ? `${value.slice(0, 99)}…` : value;
}

export function createUpdateChecker({
  client,
  clock,
  logger,
  everyMs,
  logins,
}: {
  client: DockerClient;
  clock: Clock;
  logger: Logger;
  everyMs: number;
  /** Private registries (ADR 0023): logins the hub hands out for the registries its rules name. */
  logins?: RegistryLogins | undefined;
}): UpdateChecker {
  /** Repo digests per image id (an image id never changes its content). */
  const imageDigests = new Map<string, string[]>();
  const tags = new Map<string, TagState>();
  let lastRoundAt = -Infinity;
  let round: Promise<void> | null = null;

  let inspecting: Promise<void> | null = null;

  /**
   * Reads the repo digests of images not known yet, in the background: the heartbeat never
   * waits for them (its Docker budget is short); the next heartbeat carries them.
   */
  function learnImages(imageIds: string[], again = false): void {
    const missing = imageIds.filter((id) => (again || !imageDigests.has(id)) && /^sha256:[a-f0-9]{64}$/.test(id));
    if (inspecting || missing.length === 0) return;
    inspecting = (async () => {
      for (const imageId of missing) {
        try {
          const image = await client.json<{ RepoDigests?: string[] | null }>({ path: `/images/${imageId}/json`, timeoutMs: 10_000 });
          imageDigests.set(imageId, image.RepoDigests ?? []);
        } catch (error) {
          // Removed meanwhile, or the engine is busy: asked again at the next heartbeat.
          logger.debug({ err: error, imageId }, 'cannot inspect a container image');
        }
      }
    })().finally(() => (inspecting = null));
  }

  /**
   * The registry's answer for a tag: anonymously, or with the login held for its registry; when
   * the registry wants credentials, once more with a login fresh from the hub (if it has one).
   */
  async function distribution(reference: string): Promise<{ Descriptor?: { digest?: string } }> {
    const ask = (registryAuth: string | undefined) => client.json<{ Descriptor?: { digest?: string } }>({ path: `/distribution/${reference}/json`, timeoutMs: 30_000, registryAuth });
    const registry = registryOf(reference);
    const held = logins?.held(registry) ?? undefined;
    try {
      return await ask(held);
    } catch (error) {
      if (!logins || !isRegistryAuthFailure(error)) throw error;
      if (held) logins.forget(registry);
      const fresh = await logins.fetch(registry);
      if (!fresh) throw error;
      return ask(fresh);
    }
  }

  async function lookUp(reference: string): Promise<void> {
    const at = clock.now();
    try {
      const answer = await distribution(reference);
      const remote = answer.Descriptor?.digest;
      tags.set(reference, { remote: typeof remote === 'string' && /^sha256:[a-f0-9]{64}$/.test(remote) ? remote : null, checkedAt: at });
    } catch (error) {
      // A registry that is away or refuses (private, no credentials) leaves the tag unknown.
      tags.set(reference, { remote: null, checkedAt: at });
      logger.info({ image: reference, reason: error instanceof DockerApiError ? error.message : (error as Error).message }, 'cannot ask the registry for the newest digest of an image');
    }
  }

  function startRound(references: string[]): void {
    lastRoundAt = clock.now();
    // A push can give a local image a repo digest later: read them again at each round (the
    // known values stay until the new ones are in, so no heartbeat goes without them).
    learnImages([...imageDigests.keys()], true);
    const queue = references.slice(0, MAX_TAGS_PER_ROUND);
    const worker = async (): Promise<void> => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) await lookUp(next);
    };
    round = Promise.all(Array.from({ length: Math.min(CHECK_CONCURRENCY, queue.length) }, worker))
      .then(() => logger.debug({ images: references.length }, 'registry check of container images done'))
      .finally(() => (round = null));
  }

  return {
    annotate(samples, listed) {
      const byId = new Map(listed.map((entry) => [entry.Id, entry]));
      const references = new Set<string>();
      learnImages(samples.map((sample) => byId.get(sample.id)?.ImageID ?? '').filter(Boolean));
      for (const sample of samples) {
        const entry = byId.get(sample.id);
        if (!entry) continue;
        sample.autoUpdate = entry.Labels?.[AUTO_UPDATE_LABEL] === 'true';
        sample.autoUpdateWindow = windowLabelOf(entry.Labels);
        const digests = entry.ImageID ? imageDigests.get(entry.ImageID) : undefined;
        if (digests === undefined) continue;
        const reference = sample.image;
        const repository = repositoryOf(reference);
        const own = digests.find((d) => d.startsWith(`${repository}@`)) ?? null;
        sample.digest = own ? digestOf(own) : null;
        if (!isCheckableTag(reference) || !own) continue;
        references.add(reference);
        const state = tags.get(reference);
        if (!state) continue;
        sample.updateCheckedAt = state.checkedAt;
        // Unknown (lookup failed) says nothing; a different digest is an update.
        if (state.remote !== null) sample.availableDigest = digests.includes(`${repository}@${state.remote}`) ? null : state.remote;
      }
      // Tags no container uses any more are forgotten (only when every image was known, so none is dropped early).
      if (!inspecting) for (const reference of tags.keys()) if (!references.has(reference)) tags.delete(reference);
      if (!round && references.size > 0 && clock.now() - lastRoundAt >= everyMs) startRound([...references]);
    },
    settled: async () => {
      await inspecting;
      await round;
    },
  };
}
