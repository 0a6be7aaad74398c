import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../infra/database.js';
import { migrations } from '../../infra/migrations.js';
import { openTestDatabase } from '../../testing/test-database.js';
import { createAgentsRepository } from '../agents/agents.repository.js';
import { createTelemetryRepository, type TelemetryRepository } from './telemetry.repository.js';

/*
 * The newest samples that offer a container update (issue #16): the automatic updater reads
 * only these instead of parsing every machine's sample every 30 s. SQLite and (int-pg) PostgreSQL.
 */

const START = Date.UTC(2026, 11, 6, 12);
const OFFERED = `sha256:${'2'.repeat(64)}`;

let db: Db;
let close: () => Promise<void>;
let telemetry: TelemetryRepository;
let seqs: number[];

const sample = (ts: number, availableDigest: string | null | undefined) =>
  JSON.stringify({ ts, cpu: 1, containers: [{ name: 'web', state: 'running', ...(availableDigest === undefined ? {} : { availableDigest }) }] });

beforeEach(async () => {
  ({ db, close } = await openTestDatabase('telemetry-repo'));
  telemetry = createTelemetryRepository(db);
  const agents = createAgentsRepository(db);
  seqs = [];
  for (let i = 0; i < 4; i++) {
    const id = `ag_tele${String(i).padStart(12, '0')}`;
    await agents.insert({ id, name: `t-${i}`, hostname: `t-${i}`, publicKey: id, keyFingerprint: id, labels: {}, system: null, createdAt: START, joinTokenId: 'jt' });
    seqs.push((await agents.findById(id))!.seq);
  }
});

afterEach(async () => {
  await close();
});

describe('telemetry repository: samples offering a container update (#16)', () => {
  it('lists only the agents whose newest stored sample offers one, and follows each newer sample', async () => {
    const [a, b, c, d] = seqs as [number, number, number, number];
    await telemetry.upsertLatest([
      { agentSeq: a, ts: START, json: sample(START, OFFERED), updatesOffered: 1 },
      { agentSeq: b, ts: START, json: sample(START, null), updatesOffered: 0 },
      { agentSeq: c, ts: START, json: sample(START, undefined) },
      { agentSeq: d, ts: START, json: sample(START, OFFERED), updatesOffered: 1 },
    ]);
    expect([...(await telemetry.latestOfferingUpdates()).keys()].sort()).toEqual([a, d].sort());
    expect(JSON.parse((await telemetry.latestOfferingUpdates()).get(a)!).containers[0].availableDigest).toBe(OFFERED);

    // A newer sample without the offer clears it, one with it sets it; an older one changes nothing.
    await telemetry.upsertLatest([
      { agentSeq: a, ts: START + 10_000, json: sample(START + 10_000, null), updatesOffered: 0 },
      { agentSeq: b, ts: START + 10_000, json: sample(START + 10_000, OFFERED), updatesOffered: 1 },
      { agentSeq: d, ts: START - 10_000, json: sample(START - 10_000, null), updatesOffered: 0 },
    ]);
    const offering = await telemetry.latestOfferingUpdates();
    expect([...offering.keys()].sort()).toEqual([b, d].sort());
    expect(JSON.parse(offering.get(d)!).ts).toBe(START);
  });

  it('counts the samples stored before the column existed from their JSON when migrating', async () => {
    const [a, b, c] = seqs as [number, number, number];
    await sql`alter table agent_latest drop column updates_offered`.execute(db);
    for (const [seq, json] of [[a, sample(START, OFFERED)], [b, sample(START, null)], [c, sample(START, undefined)]] as const) {
      await sql`insert into agent_latest (agent_seq, ts, sample) values (${seq}, ${START}, ${json})`.execute(db);
    }
    await db.transaction().execute((trx) => migrations['0235_agent_latest_updates_offered']!.up(trx));
    expect([...(await telemetry.latestOfferingUpdates()).keys()]).toEqual([a]);
  });
});
