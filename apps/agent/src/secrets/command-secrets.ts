import { SECRET_REDACTION, type ShellCommand } from '@farol/protocol';
import type { HubLink } from '../hub-link/hub-link.client.js';
import { plainOutcome, type RemoteCommandContext, type RemoteOutcome } from '../remote/remote-command.js';

/** How long the hub has to hand the secrets over before the command fails. */
const FETCH_TIMEOUT_MS = 15_000;
/** Shorter values are not redacted (the hub applies the same floor). */
const MIN_REDACTED_LENGTH = 4;

/** A command that may name secrets to pass as environment variables: `shell`, and `docker_deploy` (#18). */
type WithSecrets = Pick<ShellCommand, 'secrets' | 'env'>;
type Handler<C extends WithSecrets> = (command: C, context: RemoteCommandContext) => Promise<RemoteOutcome>;

/** Blanks every value out of `text`, longest first (one value may contain another). */
export function redactAll(text: string, values: readonly string[]): string {
  let out = text;
  for (const value of values) if (out.includes(value)) out = out.split(value).join(SECRET_REDACTION);
  return out;
}

/**
 * Redacts a stream of chunks in which a value may be split across two chunks: the last
 * (longest value - 1) characters are held back until more text comes or the stream ends.
 */
export function createStreamRedactor(values: readonly string[], emit: (text: string) => void): { push(text: string): void; end(): void } {
  const hold = Math.max(0, ...values.map((v) => v.length)) - 1;
  let carry = '';
  return {
    push(text) {
      const redacted = redactAll(carry + text, values);
      if (redacted.length <= hold) {
        carry = redacted;
        return;
      }
      const cut = redacted.length - hold;
      carry = redacted.slice(cut);
      emit(redacted.slice(0, cut));
    },
    end() {
      if (carry !== '') emit(redactAll(carry, values));
      carry = '';
    },
  };
}

/**
 * Wraps the shell handler: a command that names secrets fetches them from the hub right before
 * it runs (`secrets:fetch`, answered only for this agent's own unfinished command and secrets
 * scoped to it), passes them as environment variables, and has every value redacted from its
 * streamed output and its result. The values live in this closure only, for the command's
 * duration: never on disk, never logged.
 */
export function withCommandSecrets<C extends WithSecrets = ShellCommand>(link: Pick<HubLink, 'request'>, run: Handler<C>): Handler<C> {
  return async (command, context) => {
    const names = command.secrets ?? [];
    if (names.length === 0) return run(command, context);
    const startedAt = context.clock.now();
    const fail = (error: string): RemoteOutcome => plainOutcome({ state: 'failed', startedAt, endedAt: context.clock.now(), error });
    let fetched: Array<{ name: string; value: string }>;
    try {
      const answer = await link.request('secrets:fetch', { commandId: context.commandId, names }, FETCH_TIMEOUT_MS);
      if (!answer.ok) {
        context.logger.warn({ commandId: context.commandId, names, code: answer.error.code }, 'the hub refused this command\'s secrets');
        return fail(`the hub refused the secrets ${names.join(', ')}: ${answer.error.message} (${answer.error.code})`);
      }
      fetched = answer.data.secrets;
    } catch (error) {
      context.logger.warn({ commandId: context.commandId, names, err: error }, 'could not fetch this command\'s secrets');
      return fail(`could not fetch the secrets ${names.join(', ')} from the hub: ${(error as Error).message}`);
    }
    const missing = names.filter((name) => !fetched.some((s) => s.name === name));
    if (missing.length > 0) return fail(`the hub did not send the secrets ${missing.join(', ')}`);
    const env: Record<string, string> = { ...command.env };
    for (const { name, value } of fetched) env[name] = value;
    const values = [...new Set(fetched.map((s) => s.value))].filter((v) => v.length >= MIN_REDACTED_LENGTH).sort((a, b) => b.length - a.length);
    const streams = {
      stdout: createStreamRedactor(values, (text) => context.onOutput('stdout', text)),
      stderr: createStreamRedactor(values, (text) => context.onOutput('stderr', text)),
    };
    const outcome = await run({ ...command, env }, { ...context, onOutput: (stream, text) => streams[stream].push(text) });
    streams.stdout.end();
    streams.stderr.end();
    return {
      ...outcome,
      stdout: redactAll(outcome.stdout, values),
      stderr: redactAll(outcome.stderr, values),
      error: outcome.error === null ? null : redactAll(outcome.error, values),
    };
  };
}
