import { CHANNEL_SECRET_FIELDS, ChannelPatchSchema, type Channel, type ChannelPatch, type ChannelType } from '@farol/protocol';
import { splitList } from './alert-format.js';

/** One setting the edit form shows: secrets start empty (kept unless something is typed). */
export interface EditableSetting {
  key: string;
  kind: 'text' | 'secret' | 'number' | 'boolean' | 'list' | 'choice';
}

export interface MaintenanceInput {
  start: string;
  end: string;
  reason: string;
  /** The stored times, kept exactly when the inputs (minutes only) were not changed. */
  original?: { start: number; end: number };
}

/** The edit dialog's fields, as text (what inputs hold). */
export interface ChannelEditForm {
  name: string;
  enabled: boolean;
  settings: Record<string, string>;
  templateTitle: string;
  templateAlert: string;
  quiet: boolean;
  quietStart: string;
  quietEnd: string;
  quietTimezone: string;
  rateCount: string;
  ratePer: string;
  maintenance: MaintenanceInput[];
}

const pad = (n: number) => String(n).padStart(2, '0');

/** ms epoch → the `datetime-local` input's value, in the browser's time zone. */
export function toLocalInput(at: number): string {
  const date = new Date(at);
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A `datetime-local` value (browser's time zone) → ms epoch, or null when it is not one. */
export function fromLocalInput(text: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(text)) return null;
  const at = new Date(text).getTime();
  return Number.isFinite(at) ? at : null;
}

function settingText(kind: EditableSetting['kind'], value: unknown): string {
  if (value === undefined || value === null) return '';
  if (kind === 'list' && Array.isArray(value)) return value.join(', ');
  return typeof value === 'string' ? value : String(value);
}

export function editFormOf(channel: Channel, fields: readonly EditableSetting[]): ChannelEditForm {
  const settings: Record<string, string> = {};
  for (const field of fields) settings[field.key] = field.kind === 'secret' ? '' : settingText(field.kind, channel.settings[field.key]);
  return {
    name: channel.name,
    enabled: channel.enabled,
    settings,
    templateTitle: channel.template?.title ?? '',
    templateAlert: channel.template?.alert ?? '',
    quiet: channel.quietHours !== null,
    quietStart: channel.quietHours?.start ?? '22:00',
    quietEnd: channel.quietHours?.end ?? '07:00',
    quietTimezone: channel.quietHours?.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
    rateCount: String(channel.rateLimit.count),
    ratePer: String(channel.rateLimit.perSeconds),
    maintenance: channel.maintenance.map((window) => ({ start: toLocalInput(window.start), end: toLocalInput(window.end), reason: window.reason ?? '', original: { start: window.start, end: window.end } })),
  };
}

/** Why a form cannot become a patch: the field and a readable reason. */
export class ChannelEditError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'ChannelEditError';
  }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function intOf(field: string, text: string): number {
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isInteger(value)) throw new ChannelEditError(field, 'a whole number');
  return value;
}

/**
 * The PATCH for what changed. Settings are merged by the hub, so a secret left empty is kept
 * and only typed secrets are sent; an emptied optional setting keeps its stored value.
 */
export function patchOf(channel: Channel, form: ChannelEditForm, fields: readonly EditableSetting[]): ChannelPatch {
  const patch: ChannelPatch = {};
  if (form.name.trim() !== channel.name) patch.name = form.name.trim();
  if (form.enabled !== channel.enabled) patch.enabled = form.enabled;

  const settings: Record<string, unknown> = {};
  const secrets = new Set(CHANNEL_SECRET_FIELDS[channel.type as ChannelType]);
  for (const field of fields) {
    const raw = (form.settings[field.key] ?? '').trim();
    if (field.kind === 'secret' || secrets.has(field.key)) {
      if (raw !== '') settings[field.key] = raw;
      continue;
    }
    if (field.kind === 'boolean') {
      const value = raw === 'true';
      if (value !== Boolean(channel.settings[field.key])) settings[field.key] = value;
      continue;
    }
    if (raw === '') continue;
    const value = field.kind === 'number' ? intOf(`settings.${field.key}`, raw) : field.kind === 'list' ? splitList(raw) : raw;
    if (!same(value, channel.settings[field.key])) settings[field.key] = value;
  }
  if (Object.keys(settings).length > 0) patch.settings = settings;

  const title = form.templateTitle.trim();
  const alert = form.templateAlert.trim();
  const template = title === '' && alert === '' ? null : { ...(title ? { title } : {}), ...(alert ? { alert } : {}) };
  if (!same(template, channel.template ?? null)) patch.template = template;

  const quietHours = form.quiet ? { start: form.quietStart.trim(), end: form.quietEnd.trim(), timezone: form.quietTimezone.trim() || 'UTC' } : null;
  if (!same(quietHours, channel.quietHours)) patch.quietHours = quietHours;

  const rateLimit = { count: intOf('rateLimit.count', form.rateCount), perSeconds: intOf('rateLimit.perSeconds', form.ratePer) };
  if (!same(rateLimit, channel.rateLimit)) patch.rateLimit = rateLimit;

  const maintenance = form.maintenance.map((window, index) => {
    const start = window.original && window.start === toLocalInput(window.original.start) ? window.original.start : fromLocalInput(window.start);
    const end = window.original && window.end === toLocalInput(window.original.end) ? window.original.end : fromLocalInput(window.end);
    if (start === null) throw new ChannelEditError(`maintenance.${index}.start`, 'a date and time');
    if (end === null) throw new ChannelEditError(`maintenance.${index}.end`, 'a date and time');
    return { start, end, ...(window.reason.trim() ? { reason: window.reason.trim() } : {}) };
  });
  if (!same(maintenance, channel.maintenance.map((window) => ({ start: window.start, end: window.end, ...(window.reason ? { reason: window.reason } : {}) })))) patch.maintenance = maintenance;

  const checked = ChannelPatchSchema.safeParse(patch);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new ChannelEditError(issue?.path.join('.') ?? '', issue?.message ?? 'invalid');
  }
  return patch;
}
