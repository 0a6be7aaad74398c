import { describe, expect, it } from 'vitest';
import { MAX_PUSH_PAYLOAD_BYTES, PushMessageSchema, type AlertNotice } from '@farol/protocol';
import { maySeeNotice, pushMessageOf } from './push.service.js';

const notice: AlertNotice = {
  alertId: 'al_0123456789abcdef',
  ruleId: 'ar_0123456789abcdef',
  ruleName: 'CPU high',
  event: 'firing',
  severity: 'warning',
  agentId: 'ag_0123456789abcdef',
  agentName: 'web-1',
  subject: 'cpu',
  summary: 'CPU 93.1 % > 85 % for 5 min',
  value: 93.1,
  threshold: 85,
  comparator: '>',
  unit: '%',
  since: 1_796_000_000_000,
  resolvedAt: null,
  labels: { env: 'staging' },
  topProcesses: [{ pid: 7, name: 'ffmpeg', cpu: 190, memoryBytes: 5e7 }],
  logLines: ['starting', 'listening'],
};

describe('browser notification messages (#20)', () => {
  it('carries the notice without its processes and log lines', () => {
    const message = pushMessageOf(notice);
    expect(PushMessageSchema.parse(message)).toEqual(message);
    expect(message.notice).not.toHaveProperty('topProcesses');
    expect(message.notice).not.toHaveProperty('logLines');
    expect(message.notice.summary).toBe(notice.summary);
  });

  it('cuts long texts so the message fits a push message (RFC 8291: about 4 KB)', () => {
    const huge: AlertNotice = { ...notice, summary: 'é'.repeat(5_000), ruleName: 'r'.repeat(3_000), subject: 's'.repeat(3_000), labels: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`key${i}`, 'v'.repeat(40)])) };
    const message = pushMessageOf(huge);
    expect(Buffer.byteLength(JSON.stringify(message))).toBeLessThanOrEqual(MAX_PUSH_PAYLOAD_BYTES);
    expect(message.notice.summary.startsWith('éé')).toBe(true);
    expect(message.notice.summary.endsWith('…')).toBe(true);
    expect(message.notice.alertId).toBe(notice.alertId);
  });
});

describe('who gets a notice (#20, object-scope.ts "push subscription")', () => {
  const reader = { permissions: ['nodes:read' as const], scope: null };
  it('needs nodes:read', () => {
    expect(maySeeNotice({ permissions: ['audit:read'], scope: null }, notice, { env: 'staging' })).toBe(false);
    expect(maySeeNotice(reader, notice, { env: 'staging' })).toBe(true);
  });

  it('holds a scoped user to machines inside the scope, and keeps fleet-wide alerts from them', () => {
    const scoped = { ...reader, scope: 'env=staging' };
    expect(maySeeNotice(scoped, notice, { env: 'staging' })).toBe(true);
    expect(maySeeNotice(scoped, notice, { env: 'prod' })).toBe(false);
    expect(maySeeNotice(scoped, { agentId: null }, undefined)).toBe(false);
    expect(maySeeNotice(reader, { agentId: null }, undefined)).toBe(true);
  });
});
