import { describe, expect, it } from 'vitest';
import type { ShellCommand } from '@farol/protocol';
import { createSilentLogger } from '../logging/logger.js';
import { plainOutcome, type RemoteCommandContext, type RemoteOutcome } from '../remote/remote-command.js';
import { systemClock } from '../runtime/clock.js';
import { createStreamRedactor, withCommandSecrets } from './command-secrets.js';

const SECRET = 'hunter2-very-secret';

function context(outputs: Array<[string, string]>): RemoteCommandContext {
  return {
    commandId: 'cmd_aaaaaaaaaaaaaaaa',
    timeoutMs: 5_000,
    signal: new AbortController().signal,
    onOutput: (stream, text) => outputs.push([stream, text]),
    clock: systemClock,
    logger: createSilentLogger(),
  };
}

describe('stream redaction', () => {
  it('redacts a value split across chunks, at any split point', () => {
    const text = `a ${SECRET} b ${SECRET}\n`;
    for (let cut = 0; cut <= text.length; cut++) {
      let out = '';
      const redactor = createStreamRedactor([SECRET], (chunk) => (out += chunk));
      redactor.push(text.slice(0, cut));
      redactor.push(text.slice(cut));
      redactor.end();
      expect(out, `cut at ${cut}`).toBe('a [secret] b [secret]\n');
    }
  });
});

describe('command secrets', () => {
  it('fetches the named secrets for this command, passes them as env and redacts the output', async () => {
    const requests: unknown[] = [];
    const link = {
      request: async (event: string, payload: unknown) => {
        requests.push({ event, payload });
        return { ok: true as const, data: { secrets: [{ name: 'DB_PASSWORD', value: SECRET }] } };
      },
    };
    let seenEnv: Record<string, string> | undefined;
    const handler = withCommandSecrets(link as never, async (command, ctx): Promise<RemoteOutcome> => {
      seenEnv = command.env;
      ctx.onOutput('stdout', `pw=${SECRET.slice(0, 5)}`);
      ctx.onOutput('stdout', `${SECRET.slice(5)}\n`);
      return plainOutcome({ state: 'failed', startedAt: 1, endedAt: 2, stdout: `pw=${SECRET}\n`, stderr: SECRET, error: `bad ${SECRET}` });
    });
    const outputs: Array<[string, string]> = [];
    const command: ShellCommand = { kind: 'shell', argv: ['./migrate'], env: { A: '1' }, secrets: ['DB_PASSWORD'] };
    const outcome = await handler(command, context(outputs));
    expect(requests).toEqual([{ event: 'secrets:fetch', payload: { commandId: 'cmd_aaaaaaaaaaaaaaaa', names: ['DB_PASSWORD'] } }]);
    expect(seenEnv).toEqual({ A: '1', DB_PASSWORD: SECRET });
    expect(outputs.map(([, text]) => text).join('')).toBe('pw=[secret]\n');
    expect(outcome).toMatchObject({ stdout: 'pw=[secret]\n', stderr: '[secret]', error: 'bad [secret]' });
  });

  it('fails the command without running it when the hub refuses', async () => {
    const link = { request: async () => ({ ok: false as const, error: { code: 'forbidden' as const, message: 'DB_PASSWORD not scoped to web-2' } }) };
    let ran = false;
    const handler = withCommandSecrets(link as never, async () => {
      ran = true;
      return plainOutcome({ state: 'succeeded', startedAt: 1, endedAt: 2 });
    });
    const outcome = await handler({ kind: 'shell', argv: ['true'], secrets: ['DB_PASSWORD'] }, context([]));
    expect(ran).toBe(false);
    expect(outcome.state).toBe('failed');
    expect(outcome.error).toContain('not scoped to web-2 (forbidden)');
  });

  it('runs commands without secrets untouched, with no request', async () => {
    const link = {
      request: async () => {
        throw new Error('no request expected');
      },
    };
    const handler = withCommandSecrets(link as never, async () => plainOutcome({ state: 'succeeded', startedAt: 1, endedAt: 2, stdout: 'ok' }));
    expect((await handler({ kind: 'shell', argv: ['true'] }, context([]))).stdout).toBe('ok');
  });
});
