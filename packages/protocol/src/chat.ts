import { z } from 'zod';

/**
 * Acting on an alert from the chat where it arrived (issue #20 item 5). Alert messages carry
 * actions: on Telegram as inline-keyboard buttons whose presses come back to the hub, on Slack
 * and Discord as signed links to a confirmation page in Mission Control. Either way the action
 * itself is stored on the hub; what travels is a short random id and its MAC, valid once and
 * for a limited time. See docs/adr/0017-chat-actions.md.
 */

export const CHAT_ACTION_KINDS = ['ack', 'silence', 'restart'] as const;
export const ChatActionKindSchema = z.enum(CHAT_ACTION_KINDS);
export type ChatActionKind = z.infer<typeof ChatActionKindSchema>;

/** The chat systems whose users can be linked to Farol users. */
export const CHAT_PROVIDERS = ['telegram'] as const;
export const ChatProviderSchema = z.enum(CHAT_PROVIDERS);
export type ChatProvider = z.infer<typeof ChatProviderSchema>;

/** An action token as it travels: its id (12) then its MAC (22), base64url, no separator (a dot would read as a file extension in a link's path). */
export const ChatActionTokenSchema = z.string().regex(/^[A-Za-z0-9_-]{34}$/, 'not a Farol chat action');
export const ChatActionTokenParamsSchema = z.object({ token: z.string().min(1).max(100) });

/** What the confirmation page shows before the signed-in user performs a linked action. */
export const ChatActionViewSchema = z
  .object({
    kind: ChatActionKindSchema,
    alertId: z.string(),
    ruleName: z.string(),
    subject: z.string(),
    summary: z.string(),
    agentId: z.string().nullable(),
    agentName: z.string().nullable(),
    container: z.string().nullable().describe('restart: the container to restart'),
    alertState: z.enum(['pending', 'firing', 'resolved']),
    expiresAt: z.number().int(),
    usedAt: z.number().int().nullable(),
    usedBy: z.string().nullable(),
  })
  .meta({ id: 'ChatActionView' });
export type ChatActionView = z.infer<typeof ChatActionViewSchema>;

/** What performing an action did, in one sentence, plus the job of a restart. */
export const ChatActionResultSchema = z
  .object({ kind: ChatActionKindSchema, message: z.string(), jobId: z.string().nullable(), silenceId: z.string().nullable() })
  .meta({ id: 'ChatActionResult' });
export type ChatActionResult = z.infer<typeof ChatActionResultSchema>;

/** A one-time code the signed-in user sends to the bot as `/link CODE`. */
export const ChatLinkCodeSchema = z
  .object({ code: z.string(), expiresAt: z.number().int(), command: z.string().describe('what to send to the bot') })
  .meta({ id: 'ChatLinkCode' });
export type ChatLinkCode = z.infer<typeof ChatLinkCodeSchema>;

export const ChatLinkSchema = z
  .object({
    id: z.string(),
    provider: ChatProviderSchema,
    externalId: z.string().describe('the chat user id (Telegram: the numeric user id)'),
    externalName: z.string().nullable().describe('the chat user name when the link was made'),
    createdAt: z.number().int(),
  })
  .meta({ id: 'ChatLink' });
export type ChatLink = z.infer<typeof ChatLinkSchema>;
export const ChatLinkListSchema = z.object({ links: z.array(ChatLinkSchema) }).meta({ id: 'ChatLinkList' });
export type ChatLinkList = z.infer<typeof ChatLinkListSchema>;
export const ChatLinkIdParamsSchema = z.object({ id: z.string().min(1).max(64) });

/**
 * How a Telegram channel's button presses reach the hub: `webhook` (Telegram posts them to the
 * hub; needs a public HTTPS address) or `polling` (the leader hub asks with getUpdates; for hubs
 * Telegram cannot reach, e.g. on a tailnet).
 */
export const TELEGRAM_UPDATES_MODES = ['webhook', 'polling'] as const;
export type TelegramUpdatesMode = (typeof TELEGRAM_UPDATES_MODES)[number];
export const TelegramUpdatesSchema = z
  .object({
    mode: z.enum(TELEGRAM_UPDATES_MODES),
    url: z.string().nullable().describe('webhook: the hub route Telegram posts updates to'),
    allowedUpdates: z.array(z.string()),
  })
  .meta({ id: 'TelegramUpdates' });
export type TelegramUpdates = z.infer<typeof TelegramUpdatesSchema>;

export const ChatChannelIdParamsSchema = z.object({ channelId: z.string().min(1).max(64) });

/**
 * The parts of a Telegram Bot API `Update` the hub reads (https://core.telegram.org/bots/api#update).
 * Everything else in it is passed over: Telegram adds fields over time.
 */
const TelegramUserSchema = z.object({ id: z.number().int(), is_bot: z.boolean().optional(), first_name: z.string().optional(), username: z.string().optional() });
const TelegramChatSchema = z.object({ id: z.number().int(), type: z.string().optional() });
const TelegramEntitySchema = z.object({ type: z.string(), offset: z.number().int(), length: z.number().int() }).loose();
export const TelegramButtonSchema = z.object({ text: z.string(), callback_data: z.string().optional(), url: z.string().optional() }).loose();
export const TelegramMessageSchema = z
  .object({
    message_id: z.number().int(),
    from: TelegramUserSchema.optional(),
    chat: TelegramChatSchema,
    text: z.string().optional(),
    entities: z.array(TelegramEntitySchema).optional(),
    reply_markup: z.object({ inline_keyboard: z.array(z.array(TelegramButtonSchema)) }).optional(),
  })
  .loose();
export const TelegramUpdateSchema = z
  .object({
    update_id: z.number().int(),
    message: TelegramMessageSchema.optional(),
    callback_query: z
      .object({
        id: z.string(),
        from: TelegramUserSchema,
        message: TelegramMessageSchema.optional(),
        data: z.string().optional(),
      })
      .loose()
      .optional(),
  })
  .loose()
  .meta({ id: 'TelegramUpdate' });
export type TelegramUpdate = z.infer<typeof TelegramUpdateSchema>;
export type TelegramMessage = z.infer<typeof TelegramMessageSchema>;
export type TelegramButton = z.infer<typeof TelegramButtonSchema>;
