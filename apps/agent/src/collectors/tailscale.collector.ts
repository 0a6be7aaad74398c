import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { MAX_TAILSCALE_PEERS, TailscaleReportSchema, type TailscaleNode, type TailscaleReport } from '@farol/protocol';
import type { CheckedAck } from '../hub-link/hub-link.client.js';
import type { Logger } from '../logging/logger.js';

/** How often the agent reads `tailscale status --json` and reports it when it changed. */
export const TAILSCALE_INTERVAL_MS = 60_000;
/** An unchanged view is still sent this often, so the hub knows it is current. */
const UNCHANGED_EVERY_MS = 10 * 60_000;
const STATUS_TIMEOUT_MS = 10_000;
const SEND_TIMEOUT_MS = 15_000;
/** `tailscale status --json` of a large tailnet is a few MB; beyond this it is not read. */
const MAX_STATUS_BYTES = 16 * 1024 * 1024;

/** The first executable `tailscale` on PATH, or null. */
export function findTailscale(env: NodeJS.ProcessEnv = process.env): string | null {
  const names = process.platform === 'win32' ? ['tailscale.exe'] : ['tailscale'];
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const name of names) {
      const candidate = path.join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // Not in this directory (or not executable): the next one of PATH.
        continue;
      }
    }
  }
  return null;
}

const text = (value: unknown, max: number): string => (typeof value === 'string' ? value.slice(0, max) : '');
const IP = /^[0-9a-fA-F:.]{2,45}$/;

function handshakeOf(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  // Go's zero time (0001-01-01) means never.
  return Number.isFinite(ms) && ms > 0 ? ms : null;
}

function nodeOf(raw: unknown): TailscaleNode | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const node = raw as Record<string, unknown>;
  const ips = Array.isArray(node.TailscaleIPs) ? node.TailscaleIPs.filter((ip): ip is string => typeof ip === 'string' && IP.test(ip)).slice(0, 8) : [];
  return {
    hostName: text(node.HostName, 255),
    dnsName: text(node.DNSName, 255),
    os: text(node.OS, 64),
    tailscaleIps: ips,
    online: node.Online === true,
    relay: text(node.Relay, 32),
    curAddr: text(node.CurAddr, 64),
    latencyMs: null,
    lastHandshake: handshakeOf(node.LastHandshake),
  };
}

/**
 * Reduces `tailscale status --json` to the report the hub takes: self, peers (direct when
 * `CurAddr` is set, else through the DERP region in `Relay`), the tailnet's name. Throws when
 * the text is not a status. The hub validates the report again: it is the machine's word.
 */
export function reduceTailscaleStatus(json: string): TailscaleReport {
  const status = JSON.parse(json) as Record<string, unknown>;
  const self = nodeOf(status.Self);
  if (!self) throw new Error('tailscale status has no Self');
  const tailnetInfo = status.CurrentTailnet as Record<string, unknown> | null | undefined;
  const tailnet = text(tailnetInfo?.Name, 255) || text(tailnetInfo?.MagicDNSSuffix, 255) || text(status.MagicDNSSuffix, 255) || null;
  const rawPeers = status.Peer && typeof status.Peer === 'object' ? Object.values(status.Peer as Record<string, unknown>) : [];
  const peers = rawPeers.map(nodeOf).filter((peer): peer is TailscaleNode => peer !== null);
  peers.sort((a, b) => a.hostName.localeCompare(b.hostName));
  return TailscaleReportSchema.parse({
    backendState: text(status.BackendState, 32),
    tailnet,
    self,
    peers: peers.slice(0, MAX_TAILSCALE_PEERS),
    peersCut: peers.length > MAX_TAILSCALE_PEERS,
  });
}

/** Runs `tailscale status --json` (argv, no shell). */
export function readTailscaleStatus(binary: string): Promise<TailscaleReport> {
  return new Promise((resolve, reject) => {
    execFile(binary, ['status', '--json'], { timeout: STATUS_TIMEOUT_MS, maxBuffer: MAX_STATUS_BYTES, encoding: 'utf8', windowsHide: true }, (error, stdout, stderr) => {
      // `tailscale status` exits non-zero when stopped but still prints the JSON; use it if it parses.
      try {
        resolve(reduceTailscaleStatus(stdout));
      } catch (parseError) {
        reject(new Error(`tailscale status --json: ${stderr.trim().split('\n')[0] || (error ?? parseError as Error).message}`, { cause: error ?? parseError }));
      }
    });
  });
}

export interface TailscaleLink {
  isLinked(): boolean;
  request(event: 'tailscale:report', payload: TailscaleReport, timeoutMs: number): Promise<CheckedAck<Record<string, never>>>;
}

export interface TailscaleReporter {
  /** After a verified hello: report now. */
  linked(): void;
  stop(): void;
}

/**
 * When `tailscale` is on PATH (looked up at every round, so installing it later works), reads
 * its status every TAILSCALE_INTERVAL_MS and sends `tailscale:report` when it changed, or every
 * 10 minutes when it did not. Nothing at all when there is no tailscale.
 */
export function createTailscaleReporter({ link, logger, env = process.env, intervalMs = TAILSCALE_INTERVAL_MS, now = Date.now }: { link: TailscaleLink; logger: Logger; env?: NodeJS.ProcessEnv; intervalMs?: number; now?: () => number }): TailscaleReporter {
  let lastSent: { json: string; at: number } | null = null;
  let running: Promise<void> | null = null;
  let told = false;

  async function round(force: boolean): Promise<void> {
    const binary = findTailscale(env);
    if (!binary || !link.isLinked()) return;
    let report: TailscaleReport;
    try {
      report = await readTailscaleStatus(binary);
      told = false;
    } catch (error) {
      // Said once until it works again: a stopped tailscaled would fill the log every minute.
      if (!told) logger.warn({ err: error, binary }, 'could not read tailscale status; the hub gets no tailnet view from this machine');
      told = true;
      return;
    }
    const json = JSON.stringify(report);
    if (!force && lastSent && lastSent.json === json && now() - lastSent.at < UNCHANGED_EVERY_MS) return;
    const answer = await link.request('tailscale:report', report, SEND_TIMEOUT_MS);
    if (answer.ok) lastSent = { json, at: now() };
    // An older hub does not know the event: nothing to do but say so once in a while.
    else logger.debug({ code: answer.error.code, reason: answer.error.message }, 'the hub did not take the tailscale report');
  }

  function start(force: boolean): void {
    if (running) return;
    running = round(force)
      .catch((error: unknown) => logger.debug({ err: error }, 'tailscale report not delivered'))
      .finally(() => {
        running = null;
      });
  }

  const timer = setInterval(() => start(false), intervalMs);
  timer.unref();
  return {
    linked: () => start(true),
    stop: () => clearInterval(timer),
  };
}
