import { createHmac } from 'node:crypto';
import nodemailer from 'nodemailer';
import { FarolError, type ChannelSettings, type ChannelTemplate, type ChannelType, type Notification } from '@farol/protocol';
import { sendHttp, type HttpAnswer, type HttpRequestSpec } from './http-send.js';
import type { AlertOffer, ChatOffer } from '../chat/chat-actions.js';
import type { NetworkGuard } from './net-guard.js';
import { renderMessage, severityColor, type RenderedMessage, type TextFormat } from './render.js';

/** A channel as the sender sees it: type, settings with secrets opened, template. */
export interface SendableChannel {
  id: string;
  name: string;
  type: ChannelType;
  settings: Record<string, unknown>;
  template: ChannelTemplate | null;
}

/** How one attempt ended; `retry` says whether trying again later can help. */
export type AttemptOutcome =
  | { ok: true; status: number | null }
  | { ok: false; retry: boolean; status: number | null; error: string; retryAfterMs?: number };

export interface SendContext {
  guard: NetworkGuard;
  now: number;
  /** The moment the message describes (when it was queued): retries render the same text. */
  renderAt?: number;
  hub?: string;
  /** The outbox row id: the same on every retry, so receivers can deduplicate. */
  deliveryId: string;
  timeoutMs?: number;
  /** Actions the message offers (issue #20): Telegram buttons, Slack and Discord links. */
  offer?: ChatOffer | null;
}

const FORMAT_OF: Record<ChannelType, TextFormat> = {
  telegram: 'html',
  discord: 'discord',
  slack: 'slack',
  whatsapp: 'whatsapp',
  email: 'html',
  ntfy: 'plain',
  teams: 'teams',
  webhook: 'plain',
};

/** Signs a generic webhook body: `sha256=` + HMAC-SHA256(secret, `${timestamp}.${body}`). */
export function signBody(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Headers of a (possibly signed) JSON POST to a generic webhook or event-webhook subscription. */
export function webhookHeaders(body: string, deliveryId: string, secret: string | undefined, now: number, extra: Record<string, string> = {}): Record<string, string> {
  const timestamp = Math.floor(now / 1000);
  return {
    ...extra,
    'content-type': 'application/json',
    'x-farol-delivery': deliveryId,
    'x-farol-timestamp': String(timestamp),
    ...(secret ? { 'x-farol-signature': signBody(secret, timestamp, body) } : {}),
  };
}

/** Renders and sends one notification to one channel. Never throws: the outcome says what happened. */
export async function sendToChannel(channel: SendableChannel, notification: Notification, context: SendContext): Promise<AttemptOutcome> {
  const message = renderMessage(notification, FORMAT_OF[channel.type], channel.template, { now: context.renderAt ?? context.now, ...(context.hub ? { hub: context.hub } : {}) });
  try {
    if (channel.type === 'email') return await sendEmail(channel.settings as ChannelSettings<'email'>, notification, message, context);
    const spec = buildRequest(channel, notification, message, context);
    return classifyAnswer(await sendHttp(context.guard, { ...spec, ...(context.timeoutMs ? { timeoutMs: context.timeoutMs } : {}) }), context.now);
  } catch (error) {
    return classifyError(error);
  }
}

function resolvedOnly(notification: Notification): boolean {
  return notification.kind === 'alerts' && notification.alerts.every((a) => a.event === 'resolved');
}

function buildRequest(channel: SendableChannel, notification: Notification, message: RenderedMessage, context: SendContext): HttpRequestSpec {
  const json = (url: string, body: unknown, headers: Record<string, string> = {}): HttpRequestSpec => ({
    url,
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });
    const color = severityColor(message.severity, resolvedOnly(notification));
  switch (channel.type) {
    case 'telegram': {
      const s = channel.settings as ChannelSettings<'telegram'>;
      // Telegram caps a message at 4096 characters; cut at a line so no HTML tag is split.
      const keyboard = context.offer ? telegramKeyboard(context.offer) : [];
      return json(`${s.apiBase.replace(/\/+$/, '')}/bot${s.botToken}/sendMessage`, {
        chat_id: s.chatId,
        text: fitLines([message.title, ...message.lines], 4000),
        parse_mode: 'HTML',
        disable_web_page_preview: true,
        ...(keyboard.length > 0 ? { reply_markup: { inline_keyboard: keyboard } } : {}),
      });
    }
    case 'discord': {
      const s = channel.settings as ChannelSettings<'discord'>;
      return json(s.webhookUrl, {
        ...(s.username ? { username: s.username } : {}),
        // Agent text never pings anyone.
        allowed_mentions: { parse: [] },
        embeds: [
          {
            title: message.title.slice(0, 256),
            description: fitLines(message.lines, 4000),
            color,
            timestamp: new Date(context.renderAt ?? context.now).toISOString(),
            footer: { text: 'Farol' },
            ...(context.offer ? { fields: offerLinks(context.offer, 'discord').map((links) => ({ name: links.name.slice(0, 256), value: links.text.slice(0, 1024) })) } : {}),
          },
        ],
      });
    }
    case 'slack': {
      const s = channel.settings as ChannelSettings<'slack'>;
      return json(s.webhookUrl, {
        text: message.title,
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: message.title.slice(0, 3000) } },
          { type: 'section', text: { type: 'mrkdwn', text: fitLines(message.lines, 2900) || ' ' } },
          ...(context.offer ? offerLinks(context.offer, 'slack').map((links) => ({ type: 'section', text: { type: 'mrkdwn', text: `${links.name}: ${links.text}`.slice(0, 3000) } })) : []),
        ],
      });
    }
    case 'whatsapp': {
      const s = channel.settings as ChannelSettings<'whatsapp'>;
      return json(`${s.baseUrl.replace(/\/+$/, '')}/message/sendText/${encodeURIComponent(s.instance)}`, { number: s.number, text: fitLines([message.title, ...message.lines], 4000) }, { apikey: s.apiKey });
    }
    case 'ntfy': {
      const s = channel.settings as ChannelSettings<'ntfy'>;
      const priority = message.severity === 'critical' && !resolvedOnly(notification) ? 5 : message.severity === 'warning' ? 4 : 3;
      return json(
        s.serverUrl.replace(/\/+$/, ''),
        { topic: s.topic, title: message.title, message: fitLines(message.lines, 3800), priority, tags: [resolvedOnly(notification) ? 'white_check_mark' : message.severity === 'critical' ? 'rotating_light' : 'bell'] },
        s.token ? { authorization: `Bearer ${s.token}` } : {},
      );
    }
    case 'teams': {
      const s = channel.settings as ChannelSettings<'teams'>;
      if (s.format === 'messagecard') {
        return json(s.webhookUrl, {
          '@type': 'MessageCard',
          '@context': 'https://schema.org/extensions',
          summary: message.title,
          themeColor: color.toString(16).padStart(6, '0'),
          title: message.title,
          text: message.lines.join('\n\n'),
        });
      }
      return json(s.webhookUrl, {
        type: 'message',
        attachments: [
          {
            contentType: 'application/vnd.microsoft.card.adaptive',
            contentUrl: null,
            content: {
              $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
              type: 'AdaptiveCard',
              version: '1.4',
              body: [
                { type: 'TextBlock', text: message.title, weight: 'Bolder', size: 'Medium', wrap: true, color: message.severity === 'critical' && !resolvedOnly(notification) ? 'Attention' : 'Default' },
                ...message.lines.map((line) => ({ type: 'TextBlock', text: line, wrap: true, spacing: 'None' })),
              ],
            },
          },
        ],
      });
    }
    case 'webhook': {
      const s = channel.settings as ChannelSettings<'webhook'>;
      const body = JSON.stringify({ id: context.deliveryId, channel: channel.name, kind: notification.kind, title: message.title, text: message.lines.join('\n'), notification, queuedAt: context.renderAt ?? context.now });
      return { url: s.url, body, headers: webhookHeaders(body, context.deliveryId, s.secret, context.now, s.headers) };
    }
    case 'email':
      throw new FarolError('internal', 'e-mail is not sent over HTTP');
  }
}

