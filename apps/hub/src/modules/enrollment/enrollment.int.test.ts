import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent, JoinToken } from '@farol/protocol';
import { connectPeer, enrollPeer, hello } from '../../testing/protocol-peer.js';
import { startHubFixture, type HubFixture } from '../../testing/hub-fixture.js';

let hub: HubFixture;

beforeAll(async () => {
  hub = await startHubFixture();
});
afterAll(async () => {
  await hub?.stop();
});

describe('enrollment under load (issue #14)', () => {
  it('shares a token\'s uses exactly among agents enrolling at once: the use is taken last, in turns', async () => {
    const token = await hub.createJoinToken({ uses: 5, note: 'rush' });
    const outcomes = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => enrollPeer(hub.url, token, `rush-${i}`)));
    const enrolled = outcomes.filter((outcome) => outcome.status === 'fulfilled').map((outcome) => outcome.value);
    const refused = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    expect(enrolled).toHaveLength(5);
    expect(refused).toHaveLength(7);
    for (const outcome of refused) expect(String(outcome.reason)).toMatch(/token_used_up/);

    const { body } = await hub.api('GET', '/api/join-tokens');
    const listed = (body as { tokens: JoinToken[] }).tokens.find((t) => t.id === token.split('.')[0]);
    expect(listed).toMatchObject({ uses: 5, maxUses: 5, state: 'used_up' });
    const agents = ((await hub.api('GET', '/api/agents')).body as { agents: Agent[] }).agents.filter((agent) => agent.name.startsWith('rush-'));
    expect(agents.map((agent) => agent.id).sort()).toEqual(enrolled.map((peer) => peer.agentId).sort());

    // Every one of them connects and is greeted with the name it enrolled under.
    for (const peer of enrolled) {
      const { socket, error } = await connectPeer(hub.url, peer);
      expect(error).toBeUndefined();
      const ack = await hello(socket!, 10_000);
      expect(ack).toMatchObject({ ok: true, data: { agentId: peer.agentId, name: peer.name } });
      socket!.disconnect();
    }
  });
});
