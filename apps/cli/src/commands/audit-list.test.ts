import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '@farol/protocol';
import { summarizeEntry } from './audit-list.js';

const entry = (details: Record<string, unknown>): AuditEntry => ({
  seq: 1,
  at: 0,
  actor: 'admin',
  action: 'command.create',
  agentId: null,
  jobId: 'job_1',
  details,
  prevHash: '0'.repeat(64),
  hash: '1'.repeat(64),
});

describe('farol audit lines', () => {
  it('marks a command that came through farol mcp (#20)', () => {
    expect(summarizeEntry(entry({ summary: 'uptime', agents: ['a', 'b'], via: 'tok_1', client: 'mcp' }))).toBe('uptime on 2 machine(s) [mcp]');
    expect(summarizeEntry(entry({ summary: 'uptime', agents: ['a'], via: 'tok_1' }))).toBe('uptime on 1 machine(s)');
  });
});
