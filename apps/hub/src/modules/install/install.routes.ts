import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { isIP } from 'node:net';
import { FarolError } from '@farol/protocol';
import installPs1 from './install.ps1';
import installSh from './install.sh';
import type { DownloadSigner } from './download-signature.js';
import { renderInstallScript } from './install.service.js';

/**
 * What a machine being added fetches: the install scripts (with this hub's URL filled in) and
 * the one-file agent. Public on purpose: they hold no secret; the join token is what admits.
 */
export function installRoutes({
  publicUrl,
  agentBundlePath,
  agentExeDir = null,
  signer = null,
}: {
  publicUrl: string | undefined;
  agentBundlePath: string;
  /** Where scripts/build-agent-exe.mjs wrote the one-file agents (FAROL_AGENT_EXE_DIR); null: none served. */
  agentExeDir?: string | null;
  /** Signs each download with the hub key (ADR 0024); null: no .sig files and no hub-key.pem. */
  signer?: DownloadSigner | null;
}): FastifyPluginAsync {
  // Never the Host header (#11): anyone could make the hub serve a script that fetches the agent
  // from their server (cache poisoning, phishing links). Without FAROL_PUBLIC_URL, the address
  // and port the connection actually reached is the one the machine can reach again.
  const hubUrlFor = (request: FastifyRequest): string => publicUrl ?? boundUrl(request);
  const render = (template: string, request: FastifyRequest): string => {
    try {
      return renderInstallScript(template, hubUrlFor(request));
    } catch (error) {
      throw new FarolError('bad_request', 'cannot build an install script for this address; set FAROL_PUBLIC_URL', { cause: error });
    }
  };
  return async (app) => {
    app.get('/install.sh', { schema: { tags: ['install'], summary: 'Installer for Linux and macOS' } }, async (request, reply) =>
      reply.type('text/x-shellscript; charset=utf-8').send(render(installSh, request)),
    );
    app.get('/install.ps1', { schema: { tags: ['install'], summary: 'Installer for Windows' } }, async (request, reply) =>
      reply.type('text/plain; charset=utf-8').send(render(installPs1, request)),
    );
    // ADR 0024: the hub public key, and a signature of each download by it. install.sh trusts
    // this key only when its fingerprint is the one in the pasted line (--hub-key).
    app.get('/download/hub-key.pem', { schema: { tags: ['install'], summary: 'The hub public key (Ed25519, PEM) that signs downloads; check it against the fingerprint in the install line' } }, async (_request, reply) => {
      if (!signer) throw new FarolError('not_found', 'this hub does not sign downloads');
      return reply.type('application/x-pem-file').header('x-farol-hub-key-fingerprint', signer.fingerprint).send(signer.publicKeyPem);
    });
    app.get('/download/farol-agent.mjs.sig', { schema: { tags: ['install'], summary: 'The hub signature of farol-agent.mjs (ADR 0024)' } }, async (_request, reply) => {
      const info = await stat(agentBundlePath).catch(() => undefined);
      if (!signer || !info) throw new FarolError('not_found', 'no signature: the hub does not sign downloads or has no agent bundle');
      return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(`${(await signer.signatureFor(agentBundlePath, 'farol-agent.mjs')).signature}\n`);
    });
    app.get('/download/farol-agent.mjs', { schema: { tags: ['install'], summary: 'The agent as one file (needs Node 20+)' } }, async (_request, reply) => {
      const info = await stat(agentBundlePath).catch(() => undefined);
      if (!info) throw new FarolError('unavailable', 'the agent bundle is not built on this hub; run npm run build');
      return reply
        .type('text/javascript; charset=utf-8')
        .header('content-length', info.size)
        .header('content-disposition', 'attachment; filename="farol-agent.mjs"')
        .send(createReadStream(agentBundlePath));
    });
    // Issue #15: the agent as a single executable (no Node.js on the machine) and its SHA-256,
    // e.g. /download/farol-agent-linux-x64 and /download/farol-agent-linux-x64.sha256. A 404 tells
    // install.sh to fall back to farol-agent.mjs and the machine's node.
    app.get<{ Params: { file: string } }>(
      '/download/farol-agent-:file',
      { schema: { tags: ['install'], summary: 'The agent as one executable for <os>-<arch> (linux-x64, linux-arm64, darwin-arm64, darwin-x64, win-x64), or its .sha256, or the hub signature (.sig, ADR 0024)' } },
      async (request, reply) => {
        const match = AGENT_EXE_FILE.exec(request.params.file);
        if (!match) throw new FarolError('not_found', `no agent for ${request.params.file}; platforms: linux-x64, linux-arm64, darwin-arm64, darwin-x64, win-x64`);
        const name = `farol-agent-${match[1]!}`;
        if (match[2] === '.sig') {
          const exe = agentExeDir === null ? null : path.join(agentExeDir, name);
          if (!signer || !exe || !(await stat(exe).catch(() => undefined))?.isFile()) throw new FarolError('not_found', `no signature: this hub does not sign downloads or has no one-file agent for ${match[1]!}`);
          return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(`${(await signer.signatureFor(exe, name)).signature}\n`);
        }
        const file = agentExeDir === null ? null : path.join(agentExeDir, `${name}${match[2] ?? ''}`);
        const info = file === null ? undefined : await stat(file).catch(() => undefined);
        if (!file || !info?.isFile()) throw new FarolError('not_found', `this hub has no one-file agent for ${match[1]!}; use farol-agent.mjs with Node.js 20+`);
        if (match[2]) return reply.type('text/plain; charset=utf-8').send(await readFile(file, 'utf8'));
        return reply
          .type('application/octet-stream')
          .header('content-length', info.size)
          .header('content-disposition', `attachment; filename="${name}${match[1]!.startsWith('win') ? '.exe' : ''}"`)
          .send(createReadStream(file));
      },
    );
  };
}

/** `<os>-<arch>` of scripts/build-agent-exe.mjs, optionally `.sha256` or `.sig` (the hub's signature, ADR 0024). */
const AGENT_EXE_FILE = /^(linux-x64|linux-arm64|darwin-arm64|darwin-x64|win-x64)(\.sha256|\.sig)?$/;

/** The hub's own address and port on this connection, as a URL (IPv6 in brackets, mapped IPv4 unwrapped). */
export function boundUrl(request: FastifyRequest): string {
  const local = request.socket.localAddress ?? '127.0.0.1';
  const address = local.startsWith('::ffff:') && isIP(local.slice(7)) === 4 ? local.slice(7) : local;
  const host = isIP(address) === 6 ? `[${address}]` : address;
  const port = request.socket.localPort;
  return `${request.protocol}://${host}${port ? `:${port}` : ''}`;
}
