import { readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { ConfigError, type HubConfig } from '../config.js';

/** What Fastify's `https` option receives. */
export interface HubTlsOptions {
  cert: Buffer;
  key: Buffer;
  /** TLS 1.2 is the floor: agents and browsers of the last decade all speak it. */
  minVersion: 'TLSv1.2';
}

/**
 * Reads FAROL_TLS_CERT and FAROL_TLS_KEY (PEM) when both are set; the hub then serves HTTPS and
 * WSS on its one port. Unreadable or mismatched files are a configuration error at start, not
 * a handshake failure later.
 */
export function loadTlsOptions(config: Pick<HubConfig, 'tlsCert' | 'tlsKey'>): HubTlsOptions | null {
  if (!config.tlsCert || !config.tlsKey) return null;
  const problems: string[] = [];
  let cert: Buffer | null = null;
  let key: Buffer | null = null;
  try {
    cert = readFileSync(config.tlsCert);
    new X509Certificate(cert);
  } catch (error) {
    problems.push(`FAROL_TLS_CERT: cannot use ${config.tlsCert}: ${(error as Error).message}`);
  }
  try {
    key = readFileSync(config.tlsKey);
    createPrivateKey(key);
  } catch (error) {
    // The message never includes the key's bytes.
    problems.push(`FAROL_TLS_KEY: cannot use ${config.tlsKey}: ${(error as NodeJS.ErrnoException).code ?? 'not a PEM private key'}`);
  }
  if (cert && key && problems.length === 0 && !new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) {
    problems.push(`FAROL_TLS_KEY: ${config.tlsKey} is not the key of the certificate in ${config.tlsCert}`);
  }
  if (problems.length > 0 || !cert || !key) throw new ConfigError(problems);
  return { cert, key, minVersion: 'TLSv1.2' };
}

/**
 * Fastify's `trustProxy`: the addresses/CIDRs of the reverse proxies in front of the hub. Only
 * a request whose direct peer is one of them has its X-Forwarded-For / -Proto / -Host honoured,
 * so nobody else can choose the IP that rate limits and the audit log see.
 */
export function trustProxySetting(setting: string | undefined): string[] | false {
  if (!setting) return false;
  const entries = setting.split(',').map((entry) => entry.trim()).filter(Boolean);
  return entries.length > 0 ? entries : false;
}
