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

export type Validator = (request: RecordedRequest) => ScriptedAnswer | null;

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
      const answer = queue.shift() ?? validate(recorded) ?? ok;
      res.writeHead(answer.status, answer.headers ?? (answer.body?.startsWith('{') ? { 'content-type': 'application/json' } : {}));
      res.end(answer.body ?? '');
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

/** Telegram Bot API: POST /bot<token>/sendMessage. */
export function startTelegram(token: string): Promise<ProviderEmulator> {
  return startProvider(json(200, { ok: true, result: { message_id: 1, date: 0, chat: { id: 1 } } }), (req) => {
    if (req.path !== `/bot${token}/sendMessage`) return json(404, { ok: false, error_code: 404, description: 'Not Found' });
    const body = req.json as { chat_id?: unknown; text?: unknown; parse_mode?: unknown } | null;
    if (!body?.chat_id) return json(400, { ok: false, error_code: 400, description: 'Bad Request: chat_id is empty' });
    if (typeof body.text !== 'string' || body.text === '') return json(400, { ok: false, error_code: 400, description: 'Bad Request: message text is empty' });
    if (body.parse_mode === 'HTML') {
      for (const match of body.text.matchAll(/<\/?([^\s>/]*)[^>]*>?/g)) {
        if (!match[0].endsWith('>') || !TELEGRAM_TAGS.has(match[1]!.toLowerCase())) {
          return json(400, { ok: false, error_code: 400, description: `Bad Request: can't parse entities: unsupported start tag "${match[1]}"` });
        }
      }
      if (/&(?!(lt|gt|amp|quot);)/.test(body.text)) return json(400, { ok: false, error_code: 400, description: "Bad Request: can't parse entities: unknown entity" });
    }
    return null;
  });
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
