import {
  DEFAULT_UPDATE_GRACE_SECONDS,
  DEFAULT_UPDATE_HEALTH_TIMEOUT_SECONDS,
  isImageRef,
  MAX_OUTPUT_BYTES,
  registryOf,
  utf8ByteLength,
  type DockerDeployCommand,
  type DockerUpdateData,
  type RegistryCredential,
} from '@farol/protocol';
import { containerPath, DockerApiError, type DockerClient } from './docker-engine.client.js';
import { registryAuthHeader } from './registry-auth.js';

// Issue #18: deploying, updating (with a health gate and rollback) and removing containers, and
// pulling, listing and pruning images, through the Engine API only: every value comes from a
// command the protocol schema validated, and the path helpers check references once more.

const NS_PER_SECOND = 1_000_000_000;
/** How often an update looks at the new container while it waits for it to be healthy. */
const HEALTH_POLL_MS = 500;
/** Repository that keeps a container's previous image until the next update. */
export const ROLLBACK_REPOSITORY = 'farol-rollback';

/** The API path of one image (by reference or id), checked like container paths. */
export function imagePath(ref: string, suffix = ''): string {
  if (!isImageRef(ref) && !/^sha256:[a-f0-9]{64}$/.test(ref)) throw new Error(`not an image reference: ${JSON.stringify(ref).slice(0, 80)}`);
  return `/images/${ref}${suffix}`;
}

