import { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { BACKUP_MEDIA_TYPE, BackupRequestSchema, FarolError, ProblemSchema, type Principal } from '@farol/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BackupsService } from './backups.service.js';

function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new FarolError('unauthorized', 'no operator on this request');
  return request.principal;
}

/** `POST /api/backups`: an online, encrypted backup of a SQLite hub, streamed back (issue #15). */
/** The permission table asks `backups:create` with a recent second factor (permissions.ts). */
export function backupsRoutes({ backups }: { backups: BackupsService }): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/api/backups',
      {
        schema: {
          tags: ['backups'],
          summary: 'Take an online backup (database, hub key, secret key, admin token), encrypted with the passphrase; the body of the answer is the backup file',
          body: BackupRequestSchema,
          response: { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 409: ProblemSchema },
        },
      },
      async (request, reply) => {
        const { fileName, chunks } = await backups.open(principalOf(request).name, request.body.passphrase);
        // A file, not JSON: sent through the untyped reply (the schema types JSON answers only).
        return (reply as FastifyReply)
          .type(BACKUP_MEDIA_TYPE)
          .header('cache-control', 'no-store')
          .header('content-disposition', `attachment; filename="${fileName}"`)
          .send(Readable.from(chunks));
      },
    );
  };
}
