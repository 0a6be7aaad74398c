import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, root, waitFor, type Proc } from './processes.js';

/** The example load-balancer configurations of deploy/load-balancers (docs/scaling.md). */
export const LB_DIR = path.join(root, 'deploy/load-balancers');

export type BalancerKind = 'haproxy' | 'nginx' | 'caddy';

/** Whether a program is installed (balancer tests skip without it). */
export const has = (program: string): boolean => spawnSync('sh', ['-c', `command -v ${program}`]).status === 0;

/** A load balancer from deploy/load-balancers, running in front of hubs on loopback. */
export interface Balancer {
  url: string;
  proc: Proc;
}

/** The example slots, in order: the first hub takes the first server line, and so on (at most three). */
const EXAMPLE_ADDRESSES = ['10.0.0.11:8080', '10.0.0.12:8080', '10.0.0.13:8080'];
const HAPROXY_SERVERS = ['hub-a', 'hub-b', 'hub-c'];

/**
 * The example configuration of `kind`, changed only where a test run must differ: its port on
 * loopback, the hubs' ports (unused example slots removed), and where it may write.
 */
export function balancerConfig(kind: BalancerKind, port: number, hubPorts: number[], work: string): string {
  if (hubPorts.length < 1 || hubPorts.length > EXAMPLE_ADDRESSES.length) throw new Error(`the examples have ${EXAMPLE_ADDRESSES.length} hub slots`);
  if (kind === 'haproxy') {
    let text = readFileSync(path.join(LB_DIR, 'haproxy.cfg'), 'utf8');
    text = text.replace(/^ {4}bind :8080$/m, `    bind 127.0.0.1:${port}`);
    // The file descriptor limit of a test run is lower than a production unit's.
    text = text.replace(/^ {4}maxconn \d+$/m, '    maxconn 1000');
    HAPROXY_SERVERS.forEach((server, i) => {
      const line = new RegExp(`^ {4}server ${server} .*\\n`, 'm');
      text = text.replace(line, i < hubPorts.length ? `    server ${server} 127.0.0.1:${hubPorts[i]} check\n` : '');
    });
    return text;
  }
  if (kind === 'nginx') {
    let text = readFileSync(path.join(LB_DIR, 'nginx.conf'), 'utf8');
    EXAMPLE_ADDRESSES.forEach((address, i) => {
      const line = new RegExp(`^ {8}server ${address.replaceAll('.', '\\.')} (.*)\\n`, 'm');
      text = text.replace(line, (_all, rest: string) => (i < hubPorts.length ? `        server 127.0.0.1:${hubPorts[i]} ${rest}\n` : ''));
    });
    text = text.replace(/^ {8}listen 8080;$/m, `        listen 127.0.0.1:${port};`);
    // Where a user-less test run can write: pid, logs and temporary files under `work`.
    text = text.replace(/^worker_processes auto;$/m, `worker_processes 1;\npid ${work}/nginx.pid;\nerror_log stderr;`);
    text = text.replace(/^http \{$/m, `http {\n    access_log off;\n    client_body_temp_path ${work}/body;\n    proxy_temp_path ${work}/proxy;`);
    return text;
  }
  let text = readFileSync(path.join(LB_DIR, 'Caddyfile'), 'utf8');
  text = text.replace(/^:8080 \{$/m, `{\n\tadmin off\n\tstorage file_system ${work}/caddy\n}\n\nhttp://127.0.0.1:${port} {`);
  text = text.replace(`reverse_proxy ${EXAMPLE_ADDRESSES.join(' ')}`, `reverse_proxy ${hubPorts.map((hubPort) => `127.0.0.1:${hubPort}`).join(' ')}`);
  return text;
}

/** Starts `kind` with its example configuration in front of `hubPorts`; resolves once /ready answers through it. */
export async function startBalancer(kind: BalancerKind, hubPorts: number[], workRoot: string): Promise<Balancer> {
  const port = await freePort();
  const work = path.join(workRoot, `${kind}-${port}`);
  mkdirSync(work, { recursive: true });
  const file = path.join(work, kind === 'caddy' ? 'Caddyfile' : `${kind}.conf`);
  writeFileSync(file, balancerConfig(kind, port, hubPorts, work));
  const args =
    kind === 'haproxy' ? ['haproxy', '-db', '-f', file] : kind === 'nginx' ? ['nginx', '-c', file, '-g', 'daemon off;'] : ['caddy', 'run', '--adapter', 'caddyfile', '--config', file];
  const child = spawn(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: work, XDG_DATA_HOME: work, XDG_CONFIG_HOME: work } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const proc: Proc = {
    child,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`${kind} exited: ${output}`);
      try {
        return (await fetch(`${url}/ready`)).ok || undefined;
      } catch {
        // Not listening yet.
        return undefined;
      }
    }, 20_000, `${kind} answering`);
  } catch (error) {
    await proc.stop('SIGKILL');
    throw error;
  }
  return { url, proc };
}
