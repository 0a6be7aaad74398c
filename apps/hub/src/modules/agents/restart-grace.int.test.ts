import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentServerToClientEvents, AlertNotice, Notification } from '@farol/protocol';
import { createMemoryBus, type Bus } from '../../infra/bus.js';
import { openSqliteDatabase, type Db } from '../../infra/database.js';
import { createLogger } from '../../infra/logger.js';
import { createRepositories, createUnitOfWork, type Repositories } from '../repositories.js';
import { createAlertsService, type AlertsService } from '../alerts/alerts.service.js';
import { AGENT_RECONNECT_CAP_MS, createPresenceService, restartGraceMs, type AgentSession, type PresenceService } from './presence.service.js';

/*
 * A hub restart with a fleet coming back over the agents' whole reconnect backoff (issue #12):
 * real SQLite, the real presence and alerts services with the default rules, an injected clock.
 */

const START = Date.UTC(2026, 11, 6, 6, 0, 0);
const FLEET = 300;
const MISSED_HEARTBEATS = 3;
const logger = createLogger('silent');

let dir: string;
let db: Db;
let repos: Repositories;
let bus: Bus;
let clock: { t: number; now(): number };
let notices: AlertNotice[];
let presence: PresenceService;
let alerts: AlertsService;
const ids = Array.from({ length: FLEET }, (_, i) => `ag_fleet${String(i).padStart(11, '0')}`);

function session(id: string, sent: Array<{ event: string; payload: unknown }> = []): AgentSession {
  return {
    sessionId: `s-${id}-${clock.now()}`,
    disconnect: () => undefined,
    send: <E extends keyof AgentServerToClientEvents>(event: E, payload: Parameters<AgentServerToClientEvents[E]>[0]) => {
      sent.push({ event, payload });
    },
  };
}

async function advance(ms: number): Promise<void> {
  clock.t += ms;
  await presence.sweep();
  await alerts.tick();
  await alerts.settle();
}

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'farol-restart-'));
  ({ db } = await openSqliteDatabase(dir));
  repos = createRepositories(db);
  for (const id of ids) {
    await repos.agents.insert({ id, name: id.slice(3), hostname: id, publicKey: id, keyFingerprint: id, labels: {}, system: null, createdAt: START, joinTokenId: 'jt' });
    // Online and heard a few seconds before the hub went down.
    await repos.agents.setStatus((await repos.agents.findById(id))!.seq, 'online', START - 5_000);
  }
  bus = createMemoryBus(logger);
  clock = { t: START, now: () => clock.t };
  notices = [];
  presence = createPresenceService({ agents: repos.agents, bus, clock, logger, missedHeartbeats: MISSED_HEARTBEATS });
  // As main.ts wires it at every start: the default rules, "Machine offline" critical after 30 s.
  alerts = createAlertsService({
    alerts: repos.alerts,
    unitOfWork: createUnitOfWork(db),
    agents: repos.agents,
    isOnline: (id) => presence.isOnline(id),
    latestValues: () => null,
    notifier: {
      async notify(_channels, notification: Notification) {
        if (notification.kind === 'alerts') notices.push(...notification.alerts);
      },
    },
    bus,
    clock,
    logger,
    options: { defaultCooldownMs: 1_800_000, defaultChannels: ['ops'], groupWindowMs: 0, startupGraceMs: restartGraceMs(MISSED_HEARTBEATS), report: null, timers: false },
  });
  await repos.agents.markAllOffline();
  await alerts.start();
});

afterEach(async () => {
  await alerts.stop();
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('a hub restart (#12)', () => {
  it('raises no "Machine offline" for machines that come back within the agents\' reconnect backoff (#12)', async () => {
    // After a crash, full jitter spreads the agents over [0, cap]: some sleep almost the whole 60 s.
    const returnAt = new Map(ids.map((id, i) => [id, START + 1_000 + Math.floor(((i + 1) / FLEET) * AGENT_RECONNECT_CAP_MS)]));
    for (let second = 0; second <= 70; second++) {
      for (const id of ids) {
        if (returnAt.get(id)! <= clock.now() && !presence.isOnline(id)) {
          const agent = (await repos.agents.findById(id))!;
          await presence.connected(agent, session(id));
        }
        if (presence.isOnline(id)) presence.heard(id);
      }
      await advance(1_000);
    }
    expect(presence.onlineCount()).toBe(FLEET);
    for (let minute = 0; minute < 5; minute++) {
      for (const id of ids) presence.heard(id);
      await advance(10_000);
    }
    expect(notices.filter((notice) => notice.ruleName === 'Machine offline')).toEqual([]);
  });

  it('still raises it for a machine that does not come back (#12)', async () => {
    for (const id of ids.slice(1)) await presence.connected((await repos.agents.findById(id))!, session(id));
    for (let step = 0; step < 12; step++) {
      for (const id of ids.slice(1)) presence.heard(id);
      await advance(10_000);
    }
    expect(notices.filter((notice) => notice.event === 'firing').map((notice) => notice.agentId)).toEqual([ids[0]]);
  });

  it('tells every agent when to come back on shutdown, spread and not all at once (#12)', async () => {
    const sent = new Map<string, Array<{ event: string; payload: unknown }>>();
    for (const id of ids) {
      sent.set(id, []);
      await presence.connected((await repos.agents.findById(id))!, session(id, sent.get(id)));
    }
    await presence.stop();
    const after = ids.map((id) => {
      const [notice] = sent.get(id)!;
      expect(notice?.event).toBe('hub:draining');
      return (notice!.payload as { retryAfterMs: number }).retryAfterMs;
    });
    expect(Math.min(...after)).toBeGreaterThanOrEqual(2_000);
    // 300 agents over at least a second: at most 250 a second come back.
    expect(Math.max(...after) - Math.min(...after)).toBeGreaterThanOrEqual(1_000);
    expect(Math.max(...after)).toBeLessThan(restartGraceMs(MISSED_HEARTBEATS));
    expect(presence.onlineCount()).toBe(0);
  });
});
