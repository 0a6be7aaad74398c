import type { DockerCommand, DockerDeployCommand } from '@farol/protocol';
import type { Collector } from '../collectors/collector.js';
import type { ContainersReading } from '../docker/containers.collector.js';
import { runContainerManageCommand, type ContainerManageDeps } from '../docker/deploy.command.js';
import { runDockerActionCommand, type DockerCommandDeps } from './docker-action.command.js';
import { runDockerLogsCommand } from './docker-logs.command.js';
import { runDockerPsCommand } from './docker-ps.command.js';
import type { RemoteCommandContext, RemoteOutcome } from './remote-command.js';

/** Routes the Docker command kinds to their implementations. */
export function runDockerCommand(
  command: DockerCommand,
  deps: DockerCommandDeps & {
    containers: Collector<ContainersReading>;
    /** Issue #18: a deploy, wrapped so its secrets are fetched from the hub as it runs. */
    deploy: (command: DockerDeployCommand, context: RemoteCommandContext) => Promise<RemoteOutcome>;
    /** ADR 0023: the login of a registry secret a pull or update names. */
    registryLogin?: ContainerManageDeps['registryLogin'];
  },
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
    case 'docker_deploy':
      return deps.deploy(command, context);
    case 'docker_rm':
    case 'docker_update':
    case 'docker_pull':
    case 'docker_images':
    case 'docker_prune':
      return runContainerManageCommand(command, deps, context);
  }
}
