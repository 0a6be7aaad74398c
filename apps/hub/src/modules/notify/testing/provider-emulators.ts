import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/**
 * Small servers on 127.0.0.1 that speak the providers' APIs closely enough to refuse what the
 * real ones refuse (bad HTML for Telegram, a missing apikey for Evolution, a bad signature for a
 * webhook receiver), and record every request so tests assert method, path, headers and body.
 */

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: unknown;
  at: number;
}

export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** An answer now, or later (a long poll held until there is something to say). */
export type Validator = (request: RecordedRequest) => ScriptedAnswer | null | Promise<ScriptedAnswer | null>;

export interface ProviderEmulator {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Answers the next requests with these, in order, before the provider's normal answer. */
  script(...answers: ScriptedAnswer[]): void;
  /** Stops listening (connections are refused) until `up()`. */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

/** Starts one emulator: `validate` returns an error answer, or null to accept with `ok`. */
export async function startProvider(ok: ScriptedAnswer, validate: Validator = () => null): Promise<ProviderEmulator> {
  const requests: RecordedRequest[] = [];
  const queue: ScriptedAnswer[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown = null;
      try {
        json = body ? JSON.parse(body) : null;
      } catch {
        // Not JSON: tests read `body`.
      }
      const recorded: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, json, at: Date.now() };
      requests.push(recorded);
      void Promise.resolve(queue.shift() ?? validate(recorded)).then((scripted) => {
        const answer = scripted ?? ok;
        if (res.destroyed) return;
        res.writeHead(answer.status, answer.headers ?? (answer.body?.startsWith('{') ? { 'content-type': 'application/json' } : {}));
        res.end(answer.body ?? '');
      });
    });
  });
  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const close = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    script: (...answers) => queue.push(...answers),
    down: close,
    up: () => listen(port),
    close,
  };
}

