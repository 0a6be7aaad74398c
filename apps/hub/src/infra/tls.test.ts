import { describe, expect, it } from 'vitest';
import { loadConfig, type ConfigError } from '../config.js';
import { trustProxySetting } from './tls.js';

describe('TLS, proxy and secrets settings', () => {
  it('reads the trusted proxies as a list, none by default', () => {
    expect(trustProxySetting(undefined)).toBe(false);
    expect(trustProxySetting('127.0.0.1, 10.0.0.0/8')).toEqual(['127.0.0.1', '10.0.0.0/8']);
  });

  it('refuses settings that only make sense together, naming each', () => {
    const problems = (env: Record<string, string>): string[] => {
      try {
        loadConfig(env);
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    expect(problems({ FAROL_TLS_KEY: '/k.pem' })).toEqual(['FAROL_TLS_CERT and FAROL_TLS_KEY: set both (HTTPS) or neither']);
    expect(problems({ FAROL_SECRETS_BACKEND: 'vault', FAROL_VAULT_ADDR: 'http://127.0.0.1:8200' })).toEqual(['FAROL_SECRETS_BACKEND=vault needs FAROL_VAULT_ADDR and FAROL_VAULT_TOKEN']);
    expect(problems({ FAROL_SECRETS_BACKEND: 'infisical' })[0]).toContain('FAROL_INFISICAL_PROJECT_ID');
    expect(problems({ FAROL_TRUST_PROXY: '127.0.0.1,proxy.local' })).toEqual(['FAROL_TRUST_PROXY: "proxy.local" is not an address or CIDR (e.g. 127.0.0.1,10.0.0.0/8)']);
    expect(problems({ FAROL_SECRETS_BACKEND: 'consul' })[0]).toContain('FAROL_SECRETS_BACKEND');
    expect(problems({ FAROL_TRUST_PROXY: '10.0.0.0/8', FAROL_SECRETS_BACKEND: 'vault', FAROL_VAULT_ADDR: 'http://v:8200', FAROL_VAULT_TOKEN: 't' })).toEqual([]);
  });
});
