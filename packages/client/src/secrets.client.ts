import {
  SecretListSchema,
  SecretRevealSchema,
  SecretSummarySchema,
  type SecretList,
  type SecretPut,
  type SecretReveal,
  type SecretSummary,
} from '@farol/protocol';
import { createTransport, segment, type FarolClientOptions } from './transport.js';

/** Operator secrets of a hub (issue #6). Every method throws FarolApiError on failure. */
export interface SecretsClient {
  listSecrets(): Promise<SecretList>;
  getSecret(name: string): Promise<SecretSummary>;
  /** Creates or replaces; the value is write-only from here on. */
  putSecret(name: string, input: SecretPut): Promise<SecretSummary>;
  deleteSecret(name: string): Promise<void>;
  /** The one read of a value: audited by the hub, needs `secrets:read`. */
  revealSecret(name: string): Promise<SecretReveal>;
}

export function createSecretsClient(options: FarolClientOptions): SecretsClient {
  const { request } = createTransport(options);
  const secret = (name: string) => `/api/secrets/${segment(name)}`;
  return {
    listSecrets: () => request({ method: 'GET', path: '/api/secrets', schema: SecretListSchema }),
    getSecret: (name) => request({ method: 'GET', path: secret(name), schema: SecretSummarySchema }),
    putSecret: (name, input) => request({ method: 'PUT', path: secret(name), body: input, schema: SecretSummarySchema }),
    deleteSecret: (name) => request<void>({ method: 'DELETE', path: secret(name) }),
    revealSecret: (name) => request({ method: 'POST', path: `${secret(name)}/reveal`, schema: SecretRevealSchema }),
  };
}
