import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresDatabase } from './postgres.js';

/**
 * TLS to PostgreSQL for real (issue #13, FAROL_DATABASE_CA_FILE): a private cluster of this
 * machine's PostgreSQL binaries on a loopback port, with a server certificate signed by a CA
 * made here, that refuses connections without TLS. Runs as the `postgres` system user, since
 * the server refuses to run as root.
 */
const binDir = (() => {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  return versions.map((v) => path.join(root, v, 'bin')).find((dir) => existsSync(path.join(dir, 'initdb')));
})();
const asPostgres = (command: string, args: string[]) => {
  const run = process.getuid?.() === 0 ? spawnSync('runuser', ['-u', 'postgres', '--', command, ...args], { encoding: 'utf8' }) : spawnSync(command, args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${path.basename(command)} failed: ${run.stderr || run.stdout}`);
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/** A CA, and a server certificate for localhost and 127.0.0.1 signed by it; plus a CA that signed nothing. */
function makeCertificates(dir: string): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=farol-test-ca'], dir);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext'], dir);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other.key', '-out', 'other-ca.pem', '-days', '2', '-subj', '/CN=another-ca'], dir);
}

describe('PostgreSQL over TLS with FAROL_DATABASE_CA_FILE (#13)', () => {
  let dir: string;
  let data: string;
  let port: number;
  let started = false;

  beforeAll(async () => {
    if (!binDir) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql (install postgresql)');
    dir = mkdtempSync(path.join(os.tmpdir(), 'farol-pg-tls-'));
    chmodSync(dir, 0o755);
    data = path.join(dir, 'data');
    makeCertificates(dir);
    if (process.getuid?.() === 0) {
      for (const file of ['server.key', 'server.pem', 'ca.pem']) chownSync(path.join(dir, file), Number(execFileSync('id', ['-u', 'postgres']).toString()), 0);
      chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), 0);
    }
    chmodSync(path.join(dir, 'server.key'), 0o600);
    asPostgres(path.join(binDir, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync']);
    port = await freePort();
    writeFileSync(
      path.join(data, 'postgresql.auto.conf'),
      [`port = ${port}`, "listen_addresses = '127.0.0.1'", `unix_socket_directories = '${dir}'`, 'ssl = on', `ssl_cert_file = '${dir}/server.pem'`, `ssl_key_file = '${dir}/server.key'`, 'fsync = off'].join('\n') + '\n',
    );
    // TLS or nothing: a plain connection is rejected by the server itself.
    writeFileSync(path.join(data, 'pg_hba.conf'), 'hostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\nlocal all all trust\n');
    asPostgres(path.join(binDir, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start']);
    started = true;
  }, 120_000);

  afterAll(() => {
    if (started && binDir) asPostgres(path.join(binDir, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('connects with verify-full against the CA file, and the session is encrypted', async () => {
    const { db } = await openPostgresDatabase({ url: `postgres://postgres@localhost:${port}/postgres`, caFile: path.join(dir, 'ca.pem'), poolSize: 2 });
    try {
      const { rows } = await sql<{ ssl: boolean }>`select ssl from pg_stat_ssl where pid = pg_backend_pid()`.execute(db);
      expect(rows[0]?.ssl).toBe(true);
      // The hub's migrations ran over it.
      const { rows: tables } = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_name = 'agents'`.execute(db);
      expect(tables[0]?.n).toBe(1);
    } finally {
      await db.destroy();
    }
  });

  it('refuses a server whose certificate another CA signed, naming the URL and the CA setting', async () => {
    // Not retried as an outage: a certificate that does not verify is a setting to fix.
    await expect(openPostgresDatabase({ url: `postgres://postgres@localhost:${port}/postgres`, caFile: path.join(dir, 'other-ca.pem'), poolSize: 1 })).rejects.toThrow(/over TLS: .*check FAROL_DATABASE_CA_FILE/);
  });

  it('refuses a name the certificate does not carry under verify-full', async () => {
    // 127.0.0.2 reaches the same loopback server (listening on 127.0.0.1 only would refuse it), so
    // listen there too for this case: the certificate names localhost and 127.0.0.1, not 127.0.0.2.
    const relay = net
      .createServer((socket) => {
        const upstream = net.connect(port, '127.0.0.1');
        // The client hangs up mid-handshake when it refuses the certificate: both ends just close.
        for (const end of [socket, upstream]) end.on('error', () => (socket.destroy(), upstream.destroy()));
        socket.pipe(upstream).pipe(socket);
      })
      .listen(0, '127.0.0.2');
    await new Promise((resolve) => relay.once('listening', resolve));
    const relayPort = (relay.address() as net.AddressInfo).port;
    try {
      await expect(openPostgresDatabase({ url: `postgres://postgres@127.0.0.2:${relayPort}/postgres`, caFile: path.join(dir, 'ca.pem'), poolSize: 1 })).rejects.toThrow(/over TLS: .*host name/);
    } finally {
      relay.close();
    }
  });

  it('is refused without TLS by a server that demands it', async () => {
    await expect(openPostgresDatabase({ url: `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`, poolSize: 1 })).rejects.toThrow(/no encryption|pg_hba|rejects/);
  });
});
