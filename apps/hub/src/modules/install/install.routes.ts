import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { FarolError } from '@farol/protocol';
import installPs1 from './install.ps1';
import installSh from './install.sh';
import { renderInstallScript } from './install.service.js';

/**
 * What a machine being added fetches: the install scripts (with this hub's URL filled in) and
 * the one-file agent. Public on purpose: they hold no secret; the join token is what admits.
 */
export function installRoutes({ publicUrl, agentBundlePath }: { publicUrl: string | undefined; agentBundlePath: string }): FastifyPluginAsync {
  const hubUrlFor = (request: FastifyRequest): string => publicUrl ?? `${request.protocol}://${request.headers.host ?? request.hostname}`;
  const render = (template: string, request: FastifyRequest): string => {
    try {
      return renderInstallScript(template, hubUrlFor(request));
    } catch (error) {
      throw new FarolError('bad_request', 'cannot build an install script for this Host; set FAROL_PUBLIC_URL', { cause: error });
    }
  };
  return async (app) => {
    app.get('/install.sh', { schema: { tags: ['install'], summary: 'Installer for Linux and macOS' } }, async (request, reply) =>
      reply.type('text/x-shellscript; charset=utf-8').send(render(installSh, request)),
    );
    app.get('/install.ps1', { schema: { tags: ['install'], summary: 'Installer for Windows' } }, async (request, reply) =>
      reply.type('text/plain; charset=utf-8').send(render(installPs1, request)),
    );
    app.get('/download/farol-agent.mjs', { schema: { tags: ['install'], summary: 'The agent as one file (needs Node 20+)' } }, async (_request, reply) => {
      const info = await stat(agentBundlePath).catch(() => undefined);
      if (!info) throw new FarolError('unavailable', 'the agent bundle is not built on this hub; run npm run build');
      return reply
        .type('text/javascript; charset=utf-8')
        .header('content-length', info.size)
        .header('content-disposition', 'attachment; filename="farol-agent.mjs"')
        .send(createReadStream(agentBundlePath));
    });
  };
}
