import { describe, expect, it } from 'vitest';
import { canonicalJson } from '@farol/protocol';
import type { StoredAuditRecord } from './audit.repository.js';
import { entryHash, GENESIS_HASH, verifyChain } from './audit.service.js';

/** Builds a valid chain of `n` stored rows. */
function chain(n: number): StoredAuditRecord[] {
  const rows: StoredAuditRecord[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const entry = { seq, at: 1_000 + seq, actor: 'admin', action: 'command.create' as const, agentId: null, jobId: `job_${seq}`, details: { n: seq, nested: { b: 1, a: [1, 'x'] } } };
    const hash = entryHash(prev, entry);
    rows.push({ seq, at: entry.at, actor: entry.actor, action: entry.action, agentId: null, jobId: entry.jobId, detailsJson: JSON.stringify(entry.details), prevHash: prev, hash });
    prev = hash;
  }
  return rows;
}

describe('audit hash chain', () => {
  it('hashes canonical JSON, so key order does not change an entry\'s hash', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}');
    const base = { seq: 1, at: 5, actor: 'admin', action: 'command.cancel' as const, agentId: null, jobId: 'job_x' };
    expect(entryHash(GENESIS_HASH, { ...base, details: { x: 1, y: 2 } })).toBe(entryHash(GENESIS_HASH, { ...base, details: { y: 2, x: 1 } }));
    expect(entryHash(GENESIS_HASH, { ...base, details: { x: 1 } })).not.toBe(entryHash('f'.repeat(64), { ...base, details: { x: 1 } }));
  });

  it('accepts an intact chain', () => {
    expect(verifyChain(chain(5))).toEqual({ last: { seq: 5, hash: chain(5)[4]!.hash } });
  });

  it('names the first entry whose content changed', () => {
    const rows = chain(5);
    rows[2] = { ...rows[2]!, detailsJson: JSON.stringify({ n: 99, nested: { b: 1, a: [1, 'x'] } }) };
    expect(verifyChain(rows)).toEqual({ seq: 3, reason: 'its content does not match its hash (the entry was changed)' });
  });

  it('names an entry rewritten with a fresh hash: its successor no longer links to it', () => {
    const rows = chain(5);
    const forged = { ...rows[1]!, actor: 'mallory' };
    forged.hash = entryHash(forged.prevHash, { seq: 2, at: forged.at, actor: 'mallory', action: 'command.create', agentId: null, jobId: forged.jobId, details: JSON.parse(forged.detailsJson) as Record<string, unknown> });
    rows[1] = forged;
    expect(verifyChain(rows)).toMatchObject({ seq: 3, reason: expect.stringContaining('link to the previous entry') });
  });

  it('names a removed entry', () => {
    const rows = chain(5);
    rows.splice(3, 1);
    expect(verifyChain(rows)).toEqual({ seq: 4, reason: 'entry 4 is missing (next is 5)' });
  });
});
