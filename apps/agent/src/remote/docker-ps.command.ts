import type { Collector } from '../collectors/collector.js';
import type { ContainersReading } from '../docker/containers.collector.js';
import { plainOutcome, type RemoteCommandContext, type RemoteOutcome } from './remote-command.js';

/**
 * `docker_ps`: the containers now, from the same collector as the heartbeats (its CPU baselines
 * are shared, so CPU % covers the time since the last heartbeat). No engine is a failure here:
 * the operator asked about containers explicitly.
 */
export async function runDockerPsCommand(
  command: { all?: boolean | undefined },
  containers: Collector<ContainersReading>,
  context: RemoteCommandContext,
): Promise<RemoteOutcome> {
  const startedAt = context.clock.now();
  const reading = await containers.collect();
  const endedAt = context.clock.now();
  if (reading.docker.state !== 'available') {
    return plainOutcome({ state: 'failed', exitCode: 1, startedAt, endedAt, error: reading.docker.error ?? `Docker is ${reading.docker.state} at ${reading.docker.endpoint}` });
  }
  const list = command.all === false ? reading.containers.filter((c) => c.state === 'running' || c.state === 'restarting') : reading.containers;
  return plainOutcome({ state: 'succeeded', exitCode: 0, startedAt, endedAt, data: { kind: 'docker_ps', docker: reading.docker, containers: list } });
}
