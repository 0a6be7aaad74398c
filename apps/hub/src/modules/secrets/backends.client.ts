import { FarolError } from '@farol/protocol';

/** Reads one value from somewhere outside the hub (Vault, Infisical). */
export interface SecretBackend {
  readonly source: 'vault' | 'infisical';
  /** The value of `ref` (path/key), or FarolError not_found / unavailable. Never logs the value. */
  read(name: string, ref: { path?: string | undefined; key?: string | undefined } | null): Promise<string>;
}

/** How long one read may take before the agent or operator gets `unavailable`. */
const READ_TIMEOUT_MS = 10_000;

/** fetch with a timeout; network failures become `unavailable` without the URL's secrets. */
export async function backendFetch(url: URL, headers: Record<string, string>, what: string): Promise<Response> {
  try {
    return await fetch(url, { headers, signal: AbortSignal.timeout(READ_TIMEOUT_MS), redirect: 'error' });
  } catch (error) {
    throw new FarolError('unavailable', `${what} is not reachable: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * HashiCorp Vault, KV version 2: `GET {addr}/v1/{mount}/data/{path}` with `X-Vault-Token`; the
 * value is the field `key` (default `value`) of the entry's `data.data`.
 */
export function createVaultBackend({ addr, token, mount }: { addr: string; token: string; mount: string }): SecretBackend {
  const base = addr.replace(/\/+$/, '');
  return {
    source: 'vault',
    async read(name, ref) {
      const path = ref?.path ?? name;
      const key = ref?.key ?? 'value';
      const url = new URL(`${base}/v1/${encodeURIComponent(mount)}/data/${path.split('/').map(encodeURIComponent).join('/')}`);
      const response = await backendFetch(url, { 'X-Vault-Token': token, accept: 'application/json' }, 'Vault');
      if (response.status === 404) throw new FarolError('not_found', `Vault has no entry ${mount}/${path}`);
      if (response.status === 403) throw new FarolError('unavailable', `Vault refused the hub's token for ${mount}/${path} (403)`);
      if (!response.ok) throw new FarolError('unavailable', `Vault answered HTTP ${response.status} for ${mount}/${path}`);
      const body = (await response.json().catch(() => null)) as { data?: { data?: Record<string, unknown> | null } } | null;
      const value = body?.data?.data?.[key];
      if (typeof value !== 'string') throw new FarolError('not_found', `Vault entry ${mount}/${path} has no string field "${key}"`);
      return value;
    },
  };
}

/**
 * Infisical: `GET {url}/api/v3/secrets/raw/{name}?workspaceId&environment&secretPath` with a
 * bearer token (a machine identity's access token); the value is `secret.secretValue`.
 */
export function createInfisicalBackend({ url, token, projectId, environment, secretPath }: { url: string; token: string; projectId: string; environment: string; secretPath: string }): SecretBackend {
  const base = url.replace(/\/+$/, '');
  return {
    source: 'infisical',
    async read(name, ref) {
      const secretName = ref?.path ?? name;
      const target = new URL(`${base}/api/v3/secrets/raw/${encodeURIComponent(secretName)}`);
      target.searchParams.set('workspaceId', projectId);
      target.searchParams.set('environment', environment);
      target.searchParams.set('secretPath', secretPath);
      const response = await backendFetch(target, { authorization: `Bearer ${token}`, accept: 'application/json' }, 'Infisical');
      if (response.status === 404) throw new FarolError('not_found', `Infisical has no secret ${secretName} in ${environment}:${secretPath}`);
      if (response.status === 401 || response.status === 403) throw new FarolError('unavailable', `Infisical refused the hub's token (${response.status})`);
      if (!response.ok) throw new FarolError('unavailable', `Infisical answered HTTP ${response.status} for ${secretName}`);
      const body = (await response.json().catch(() => null)) as { secret?: { secretValue?: unknown } } | null;
      const value = body?.secret?.secretValue;
      if (typeof value !== 'string') throw new FarolError('not_found', `Infisical's answer for ${secretName} has no secretValue`);
      return value;
    },
  };
}
