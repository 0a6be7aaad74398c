import { describe, expect, it } from 'vitest';
import type { ContainerSample } from '@farol/protocol';
import type { HubLink } from '../hub-link/hub-link.client.js';
import { createMemoryLogger } from '../logging/logger.js';
import { DockerApiError, type DockerClient, type DockerRequest } from './docker-engine.client.js';
import { createRegistryLogins, isRegistryAuthFailure, registryAuthHeader } from './registry-auth.js';
import { createUpdateChecker } from './update-check.js';

const OLD = `sha256:${'1'.repeat(64)}`;
const NEW = `sha256:${'2'.repeat(64)}`;
const IMAGE_ID = `sha256:${'a'.repeat(64)}`;
const LOGIN = { username: 'ci', password: 'pw-only-in-memory' };

/** A hub link answering `registry:credentials` from a table; counts the asks. */
function hub(grants: Record<string, typeof LOGIN | null>) {
  const asked: string[] = [];
  const link = {
    request: (async (event: string, payload: { registry: string }) => {
      expect(event).toBe('registry:credentials');
      asked.push(payload.registry);
      const login = grants[payload.registry];
      return login ? { ok: true, data: { ...login, ttlMs: 60_000 } } : { ok: false, error: { code: 'forbidden', message: 'no rule names it' } };
    }) as unknown as HubLink['request'],
  };
  return { link, asked };
}

/** A registry behind the engine that answers only with the right login. */
function privateEngine() {
  const auths: Array<string | undefined> = [];
  const client: DockerClient = {
    endpoint: { kind: 'unix', socketPath: '/x', label: 'unix:///x' },
    async json<T>(request: DockerRequest): Promise<T> {
      if (request.path === `/images/${IMAGE_ID}/json`) return { RepoDigests: [`reg:5000/app@${OLD}`] } as T;
      auths.push(request.registryAuth);
      if (request.registryAuth !== registryAuthHeader(LOGIN, 'reg:5000')) throw new DockerApiError(500, 'Head "http://reg:5000/v2/app/manifests/1": no basic auth credentials');
      return { Descriptor: { digest: NEW } } as T;
    },
    stream: () => Promise.reject(new Error('not used')),
    action: () => Promise.reject(new Error('not used')),
  };
  return { client, auths };
}

const sample = (): ContainerSample => ({
  id: 'c1', name: 'web', image: 'reg:5000/app:1', state: 'running', status: 'Up', health: 'none', restartCount: 0, exitCode: null,
  cpuPercent: null, memoryBytes: null, memoryLimitBytes: null, createdAt: null, startedAt: null, watched: false,
});

async function beats(checker: ReturnType<typeof createUpdateChecker>, n: number): Promise<ContainerSample> {
  const listed = [{ Id: 'c1', ImageID: IMAGE_ID, Labels: { 'farol.auto-update.window': '02:00-04:00 Europe/Lisbon' } }];
  for (let i = 0; i < n; i++) {
    checker.annotate([sample()], listed);
    await checker.settled();
  }
  const last = sample();
  checker.annotate([last], listed);
  return last;
}

describe('private registry logins on the agent (ADR 0023)', () => {
  it('encodes the login as the Engine API wants it (URL-safe base64 with padding), with Docker Hub\'s index address', () => {
    expect(registryAuthHeader({ username: 'u', password: 'p' }, 'r:1')).toMatch(/^[A-Za-z0-9_-]+=*$/);
    expect(registryAuthHeader({ username: 'u', password: 'p' }, 'r:1').length % 4).toBe(0);
    const decoded = JSON.parse(Buffer.from(registryAuthHeader(LOGIN, 'reg:5000'), 'base64url').toString('utf8')) as Record<string, string>;
    expect(decoded).toEqual({ ...LOGIN, serveraddress: 'reg:5000' });
    expect(JSON.parse(Buffer.from(registryAuthHeader(LOGIN, 'docker.io'), 'base64url').toString('utf8'))).toMatchObject({ serveraddress: 'https://index.docker.io/v1/' });
  });

  it('tells a registry asking for credentials from other failures', () => {
    expect(isRegistryAuthFailure(new DockerApiError(500, 'Head "http://127.0.0.1:5000/v2/app/manifests/1": no basic auth credentials'))).toBe(true);
    expect(isRegistryAuthFailure(new DockerApiError(401, 'unauthorized: authentication required'))).toBe(true);
    expect(isRegistryAuthFailure(new DockerApiError(500, 'dial tcp 127.0.0.1:5000: connect: connection refused'))).toBe(false);
    expect(isRegistryAuthFailure(new Error('unauthorized'))).toBe(false);
  });

  it('checks a private registry with the login the hub hands out, keeps it for the ttl, and reports the window label', async () => {
    const { client, auths } = privateEngine();
    const { link, asked } = hub({ 'reg:5000': LOGIN });
    let now = 0;
    const { logger, lines } = createMemoryLogger('debug');
    const logins = createRegistryLogins({ link: () => link, clock: { now: () => now }, logger, retryMs: 10_000 });
    const checker = createUpdateChecker({ client, clock: { now: () => now }, logger, everyMs: 20_000, logins });
    const checked = await beats(checker, 2);
    expect(checked).toMatchObject({ digest: OLD, availableDigest: NEW, autoUpdateWindow: '02:00-04:00 Europe/Lisbon' });
    // Anonymous first, then with the fresh login; the next round uses the held one at once.
    expect(auths).toEqual([undefined, registryAuthHeader(LOGIN, 'reg:5000')]);
    now = 30_000;
    await beats(checker, 1);
    expect(auths.slice(2)).toEqual([registryAuthHeader(LOGIN, 'reg:5000')]);
    expect(asked).toEqual(['reg:5000']);
    // Past the ttl the login is gone: asked for again.
    now = 120_000;
    await beats(checker, 1);
    expect(asked).toEqual(['reg:5000', 'reg:5000']);
    expect(JSON.stringify(lines())).not.toContain(LOGIN.password);
  });

  it('asks the hub at most once per retry interval when it has no login for the registry', async () => {
    const { client } = privateEngine();
    const { link, asked } = hub({});
    let now = 0;
    const { logger } = createMemoryLogger('warn');
    const checker = createUpdateChecker({ client, clock: { now: () => now }, logger, everyMs: 0, logins: createRegistryLogins({ link: () => link, clock: { now: () => now }, logger, retryMs: 10_000 }) });
    const checked = await beats(checker, 3);
    expect(checked.availableDigest).toBeUndefined();
    expect(asked).toEqual(['reg:5000']);
    now = 10_000;
    await beats(checker, 1);
    expect(asked).toEqual(['reg:5000', 'reg:5000']);
  });
});
