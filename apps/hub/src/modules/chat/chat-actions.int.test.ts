import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertNotice, Notification } from '@farol/protocol';
import { openSqliteDatabase, type Db } from '../../infra/database.js';
import { openPostgresDatabase } from '../../infra/postgres.js';
import { createTestDatabase, isPostgresRun } from '../../testing/postgres-test-db.js';
import { createChatActions, DEFAULT_CHAT_ACTION_TTL_MS } from './chat-actions.js';
import { createChatRepository, type ChatTables } from './chat.repository.js';

// Issue #20 item 5: chat action tokens are signed, expire and work once, on SQLite and on
// PostgreSQL (the int-pg run), with a clock the test moves.

const T0 = Date.UTC(2026, 11, 6, 9, 0, 0);
const clock = { t: T0, now() { return this.t; } };
let db: Db;
let cleanup: () => Promise<void>;
let repo: ReturnType<typeof createChatRepository>;
let actions: ReturnType<typeof createChatActions>;

function notice(overrides: Partial<AlertNotice> = {}): AlertNotice {
  return {
    alertId: 'al_0000000000000001',
    ruleId: 'ru_1',
    ruleName: 'Watched container down',
    event: 'firing',
    severity: 'critical',
    agentId: 'ag_1',
    agentName: 'web-1',
    subject: 'container web',
    summary: 'container web is exited',
    value: 1,
    threshold: null,
    comparator: null,
    unit: null,
    since: T0,
    resolvedAt: null,
    labels: {},
    ...overrides,
  };
}
const alerts = (...list: AlertNotice[]): Notification => ({ kind: 'alerts', alerts: list });

beforeAll(async () => {
  if (isPostgresRun()) {
    const database = await createTestDatabase('chat-actions');
    db = (await openPostgresDatabase({ url: database.url, poolSize: 4 })).db;
    cleanup = async () => {
      await db.destroy();
      await database.drop();
    };
  } else {
    const dir = mkdtempSync(path.join(tmpdir(), 'farol-chat-'));
    db = (await openSqliteDatabase(dir)).db;
    cleanup = async () => {
      await db.destroy();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  repo = createChatRepository((db as Kysely<unknown>).withTables<ChatTables>());
  actions = createChatActions({ repo, macKey: Buffer.alloc(32, 7), clock, publicUrl: 'https://farol.example.test/' });
  await repo.setTelegramMode('ch_tg', 'webhook', 'https://farol.example.test/api/chat/telegram/ch_tg/webhook', T0);
});

afterAll(async () => {
  await cleanup?.();
});

describe('chat action tokens', () => {
  it('offers ack, silence and restart for a container alert, none for a resolved one, the same on a retry', async () => {
    const offer = (await actions.offerFor({ id: 'ch_tg', type: 'telegram' }, alerts(notice(), notice({ alertId: 'al_0000000000000002', event: 'resolved' })), 'dl_1'))!;
    expect(offer.callbacks).toBe(true);
    expect(offer.alerts).toHaveLength(1);
    expect(offer.alerts[0]!.actions.map((a) => [a.kind, a.container])).toEqual([
      ['ack', null],
      ['silence', null],
      ['restart', 'web'],
    ]);
    expect(offer.alerts[0]!.openUrl).toBe('https://farol.example.test/machines/ag_1');
    const again = (await actions.offerFor({ id: 'ch_tg', type: 'telegram' }, alerts(notice()), 'dl_1'))!;
    expect(again.alerts[0]!.actions.map((a) => a.token)).toEqual(offer.alerts[0]!.actions.map((a) => a.token));
  });

  it('gives a Telegram channel without a registered webhook only the Mission Control link', async () => {
    const offer = (await actions.offerFor({ id: 'ch_other', type: 'telegram' }, alerts(notice()), 'dl_2'))!;
    expect(offer.callbacks).toBe(false);
    expect(offer.alerts[0]!.actions).toEqual([]);
    expect(await actions.offerFor({ id: 'ch_mail', type: 'email' }, alerts(notice()), 'dl_3')).toBeNull();
  });

  it('verifies a token for its channel only, and once', async () => {
    const offer = (await actions.offerFor({ id: 'ch_tg', type: 'telegram' }, alerts(notice({ alertId: 'al_0000000000000003' })), 'dl_4'))!;
    const token = offer.alerts[0]!.actions[0]!.token;
    expect(await actions.verify(token, 'ch_tg')).toMatchObject({ ok: true, action: { kind: 'ack', alertId: 'al_0000000000000003' } });
    expect(await actions.verify(token, 'ch_other')).toMatchObject({ ok: false, refusal: 'other_channel' });
    expect(await actions.verify('not-a-token', 'ch_tg')).toEqual({ ok: false, refusal: 'malformed' });
    expect(await actions.verify(`AAAAAAAAAAAA${token.slice(12)}`, 'ch_tg')).toEqual({ ok: false, refusal: 'unknown' });
    const id = token.slice(0, 12);
    const [first, second] = await Promise.all([actions.claim(id, 'olga'), actions.claim(id, 'vic')]);
    expect([first, second].filter(Boolean)).toHaveLength(1);
    expect(await actions.verify(token, 'ch_tg')).toMatchObject({ ok: false, refusal: 'used', action: { usedBy: first ? 'olga' : 'vic' } });
  });

  it('refuses a token after it expires, and prunes it a week later', async () => {
    const offer = (await actions.offerFor({ id: 'ch_tg', type: 'telegram' }, alerts(notice({ alertId: 'al_0000000000000004' })), 'dl_5'))!;
    const token = offer.alerts[0]!.actions[1]!.token;
    clock.t = T0 + DEFAULT_CHAT_ACTION_TTL_MS - 1;
    expect(await actions.verify(token, 'ch_tg')).toMatchObject({ ok: true });
    clock.t = T0 + DEFAULT_CHAT_ACTION_TTL_MS;
    expect(await actions.verify(token, 'ch_tg')).toMatchObject({ ok: false, refusal: 'expired' });
    clock.t = T0 + DEFAULT_CHAT_ACTION_TTL_MS + 7 * 24 * 3_600_000 + 1;
    expect(await actions.prune()).toBeGreaterThan(0);
    expect(await actions.verify(token, 'ch_tg')).toEqual({ ok: false, refusal: 'unknown' });
  });
});
