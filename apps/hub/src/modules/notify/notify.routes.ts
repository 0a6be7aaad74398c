import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import {
  ChannelCreateSchema,
  ChannelListSchema,
  ChannelPatchSchema,
  ChannelSchema,
  DeliveryResultSchema,
  NotifyRefParamsSchema,
  OutboxListSchema,
  OutboxQuerySchema,
  ProblemSchema,
  WebhookCreateSchema,
  WebhookListSchema,
  WebhookPatchSchema,
  WebhookSchema,
  type Principal,
  type WebhookSelector,
} from '@farol/protocol';
import { narrowToScope, outsideScope, webhookInScope } from '../auth/object-scope.js';
import type { ChannelsService } from './channels.service.js';
import type { NotifyService } from './notify.service.js';
import type { WebhooksService } from './webhooks.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema };

/** A scoped principal's webhook selector: their scope ANDed into its labels, so it never reaches beyond it. */
function scopedSelector(principal: Principal | undefined, selector: WebhookSelector): WebhookSelector {
  if (!principal || principal.scope === null) return selector;
  return { ...selector, labels: narrowToScope(principal, selector.labels) };
}

/**
 * REST for channels, event-webhook subscriptions and the outbox (operator scope). Issue #11:
 * channels and the outbox serve the whole fleet, so a role limited to a label scope may read
 * channels but not manage them, nor read the outbox (`fleetWide` in permissions.ts); its event
 * webhooks always carry its scope in their selector, and it reaches only such webhooks.
 */
export function notifyRoutes({ channels, webhooks, notify }: { channels: ChannelsService; webhooks: WebhooksService; notify: NotifyService }): FastifyPluginAsyncZod {
  /** The webhook, or 403 when the principal's scope does not hold it. */
  async function webhookFor(principal: Principal | undefined, ref: string) {
    const hook = await webhooks.get(ref);
    if (principal && !webhookInScope(principal, hook.selector)) throw outsideScope(principal, 'this webhook');
    return hook;
  }
  return async (app) => {
    app.get('/api/channels', { schema: { tags: ['notify'], summary: 'List notification channels (secrets masked)', response: { 200: ChannelListSchema, ...errors } } }, async () => ({
      channels: await channels.list(),
    }));
    app.post(
      '/api/channels',
      { schema: { tags: ['notify'], summary: 'Create a channel; its URL must resolve to an allowed address', body: ChannelCreateSchema, response: { 201: ChannelSchema, 409: ProblemSchema, ...errors } } },
      async (request, reply) => reply.status(201).send(await channels.create(request.body, request.principal?.name)),
    );
    app.get('/api/channels/:id', { schema: { tags: ['notify'], summary: 'One channel by id or name', params: NotifyRefParamsSchema, response: { 200: ChannelSchema, ...errors } } }, async (request) =>
      channels.get(request.params.id),
    );
    app.patch(
      '/api/channels/:id',
      {
        schema: {
          tags: ['notify'],
          summary: 'Change a channel; omitted (or masked) secrets are kept',
          params: NotifyRefParamsSchema,
          body: ChannelPatchSchema,
          response: { 200: ChannelSchema, 409: ProblemSchema, ...errors },
        },
      },
      async (request) => channels.update(request.params.id, request.body, request.principal?.name),
    );
    app.delete(
      '/api/channels/:id',
      { schema: { tags: ['notify'], summary: 'Delete a channel (its queued deliveries fail)', params: NotifyRefParamsSchema, response: { 204: z.null(), 409: ProblemSchema, ...errors } } },
      async (request, reply) => {
        await channels.remove(request.params.id, request.principal?.name);
        return reply.status(204).send(null);
      },
    );
    app.post(
      '/api/channels/:id/test',
      { schema: { tags: ['notify'], summary: 'Send a test message now and report the provider\'s answer', params: NotifyRefParamsSchema, response: { 200: DeliveryResultSchema, ...errors } } },
      async (request) => channels.sendTest(request.params.id, request.principal?.name ?? 'operator'),
    );

    app.get('/api/webhooks', { schema: { tags: ['notify'], summary: 'List event-webhook subscriptions', response: { 200: WebhookListSchema, ...errors } } }, async (request) => ({
      webhooks: (await webhooks.list()).filter((hook) => !request.principal || webhookInScope(request.principal, hook.selector)),
    }));
    app.post(
      '/api/webhooks',
      { schema: { tags: ['notify'], summary: 'Subscribe a URL to hub events', body: WebhookCreateSchema, response: { 201: WebhookSchema, 409: ProblemSchema, ...errors } } },
      async (request, reply) => reply.status(201).send(await webhooks.create({ ...request.body, selector: scopedSelector(request.principal, request.body.selector) }, request.principal?.name)),
    );
    app.get('/api/webhooks/:id', { schema: { tags: ['notify'], summary: 'One subscription', params: NotifyRefParamsSchema, response: { 200: WebhookSchema, ...errors } } }, async (request) =>
      webhookFor(request.principal, request.params.id),
    );
    app.patch(
      '/api/webhooks/:id',
      { schema: { tags: ['notify'], summary: 'Change a subscription', params: NotifyRefParamsSchema, body: WebhookPatchSchema, response: { 200: WebhookSchema, 409: ProblemSchema, ...errors } } },
      async (request) => {
        await webhookFor(request.principal, request.params.id);
        const { selector } = request.body;
        return webhooks.update(request.params.id, selector ? { ...request.body, selector: scopedSelector(request.principal, selector) } : request.body, request.principal?.name);
      },
    );
    app.delete(
      '/api/webhooks/:id',
      { schema: { tags: ['notify'], summary: 'Delete a subscription', params: NotifyRefParamsSchema, response: { 204: z.null(), ...errors } } },
      async (request, reply) => {
        await webhookFor(request.principal, request.params.id);
        await webhooks.remove(request.params.id, request.principal?.name);
        return reply.status(204).send(null);
      },
    );
    app.post(
      '/api/webhooks/:id/test',
      { schema: { tags: ['notify'], summary: 'Post a test event now and report the answer', params: NotifyRefParamsSchema, response: { 200: DeliveryResultSchema, ...errors } } },
      async (request) => {
        await webhookFor(request.principal, request.params.id);
        return webhooks.sendTest(request.params.id);
      },
    );

    app.get(
      '/api/notify/outbox',
      { schema: { tags: ['notify'], summary: 'Recent deliveries, newest first', querystring: OutboxQuerySchema, response: { 200: OutboxListSchema, ...errors } } },
      async (request) => ({ entries: await notify.listOutbox(request.query.state, request.query.limit) }),
    );
  };
}
