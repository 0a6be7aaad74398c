import { describe, expect, it } from 'vitest';
import { FarolApiError } from './api-error.js';
import { createTerminalSessionsClient } from './terminal-sessions.client.js';

const session = { id: 'term_0123456789abcdef', agentId: 'ag_0123456789abcdef', agentName: 'web-1', actor: 'rita', cols: 80, rows: 24, openedAt: 1, closedAt: 2, closeReason: 'exited', exitCode: 0, bytesIn: 5, bytesOut: 9, recorded: true };

function fakeFetch(answer: () => Response) {
  const calls: Array<{ url: string; headers: Record<string, string> }> = [];
  const fetch: typeof globalThis.fetch = (input, init) => {
    calls.push({ url: String(input), headers: init?.headers as Record<string, string> });
    return Promise.resolve(answer());
  };
  return { calls, fetch };
}

describe('terminal sessions client', () => {
  it('lists sessions with the filters as query and the token as bearer', async () => {
    const { calls, fetch } = fakeFetch(() => Response.json({ sessions: [session] }));
    const client = createTerminalSessionsClient({ baseUrl: 'http://hub/', token: 'fat_x', fetch });
    const list = await client.listSessions({ agent: 'web-1', limit: 5 });
    expect(list.sessions[0]).toMatchObject({ actor: 'rita', recorded: true });
    expect(calls[0]!.url).toBe('http://hub/api/terminal/sessions?agent=web-1&limit=5');
    expect(calls[0]!.headers.authorization).toBe('Bearer fat_x');
  });

  it('downloads a recording as a blob, and a missing one is a not_found FarolApiError', async () => {
    const cast = '{"version":2,"width":80,"height":24}\n[0.1,"o","hi\\r\\n"]\n';
    let status = 200;
    const { calls, fetch } = fakeFetch(() =>
      status === 200
        ? new Response(cast, { headers: { 'content-type': 'application/x-asciicast' } })
        : Response.json({ type: 'about:blank', title: 'Not Found', status: 404, code: 'not_found', detail: 'no recording' }, { status: 404, headers: { 'content-type': 'application/problem+json' } }),
    );
    const client = createTerminalSessionsClient({ baseUrl: 'http://hub', fetch });
    expect(await (await client.downloadRecording('term_0123456789abcdef')).text()).toBe(cast);
    expect(calls[0]!.url).toBe('http://hub/api/terminal/sessions/term_0123456789abcdef/recording');
    status = 404;
    const error = await client.downloadRecording('term_0123456789abcdef').catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(FarolApiError);
    expect(error).toMatchObject({ status: 404, code: 'not_found' });
  });
});
