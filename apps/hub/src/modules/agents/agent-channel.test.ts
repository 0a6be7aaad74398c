import { describe, expect, it } from 'vitest';
import { createLogger } from '../../infra/logger.js';
import { createLocalAgentChannel } from './agent-channel.js';
import type { AgentSession } from './presence.service.js';

const logger = createLogger('silent');

function sessions(entries: Record<string, AgentSession>) {
  return {
    sessionOf: (agentId: string) => entries[agentId],
    connectionOf: (agentId: string) => entries[agentId]?.sessionId ?? null,
  };
}

describe('the local agent channel (one hub, issue #14)', () => {
  it('hands a message to the agent\'s connection and says it was delivered', async () => {
    const sent: Array<[string, unknown]> = [];
    const channel = createLocalAgentChannel({ presence: sessions({ ag_1: { sessionId: 's1', disconnect: () => {}, send: (event, payload) => void sent.push([event, payload]) } }), logger });
    expect(channel.isConnected('ag_1')).toBe(true);
    expect(channel.connectionOf('ag_1')).toBe('s1');
    expect(await channel.send('ag_1', 'command:cancel', { commandId: 'cmd_1' })).toBe('delivered');
    expect(sent).toEqual([['command:cancel', { commandId: 'cmd_1' }]]);
  });

  it('says not_connected for an agent connected nowhere', async () => {
    const channel = createLocalAgentChannel({ presence: sessions({}), logger });
    expect(channel.isConnected('ag_2')).toBe(false);
    expect(channel.connectionOf('ag_2')).toBeNull();
    expect(await channel.send('ag_2', 'telemetry:live', { intervalMs: null })).toBe('not_connected');
  });

  it('says failed when the connection throws, instead of throwing into the caller', async () => {
    const channel = createLocalAgentChannel({
      presence: sessions({
        ag_3: {
          sessionId: 's3',
          disconnect: () => {},
          send: () => {
            throw new Error('socket closed');
          },
        },
      }),
      logger,
    });
    expect(await channel.send('ag_3', 'terminal:close', { sessionId: 'term_1' })).toBe('failed');
  });
});
