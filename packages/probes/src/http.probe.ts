import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { CheckRunResult, CheckProbe } from '@farol/protocol';
import type { PinHost } from './index.js';

type HttpProbe = Extract<CheckProbe, { kind: 'http' }>;

const MAX_REDIRECTS = 5;
/** The keyword is looked for in at most this much of the body. */
const MAX_BODY_BYTES = 1024 * 1024;
const DAY_MS = 86_400_000;

interface Answer {
  status: number;
  location: string | undefined;
  body: string;
  certValidTo: number | null;
}

/** A `lookup` that answers every name with the address already checked. */
function pinnedLookup(address: string): LookupFunction {
  const family = isIP(address);
  return (_host, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as unknown as (err: null, all: Array<{ address: string; family: number }>) => void)(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

async function request(url: URL, probe: HttpProbe, signal: AbortSignal, pinHost: PinHost | undefined): Promise<Answer> {
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  // Pinned: the connection goes to the address that was checked, whatever DNS says next.
  const pinned = pinHost ? await pinHost(hostname) : undefined;
  return new Promise((resolve, reject) => {
    const transport = url.protocol === 'https:' ? https : http;
    const req = transport.request(
      url,
      {
        method: probe.method,
        signal,
        headers: { 'user-agent': 'farol-check/1', accept: '*/*' },
        // A fresh connection per run: latency and the certificate are measured every time.
        agent: false,
        ...(pinned === undefined ? {} : { lookup: pinnedLookup(pinned) }),
        ...(url.protocol === 'https:' ? { rejectUnauthorized: probe.verifyTls, ...(isIP(url.hostname) ? {} : { servername: url.hostname }) } : {}),
      },
      (res) => {
        const socket = res.socket as TLSSocket;
        let certValidTo: number | null = null;
        if (url.protocol === 'https:' && typeof socket.getPeerCertificate === 'function') {
          const cert = socket.getPeerCertificate();
          if (cert?.valid_to) certValidTo = Date.parse(cert.valid_to);
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < MAX_BODY_BYTES) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body: Buffer.concat(chunks).toString('utf8'), certValidTo }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function describeError(error: unknown, timeoutMs: number): string {
  const err = error as NodeJS.ErrnoException;
  if (err.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  return err.code ? `${err.code}: ${err.message}` : err.message;
}

/** One HTTP(S) run: status, keyword, latency, redirects, TLS and the certificate's days left. */
export async function runHttpProbe(probe: HttpProbe, timeoutMs: number, now: () => number = Date.now, pinHost?: PinHost): Promise<CheckRunResult> {
  const started = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  let url = new URL(probe.url);
  let certDaysLeft: number | null = null;
  let answer: Answer;
  try {
    for (let hop = 0; ; hop++) {
      answer = await request(url, probe, signal, pinHost);
      if (answer.certValidTo !== null && certDaysLeft === null) certDaysLeft = Math.round(((answer.certValidTo - now()) / DAY_MS) * 10) / 10;
      const redirect = answer.status >= 300 && answer.status < 400 && answer.location !== undefined;
      if (!redirect || !probe.followRedirects) break;
      if (hop >= MAX_REDIRECTS) return { status: 'critical', latencyMs: performance.now() - started, message: `more than ${MAX_REDIRECTS} redirects`, certDaysLeft, perfdata: [] };
      url = new URL(answer.location!, url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return { status: 'critical', latencyMs: null, message: `redirect to ${url.protocol} is not followed`, certDaysLeft, perfdata: [] };
    }
  } catch (error) {
    return { status: 'critical', latencyMs: null, message: describeError(error, timeoutMs).slice(0, 1024), certDaysLeft, perfdata: [] };
  }
  const latencyMs = Math.round((performance.now() - started) * 10) / 10;
  const perfdata = [{ label: 'time', value: latencyMs, unit: 'ms', warn: probe.maxLatencyMs ?? null, crit: null, min: 0, max: null }];
  const expected = probe.expectStatus ? probe.expectStatus.includes(answer.status) : answer.status >= 200 && answer.status < 400;
  if (!expected) return { status: 'critical', latencyMs, message: `HTTP ${answer.status}, expected ${probe.expectStatus?.join(' or ') ?? '2xx or 3xx'}`, certDaysLeft, perfdata };
  if (probe.keyword !== undefined && !answer.body.includes(probe.keyword)) {
    return { status: 'critical', latencyMs, message: `HTTP ${answer.status}, but the body does not contain "${probe.keyword.slice(0, 100)}"`, certDaysLeft, perfdata };
  }
  if (certDaysLeft !== null && certDaysLeft < 0) return { status: 'critical', latencyMs, message: `HTTP ${answer.status}; the certificate expired ${Math.abs(certDaysLeft)} days ago`, certDaysLeft, perfdata };
  if (probe.certExpiryDays !== undefined && certDaysLeft !== null && certDaysLeft < probe.certExpiryDays) {
    return { status: 'warning', latencyMs, message: `HTTP ${answer.status}; the certificate expires in ${certDaysLeft} days`, certDaysLeft, perfdata };
  }
  if (probe.maxLatencyMs !== undefined && latencyMs > probe.maxLatencyMs) {
    return { status: 'warning', latencyMs, message: `HTTP ${answer.status} in ${Math.round(latencyMs)} ms, slower than ${probe.maxLatencyMs} ms`, certDaysLeft, perfdata };
  }
  return { status: 'ok', latencyMs, message: `HTTP ${answer.status} in ${Math.round(latencyMs)} ms`, certDaysLeft, perfdata };
}
