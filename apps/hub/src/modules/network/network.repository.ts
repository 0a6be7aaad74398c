import { sql, type Kysely } from 'kysely';
import { TailscaleReportSchema, type TailscaleReport } from '@farol/protocol';

/** The tables of migration 0200_network. */
export type NetworkTables = {
  network_rtt_1m: { agent_id: string; ts: number; n: number; p50_ms: number; min_ms: number; max_ms: number; sum_ms: number };
  network_rtt_1h: { agent_id: string; ts: number; n: number; p50_sum: number; p50_n: number; min_ms: number; max_ms: number; sum_ms: number };
  network_agents: { agent_id: string; remote_address: string | null; tailscale: string | null; tailscale_at: number | null; rtt_last_ms: number | null; rtt_last_at: number | null };
  network_peer_links: { agent_id: string; peer_key: string; last_direct_at: number | null; updated_at: number };
};

/** One minute of one machine's hub round trips. */
export interface RttMinute {
  agentId: string;
  ts: number;
  n: number;
  p50Ms: number;
  minMs: number;
  maxMs: number;
  sumMs: number;
}

export interface NetworkAgentRow {
  agentId: string;
  remoteAddress: string | null;
  tailscale: TailscaleReport | null;
  tailscaleAt: number | null;
  rttLastMs: number | null;
  rttLastAt: number | null;
}

export interface NetworkRepository {
  /** Adds minutes (merged with a row another hub wrote for the same minute) and their hours. */
  addRttMinutes(minutes: readonly RttMinute[], last: ReadonlyMap<string, { ms: number; at: number }>): Promise<void>;
  /** Per-minute medians of every machine since `since`. */
  minuteP50s(since: number): Promise<Array<{ agentId: string; ts: number; p50Ms: number }>>;
  /** Per-hour mean of minute medians, and how many minutes, for hours starting in [since, before). */
  hourP50s(since: number, before: number): Promise<Array<{ agentId: string; ts: number; p50Ms: number; minutes: number }>>;
  rttHistory(agentId: string, since: number, resolution: '1m' | '1h'): Promise<Array<{ ts: number; p50Ms: number | null; minMs: number; maxMs: number; n: number }>>;
  /** Several agents' addresses in one statement per 500 (a reconnect storm connects thousands at once). */
  setRemoteAddresses(rows: ReadonlyArray<{ agentId: string; address: string | null }>): Promise<void>;
  setTailscale(agentId: string, report: TailscaleReport, at: number, directPeers: readonly string[], allPeers: readonly string[]): Promise<void>;
  agents(): Promise<NetworkAgentRow[]>;
  peerLinks(): Promise<Array<{ agentId: string; peerKey: string; lastDirectAt: number | null }>>;
  prune(minutesBefore: number, hoursBefore: number): Promise<void>;
  /** Every machine with a row here (one row each in network_agents, the small table). */
  agentIds(): Promise<string[]>;
  /** A removed machine: its round trips, network facts and peer links. */
  deleteAgent(agentId: string): Promise<void>;
}

/** Rows per INSERT: 8 columns × 500 stays far under SQLite's 32,766 bound parameters. */
const CHUNK = 500;
function chunks<T>(rows: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += CHUNK) out.push(rows.slice(i, i + CHUNK));
  return out;
}

