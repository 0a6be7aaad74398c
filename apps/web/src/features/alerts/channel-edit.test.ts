import type { Channel } from '@farol/protocol';
import { describe, expect, it } from 'vitest';
import { ChannelEditError, editFormOf, fromLocalInput, patchOf, toLocalInput, type EditableSetting } from './channel-edit.js';

const fields: EditableSetting[] = [
  { key: 'url', kind: 'secret' },
  { key: 'secret', kind: 'secret' },
];
const emailFields: EditableSetting[] = [
  { key: 'host', kind: 'text' },
  { key: 'port', kind: 'number' },
  { key: 'secure', kind: 'boolean' },
  { key: 'password', kind: 'secret' },
  { key: 'to', kind: 'list' },
];

const start = Date.UTC(2026, 10, 23, 12, 0, 30);
const hook: Channel = {
  id: 'ch_1',
  name: 'hook',
  type: 'webhook',
  enabled: true,
  settings: { url: 'http://127.0.0.1/********', secret: '********' },
  template: null,
  rateLimit: { count: 20, perSeconds: 60 },
  quietHours: null,
  maintenance: [{ start, end: start + 3_600_000, reason: 'upgrade' }],
  source: 'api',
  createdAt: 1,
  updatedAt: 1,
};

describe('channel edit form', () => {
  it('sends nothing when nothing changed: masked secrets and second-precise windows are kept', () => {
    expect(patchOf(hook, editFormOf(hook, fields), fields)).toEqual({});
  });

  it('sends only a typed secret, and every other change', () => {
    const form = editFormOf(hook, fields);
    expect(form.settings).toEqual({ url: '', secret: '' });
    form.settings.secret = 'a-new-hmac-secret-0123';
    form.enabled = false;
    form.templateAlert = '{{agent}}: {{summary}}';
    form.quiet = true;
    form.quietStart = '22:00';
    form.quietEnd = '06:30';
    form.quietTimezone = 'America/Sao_Paulo';
    form.rateCount = '5';
    form.ratePer = '300';
    form.maintenance = [];
    expect(patchOf(hook, form, fields)).toEqual({
      enabled: false,
      settings: { secret: 'a-new-hmac-secret-0123' },
      template: { alert: '{{agent}}: {{summary}}' },
      quietHours: { start: '22:00', end: '06:30', timezone: 'America/Sao_Paulo' },
      rateLimit: { count: 5, perSeconds: 300 },
      maintenance: [],
    });
  });

  it('turns typed settings into their types and sends only those that differ', () => {
    const email: Channel = { ...hook, type: 'email', settings: { host: 'smtp.example.com', port: 587, secure: false, password: '********', to: ['a@example.com'] }, maintenance: [] };
    const form = editFormOf(email, emailFields);
    expect(form.settings).toEqual({ host: 'smtp.example.com', port: '587', secure: 'false', password: '', to: 'a@example.com' });
    form.settings.port = '465';
    form.settings.secure = 'true';
    form.settings.to = 'a@example.com, b@example.com';
    expect(patchOf(email, form, emailFields)).toEqual({ settings: { port: 465, secure: true, to: ['a@example.com', 'b@example.com'] } });
  });

  const fieldOf = (action: () => unknown): string => {
    try {
      action();
    } catch (error) {
      if (error instanceof ChannelEditError) return error.field;
      throw error;
    }
    throw new Error('no ChannelEditError');
  };

  it('refuses bad numbers, times and windows with the field named', () => {
    const form = editFormOf(hook, fields);
    form.rateCount = 'lots';
    expect(fieldOf(() => patchOf(hook, form, fields))).toBe('rateLimit.count');
    const late = editFormOf(hook, fields);
    late.maintenance = [{ start: toLocalInput(start), end: toLocalInput(start - 60_000), reason: '' }];
    expect(fieldOf(() => patchOf(hook, late, fields))).toBe('maintenance.0.end');
    const quiet = editFormOf(hook, fields);
    quiet.quiet = true;
    quiet.quietStart = '25:00';
    expect(fieldOf(() => patchOf(hook, quiet, fields))).toBe('quietHours.start');
  });

  it('round-trips datetime-local values to the minute', () => {
    const at = new Date(2026, 0, 2, 3, 4).getTime();
    expect(fromLocalInput(toLocalInput(at))).toBe(at);
    expect(fromLocalInput('tomorrow')).toBeNull();
  });
});
