import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  ChatActionResultSchema,
  ChatActionTokenParamsSchema,
  ChatActionViewSchema,
  ChatChannelIdParamsSchema,
  ChatLinkCodeSchema,
  ChatLinkIdParamsSchema,
  ChatLinkListSchema,
  NotifyRefParamsSchema,
  FarolError,
  ProblemSchema,
  TelegramUpdateSchema,
  TELEGRAM_UPDATES_MODES,
  TelegramUpdatesSchema,
  type Principal,
} from '@farol/protocol';
import type { ChatService } from './chat.service.js';

const errors = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema };
const TELEGRAM_SECRET_HEADER = 'x-telegram-bot-api-secret-token';

function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new FarolError('unauthorized', 'no operator on this request');
  return request.principal;
}

/**
 * Issue #20 item 5: the Telegram webhook (button presses and `/link` messages, authenticated by
 * the per-channel secret Telegram sends back in X-Telegram-Bot-Api-Secret-Token), registering
 * it, each user's chat links, and the confirmation page of Slack and Discord action links.
 */
export function chatRoutes({ chat }: { chat: ChatService }): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/api/chat/telegram/:channelId/webhook',
      {
        schema: {
          tags: ['chat'],
          summary: 'Telegram Bot API webhook of a channel (button presses, /link); authenticated by X-Telegram-Bot-Api-Secret-Token',
          params: ChatChannelIdParamsSchema,
          body: TelegramUpdateSchema,
          response: { 200: z.object({ ok: z.literal(true) }), ...errors },
        },
        // The secret header is checked before the body is even validated: a stranger learns nothing.
        preValidation: async (request) => {
          const header = request.headers[TELEGRAM_SECRET_HEADER];
          if (!chat.isWebhookSecret((request.params as { channelId: string }).channelId, typeof header === 'string' ? header : undefined)) {
            throw new FarolError('unauthorized', 'wrong or missing X-Telegram-Bot-Api-Secret-Token');
          }
        },
      },
      async (request) => {
        await chat.handleTelegramUpdate(request.params.channelId, request.body);
        return { ok: true as const };
      },
    );
    for (const mode of TELEGRAM_UPDATES_MODES) {
      app.post(
        `/api/channels/:id/telegram/${mode}`,
        {
          schema: {
            tags: ['chat'],
            summary:
              mode === 'webhook'
                ? 'Telegram posts the channel\'s button presses to the hub (setWebhook with a secret); needs FAROL_PUBLIC_URL on HTTPS'
                : 'The leader hub asks Telegram for the channel\'s button presses (getUpdates; the webhook is removed): for hubs Telegram cannot reach',
            params: NotifyRefParamsSchema,
            response: { 200: TelegramUpdatesSchema, ...errors },
          },
        },
        async (request) => chat.setTelegramUpdates(request.params.id, mode, principalOf(request).name),
      );
    }

    app.post(
      '/api/me/chat-links/code',
      { schema: { tags: ['chat'], summary: 'A one-time code (10 min) to send to the bot as /link CODE', response: { 201: ChatLinkCodeSchema, ...errors } } },
      async (request, reply) => {
        // A link acts with all of the user's permissions: a token limited to some may not make one.
        if (request.auth && request.auth.sessionId === null && request.auth.tokenRestricted) {
          throw new FarolError('forbidden', 'an API token limited to some permissions cannot link a chat account (the link acts with all of yours); sign in or use a full token');
        }
        return reply.status(201).send(await chat.createLinkCode(principalOf(request)));
      },
    );
    app.get(
      '/api/me/chat-links',
      { schema: { tags: ['chat'], summary: 'Your chat accounts linked to you', response: { 200: ChatLinkListSchema, ...errors } } },
      async (request) => ({ links: await chat.listLinks(principalOf(request)) }),
    );
    app.delete(
      '/api/me/chat-links/:id',
      { schema: { tags: ['chat'], summary: 'Unlink one of your chat accounts', params: ChatLinkIdParamsSchema, response: { 204: z.null(), ...errors } } },
      async (request, reply) => {
        await chat.deleteLink(principalOf(request), request.params.id);
        return reply.status(204).send(null);
      },
    );

    app.get(
      '/api/chat/actions/:token',
      { schema: { tags: ['chat'], summary: 'What a Slack or Discord action link would do (the confirmation page)', params: ChatActionTokenParamsSchema, response: { 200: ChatActionViewSchema, ...errors } } },
      async (request) => chat.viewLinkedAction(principalOf(request), request.params.token),
    );
    app.post(
      '/api/chat/actions/:token',
      { schema: { tags: ['chat'], summary: 'Perform a Slack or Discord action link as the signed-in user (once)', params: ChatActionTokenParamsSchema, response: { 200: ChatActionResultSchema, ...errors } } },
      async (request) => chat.performLinkedAction(principalOf(request), request.params.token),
    );
  };
}
