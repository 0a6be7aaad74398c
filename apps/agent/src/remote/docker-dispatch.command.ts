import type { DockerCommand } from '@farol/protocol';
import type { Collector } from '../collectors/collector.js';
import type { ContainersReading } from '../docker/containers.collector.js';
import { runDockerActionCommand, type DockerCommandDeps } from './docker-action.command.js';
import { runDockerLogsCommand } from './docker-logs.command.js';
import { runDockerPsCommand } from './docker-ps.command.js';
import type { RemoteCommandContext, RemoteOutcome } from './remote-command.js';

/** Routes the Docker command kinds to their implementations. */
export function runDockerCommand(
  command: DockerCommand,
  deps: DockerCommandDeps & { containers: Collector<ContainersReading> },
  context: RemoteCommandContext,
): Promise<RemoteOutcome> {
  switch (command.kind) {
    case 'docker_ps':
      return runDockerPsCommand(command, deps.containers, context);
    case 'docker_logs':
      return runDockerLogsCommand(command, deps.client, context);
    case 'docker_restart':
    case 'docker_stop':
    case 'docker_start':
      return runDockerActionCommand(command, deps, context);
  }
}