// bigint columns arrive as strings from PostgreSQL, reals as strings from some drivers.
const num = (value: unknown): number => Number(value);
const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/** SQL of the network view (issue #19). Upserts written once for SQLite and PostgreSQL alike. */
export function createNetworkRepository(db: Kysely<NetworkTables>): NetworkRepository {
  function parseReport(text: string | null): TailscaleReport | null {
    if (text === null) return null;
    // Stored after validation; parsed again because a row outlives the schema it was written with.
    const parsed = TailscaleReportSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  }

  return {
    async addRttMinutes(minutes, last) {
      if (minutes.length === 0 && last.size === 0) return;
      // One statement per chunk, not per row: a flush of a large fleet is thousands of minutes.
      // Hours are summed here first, so no statement touches the same row twice (PostgreSQL
      // refuses that in one INSERT ... ON CONFLICT).
      const hours = new Map<string, NetworkTables['network_rtt_1h']>();
      for (const m of minutes) {
        const ts = Math.floor(m.ts / 3_600_000) * 3_600_000;
        const key = `${m.agentId}\n${ts}`;
        const hour = hours.get(key);
        if (!hour) hours.set(key, { agent_id: m.agentId, ts, n: m.n, p50_sum: m.p50Ms, p50_n: 1, min_ms: m.minMs, max_ms: m.maxMs, sum_ms: m.sumMs });
        else Object.assign(hour, { n: hour.n + m.n, p50_sum: hour.p50_sum + m.p50Ms, p50_n: hour.p50_n + 1, min_ms: Math.min(hour.min_ms, m.minMs), max_ms: Math.max(hour.max_ms, m.maxMs), sum_ms: hour.sum_ms + m.sumMs });
      }
      await db.transaction().execute(async (tx) => {
        for (const rows of chunks(minutes.map((m) => ({ agent_id: m.agentId, ts: m.ts, n: m.n, p50_ms: m.p50Ms, min_ms: m.minMs, max_ms: m.maxMs, sum_ms: m.sumMs })))) {
          await tx
            .insertInto('network_rtt_1m')
            .values(rows)
            .onConflict((oc) =>
              oc.columns(['agent_id', 'ts']).doUpdateSet({
                n: sql`network_rtt_1m.n + excluded.n`,
                p50_ms: sql`excluded.p50_ms`,
                min_ms: sql`case when excluded.min_ms < network_rtt_1m.min_ms then excluded.min_ms else network_rtt_1m.min_ms end`,
                max_ms: sql`case when excluded.max_ms > network_rtt_1m.max_ms then excluded.max_ms else network_rtt_1m.max_ms end`,
                sum_ms: sql`network_rtt_1m.sum_ms + excluded.sum_ms`,
              }),
            )
            .execute();
        }
        for (const rows of chunks([...hours.values()])) {
          await tx
            .insertInto('network_rtt_1h')
            .values(rows)
            .onConflict((oc) =>
              oc.columns(['agent_id', 'ts']).doUpdateSet({
                n: sql`network_rtt_1h.n + excluded.n`,
                p50_sum: sql`network_rtt_1h.p50_sum + excluded.p50_sum`,
                p50_n: sql`network_rtt_1h.p50_n + excluded.p50_n`,
                min_ms: sql`case when excluded.min_ms < network_rtt_1h.min_ms then excluded.min_ms else network_rtt_1h.min_ms end`,
                max_ms: sql`case when excluded.max_ms > network_rtt_1h.max_ms then excluded.max_ms else network_rtt_1h.max_ms end`,
                sum_ms: sql`network_rtt_1h.sum_ms + excluded.sum_ms`,
              }),
            )
            .execute();
        }
        for (const rows of chunks([...last].map(([agentId, { ms, at }]) => ({ agent_id: agentId, remote_address: null, tailscale: null, tailscale_at: null, rtt_last_ms: ms, rtt_last_at: at })))) {
          await tx
            .insertInto('network_agents')
            .values(rows)
            .onConflict((oc) => oc.column('agent_id').doUpdateSet({ rtt_last_ms: sql`excluded.rtt_last_ms`, rtt_last_at: sql`excluded.rtt_last_at` }))
            .execute();
        }
      });
    },
    async minuteP50s(since) {
      const rows = await db.selectFrom('network_rtt_1m').select(['agent_id', 'ts', 'p50_ms']).where('ts', '>=', since).execute();
      return rows.map((r) => ({ agentId: r.agent_id, ts: num(r.ts), p50Ms: num(r.p50_ms) }));
    },
    async hourP50s(since, before) {
      const rows = await db.selectFrom('network_rtt_1h').select(['agent_id', 'ts', 'p50_sum', 'p50_n']).where('ts', '>=', since).where('ts', '<', before).where('p50_n', '>', 0).execute();
      return rows.map((r) => ({ agentId: r.agent_id, ts: num(r.ts), p50Ms: num(r.p50_sum) / num(r.p50_n), minutes: num(r.p50_n) }));
    },
    async rttHistory(agentId, since, resolution) {
      if (resolution === '1m') {
        const rows = await db.selectFrom('network_rtt_1m').selectAll().where('agent_id', '=', agentId).where('ts', '>=', since).orderBy('ts').execute();
        return rows.map((r) => ({ ts: num(r.ts), p50Ms: num(r.p50_ms), minMs: num(r.min_ms), maxMs: num(r.max_ms), n: num(r.n) }));
      }
      const rows = await db.selectFrom('network_rtt_1h').selectAll().where('agent_id', '=', agentId).where('ts', '>=', since).orderBy('ts').execute();
      // An hour's p50 is the mean of its minutes' medians (an hour row is summed, not re-sorted).
      return rows.map((r) => ({ ts: num(r.ts), p50Ms: num(r.p50_n) > 0 ? num(r.p50_sum) / num(r.p50_n) : null, minMs: num(r.min_ms), maxMs: num(r.max_ms), n: num(r.n) }));
    },
    async setRemoteAddresses(rows) {
      for (let i = 0; i < rows.length; i += 500) {
        await db
          .insertInto('network_agents')
          .values(rows.slice(i, i + 500).map((row) => ({ agent_id: row.agentId, remote_address: row.address, tailscale: null, tailscale_at: null, rtt_last_ms: null, rtt_last_at: null })))
          .onConflict((oc) => oc.column('agent_id').doUpdateSet({ remote_address: sql`excluded.remote_address` }))
          .execute();
      }
    },
    async setTailscale(agentId, report, at, directPeers, allPeers) {
      await db.transaction().execute(async (tx) => {
        await tx
          .insertInto('network_agents')
          .values({ agent_id: agentId, remote_address: null, tailscale: JSON.stringify(report), tailscale_at: at, rtt_last_ms: null, rtt_last_at: null })
          .onConflict((oc) => oc.column('agent_id').doUpdateSet({ tailscale: JSON.stringify(report), tailscale_at: at }))
          .execute();
        const direct = new Set(directPeers);
        for (const peer of allPeers) {
          const lastDirect = direct.has(peer) ? at : null;
          await tx
            .insertInto('network_peer_links')
            .values({ agent_id: agentId, peer_key: peer, last_direct_at: lastDirect, updated_at: at })
            .onConflict((oc) => oc.columns(['agent_id', 'peer_key']).doUpdateSet(lastDirect === null ? { updated_at: at } : { last_direct_at: at, updated_at: at }))
            .execute();
        }
        // Peers gone from the tailnet (or cut from the report) leave no history behind.
        if (allPeers.length > 0) await tx.deleteFrom('network_peer_links').where('agent_id', '=', agentId).where('peer_key', 'not in', [...allPeers]).execute();
        else await tx.deleteFrom('network_peer_links').where('agent_id', '=', agentId).execute();
      });
    },
    async agents() {
      const rows = await db.selectFrom('network_agents').selectAll().execute();
      return rows.map((r) => ({
        agentId: r.agent_id,
        remoteAddress: r.remote_address,
        tailscale: parseReport(r.tailscale),
        tailscaleAt: numOrNull(r.tailscale_at),
        rttLastMs: numOrNull(r.rtt_last_ms),
        rttLastAt: numOrNull(r.rtt_last_at),
      }));
    },
    async peerLinks() {
      const rows = await db.selectFrom('network_peer_links').selectAll().execute();
      return rows.map((r) => ({ agentId: r.agent_id, peerKey: r.peer_key, lastDirectAt: numOrNull(r.last_direct_at) }));
    },
    async prune(minutesBefore, hoursBefore) {
      await db.deleteFrom('network_rtt_1m').where('ts', '<', minutesBefore).execute();
      await db.deleteFrom('network_rtt_1h').where('ts', '<', hoursBefore).execute();
    },
    async agentIds() {
      // Peer links are written with the agent's row (setTailscale), round trips with its newest figure.
      const rows = await db.selectFrom('network_agents').select('agent_id').union(db.selectFrom('network_peer_links').select('agent_id')).execute();
      return rows.map((r) => r.agent_id);
    },
    async deleteAgent(agentId) {
      await db.transaction().execute(async (tx) => {
        // Each delete uses the primary key's leading column (agent_id).
        await tx.deleteFrom('network_rtt_1m').where('agent_id', '=', agentId).execute();
        await tx.deleteFrom('network_rtt_1h').where('agent_id', '=', agentId).execute();
        await tx.deleteFrom('network_peer_links').where('agent_id', '=', agentId).execute();
        await tx.deleteFrom('network_agents').where('agent_id', '=', agentId).execute();
      });
    },
  };
}
