import type { DockerDeployCommand, RegistryCredential } from '@farol/protocol';
import { redactAll } from '../secrets/command-secrets.js';
import { sampleFromInspect, type InspectedContainerFull } from './containers.collector.js';
import { containerPath, type DockerClient } from './docker-engine.client.js';
import { CappedText, deployContainer, pruneImages, pullImage, removeContainer, updateContainer, type EngineWork } from './deploy.js';
import type { WatchList } from './watch-list.js';
import { dockerFailure } from '../remote/docker-action.command.js';
import { plainOutcome, type RemoteCommandContext, type RemoteOutcome } from '../remote/remote-command.js';

/** The Docker collaborators of the deploy, update, remove and image commands (issue #18). */
export interface ContainerManageDeps {
  client: () => DockerClient;
  watch: WatchList;
  /** Fetches and parses the registry secret a command names (ADR 0023); absent: such a command fails. */
  registryLogin?: ((commandId: string, name: string) => Promise<RegistryCredential>) | undefined;
}

type ManageCommand =
  | DockerDeployCommand
  | { kind: 'docker_rm'; container: string; force?: boolean | undefined }
  | { kind: 'docker_update'; container: string; healthTimeoutSeconds?: number | undefined; graceSeconds?: number | undefined; registrySecret?: string | undefined }
  | { kind: 'docker_pull'; image: string; registrySecret?: string | undefined }
  | { kind: 'docker_images' }
  | { kind: 'docker_prune' };

interface ImageListEntry {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Size?: number;
  Created?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function fmtBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.round(bytes / 1024)} kB`;
}

/**
 * Runs one of the container-managing kinds; progress lines stream like `exec` output and the
 * result carries them plus the structured data. A deploy's `env` already holds the values of its
 * secrets (withCommandSecrets fetched them); they go to the engine and nowhere else.
 */
export async function runContainerManageCommand(command: ManageCommand, deps: ContainerManageDeps, context: RemoteCommandContext): Promise<RemoteOutcome> {
  const startedAt = context.clock.now();
  const client = deps.client();
  const stdout = new CappedText();
  const work: EngineWork = {
    client,
    signal: context.signal,
    say: (text) => {
      const line = work.registryLogin ? redactAll(text, [work.registryLogin.password]) : text;
      stdout.append(`${line}\n`);
      context.onOutput('stdout', `${line}\n`);
    },
    now: () => context.clock.now(),
    sleep,
  };
  const container = 'container' in command ? command.container : command.kind === 'docker_deploy' ? command.name : null;
  const registrySecret = 'registrySecret' in command ? command.registrySecret : undefined;
  if (registrySecret) {
    try {
      if (!deps.registryLogin) throw new Error('this agent cannot fetch registry secrets');
      work.registryLogin = await deps.registryLogin(context.commandId, registrySecret);
    } catch (error) {
      context.logger.warn({ commandId: context.commandId, secret: registrySecret, reason: (error as Error).message }, 'no registry login for this command');
      return plainOutcome({ state: 'failed', startedAt, endedAt: context.clock.now(), error: (error as Error).message });
    }
    context.logger.info({ commandId: context.commandId, secret: registrySecret }, 'pulling with the login of a registry secret');
  }
  const outcome = await runWithWork(command, deps, context, work, stdout, startedAt, container);
  // The password went to the engine only; should any error or line quote it, it is blanked.
  const login = work.registryLogin;
  if (!login) return outcome;
  const values = [login.password];
  return { ...outcome, stdout: redactAll(outcome.stdout, values), stderr: redactAll(outcome.stderr, values), error: outcome.error === null ? null : redactAll(outcome.error, values) };
}

async function runWithWork(
  command: ManageCommand,
  deps: ContainerManageDeps,
  context: RemoteCommandContext,
  work: EngineWork,
  stdout: CappedText,
  startedAt: number,
  container: string | null,
): Promise<RemoteOutcome> {
  const client = work.client;
  const done = (fields: Partial<RemoteOutcome> = {}): RemoteOutcome =>
    plainOutcome({ state: 'succeeded', exitCode: 0, startedAt, endedAt: context.clock.now(), stdout: stdout.text, stdoutTruncated: stdout.truncated, ...fields });
  try {
    switch (command.kind) {
      case 'docker_deploy': {
        const deployed = await deployContainer(work, command);
        const inspected = await client.json<InspectedContainerFull>({ path: containerPath(deployed.id, '/json'), signal: context.signal });
        context.logger.info({ container: command.name, image: command.image, pulled: deployed.pulled }, 'container deployed');
        return done({ data: { kind: 'docker_deploy', container: sampleFromInspect(inspected, deps.watch), imageId: deployed.imageId, pulled: deployed.pulled } });
      }
      case 'docker_rm':
        await removeContainer(work, command.container, command.force === true);
        return done();
      case 'docker_update': {
        const data = await updateContainer(work, command);
        context.logger.info({ container: command.container, outcome: data.outcome, reason: data.reason }, 'container update done');
        if (data.outcome === 'rolled_back') {
          return done({ state: 'failed', exitCode: 1, data, error: `rolled back to the previous image: ${data.reason}` });
        }
        return done({ data });
      }
      case 'docker_pull':
        await pullImage(work, command.image);
        return done();
      case 'docker_images': {
        const images = await client.json<ImageListEntry[]>({ path: '/images/json', signal: context.signal });
        for (const image of images) work.say(`${(image.RepoTags ?? []).join(',') || '<none>'}  ${image.Id.slice(7, 19)}  ${fmtBytes(image.Size ?? 0)}`);
        return done({
          data: {
            kind: 'docker_images',
            images: images.slice(0, 5_000).map((image) => ({
              id: image.Id,
              tags: image.RepoTags ?? [],
              digests: image.RepoDigests ?? [],
              sizeBytes: Math.max(0, image.Size ?? 0),
              createdAt: Math.trunc((image.Created ?? 0) * 1000),
            })),
          },
        });
      }
      case 'docker_prune': {
        const pruned = await pruneImages(work);
        work.say(`removed ${pruned.deleted} image(s), reclaimed ${fmtBytes(pruned.reclaimedBytes)}`);
        return done();
      }
    }
  } catch (error) {
    if (context.signal.aborted) return plainOutcome({ state: 'cancelled', startedAt, endedAt: context.clock.now(), stdout: stdout.text, error: 'cancelled' });
    return { ...dockerFailure(error, container, startedAt, context.clock.now()), stdout: stdout.text, stdoutTruncated: stdout.truncated };
  }
}
