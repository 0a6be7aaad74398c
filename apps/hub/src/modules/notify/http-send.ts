import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { NetworkGuard } from './net-guard.js';

/** One outgoing HTTP request of a provider. */
export interface HttpRequestSpec {
  url: string;
  method?: 'POST' | 'GET' | 'HEAD';
  headers?: Record<string, string>;
  /** Text is sent as UTF-8; bytes as they are (an encrypted Web Push message). */
  body?: string | Buffer;
  timeoutMs?: number;
  /** Aborts the request (a long poll stopped when the hub stops leading). */
  signal?: AbortSignal;
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** At most 64 KiB of the answer, for error messages and Retry-After hints in JSON. */
  body: string;
}

const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * Sends one request through the guard: the host is resolved and checked first, and the socket
 * connects to exactly those addresses (IP literals skip `lookup` in node:net, so they are checked
 * here too). Redirects are answers like any other: never followed.
 */
export async function sendHttp(guard: NetworkGuard, spec: HttpRequestSpec): Promise<HttpAnswer> {
  const url = new URL(spec.url);
  const addresses = await guard.resolve(url.hostname);
  const pinned: LookupFunction = (_hostname, options, callback) => {
    if (options.all) callback(null, addresses);
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  };
  const transport = url.protocol === 'https:' ? https : http;
  const body = spec.body === undefined ? undefined : Buffer.isBuffer(spec.body) ? spec.body : Buffer.from(spec.body, 'utf8');
  return await new Promise<HttpAnswer>((resolve, reject) => {
    const request = transport.request(
      url,
      {
        method: spec.method ?? 'POST',
        headers: { 'user-agent': 'Farol-Notifier', ...spec.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
        lookup: pinned,
        timeout: spec.timeoutMs ?? 15_000,
        // A fresh connection per delivery: a pooled socket would skip the address check.
        agent: false,
        ...(spec.signal ? { signal: spec.signal } : {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          if (size < MAX_ANSWER_BYTES) chunks.push(chunk);
          size += chunk.length;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_ANSWER_BYTES) }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer from ${url.host} within ${spec.timeoutMs ?? 15_000} ms`)));
    request.on('error', reject);
    request.end(body);
  });
}