/** `fromImage` and `tag` of a pull: a tag or digest is always given (an empty tag pulls every tag). */
export function pullQuery(image: string): { fromImage: string; tag: string } {
  const at = image.indexOf('@');
  if (at >= 0) return { fromImage: image.slice(0, at), tag: image.slice(at + 1) };
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (colon > slash) return { fromImage: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { fromImage: image, tag: 'latest' };
}

/** The rollback tag of a container's previous image: `farol-rollback/<name>:<ms>`. */
export function rollbackRepository(name: string): string {
  const path = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'container';
  return `${ROLLBACK_REPOSITORY}/${path}`;
}

/** The `POST /containers/create` body of a deploy. `env` already holds the secrets' values. */
export function createBodyOf(command: DockerDeployCommand): Record<string, unknown> {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const port of command.ports ?? []) {
    const key = `${port.containerPort}/${port.protocol}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: port.hostIp ?? '', HostPort: String(port.hostPort) });
  }
  const health = command.health;
  return {
    Image: command.image,
    Env: Object.entries(command.env ?? {}).map(([key, value]) => `${key}=${value}`),
    Labels: { ...command.labels },
    ExposedPorts: exposed,
    ...(health
      ? {
          Healthcheck: {
            Test: ['CMD', ...health.cmd],
            ...(health.intervalSeconds ? { Interval: health.intervalSeconds * NS_PER_SECOND } : {}),
            ...(health.timeoutSeconds ? { Timeout: health.timeoutSeconds * NS_PER_SECOND } : {}),
            ...(health.retries ? { Retries: health.retries } : {}),
            ...(health.startPeriodSeconds !== undefined ? { StartPeriod: health.startPeriodSeconds * NS_PER_SECOND } : {}),
          },
        }
      : {}),
    HostConfig: {
      PortBindings: bindings,
      Binds: (command.mounts ?? []).map((m) => `${m.source}:${m.target}${m.readOnly ? ':ro' : ''}`),
      RestartPolicy: { Name: command.restart ?? 'no', MaximumRetryCount: 0 },
      ...(command.network ? { NetworkMode: command.network } : {}),
    },
  };
}

/** The subset of a full container inspect that a recreate copies. */
export interface InspectForRecreate {
  Id: string;
  Name: string;
  Image: string;
  Config: Record<string, unknown> & { Image: string; Env?: string[] | null; Labels?: Record<string, string> | null; Hostname?: string };
  HostConfig: Record<string, unknown> & { NetworkMode?: string };
  NetworkSettings?: { Networks?: Record<string, { Aliases?: string[] | null; IPAMConfig?: unknown; Links?: string[] | null } | null> | null };
}

/** The subset of an image inspect used to tell what the image set from what the operator set. */
export interface ImageConfig {
  Id: string;
  RepoDigests?: string[] | null;
  Config?: Record<string, unknown> | null;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/**
 * The create body that recreates `container` from `image`, with the configuration the operator
 * gave it (ports, env, mounts, labels, restart policy, network, health check...). What the old
 * image itself set (its ENV, labels, CMD, health check) is left out, so the new image's own
 * settings apply; the operator's are kept as they were.
 */
export function recreateBodyOf(container: InspectForRecreate, oldImage: ImageConfig, image: string): { body: Record<string, unknown>; extraNetworks: Array<{ name: string; config: Record<string, unknown> }> } {
  const imageConfig = oldImage.Config ?? {};
  const config: Record<string, unknown> = { ...container.Config, Image: image };
  const imageEnv = new Set((imageConfig.Env as string[] | undefined) ?? []);
  config.Env = (container.Config.Env ?? []).filter((entry) => !imageEnv.has(entry));
  const imageLabels = (imageConfig.Labels as Record<string, string> | null | undefined) ?? {};
  config.Labels = Object.fromEntries(Object.entries(container.Config.Labels ?? {}).filter(([key, value]) => imageLabels[key] !== value));
  for (const key of ['Cmd', 'Entrypoint', 'Healthcheck', 'WorkingDir', 'User', 'StopSignal', 'Volumes', 'ExposedPorts', 'Shell']) {
    if (sameJson(config[key], imageConfig[key])) delete config[key];
  }
  // Docker names the host after the container id unless the operator chose a name.
  if (typeof config.Hostname === 'string' && container.Id.startsWith(config.Hostname)) delete config.Hostname;
  const shortId = container.Id.slice(0, 12);
  const mode = container.HostConfig.NetworkMode ?? 'default';
  const endpoints = Object.entries(container.NetworkSettings?.Networks ?? {}).map(([name, endpoint]) => ({
    name,
    config: {
      ...(endpoint?.IPAMConfig ? { IPAMConfig: endpoint.IPAMConfig } : {}),
      ...(endpoint?.Links ? { Links: endpoint.Links } : {}),
      Aliases: (endpoint?.Aliases ?? []).filter((alias) => alias !== shortId && alias !== container.Id),
    },
  }));
  const primary = endpoints.find((e) => e.name === mode) ?? null;
  const builtIn = ['none', 'host', 'default'].includes(mode);
  return {
    body: {
      ...config,
      HostConfig: container.HostConfig,
      ...(primary && !builtIn ? { NetworkingConfig: { EndpointsConfig: { [primary.name]: primary.config } } } : {}),
    },
    extraNetworks: builtIn ? [] : endpoints.filter((e) => e !== primary),
  };
}

/** Output kept for the result, cut at the protocol's byte limit. */
export class CappedText {
  text = '';
  truncated = false;
  append(chunk: string): void {
    if (this.truncated) return;
    if (utf8ByteLength(this.text) + utf8ByteLength(chunk) > MAX_OUTPUT_BYTES) {
      this.truncated = true;
      return;
    }
    this.text += chunk;
  }
}

export interface EngineWork {
  client: DockerClient;
  signal: AbortSignal;
  /** One line of progress (streamed to the operator and kept for the result). */
  say(line: string): void;
  now(): number;
  sleep(ms: number): Promise<void>;
  /** The login of the command's registry secret, sent with its pulls (ADR 0023). */
  registryLogin?: RegistryCredential | undefined;
}

/**
 * Pulls an image, saying one line per layer state change (not every progress tick). Throws on
 * an error the registry reports inside the stream (the HTTP status is 200 by then).
 */
export async function pullImage(work: EngineWork, image: string): Promise<void> {
  const response = await work.client.stream({
    method: 'POST',
    path: '/images/create',
    query: pullQuery(image),
    signal: work.signal,
    registryAuth: work.registryLogin ? registryAuthHeader(work.registryLogin, registryOf(image)) : undefined,
  });
  const last = new Map<string, string>();
  let pending = '';
  const handle = (line: string): void => {
    if (line.trim() === '') return;
    let event: { status?: string; id?: string; error?: string; errorDetail?: { message?: string } };
    try {
      event = JSON.parse(line) as typeof event;
    } catch (error) {
      throw new Error(`the Docker engine sent an unreadable pull progress line (${(error as Error).message})`, { cause: error });
    }
    if (event.error) throw new DockerApiError(500, event.errorDetail?.message ?? event.error);
    if (!event.status) return;
    const key = event.id ?? '';
    if (last.get(key) === event.status) return;
    last.set(key, event.status);
    work.say(key ? `${key}: ${event.status}` : event.status);
  };
  for await (const chunk of response as AsyncIterable<Buffer>) {
    const lines = (pending + chunk.toString('utf8')).split('\n');
    pending = lines.pop()!;
    lines.forEach(handle);
  }
  handle(pending);
}

async function imageExists(work: EngineWork, image: string): Promise<ImageConfig | null> {
  try {
    return await work.client.json<ImageConfig>({ path: imagePath(image, '/json'), signal: work.signal });
  } catch (error) {
    if (error instanceof DockerApiError && error.status === 404) return null;
    throw error;
  }
}

/** Deploy: pull when missing, create, start. Returns the new container's id and whether it pulled. */
export async function deployContainer(work: EngineWork, command: DockerDeployCommand): Promise<{ id: string; imageId: string; pulled: boolean }> {
  let image = await imageExists(work, command.image);
  const pulled = image === null;
  if (!image) {
    work.say(`pulling ${command.image}`);
    await pullImage(work, command.image);
    image = await imageExists(work, command.image);
    if (!image) throw new Error(`${command.image} is still missing after the pull`);
  }
  let created: { Id: string };
  try {
    created = await work.client.json<{ Id: string }>({ method: 'POST', path: '/containers/create', query: { name: command.name }, body: createBodyOf(command), signal: work.signal });
  } catch (error) {
    if (error instanceof DockerApiError && error.status === 409) {
      throw new Error(`a container named ${command.name} already exists: use farol containers update, or rm it first`, { cause: error });
    }
    throw error;
  }
  work.say(`created ${command.name} (${created.Id.slice(0, 12)})`);
  try {
    await work.client.action({ path: containerPath(created.Id, '/start'), signal: work.signal });
  } catch (error) {
    // A container that cannot start (a port in use, a missing mount source) is not left behind.
    await work.client.action({ method: 'DELETE', path: containerPath(created.Id), query: { force: true } });
    throw error;
  }
  work.say(`started ${command.name}`);
  return { id: created.Id, imageId: image.Id, pulled };
}

/** Remove a container; without `force` a running one is refused with what to do. */
export async function removeContainer(work: EngineWork, container: string, force: boolean): Promise<void> {
  try {
    await work.client.action({ method: 'DELETE', path: containerPath(container), query: { force }, signal: work.signal });
  } catch (error) {
    if (error instanceof DockerApiError && error.status === 409 && !force) throw new Error(`${container} is running: stop it first or use --force`, { cause: error });
    throw error;
  }
  work.say(`removed ${container}`);
}

interface HealthInspect {
  Id: string;
  RestartCount?: number;
  State?: { Status?: string; Running?: boolean; ExitCode?: number; Health?: { Status?: string; Log?: Array<{ Output?: string; ExitCode?: number }> | null } };
}

/**
 * Waits for a container to prove itself: healthy when it has a health check (unhealthy or gone
 * fails at once), otherwise running without a restart for `graceMs`. Null when good, or why not.
 */
export async function awaitHealthy(work: EngineWork, id: string, timeoutMs: number, graceMs: number): Promise<string | null> {
  const started = work.now();
  let restarts: number | null = null;
  for (;;) {
    const inspect = await work.client.json<HealthInspect>({ path: containerPath(id, '/json'), signal: work.signal });
    const state = inspect.State ?? {};
    const health = state.Health?.Status;
    const elapsed = work.now() - started;
    restarts ??= inspect.RestartCount ?? 0;
    if (!state.Running && state.Status !== 'restarting') return `the new container ${state.Status ?? 'stopped'} (exit code ${state.ExitCode ?? '?'})`;
    if (health === 'healthy') return null;
    if (health === 'unhealthy') {
      const lastCheck = state.Health?.Log?.at(-1);
      const output = lastCheck?.Output?.trim().slice(0, 200);
      return `the new container is unhealthy (health check exit code ${lastCheck?.ExitCode ?? '?'}${output ? `: ${output}` : ''})`;
    }
    if (health === undefined || health === 'none') {
      if ((inspect.RestartCount ?? 0) > restarts) return `the new container restarted ${(inspect.RestartCount ?? 0) - restarts} time(s)`;
      if (elapsed >= graceMs) return null;
    } else if (elapsed >= timeoutMs) return `the new container was not healthy within ${Math.round(timeoutMs / 1000)} s (${health})`;
    await work.sleep(HEALTH_POLL_MS);
  }
}

/**
 * Update: pull the container's image reference; when it names a new image, recreate the
 * container from it with the same configuration and wait for it to be healthy. A new container
 * that does not prove itself is removed and the previous one (stopped, renamed, untouched) is
 * put back under its name and started again. The previous image keeps a rollback tag until the
 * next update, which removes the tags of earlier updates.
 */
export async function updateContainer(
  work: EngineWork,
  command: { container: string; healthTimeoutSeconds?: number | undefined; graceSeconds?: number | undefined },
): Promise<DockerUpdateData> {
  const name = command.container;
  const current = await work.client.json<InspectForRecreate>({ path: containerPath(name, '/json'), signal: work.signal });
  const reference = current.Config.Image;
  if (!isImageRef(reference) || reference.includes('@')) throw new Error(`${name} was created from ${reference.slice(0, 80)}, not a tag that can be pulled again`);
  const repository = rollbackRepository(name);
  await removeOldRollbackTags(work, repository);

  work.say(`pulling ${reference}`);
  await pullImage(work, reference);
  const fresh = await imageExists(work, reference);
  if (!fresh) throw new Error(`${reference} is missing after the pull`);
  const digest = fresh.RepoDigests?.[0] ?? null;
  const base = { image: reference, previousImageId: current.Image, newImageId: fresh.Id, digest };
  if (fresh.Id === current.Image) {
    work.say(`${name} already runs the newest ${reference}`);
    return { kind: 'docker_update', outcome: 'unchanged', ...base, rollbackTag: null, reason: null };
  }
  const oldImage = await work.client.json<ImageConfig>({ path: imagePath(current.Image, '/json'), signal: work.signal });
  const stamp = String(work.now());
  await work.client.action({ path: imagePath(current.Image, '/tag'), query: { repo: repository, tag: stamp }, signal: work.signal });
  const rollbackTag = `${repository}:${stamp}`;
  work.say(`kept the previous image as ${rollbackTag}`);

  const { body, extraNetworks } = recreateBodyOf(current, oldImage, reference);
  const parked = `${name}-farol-previous-${stamp}`.slice(0, 128);
  // From here on no step takes the command's signal until the outcome is known: a cancel or a
  // timeout must not leave the service stopped half-way.
  await work.client.action({ path: containerPath(current.Id, '/stop') });
  try {
    await work.client.action({ path: containerPath(current.Id, '/rename'), query: { name: parked } });
  } catch (error) {
    await work.client.action({ path: containerPath(current.Id, '/start') });
    throw error;
  }
  let reason: string | null;
  let createdId: string | null = null;
  try {
    const created = await work.client.json<{ Id: string }>({ method: 'POST', path: '/containers/create', query: { name }, body });
    createdId = created.Id;
    for (const network of extraNetworks) {
      await work.client.action({ path: `/networks/${encodeURIComponent(network.name)}/connect`, body: { Container: created.Id, EndpointConfig: network.config } });
    }
    await work.client.action({ path: containerPath(created.Id, '/start') });
    work.say(`recreated ${name} from ${digest ?? fresh.Id}; waiting for it to be healthy`);
    reason = await awaitHealthy(
      work,
      created.Id,
      (command.healthTimeoutSeconds ?? DEFAULT_UPDATE_HEALTH_TIMEOUT_SECONDS) * 1000,
      (command.graceSeconds ?? DEFAULT_UPDATE_GRACE_SECONDS) * 1000,
    );
  } catch (error) {
    reason = work.signal.aborted
      ? 'the update was cancelled or timed out before the new container proved healthy'
      : `the new container could not be started: ${(error as Error).message}`;
  }
  if (reason === null) {
    await work.client.action({ method: 'DELETE', path: containerPath(current.Id), query: { force: true } });
    work.say(`${name} is healthy on the new image; removed the previous container`);
    return { kind: 'docker_update', outcome: 'updated', ...base, rollbackTag, reason: null };
  }
  // Roll back: never on the command's signal, so a cancel cannot leave the service down.
  work.say(`rolling back: ${reason}`);
  if (createdId) await work.client.action({ method: 'DELETE', path: containerPath(createdId), query: { force: true } });
  await work.client.action({ path: containerPath(current.Id, '/rename'), query: { name } });
  await work.client.action({ path: containerPath(current.Id, '/start') });
  work.say(`${name} runs the previous image again (${current.Image.slice(0, 19)})`);
  return { kind: 'docker_update', outcome: 'rolled_back', ...base, rollbackTag, reason };
}

async function removeOldRollbackTags(work: EngineWork, repository: string): Promise<void> {
  const images = await work.client.json<Array<{ RepoTags?: string[] | null }>>({ path: '/images/json', query: { filters: JSON.stringify({ reference: [`${repository}:*`] }) }, signal: work.signal });
  for (const tag of images.flatMap((image) => image.RepoTags ?? []).filter((t) => t.startsWith(`${repository}:`))) {
    try {
      await work.client.action({ method: 'DELETE', path: imagePath(tag), signal: work.signal });
      work.say(`removed the earlier rollback image ${tag}`);
    } catch (error) {
      // Still used by a container (a rolled-back one runs it): keep it, the update goes on.
      if (!(error instanceof DockerApiError && error.status === 409)) throw error;
      work.say(`kept ${tag}: still in use`);
    }
  }
}

/** `docker image prune` of dangling images; the bytes reclaimed. */
export async function pruneImages(work: EngineWork): Promise<{ deleted: number; reclaimedBytes: number }> {
  const answer = await work.client.json<{ ImagesDeleted?: Array<{ Deleted?: string; Untagged?: string }> | null; SpaceReclaimed?: number }>({
    method: 'POST',
    path: '/images/prune',
    query: { filters: JSON.stringify({ dangling: ['true'] }) },
    signal: work.signal,
  });
  const deleted = (answer.ImagesDeleted ?? []).filter((entry) => entry.Deleted).length;
  return { deleted, reclaimedBytes: answer.SpaceReclaimed ?? 0 };
}
