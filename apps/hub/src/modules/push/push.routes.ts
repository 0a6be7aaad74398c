import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  FarolError,
  ProblemSchema,
  PushSubscriptionCreateSchema,
  PushSubscriptionListSchema,
  PushSubscriptionParamsSchema,
  PushSubscriptionSchema,
  PushVapidKeySchema,
  type Principal,
} from '@farol/protocol';
import type { PushService } from './push.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema };

function principalOf(request: { principal?: Principal | undefined }): Principal {
  if (!request.principal) throw new FarolError('unauthorized', 'sign in first');
  return request.principal;
}

/** Browser notifications (issue #20): the key to subscribe with, and each user's own browsers. */
export function pushRoutes({ push }: { push: PushService }): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/api/push/vapid-public-key',
      { schema: { tags: ['push'], summary: 'The hub\'s VAPID public key (applicationServerKey for PushManager.subscribe)', response: { 200: PushVapidKeySchema, ...errors } } },
      async () => ({ publicKey: await push.vapidPublicKey() }),
    );
    app.get(
      '/api/push/subscriptions',
      { schema: { tags: ['push'], summary: 'Your browsers that get alert notifications', response: { 200: PushSubscriptionListSchema, ...errors } } },
      async (request) => ({ subscriptions: await push.list(principalOf(request)) }),
    );
    app.post(
      '/api/push/subscriptions',
      {
        schema: {
          tags: ['push'],
          summary: 'Subscribe this browser to alert notifications (the PushSubscription of PushManager.subscribe)',
          body: PushSubscriptionCreateSchema,
          response: { 201: PushSubscriptionSchema, 409: ProblemSchema, ...errors },
        },
      },
      async (request, reply) => {
        const agent = request.headers['user-agent'];
        return reply.status(201).send(await push.subscribe(principalOf(request), request.body, typeof agent === 'string' ? agent : null));
      },
    );
    app.delete(
      '/api/push/subscriptions/:id',
      { schema: { tags: ['push'], summary: 'Stop alert notifications to one of your browsers', params: PushSubscriptionParamsSchema, response: { 204: z.null(), ...errors } } },
      async (request, reply) => {
        await push.unsubscribe(principalOf(request), request.params.id);
        return reply.status(204).send(null);
      },
    );
  };
}