const ACTION_LABEL: Record<AlertOffer['actions'][number]['kind'], string> = { ack: '✅ Acknowledge', silence: '🔕 Silence 1 h', restart: '🔄 Restart' };
const actionLabel = (action: AlertOffer['actions'][number]): string => (action.kind === 'restart' && action.container ? `${ACTION_LABEL.restart} ${action.container}` : ACTION_LABEL[action.kind]);
/** With several alerts in one message, each button says which machine it is for. */
const forAlert = (offer: ChatOffer, alert: AlertOffer, label: string): string => (offer.alerts.length > 1 ? `${alert.agentName ?? 'fleet'} · ${label}` : label);

/**
 * Telegram: per alert, a row of callback buttons (only when presses reach the hub: its webhook
 * is registered) and a URL button to Mission Control (only with FAROL_PUBLIC_URL).
 */
export function telegramKeyboard(offer: ChatOffer): Array<Array<{ text: string; callback_data: string } | { text: string; url: string }>> {
  const rows: Array<Array<{ text: string; callback_data: string } | { text: string; url: string }>> = [];
  for (const alert of offer.alerts) {
    if (offer.callbacks && alert.actions.length > 0) rows.push(alert.actions.map((action) => ({ text: forAlert(offer, alert, actionLabel(action)), callback_data: action.token })));
    if (alert.openUrl) rows.push([{ text: forAlert(offer, alert, '🔎 Open in Mission Control'), url: alert.openUrl }]);
  }
  return rows;
}

/**
 * Slack and Discord incoming webhooks cannot call back: each action is a link to a confirmation
 * page in Mission Control, performed there by the signed-in user.
 */
