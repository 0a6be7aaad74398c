import {
  ChatActionResultSchema,
  ChatActionViewSchema,
  ChatLinkCodeSchema,
  ChatLinkListSchema,
  TelegramUpdatesSchema,
  type ChatActionResult,
  type ChatActionView,
  type ChatLinkCode,
  type ChatLinkList,
  type TelegramUpdates,
  type TelegramUpdatesMode,
} from '@farol/protocol';
import { createTransport, segment, type FarolClientOptions } from './transport.js';

/**
 * Acting on alerts from the chat (issue #20): the caller's linked chat accounts, the
 * confirmation page of Slack and Discord action links, and registering a Telegram webhook.
 */
export interface ChatClient {
  /** A one-time code to send to the bot as `/link CODE`. */
  createLinkCode(): Promise<ChatLinkCode>;
  listLinks(): Promise<ChatLinkList>;
  unlink(id: string): Promise<void>;
  viewAction(token: string): Promise<ChatActionView>;
  performAction(token: string): Promise<ChatActionResult>;
  /** How the channel's button presses reach the hub: Telegram's webhook, or the hub polling. */
  setTelegramUpdates(channel: string, mode: TelegramUpdatesMode): Promise<TelegramUpdates>;
}

export function createChatClient(options: FarolClientOptions): ChatClient {
  const { request } = createTransport(options);
  return {
    createLinkCode: () => request({ method: 'POST', path: '/api/me/chat-links/code', body: {}, schema: ChatLinkCodeSchema }),
    listLinks: () => request({ method: 'GET', path: '/api/me/chat-links', schema: ChatLinkListSchema }),
    unlink: (id) => request<void>({ method: 'DELETE', path: `/api/me/chat-links/${segment(id)}` }),
    viewAction: (token) => request({ method: 'GET', path: `/api/chat/actions/${segment(token)}`, schema: ChatActionViewSchema }),
    performAction: (token) => request({ method: 'POST', path: `/api/chat/actions/${segment(token)}`, schema: ChatActionResultSchema }),
    setTelegramUpdates: (channel, mode) => request({ method: 'POST', path: `/api/channels/${segment(channel)}/telegram/${mode}`, schema: TelegramUpdatesSchema }),
  };
}
