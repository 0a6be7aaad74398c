import { describe, expect, it } from 'vitest';
import type { ChatOffer } from './chat-actions.js';
import { containerOfSubject } from './chat-actions.js';
import { offerLinks, telegramKeyboard } from '../notify/providers.js';

// Issue #20 item 5: how a message's offered actions become a Telegram keyboard and Slack/Discord
// links, for one alert and for a grouped message.

const token = (n: number): string => `${String(n).padStart(12, 'a')}${'b'.repeat(22)}`;

function offer(overrides: Partial<ChatOffer> = {}): ChatOffer {
  return {
    callbacks: true,
    linkUrl: (t) => `https://farol.example/chat/act/${t}`,
    alerts: [
      {
        alertId: 'al_1',
        agentName: 'web-1',
        openUrl: 'https://farol.example/machines/ag_1',
        actions: [
          { kind: 'ack', token: token(1), container: null },
          { kind: 'silence', token: token(2), container: null },
          { kind: 'restart', token: token(3), container: 'web' },
        ],
      },
    ],
    ...overrides,
  };
}

describe('chat offers in messages', () => {
  it('makes a row of callback buttons and a URL row for one alert', () => {
    expect(telegramKeyboard(offer())).toEqual([
      [
        { text: '✅ Acknowledge', callback_data: token(1) },
        { text: '🔕 Silence 1 h', callback_data: token(2) },
        { text: '🔄 Restart web', callback_data: token(3) },
      ],
      [{ text: '🔎 Open in Mission Control', url: 'https://farol.example/machines/ag_1' }],
    ]);
  });

  it('names the machine on every button of a grouped message, and offers no callback buttons when presses cannot come back', () => {
    const two = offer({
      alerts: [
        ...offer().alerts,
        { alertId: 'al_2', agentName: 'db-1', openUrl: null, actions: [{ kind: 'ack', token: token(4), container: null }] },
      ],
    });
    expect(telegramKeyboard(two).map((row) => row.map((b) => b.text))).toEqual([
      ['web-1 · ✅ Acknowledge', 'web-1 · 🔕 Silence 1 h', 'web-1 · 🔄 Restart web'],
      ['web-1 · 🔎 Open in Mission Control'],
      ['db-1 · ✅ Acknowledge'],
    ]);
    expect(telegramKeyboard({ ...two, callbacks: false })).toEqual([[{ text: 'web-1 · 🔎 Open in Mission Control', url: 'https://farol.example/machines/ag_1' }]]);
  });

  it('writes Slack mrkdwn and Discord markdown links, escaping machine names for Slack', () => {
    const named = offer({ alerts: [{ ...offer().alerts[0]!, agentName: 'a<b>&c' }, { ...offer().alerts[0]!, alertId: 'al_2', actions: [] }] });
    expect(offerLinks(named, 'slack')[0]).toEqual({
      name: 'Act on a&lt;b&gt;&amp;c',
      text: `<https://farol.example/chat/act/${token(1)}|✅ Acknowledge> · <https://farol.example/chat/act/${token(2)}|🔕 Silence 1 h> · <https://farol.example/chat/act/${token(3)}|🔄 Restart web> · <https://farol.example/machines/ag_1|🔎 Open in Mission Control>`,
    });
    expect(offerLinks(offer(), 'discord')).toEqual([
      {
        name: 'Act',
        text: `[✅ Acknowledge](https://farol.example/chat/act/${token(1)}) · [🔕 Silence 1 h](https://farol.example/chat/act/${token(2)}) · [🔄 Restart web](https://farol.example/chat/act/${token(3)}) · [🔎 Open in Mission Control](https://farol.example/machines/ag_1)`,
      },
    ]);
    // No links without a public URL: nothing to write.
    expect(offerLinks({ ...offer(), linkUrl: () => null, alerts: [{ ...offer().alerts[0]!, openUrl: null }] }, 'slack')).toEqual([]);
  });

  it('reads the container of a container alert from its subject only', () => {
    expect(containerOfSubject('container web')).toBe('web');
    expect(containerOfSubject('cpu')).toBeNull();
    expect(containerOfSubject('disk /var')).toBeNull();
  });
});