const json = (status: number, body: unknown): ScriptedAnswer => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** Telegram's HTML parse mode accepts only these tags; anything else fails "can't parse entities". */
const TELEGRAM_TAGS = new Set(['b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'a', 'code', 'pre', 'tg-spoiler', 'span', 'blockquote']);

/** Telegram's inline keyboards: callback_data is 1-64 bytes; a button has exactly one action. */
function telegramKeyboardError(markup: unknown): string | null {
  if (markup === undefined) return null;
  const keyboard = (markup as { inline_keyboard?: unknown } | null)?.inline_keyboard;
  if (!Array.isArray(keyboard) || !keyboard.every((row) => Array.isArray(row))) return "Bad Request: can't parse reply keyboard markup JSON object";
  for (const row of keyboard as unknown[][]) {
    for (const button of row as Array<Record<string, unknown>>) {
      if (typeof button.text !== 'string' || button.text === '') return 'Bad Request: text buttons are unallowed in the inline keyboard';
      const kinds = ['callback_data', 'url'].filter((k) => button[k] !== undefined);
      if (kinds.length !== 1) return 'Bad Request: BUTTON_TYPE_INVALID';
      if (button.callback_data !== undefined && (typeof button.callback_data !== 'string' || Buffer.byteLength(button.callback_data) < 1 || Buffer.byteLength(button.callback_data) > 64)) return 'Bad Request: BUTTON_DATA_INVALID';
      if (button.url !== undefined && (typeof button.url !== 'string' || !/^(https?|tg):\/\/[^\s]+$/.test(button.url))) return 'Bad Request: BUTTON_URL_INVALID';
    }
  }
  return null;
}

function telegramHtmlError(text: string): string | null {
  for (const match of text.matchAll(/<\/?([^\s>/]*)[^>]*>?/g)) {
    if (!match[0].endsWith('>') || !TELEGRAM_TAGS.has(match[1]!.toLowerCase())) return `Bad Request: can't parse entities: unsupported start tag "${match[1]}"`;
  }
  if (/&(?!(lt|gt|amp|quot);)/.test(text)) return "Bad Request: can't parse entities: unknown entity";
  return null;
}

export interface TelegramEmulator extends ProviderEmulator {
  /** Queues an Update for getUpdates (a user pressed a button or wrote to the bot). */
  pushUpdate(update: Record<string, unknown>): void;
}

/**
 * Telegram Bot API: POST /bot<token>/<method> for sendMessage, answerCallbackQuery,
 * editMessageText, setWebhook, deleteWebhook and getUpdates (https://core.telegram.org/bots/api),
 * each checked for the fields Telegram requires; sendMessage answers with increasing message ids.
 * getUpdates is a real long poll: held until an update is pushed or `timeout` seconds pass, and
 * refused (409) while a webhook is set, as Telegram does; `offset` confirms earlier updates.
 */
export async function startTelegram(token: string): Promise<TelegramEmulator> {
  let messageId = 0;
  let webhook: string | null = null;
  let updates: Array<Record<string, unknown> & { update_id: number }> = [];
  const waiters = new Set<() => void>();
  const bad = (description: string): ScriptedAnswer => json(400, { ok: false, error_code: 400, description });
  const ok = (result: unknown): ScriptedAnswer => json(200, { ok: true, result });
  async function getUpdates(body: Record<string, unknown> | null): Promise<ScriptedAnswer> {
    if (webhook !== null) return json(409, { ok: false, error_code: 409, description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first" });
    const offset = typeof body?.offset === 'number' ? body.offset : 0;
    const limit = typeof body?.limit === 'number' ? body.limit : 100;
    updates = updates.filter((u) => u.update_id >= offset);
    const timeoutMs = (typeof body?.timeout === 'number' ? body.timeout : 0) * 1000;
    if (updates.length === 0 && timeoutMs > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        waiters.add(done);
      });
    }
    return ok(updates.slice(0, limit));
  }
  const emulator = await startProvider(json(200, { ok: true, result: true }), (req) => {
    const method = req.path.startsWith(`/bot${token}/`) ? req.path.slice(`/bot${token}/`.length) : null;
    const body = req.json as Record<string, unknown> | null;
    switch (method) {
      case 'sendMessage': {
        if (!body?.chat_id) return bad('Bad Request: chat_id is empty');
        if (typeof body.text !== 'string' || body.text === '') return bad('Bad Request: message text is empty');
        const error = (body.parse_mode === 'HTML' ? telegramHtmlError(body.text) : null) ?? telegramKeyboardError(body.reply_markup);
        if (error) return bad(error);
        messageId += 1;
        return ok({ message_id: messageId, date: 0, chat: { id: Number(body.chat_id) || 1 }, text: body.text });
      }
      case 'answerCallbackQuery':
        if (typeof body?.callback_query_id !== 'string') return bad('Bad Request: query is too old and response timeout expired or query ID is invalid');
        if (typeof body.text === 'string' && body.text.length > 200) return bad('Bad Request: MESSAGE_TOO_LONG');
        return null;
      case 'editMessageText': {
        if (!body?.chat_id || typeof body.message_id !== 'number') return bad('Bad Request: message to edit not found');
        if (typeof body.text !== 'string' || body.text === '' || body.text.length > 4096) return bad('Bad Request: message text is empty');
        const error = telegramKeyboardError(body.reply_markup);
        if (error) return bad(error);
        return ok({ message_id: body.message_id, date: 0, chat: { id: body.chat_id }, text: body.text });
      }
      case 'setWebhook': {
        if (typeof body?.url !== 'string' || !body.url.startsWith('https://')) return bad('Bad Request: bad webhook: An HTTPS URL must be provided for webhook');
        if (body.secret_token !== undefined && (typeof body.secret_token !== 'string' || !/^[A-Za-z0-9_-]{1,256}$/.test(body.secret_token))) return bad('Bad Request: secret token contains unallowed characters');
        webhook = body.url;
        return ok(true);
      }
      case 'deleteWebhook':
        webhook = null;
        return ok(true);
      case 'getUpdates':
        return getUpdates(body);
      default:
        return json(404, { ok: false, error_code: 404, description: 'Not Found' });
    }
  });
  const release = () => {
    for (const done of [...waiters]) done();
  };
  return {
    ...emulator,
    pushUpdate(update) {
      updates.push(update as Record<string, unknown> & { update_id: number });
      release();
    },
    close: async () => {
      release();
      await emulator.close();
    },
    down: async () => {
      release();
      await emulator.down();
    },
  };
}

/** Discord webhook: POST /api/webhooks/<id>/<token>, 204 without ?wait. */
export function startDiscord(): Promise<ProviderEmulator> {
  return startProvider({ status: 204 }, (req) => {
    const body = req.json as { content?: string; embeds?: unknown[] } | null;
    if (!body || (!body.content && !body.embeds?.length)) return json(400, { message: 'Cannot send an empty message', code: 50006 });
    return null;
  });
}

/** Slack incoming webhook: answers the text `ok`. */
export function startSlack(): Promise<ProviderEmulator> {
  return startProvider({ status: 200, headers: { 'content-type': 'text/html' }, body: 'ok' }, (req) => {
    const body = req.json as { text?: string; blocks?: unknown[] } | null;
    if (!body || (!body.text && !body.blocks)) return { status: 400, body: 'no_text' };
    return null;
  });
}

/** Evolution API v2: POST /message/sendText/<instance> with an `apikey` header. */
export function startEvolution(instance: string, apiKey: string): Promise<ProviderEmulator> {
  return startProvider(json(201, { key: { remoteJid: 'x@s.whatsapp.net', fromMe: true, id: 'BAE5' }, status: 'PENDING' }), (req) => {
    if (req.headers.apikey !== apiKey) return json(401, { status: 401, error: 'Unauthorized', response: { message: 'Unauthorized' } });
    if (req.path !== `/message/sendText/${instance}`) return json(404, { status: 404, error: 'Not Found', response: { message: [`The "${req.path}" instance does not exist`] } });
    const body = req.json as { number?: string; text?: string } | null;
    if (!body?.number || !body.text) return json(400, { status: 400, error: 'Bad Request', response: { message: ['number and text are required'] } });
    return null;
  });
}

/** ntfy: JSON publishing to the server root. */
export function startNtfy(token?: string): Promise<ProviderEmulator> {
  return startProvider(json(200, { id: 'abc', time: 0, event: 'message', topic: 't' }), (req) => {
    if (token && req.headers.authorization !== `Bearer ${token}`) return json(403, { code: 40301, http: 403, error: 'forbidden' });
    const body = req.json as { topic?: string } | null;
    if (!body?.topic) return json(400, { code: 40009, http: 400, error: 'invalid request: topic invalid' });
    return null;
  });
}

/** Teams Workflows webhook: 202 Accepted for a message with an attachment. */
export function startTeams(): Promise<ProviderEmulator> {
  return startProvider({ status: 202 }, (req) => {
    const body = req.json as { type?: string; attachments?: unknown[]; '@type'?: string } | null;
    if (!body || (body.type !== 'message' && body['@type'] !== 'MessageCard')) return json(400, { error: { code: 'InvalidRequestContent' } });
    return null;
  });
}

/** A generic receiver (n8n's Webhook node) that checks the HMAC signature when given a secret. */
export function startWebhookReceiver(secret?: string): Promise<ProviderEmulator> {
  return startProvider(json(200, { message: 'Workflow was started' }), (req) => {
    if (!secret) return null;
    const timestamp = String(req.headers['x-farol-timestamp'] ?? '');
    const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${req.body}`).digest('hex')}`;
    if (req.headers['x-farol-signature'] !== expected) return json(401, { message: 'bad signature' });
    return null;
  });
}

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  user: string | null;
}

/** A real SMTP server (smtp-server) on 127.0.0.1, plain (no STARTTLS), with optional login. */
export async function startSmtp(login?: { user: string; pass: string }): Promise<{ port: number; mails: ReceivedMail[]; close(): Promise<void> }> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    authOptional: !login,
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (login && auth.username === login.user && auth.password === login.pass) return callback(null, { user: auth.username });
      return callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          user: typeof session.user === 'string' ? session.user : null,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/**
 * Undoes quoted-printable soft breaks and escapes and RFC 2047 encoded words in headers (folded
 * header lines are joined), enough to search a mail for text.
 */
export function decodeQuotedPrintable(raw: string): string {
  const unfolded = raw.replace(/\?=\r?\n[ \t]+=\?/g, '?==?').replace(/\r?\n[ \t]+/g, ' ');
  const words = unfolded.replace(/=\?utf-8\?([QB])\?([^?]*)\?=/gi, (_m, encoding: string, text: string) =>
    encoding.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64').toString('latin1')
      : text.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_x, hex: string) => String.fromCharCode(parseInt(hex, 16))),
  );
  const bytes = words.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}
