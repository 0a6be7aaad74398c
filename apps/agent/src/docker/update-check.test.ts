import { describe, expect, it } from 'vitest';
import type { ContainerSample } from '@farol/protocol';
import { createMemoryLogger } from '../logging/logger.js';
import type { DockerClient, DockerRequest } from './docker-engine.client.js';
import { DockerApiError } from './docker-engine.client.js';
import { createUpdateChecker, isCheckableTag, repositoryOf } from './update-check.js';

const OLD = `sha256:${'1'.repeat(64)}`;
const NEW = `sha256:${'2'.repeat(64)}`;
const IMAGE_ID = `sha256:${'a'.repeat(64)}`;

/** An engine answering image inspects and registry lookups from tables; records every path asked. */
function engine(remote: Record<string, string | Error>) {
  const asked: string[] = [];
  const client: DockerClient = {
    endpoint: { kind: 'unix', socketPath: '/x', label: 'unix:///x' },
    async json<T>(request: DockerRequest): Promise<T> {
      asked.push(request.path);
      if (request.path === `/images/${IMAGE_ID}/json`) return { RepoDigests: [`reg:5000/app@${OLD}`, `other/app@${NEW}`] } as T;
      const match = /^\/distribution\/(.+)\/json$/.exec(request.path);
      const answer = match ? remote[match[1]!] : undefined;
      if (answer instanceof Error) throw answer;
      if (answer) return { Descriptor: { digest: answer } } as T;
      throw new DockerApiError(404, `no ${request.path}`);
    },
    stream: () => Promise.reject(new Error('not used')),
    action: () => Promise.reject(new Error('not used')),
  };
  return { client, asked };
}

const sample = (image: string): ContainerSample => ({
  id: 'c1', name: 'web', image, state: 'running', status: 'Up', health: 'none', restartCount: 0, exitCode: null,
  cpuPercent: null, memoryBytes: null, memoryLimitBytes: null, createdAt: null, startedAt: null, watched: false,
});

async function twice(checker: ReturnType<typeof createUpdateChecker>, image: string, labels: Record<string, string> = {}): Promise<ContainerSample> {
  const listed = [{ Id: 'c1', ImageID: IMAGE_ID, Labels: labels }];
  // First beat learns the image, the second starts the registry round, the third reads it.
  for (let i = 0; i < 2; i++) {
    checker.annotate([sample(image)], listed);
    await checker.settled();
  }
  const last = sample(image);
  checker.annotate([last], listed);
  return last;
}

describe('container update check (#18)', () => {
  it('reads repositories and tells tags from digests and ids', () => {
    expect(repositoryOf('reg:5000/app:1')).toBe('reg:5000/app');
    expect(repositoryOf('reg:5000/app')).toBe('reg:5000/app');
    expect(isCheckableTag('reg:5000/app:1')).toBe(true);
    expect(isCheckableTag(`app@${OLD}`)).toBe(false);
    expect(isCheckableTag(IMAGE_ID)).toBe(false);
  });

  it('reports the running digest, a newer one the registry offers, and the opt-in label', async () => {
    const { client } = engine({ 'reg:5000/app:1': NEW });
    const { logger } = createMemoryLogger('warn');
    const checked = await twice(createUpdateChecker({ client, clock: { now: () => 1000 }, logger, everyMs: 0 }), 'reg:5000/app:1', { 'farol.auto-update': 'true' });
    expect(checked).toMatchObject({ digest: OLD, availableDigest: NEW, updateCheckedAt: 1000, autoUpdate: true });
  });

  it('says current (null) when the registry names the running digest, and leaves a failed lookup unknown', async () => {
    const { logger } = createMemoryLogger('warn');
    const current = await twice(createUpdateChecker({ client: engine({ 'reg:5000/app:1': OLD }).client, clock: { now: () => 1 }, logger, everyMs: 0 }), 'reg:5000/app:1');
    expect(current).toMatchObject({ digest: OLD, availableDigest: null, autoUpdate: false });
    const away = await twice(createUpdateChecker({ client: engine({ 'reg:5000/app:1': new DockerApiError(500, 'registry away') }).client, clock: { now: () => 1 }, logger, everyMs: 0 }), 'reg:5000/app:1');
    expect(away.digest).toBe(OLD);
    expect(away.availableDigest).toBeUndefined();
  });

  it('asks the registry once per interval, and never for a container created from a digest', async () => {
    const { client, asked } = engine({ 'reg:5000/app:1': NEW });
    const { logger } = createMemoryLogger('warn');
    let now = 0;
    const checker = createUpdateChecker({ client, clock: { now: () => now }, logger, everyMs: 60_000 });
    await twice(checker, 'reg:5000/app:1');
    now = 30_000;
    await twice(checker, 'reg:5000/app:1');
    expect(asked.filter((p) => p.startsWith('/distribution/'))).toHaveLength(1);
    const pinned = await twice(createUpdateChecker({ client, clock: { now: () => 0 }, logger, everyMs: 0 }), `reg:5000/app@${OLD}`);
    expect(pinned.availableDigest).toBeUndefined();
    expect(asked.filter((p) => p.startsWith('/distribution/'))).toHaveLength(1);
  });
});
