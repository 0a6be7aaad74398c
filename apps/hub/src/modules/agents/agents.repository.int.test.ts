import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../infra/database.js';
import { openTestDatabase } from '../../testing/test-database.js';
import { createAgentsRepository, type AgentsRepository } from './agents.repository.js';

/*
 * The writes presence batches (issue #16): several agents' status and last-seen time in one
 * statement per 500, on SQLite and (the int-pg run) PostgreSQL.
 */

const START = Date.UTC(2026, 11, 6, 12);
const FLEET = 1_203;

let db: Db;
let close: () => Promise<void>;
let agents: AgentsRepository;
let seqs: number[];

beforeEach(async () => {
  ({ db, close } = await openTestDatabase('agents-repo'));
  agents = createAgentsRepository(db);
  seqs = [];
  for (let i = 0; i < FLEET; i++) {
    const id = `ag_repo${String(i).padStart(12, '0')}`;
    await agents.insert({ id, name: `m-${i}`, hostname: `m-${i}`, publicKey: id, keyFingerprint: id, labels: {}, system: null, createdAt: START, joinTokenId: 'jt' });
    seqs.push((await agents.findById(id))!.seq);
  }
});

afterEach(async () => {
  await close();
});

describe('agents repository: batched presence writes (#16)', () => {
  it('stores the status and last-seen time of more agents than one statement takes, each its own', async () => {
    await agents.setStatuses(seqs.map((seq, i) => ({ seq, status: i % 3 === 0 ? 'offline' : 'online', lastSeen: START + i })));
    const stored = await agents.list();
    expect(stored).toHaveLength(FLEET);
    for (const agent of stored) {
      const i = seqs.indexOf(agent.seq);
      expect([agent.status, agent.lastSeen]).toEqual([i % 3 === 0 ? 'offline' : 'online', START + i]);
    }
  });

  it('records when agents were last heard, leaving their status and the other agents alone', async () => {
    await agents.setStatuses(seqs.map((seq) => ({ seq, status: 'online', lastSeen: START })));
    const heard = seqs.slice(0, 1_001);
    await agents.touchLastSeen(heard.map((seq, i) => ({ seq, lastSeen: START + 60_000 + i })));
    for (const agent of await agents.list()) {
      const i = seqs.indexOf(agent.seq);
      expect(agent.status).toBe('online');
      expect(agent.lastSeen).toBe(i < heard.length ? START + 60_000 + i : START);
    }
    await agents.touchLastSeen([]);
  });
});