export function offerLinks(offer: ChatOffer, format: 'slack' | 'discord'): Array<{ name: string; text: string }> {
  const link = (url: string, label: string): string => (format === 'slack' ? `<${url}|${label}>` : `[${label}](${url})`);
  return offer.alerts.flatMap((alert) => {
    const parts = alert.actions.flatMap((action) => {
      const url = offer.linkUrl(action.token);
      return url ? [link(url, actionLabel(action))] : [];
    });
    if (alert.openUrl) parts.push(link(alert.openUrl, '🔎 Open in Mission Control'));
    // Machine names come from agents: plain text in a Discord field name, escaped for Slack mrkdwn.
    const machine = format === 'slack' ? (alert.agentName ?? 'the fleet').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') : (alert.agentName ?? 'the fleet');
    return parts.length > 0 ? [{ name: offer.alerts.length > 1 ? `Act on ${machine}` : 'Act', text: parts.join(' · ') }] : [];
  });
}

async function sendEmail(settings: ChannelSettings<'email'>, notification: Notification, message: RenderedMessage, context: SendContext): Promise<AttemptOutcome> {
  // Connect to the address the guard checked; TLS still verifies the certificate for the name.
  const [address] = await context.guard.resolve(settings.host);
  const transport = nodemailer.createTransport({
    host: address!.address,
    port: settings.port,
    secure: settings.secure,
    tls: { servername: settings.host },
    name: 'farol',
    connectionTimeout: context.timeoutMs ?? 15_000,
    greetingTimeout: context.timeoutMs ?? 15_000,
    socketTimeout: context.timeoutMs ?? 15_000,
    ...(settings.username ? { auth: { user: settings.username, pass: settings.password ?? '' } } : {}),
  });
  try {
    const plain = renderMessage(notification, 'plain', null, { now: context.renderAt ?? context.now, ...(context.hub ? { hub: context.hub } : {}) });
    const stripTags = (t: string) => t.replace(/<[^>]*>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
    const info = await transport.sendMail({
      from: settings.from,
      to: settings.to,
      subject: stripTags(message.title).replace(/[\r\n]+/g, ' ').slice(0, 200),
      text: [stripTags(plain.title), '', ...plain.lines].join('\n'),
      html: `<div style="font-family:sans-serif"><h3>${message.title}</h3><div style="white-space:pre-wrap">${message.lines.join('\n')}</div></div>`,
      headers: { 'X-Farol-Delivery': context.deliveryId },
    });
    const code = /^(\d{3})/.exec(info.response)?.[1];
    return { ok: true, status: code ? Number(code) : null };
  } finally {
    transport.close();
  }
}

/**
 * Joins whole elements (a line, or a whole block) while they fit in `max` characters, and says
 * how many were left out: a provider's length limit never cuts inside a tag or a code fence.
 */
export function fitLines(lines: readonly string[], max: number): string {
  let out = '';
  for (const [index, line] of lines.entries()) {
    const next = out ? `${out}\n${line}` : line;
    const rest = lines.length - index;
    if (next.length > max - 40) return `${out}\n… ${rest} more line${rest === 1 ? '' : 's'} not shown`;
    out = next;
  }
  return out;
}

/** Retry-After in seconds or as an HTTP date; Telegram also says it in `parameters.retry_after`. */
export function parseRetryAfter(answer: HttpAnswer, now: number): number | undefined {
  const header = answer.headers['retry-after'];
  const value = Array.isArray(header) ? header[0] : header;
  if (value) {
    if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
    const date = Date.parse(value);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  try {
    const body = JSON.parse(answer.body) as { parameters?: { retry_after?: unknown }; retry_after?: unknown };
    const seconds = body.parameters?.retry_after ?? body.retry_after;
    if (typeof seconds === 'number' && seconds >= 0) return Math.round(seconds * 1000);
  } catch {
    // Not JSON: the header was the only place to say it.
  }
  return undefined;
}

export function classifyAnswer(answer: HttpAnswer, now: number): AttemptOutcome {
  const status = answer.status;
  if (status >= 200 && status < 300) return { ok: true, status };
  const snippet = answer.body.replace(/\s+/g, ' ').slice(0, 200);
  if (status >= 300 && status < 400) {
    return { ok: false, retry: false, status, error: `the provider answered ${status} (redirect to ${String(answer.headers.location ?? '?')}); redirects are not followed` };
  }
  if (status === 429 || status === 408 || status >= 500) {
    const retryAfterMs = parseRetryAfter(answer, now);
    return { ok: false, retry: true, status, error: `the provider answered ${status}${snippet ? `: ${snippet}` : ''}`, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }
  return { ok: false, retry: false, status, error: `the provider refused the message (${status})${snippet ? `: ${snippet}` : ''}` };
}

export function classifyError(error: unknown): AttemptOutcome {
  if (error instanceof FarolError) return { ok: false, retry: error.code !== 'destination_refused' && error.code !== 'internal', status: null, error: error.message };
  const smtp = error as { responseCode?: number; code?: string; message?: string };
  if (typeof smtp.responseCode === 'number') {
    return { ok: false, retry: smtp.responseCode < 500, status: smtp.responseCode, error: `the mail server answered ${smtp.responseCode}: ${String(smtp.message).slice(0, 200)}` };
  }
  if (smtp.code === 'EAUTH') return { ok: false, retry: false, status: null, error: `the mail server refused the login: ${String(smtp.message).slice(0, 200)}` };
  return { ok: false, retry: true, status: null, error: `could not reach the provider: ${error instanceof Error ? error.message : String(error)}` };
}
