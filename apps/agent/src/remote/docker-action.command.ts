import { DockerApiError, DockerUnavailableError, containerPath, type DockerClient } from '../docker/docker-engine.client.js';
import { sampleFromInspect, type InspectedContainerFull } from '../docker/containers.collector.js';
import type { WatchList } from '../docker/watch-list.js';
import { plainOutcome, type RemoteCommandContext, type RemoteOutcome } from './remote-command.js';

type DockerActionKind = 'docker_restart' | 'docker_stop' | 'docker_start';

const VERB: Record<DockerActionKind, { path: '/restart' | '/stop' | '/start'; done: string; noop: string }> = {
  docker_restart: { path: '/restart', done: 'restarted', noop: 'restarted' },
  docker_stop: { path: '/stop', done: 'stopped', noop: 'was already stopped' },
  docker_start: { path: '/start', done: 'started', noop: 'was already running' },
};

/** The Docker collaborators of the container commands. */
export interface DockerCommandDeps {
  client: () => DockerClient;
  watch: WatchList;
}

/** A failure that says what went wrong in the operator's terms. */
export function dockerFailure(error: unknown, container: string | null, startedAt: number, endedAt: number): RemoteOutcome {
  let message: string;
  if (error instanceof DockerUnavailableError) message = error.message;
  else if (error instanceof DockerApiError && error.status === 404 && container !== null) message = `no such container: ${container}`;
  else if (error instanceof DockerApiError) message = `the Docker engine refused: ${error.message} (HTTP ${error.status})`;
  else message = `Docker request failed: ${(error as Error).message}`;
  return plainOutcome({ state: 'failed', exitCode: 1, startedAt, endedAt, error: message });
}

/**
 * `docker_restart`, `docker_stop`, `docker_start`: one Engine API call on a validated container
 * reference (the path helper checks it again), then the container as Docker now sees it.
 */
export async function runDockerActionCommand(
  command: { kind: DockerActionKind; container: string; timeoutSeconds?: number | undefined },
  deps: DockerCommandDeps,
  context: RemoteCommandContext,
): Promise<RemoteOutcome> {
  const startedAt = context.clock.now();
  const client = deps.client();
  const verb = VERB[command.kind];
  try {
    const changed = await client.action({
      path: containerPath(command.container, verb.path),
      query: command.kind === 'docker_start' ? {} : { t: command.timeoutSeconds },
      signal: context.signal,
    });
    const inspected = await client.json<InspectedContainerFull>({ path: containerPath(command.container, '/json'), signal: context.signal });
    const container = sampleFromInspect(inspected, deps.watch);
    context.logger.info({ container: container.name, kind: command.kind, changed, state: container.state }, 'container command done');
    return plainOutcome({
      state: 'succeeded',
      exitCode: 0,
      startedAt,
      endedAt: context.clock.now(),
      stdout: `${container.name} ${changed ? verb.done : verb.noop} (${container.status})\n`,
      data: { kind: command.kind, container, changed },
    });
  } catch (error) {
    if (context.signal.aborted) return plainOutcome({ state: 'cancelled', startedAt, endedAt: context.clock.now(), error: 'cancelled' });
    return dockerFailure(error, command.container, startedAt, context.clock.now());
  }
}
