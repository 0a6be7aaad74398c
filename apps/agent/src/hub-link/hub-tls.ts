import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { AgentExitError, EXIT_CODES } from '../runtime/exit-error.js';

/**
 * Reads the PEM CA file of `--ca-file` and checks it holds at least one certificate. With it,
 * the agent trusts that CA and only it for its hub (Node's `ca` replaces the default roots), so
 * a certificate from any other CA, public or private, is refused.
 */
export function readCaFile(file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    throw new AgentExitError(`cannot read the CA file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message} (check --ca-file)`, EXIT_CODES.usage, { cause: error });
  }
  try {
    new X509Certificate(pem);
  } catch (error) {
    throw new AgentExitError(`the CA file ${file} is not a PEM certificate (check --ca-file)`, EXIT_CODES.usage, { cause: error });
  }
  return pem;
}

/**
 * A `fetch` for https URLs that trusts only `ca` (Node's global fetch cannot take a CA without
 * the undici package); http URLs and everything else go to the global fetch unchanged.
 */
export function createCaFetch(ca: string): typeof fetch {
  return async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    if (url.protocol !== 'https:') return fetch(input, init);
    const headers = new Headers(init?.headers);
    const body = init?.body === undefined || init.body === null ? undefined : typeof init.body === 'string' ? init.body : String(init.body);
    if (body !== undefined) headers.set('content-length', String(Buffer.byteLength(body)));
    return new Promise<Response>((resolve, reject) => {
      const req = httpsRequest(
        url,
        { method: init?.method ?? 'GET', headers: Object.fromEntries(headers), ca, rejectUnauthorized: true, signal: init?.signal ?? undefined },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const responseHeaders = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              if (value !== undefined) responseHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
            }
            const status = res.statusCode ?? 502;
            // Response refuses a body for these statuses.
            const noBody = status === 204 || status === 304;
            resolve(new Response(noBody ? null : Buffer.concat(chunks), { status, headers: responseHeaders }));
          });
        },
      );
      req.on('error', (error) => reject(new TypeError('fetch failed', { cause: error })));
      req.end(body);
    });
  };
}
