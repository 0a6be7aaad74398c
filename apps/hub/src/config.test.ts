import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('hub configuration', () => {
  it('uses safe defaults: loopback only, port 8080, 48 h of raw history', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ bind: '127.0.0.1', port: 8080, retentionRaw: 48 * 3_600_000, missedHeartbeats: 3 });
  });

  it('lets flags override the environment', () => {
    expect(loadConfig({ FAROL_PORT: '9000', FAROL_BIND: '100.64.1.2' }, { port: 9100 })).toMatchObject({ port: 9100, bind: '100.64.1.2' });
  });

  it('reports every bad setting at once, naming the variable', () => {
    let error: unknown;
    try {
      loadConfig({ FAROL_PORT: 'eighty', FAROL_RETENTION_RAW: 'two days', FAROL_ADMIN_TOKEN: 'short' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('FAROL_PORT');
    expect(problems).toContain('FAROL_RETENTION_RAW');
    expect(problems).toContain('FAROL_ADMIN_TOKEN');
  });

  it('selects PostgreSQL by one setting, flag over environment, and keeps SQLite when unset (#13)', () => {
    expect(loadConfig({}).databaseUrl).toBeUndefined();
    expect(loadConfig({}).databasePoolSize).toBe(10);
    expect(loadConfig({ FAROL_DATABASE_URL: 'postgres://farol@db:5432/farol?sslmode=require', FAROL_DATABASE_POOL_SIZE: '4' })).toMatchObject({
      databaseUrl: 'postgres://farol@db:5432/farol?sslmode=require',
      databasePoolSize: 4,
    });
    expect(loadConfig({ FAROL_DATABASE_URL: 'postgres://a@x/one' }, { databaseUrl: 'postgresql://b@y/two' }).databaseUrl).toBe('postgresql://b@y/two');
    expect(() => loadConfig({ FAROL_DATABASE_URL: 'mysql://db/farol' })).toThrow(/FAROL_DATABASE_URL.*PostgreSQL URL/);
    expect(() => loadConfig({ FAROL_DATABASE_CA_FILE: '/etc/ca.pem' })).toThrow(/FAROL_DATABASE_CA_FILE needs FAROL_DATABASE_URL/);
  });

  it('keeps docs/configuration.md generated from the schema', () => {
    const script = fileURLToPath(new URL('../../../scripts/gen-docs.mjs', import.meta.url));
    expect(() => execFileSync(process.execPath, [script, '--check'], { stdio: 'pipe' })).not.toThrow();
  });
});
