import { describe, expect, it } from 'vitest';
import { describePostgresUrl, postgresLocation, postgresPoolConfig } from './postgres.js';
import { isStorageFailure } from './storage-health.js';
import { checkDatabase } from '../main.js';

describe('PostgreSQL connection settings (#13)', () => {
  it('turns a CA file into verify-full TLS, and keeps an sslmode the URL names', () => {
    const withCa = new URL(postgresPoolConfig({ url: 'postgres://farol@db:5432/farol', caFile: '/etc/farol/ca.pem', poolSize: 4 }).connectionString!);
    expect(withCa.searchParams.get('sslrootcert')).toBe('/etc/farol/ca.pem');
    expect(withCa.searchParams.get('sslmode')).toBe('verify-full');
    const named = new URL(postgresPoolConfig({ url: 'postgres://farol@db/farol?sslmode=verify-ca', caFile: '/ca.pem', poolSize: 4 }).connectionString!);
    expect(named.searchParams.get('sslmode')).toBe('verify-ca');
    expect(postgresPoolConfig({ url: 'postgres://farol@db/farol', poolSize: 7 })).toMatchObject({ max: 7, connectionString: 'postgres://farol@db/farol' });
  });

  it('reads 64-bit integers and numerics back as numbers, as SQLite gives them', () => {
    const parse = postgresPoolConfig({ url: 'postgres://farol@db/farol', poolSize: 1 }).types!.getTypeParser as (oid: number, format?: string) => (value: string) => unknown;
    expect(parse(20)('1796538980038')).toBe(1796538980038);
    expect(parse(1700)('12.5')).toBe(12.5);
    expect(parse(25)('text')).toBe('text');
  });

  it('treats a lost or unwritable PostgreSQL as a storage failure, so agents stay connected and writes wait (#13)', () => {
    const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });
    for (const code of ['ECONNREFUSED', 'ECONNRESET', '57P01', '08006', '53100', '25006', 'XX001']) expect(isStorageFailure(withCode(code)), code).toBe(true);
    expect(isStorageFailure(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isStorageFailure(new Error('wrapped', { cause: withCode('57P01') }))).toBe(true);
    // A statement's own fault is not the storage's: constraint, syntax, a cancelled statement.
    for (const code of ['23505', '42601', '57014']) expect(isStorageFailure(withCode(code)), code).toBe(false);
  });

  it('names the database in /ready without user or password', () => {
    expect(postgresLocation('postgres://farol:s3cret@db.internal:5432/farol?sslmode=require')).toBe('postgresql://db.internal:5432/farol');
  });

  it('never shows the password in what it logs', () => {
    expect(describePostgresUrl('postgres://farol:s3cret@db:5432/farol?sslmode=require')).toBe('postgres://farol@db:5432/farol?sslmode=require');
    expect(describePostgresUrl('not a url :s3cret')).not.toContain('s3cret');
  });

  it('says farol db check is for SQLite when the hub is on PostgreSQL', () => {
    expect(() => checkDatabase({ dataDir: '/nonexistent' }, { FAROL_DATABASE_URL: 'postgres://farol@db/farol' })).toThrow(/keeps its data in PostgreSQL .*pg_amcheck/);
  });
});
