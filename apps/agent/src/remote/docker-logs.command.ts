import { DEFAULT_DOCKER_LOG_TAIL, MAX_OUTPUT_BYTES } from '@farol/protocol';
import { containerPath, type DockerClient } from '../docker/docker-engine.client.js';
import type { InspectedContainerFull } from '../docker/containers.collector.js';
import { TailText, createLogDemuxer } from '../docker/log-stream.js';
import { dockerFailure } from './docker-action.command.js';
import { plainOutcome, type RemoteCommandContext, type RemoteOutcome } from './remote-command.js';

/**
 * `docker_logs`: a container's last lines (never followed: a command ends). Its stdout goes to
 * stdout and its stderr to stderr, demultiplexed from Docker's framing; each is capped like a
 * shell command's output, keeping the newest part.
 */
export async function runDockerLogsCommand(
  command: { container: string; tail?: number | undefined; since?: number | undefined; timestamps?: boolean | undefined },
  client: () => DockerClient,
  context: RemoteCommandContext,
): Promise<RemoteOutcome> {
  const startedAt = context.clock.now();
  const docker = client();
  const out = { stdout: new TailText(MAX_OUTPUT_BYTES), stderr: new TailText(MAX_OUTPUT_BYTES) };
  try {
    // A container with a TTY has one raw stream; without one, Docker frames stdout and stderr.
    const inspected = await docker.json<InspectedContainerFull>({ path: containerPath(command.container, '/json'), signal: context.signal });
    const response = await docker.stream({
      path: containerPath(command.container, '/logs'),
      query: {
        stdout: true,
        stderr: true,
        follow: false,
        tail: command.tail ?? DEFAULT_DOCKER_LOG_TAIL,
        since: command.since,
        timestamps: command.timestamps ?? false,
      },
      signal: context.signal,
    });
    if (inspected.Config?.Tty) {
      response.setEncoding('utf8');
      for await (const text of response as AsyncIterable<string>) out.stdout.append(text);
    } else {
      const demuxer = createLogDemuxer((stream, text) => out[stream].append(text));
      for await (const chunk of response as AsyncIterable<Buffer>) demuxer.push(chunk);
      demuxer.end();
    }
  } catch (error) {
    if (context.signal.aborted) return plainOutcome({ state: 'cancelled', startedAt, endedAt: context.clock.now(), error: 'cancelled' });
    return dockerFailure(error, command.container, startedAt, context.clock.now());
  }
  const stdout = out.stdout.text;
  const stderr = out.stderr.text;
  return plainOutcome({
    state: 'succeeded',
    exitCode: 0,
    startedAt,
    endedAt: context.clock.now(),
    stdout,
    stderr,
    stdoutTruncated: out.stdout.truncated,
    stderrTruncated: out.stderr.truncated,
  });
}
