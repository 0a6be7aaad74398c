import { CHANNEL_TYPES, type AuditEntry } from '@farol/protocol';
import type { MessageKey } from '../../i18n/messages.js';
import { formatBytes, formatDateTime, formatDuration } from '../../ui/format.js';

type Translate = (key: MessageKey, values?: Record<string, string | number>) => string;

const MAX_LISTED = 3;
const MAX_VALUE = 80;

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : null);
const count = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);

/** A few names in full; more as a count ("web-1, web-2, db-1" / "12 machines"). */
function listOf(names: string[], t: Translate, manyKey: MessageKey): string {
  return names.length <= MAX_LISTED ? names.join(', ') : t(manyKey, { n: names.length });
}

/** `web-1 (ag_0123…)` as the hub records targets → `web-1`. */
const machineName = (agent: string): string => agent.replace(/\s+\(ag_[a-z0-9]+\)$/, '');

const shorten = (value: string): string => (value.length > MAX_VALUE ? `${value.slice(0, MAX_VALUE - 1)}…` : value);

/**
 * Details the sentences below do not know: `key: value` pairs, short values as they are,
 * nested ones as compact JSON, cut at a readable length.
 */
export function compactDetails(details: AuditEntry['details']): string {
  return Object.entries(details)
    .filter(([, value]) => value !== null && value !== undefined && !(Array.isArray(value) && value.length === 0))
    .map(([key, value]) => `${key}: ${shorten(typeof value === 'string' ? value : JSON.stringify(value))}`)
    .join(' · ');
}

/** What changed in a `user.update` entry: "role admin → viewer, disabled, password changed". */
function userChanges(details: AuditEntry['details'], t: Translate): string {
  const changes: string[] = [];
  const role = details.role as { from?: unknown; to?: unknown } | undefined;
  if (role && typeof role === 'object') changes.push(t('audit.say.changeRole', { from: text(role.from) ?? '—', to: text(role.to) ?? '—' }));
  if (details.scope !== undefined) changes.push(t('audit.say.changeScope'));
  if (details.disabled === true) changes.push(t('audit.say.changeDisabled'));
  if (details.disabled === false) changes.push(t('audit.say.changeEnabled'));
  if (details.password !== undefined) changes.push(t('audit.say.changePassword'));
  return changes.join(', ');
}

type Details = AuditEntry['details'];

const record = (value: unknown): Record<string, unknown> | null => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null);

/** `{ role: 'db', env: 'prod' }` → `role=db, env=prod`. */
function labelsText(value: unknown, t: Translate): string {
  const pairs = Object.entries(record(value) ?? {}).map(([key, v]) => `${key}=${text(v) ?? ''}`);
  return pairs.length > 0 ? pairs.join(', ') : t('audit.say.noLabels');
}

/** A sentence plus the names of the fields an update changed: `changed channel "ops": enabled, botToken`. */
const withFields = (sentence: string, fields: string[]): string => (fields.length > 0 ? `${sentence}: ${fields.join(', ')}` : sentence);

/** What a job did, by command kind (`deployed container web from nginx:1.27`); null for shell commands, which read best as their command line. */
function commandPhrase(command: Record<string, unknown> | null, t: Translate): string | null {
  if (!command) return null;
  const container = text(command.container);
  const image = text(command.image);
  switch (command.kind) {
    case 'metrics':
      return t('audit.say.cmd.metrics');
    case 'processes':
      return t('audit.say.cmd.processes');
    case 'restart':
      return t('audit.say.cmd.restart');
    case 'stop':
      return t('audit.say.cmd.stop');
    case 'docker_ps':
      return t('audit.say.cmd.dockerPs');
    case 'docker_restart':
      return container ? t('audit.say.cmd.dockerRestart', { container }) : null;
    case 'docker_stop':
      return container ? t('audit.say.cmd.dockerStop', { container }) : null;
    case 'docker_start':
      return container ? t('audit.say.cmd.dockerStart', { container }) : null;
    case 'docker_logs':
      return container ? t('audit.say.cmd.dockerLogs', { container }) : null;
    case 'docker_deploy':
      return text(command.name) && image ? t('audit.say.cmd.dockerDeploy', { name: text(command.name)!, image }) : null;
    case 'docker_rm':
      return container ? t('audit.say.cmd.dockerRm', { container }) : null;
    case 'docker_update':
      return container ? t('audit.say.cmd.dockerUpdate', { container }) : null;
    case 'docker_pull':
      return image ? t('audit.say.cmd.dockerPull', { image }) : null;
    case 'docker_images':
      return t('audit.say.cmd.dockerImages');
    case 'docker_prune':
      return t('audit.say.cmd.dockerPrune');
    case 'screenshot':
      return t('audit.say.cmd.screenshot');
    case 'agent_update':
      return text(command.version) ? t('audit.say.cmd.agentUpdate', { version: text(command.version)! }) : null;
    default:
      // Shell commands (and kinds this dashboard does not know yet) read best as the command line.
      return null;
  }
}

function commandCreate(d: Details, t: Translate): string | null {
  const machines = listOf(strings(d.agents).map(machineName), t, 'audit.say.machines');
  const what = commandPhrase(record(d.command), t);
  if (what) return t('audit.say.commandDo', { what, machines });
  const command = text(d.summary);
  return command ? t('audit.say.commandCreate', { command, machines }) : null;
}

/** Whom a silence covers: `everything`, `web-1, web-2`, `machines matching role=db`, `rules high cpu`. */
function matcherText(value: unknown, t: Translate): string | null {
  const matcher = record(value);
  if (!matcher) return null;
  if (matcher.all === true) return t('audit.say.matchAll');
  const parts: string[] = [];
  if (strings(matcher.agents).length > 0) parts.push(listOf(strings(matcher.agents), t, 'audit.say.machines'));
  if (text(matcher.selector)) parts.push(t('audit.say.matchSelector', { selector: text(matcher.selector)! }));
  if (strings(matcher.rules).length > 0) parts.push(t('audit.say.matchRules', { rules: listOf(strings(matcher.rules), t, 'audit.say.rules') }));
  return parts.length > 0 ? parts.join(', ') : null;
}

const channelTypeName = (type: unknown, t: Translate): string | null => {
  const name = text(type);
  return name && (CHANNEL_TYPES as readonly string[]).includes(name) ? t(`alerts.channels.types.${name as (typeof CHANNEL_TYPES)[number]}`) : name;
};

/** A check's probe in a few words: `http https://example.com/health`, `tcp db-1:5432`. */
function probeText(value: unknown): string | null {
  const probe = record(value);
  const kind = text(probe?.kind);
  if (!probe || !kind) return null;
  const target = kind === 'http' ? text(probe.url) : kind === 'tcp' ? `${text(probe.host) ?? ''}:${text(probe.port) ?? ''}` : kind === 'dns' ? text(probe.name) : kind === 'command' ? (strings(probe.argv)[0] ?? null) : text(probe.host);
  return target ? `${kind} ${shorten(target)}` : kind;
}

/** Which of a check's probe, placement and switch an update changed. */
function checkChanges(d: Details): string[] {
  const before = record(d.before) ?? {};
  const after = record(d.after) ?? {};
  return ['probe', 'runOn', 'enabled'].filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]));
}

/** The names of what an update changed; a channel's changed settings by their own names. */
function changedFields(d: Details): string[] {
  const changed = strings(d.changed).length > 0 ? strings(d.changed) : Object.keys(record(d.changed) ?? {});
  const settings = strings(d.settings);
  return settings.length > 0 ? [...changed.filter((field) => field !== 'settings'), ...settings] : changed;
}

/**
 * An entry's details as one sentence a person reads (issue #21): "ran `uptime` on 3 machines",
 * "revoked API token "ci" (tok_…)". Actions without a sentence, and entries missing what the
 * sentence needs, fall back to {@link compactDetails}.
 */
export function describeAuditDetails(entry: Pick<AuditEntry, 'action' | 'details'>, t: Translate, locale: string): string {
  const d = entry.details;
  const sentence = ((): string | null => {
    switch (entry.action) {
      case 'command.create':
        return commandCreate(d, t);
      case 'command.result': {
        const state = text(d.state);
        if (!state) return null;
        const exit = count(d.exitCode);
        const base = exit === null ? t('audit.say.commandResult', { state }) : t('audit.say.commandResultExit', { state, code: exit });
        const error = text(d.error);
        return error ? `${base}: ${shorten(error)}` : base;
      }
      case 'command.cancel':
        return t('audit.say.commandCancel', { n: count(d.runningTargets) ?? 0 });
      case 'command.result_refused':
      case 'secret.fetch_refused':
        return text(d.reason) ? t('audit.say.refused', { reason: text(d.reason)! }) : null;
      case 'auth.login':
        return text(d.ip) ? t(d.mfa === true ? 'audit.say.loginMfa' : 'audit.say.login', { ip: text(d.ip)! }) : null;
      case 'auth.logout':
        return t('audit.say.logout');
      case 'auth.oidc_login':
        return text(d.ip) ? t('audit.say.oidcLogin', { ip: text(d.ip)!, role: text(d.scope) ? `${text(d.role) ?? '—'} (${text(d.scope)!})` : (text(d.role) ?? '—') }) : null;
      case 'auth.oidc_refused':
        return text(d.reason) ? t(d.disabled === true ? 'audit.say.oidcRefusedDisabled' : 'audit.say.oidcRefused', { reason: text(d.reason)! }) : null;
      case 'auth.oidc_step_up':
        return t('audit.say.oidcStepUp');
      case 'auth.mfa_enabled':
        return t('audit.say.mfaEnabled');
      case 'auth.mfa_disabled':
        return t('audit.say.mfaDisabled');
      case 'auth.locked': {
        const failures = count(d.failures);
        const lockedFor = count(d.lockedForMs);
        return failures !== null && lockedFor !== null ? t('audit.say.locked', { failures, duration: formatDuration(Math.round(lockedFor / 1000)) }) : null;
      }
      case 'token.create':
        return text(d.name) ? t('audit.say.tokenCreate', { name: text(d.name)!, owner: text(d.owner) ?? '—' }) : null;
      case 'token.use':
        return text(d.name) ? t('audit.say.tokenUse', { name: text(d.name)! }) : null;
      case 'token.revoke':
        return text(d.name) ? t('audit.say.tokenRevoke', { name: text(d.name)!, id: text(d.tokenId) ?? '—' }) : null;
      case 'user.create':
        return text(d.username) ? t('audit.say.userCreate', { username: text(d.username)!, role: text(d.role) ?? '—' }) : null;
      case 'user.update': {
        const changes = userChanges(d, t);
        return text(d.username) && changes ? t('audit.say.userUpdate', { username: text(d.username)!, changes }) : null;
      }
      case 'role.create':
        return text(d.name) ? t('audit.say.roleCreate', { name: text(d.name)!, n: strings(d.permissions).length }) : null;
      case 'role.delete':
        return text(d.name) ? t('audit.say.roleDelete', { name: text(d.name)! }) : null;
      case 'secret.set':
        return text(d.name) ? t('audit.say.secretSet', { name: text(d.name)!, version: count(d.version) ?? '—' }) : null;
      case 'secret.delete':
        return text(d.name) ? t('audit.say.secretDelete', { name: text(d.name)! }) : null;
      case 'secret.reveal':
        return text(d.name) ? t('audit.say.secretReveal', { name: text(d.name)! }) : null;
      case 'secret.fetch':
        return strings(d.names).length > 0 ? t('audit.say.secretFetch', { names: listOf(strings(d.names), t, 'audit.say.secrets') }) : null;
      case 'terminal.open':
        if (d.outcome === 'refused') return text(d.reason) ? t('audit.say.terminalRefused', { reason: shorten(text(d.reason)!) }) : null;
        return text(d.shell) ? t(d.recorded === true ? 'audit.say.terminalOpenRecorded' : 'audit.say.terminalOpen', { shell: text(d.shell)! }) : null;
      case 'terminal.close': {
        const duration = count(d.durationMs);
        return duration !== null ? t('audit.say.terminalClose', { duration: formatDuration(Math.round(duration / 1000)), reason: text(d.reason) ?? '—' }) : null;
      }
      case 'screenshot.capture': {
        const width = count(d.width);
        const height = count(d.height);
        return width !== null && height !== null ? t('audit.say.screenshotCapture', { width, height, size: formatBytes(count(d.bytes), locale) }) : null;
      }
      case 'screenshot.view':
        return text(d.screenshotId) ? t('audit.say.screenshotView', { id: text(d.screenshotId)! }) : null;
      case 'join_token.create': {
        const id = text(d.joinTokenId);
        const maxUses = count(d.maxUses);
        return id ? t('audit.say.joinTokenCreate', { id, labels: labelsText(d.labels, t), uses: maxUses === null ? t('audit.say.noUseLimit') : t('audit.say.useLimit', { n: maxUses }) }) : null;
      }
      case 'join_token.revoke':
        return text(d.joinTokenId) ? t('audit.say.joinTokenRevoke', { id: text(d.joinTokenId)! }) : null;
      case 'agent.enroll':
        return text(d.name) ? t('audit.say.agentEnroll', { name: text(d.name)!, hostname: text(d.hostname) ?? '—', token: text(d.joinTokenId) ?? '—' }) : null;
      case 'agent.rename': {
        if (!text(d.from) || !text(d.to)) return null;
        const renamed = t('audit.say.agentRename', { from: text(d.from)!, to: text(d.to)! });
        return text(d.reason) ? `${renamed}: ${shorten(text(d.reason)!)}` : renamed;
      }
      case 'agent.relabel':
        return text(d.name) ? t('audit.say.agentRelabel', { name: text(d.name)!, from: labelsText(d.from, t), to: labelsText(d.to, t) }) : null;
      case 'agent.delete':
        return text(d.name) ? t('audit.say.agentDelete', { name: text(d.name)! }) : null;
      case 'alert_rule.create':
        return text(d.name) ? t('audit.say.ruleCreate', { name: text(d.name)! }) : null;
      case 'alert_rule.update':
        return text(d.name) ? withFields(t('audit.say.ruleUpdate', { name: text(d.name)! }), changedFields(d)) : null;
      case 'alert_rule.delete':
        return text(d.name) ? t('audit.say.ruleDelete', { name: text(d.name)! }) : null;
      case 'alert.acknowledge': {
        if (!text(d.ruleName)) return null;
        const acknowledged = t('audit.say.alertAck', { rule: text(d.ruleName)!, subject: text(d.subject) ?? '—' });
        return text(d.note) ? `${acknowledged}: “${shorten(text(d.note)!)}”` : acknowledged;
      }
      case 'silence.create': {
        const what = matcherText(d.matcher, t);
        const end = count(d.endsAt);
        if (!what || end === null) return null;
        const silenced = t('audit.say.silenceCreate', { what, end: formatDateTime(end, locale) });
        return text(d.reason) ? `${silenced}: ${shorten(text(d.reason)!)}` : silenced;
      }
      case 'silence.end': {
        const what = matcherText(d.matcher, t);
        return what ? t('audit.say.silenceEnd', { what }) : null;
      }
      case 'channel.create':
        return text(d.name) ? t(d.enabled === false ? 'audit.say.channelCreateDisabled' : 'audit.say.channelCreate', { name: text(d.name)!, type: channelTypeName(d.type, t) ?? '—' }) : null;
      case 'channel.update':
        return text(d.name) ? withFields(t('audit.say.channelUpdate', { name: text(d.name)! }), changedFields(d)) : null;
      case 'channel.delete':
        return text(d.name) ? t('audit.say.channelDelete', { name: text(d.name)!, type: channelTypeName(d.type, t) ?? '—' }) : null;
      case 'webhook.create':
        return text(d.name) ? t('audit.say.webhookCreate', { name: text(d.name)!, url: text(d.url) ?? '—', events: listOf(strings(d.events), t, 'audit.say.events') }) : null;
      case 'webhook.update':
        return text(d.name) ? withFields(t('audit.say.webhookUpdate', { name: text(d.name)! }), changedFields(d)) : null;
      case 'webhook.delete':
        return text(d.name) ? t('audit.say.webhookDelete', { name: text(d.name)! }) : null;
      case 'backup.create':
        return text(d.file) ? t('audit.say.backupCreate', { file: text(d.file)! }) : null;
      case 'check.create':
        return text(d.name) ? t('audit.say.checkCreate', { name: text(d.name)!, probe: probeText(d.probe) ?? '—' }) : null;
      case 'check.update':
        return text(d.name) ? withFields(t('audit.say.checkUpdate', { name: text(d.name)! }), checkChanges(d)) : null;
      case 'check.delete':
        return text(d.name) ? t('audit.say.checkDelete', { name: text(d.name)! }) : null;
      case 'status_page.create':
      case 'status_page.update':
      case 'status_page.delete': {
        if (!text(d.slug)) return null;
        const key = entry.action === 'status_page.create' ? 'audit.say.statusPageCreate' : entry.action === 'status_page.update' ? 'audit.say.statusPageUpdate' : 'audit.say.statusPageDelete';
        return t(key, { slug: text(d.slug)!, title: text(d.title) ?? '—', n: count(d.checks) ?? 0 });
      }
      case 'channel.telegram_updates':
        if (!text(d.name)) return null;
        return t(d.mode === 'polling' ? 'audit.say.channelTelegramPolling' : 'audit.say.channelTelegramWebhook', { name: text(d.name)! });
      case 'push.subscribe':
      case 'push.unsubscribe': {
        const service = text(d.push)?.replace(/^https?:\/\//, '');
        if (!service) return null;
        if (entry.action === 'push.subscribe') return t('audit.say.pushSubscribe', { service });
        return t(d.reason ? 'audit.say.pushExpired' : 'audit.say.pushUnsubscribe', { service });
      }
      case 'chat.link':
      case 'chat.unlink':
        return text(d.provider) && text(d.externalId)
          ? t(entry.action === 'chat.link' ? 'audit.say.chatLink' : 'audit.say.chatUnlink', { provider: channelTypeName(d.provider, t) ?? text(d.provider)!, account: text(d.externalName) ?? text(d.externalId)! })
          : null;
      case 'chat.action_refused': {
        const kind = text(d.kind);
        if (kind !== 'ack' && kind !== 'silence' && kind !== 'restart') return null;
        return t('audit.say.chatRefused', { kind: t(`audit.say.chatKind.${kind}`), via: channelTypeName(d.via, t) ?? text(d.via) ?? '—', reason: shorten(text(d.reason) ?? '—') });
      }
      case 'check.run': {
        if (!text(d.name)) return null;
        const requested = strings(d.requested).map(machineName);
        return requested.length > 0 ? t('audit.say.checkRunOn', { name: text(d.name)!, machines: listOf(requested, t, 'audit.say.machines') }) : t('audit.say.checkRun', { name: text(d.name)! });
      }
      case 'agent_update.request': {
        const machines = count(d.machines);
        return text(d.version) && machines !== null ? t('audit.say.updateRequest', { version: text(d.version)!, n: machines, current: count(d.current) ?? 0 }) : null;
      }
      case 'agent_update.wave': {
        const wave = count(d.wave);
        return text(d.version) && wave !== null ? t('audit.say.updateWave', { version: text(d.version)!, wave, of: count(d.of) ?? '—', machines: listOf(strings(d.machines), t, 'audit.say.machines') }) : null;
      }
      case 'agent_update.succeeded':
        return text(d.machine) && text(d.to) ? t('audit.say.updateSucceeded', { machine: text(d.machine)!, from: text(d.from) ?? '—', to: text(d.to)! }) : null;
      case 'agent_update.failed': {
        if (!text(d.machine) || !text(d.to)) return null;
        const failed = t('audit.say.updateFailed', { machine: text(d.machine)!, to: text(d.to)! });
        return text(d.error) ? `${failed}: ${shorten(text(d.error)!)}` : failed;
      }
      case 'network.ping': {
        if (!text(d.from) || !text(d.to)) return null;
        const said = t('audit.say.networkPing', { from: text(d.from)!, to: text(d.to)!, address: text(d.address) ?? '—' });
        const avg = typeof d.rttAvgMs === 'number' && Number.isFinite(d.rttAvgMs) ? d.rttAvgMs : null;
        return avg === null ? said : `${said}: ${t('audit.say.networkPingAvg', { ms: avg.toFixed(1) })}`;
      }
      case 'container_update.rule_create':
        return text(d.selector) ? t('audit.say.containerRuleCreate', { containers: strings(d.containers).join(', ') || '—', selector: text(d.selector)! }) : null;
      case 'container_update.rule_delete':
        return text(d.rule) ? t('audit.say.containerRuleDelete', { rule: text(d.rule)! }) : null;
      case 'container_update.wave': {
        const wave = count(d.wave);
        return text(d.container) && wave !== null ? t('audit.say.containerWave', { container: text(d.container)!, wave, machines: listOf(strings(d.machines), t, 'audit.say.machines') }) : null;
      }
      case 'container_update.result': {
        if (!text(d.container) || !text(d.machine) || !text(d.outcome)) return null;
        const said = t('audit.say.containerResult', { container: text(d.container)!, machine: text(d.machine)!, outcome: text(d.outcome)! });
        return text(d.error) ? `${said}: ${shorten(text(d.error)!)}` : said;
      }
      case 'container_update.finish': {
        if (!text(d.container) || !text(d.state)) return null;
        const finished = t('audit.say.containerFinish', { container: text(d.container)!, state: text(d.state)!, skipped: count(d.skipped) ?? 0 });
        return text(d.error) ? `${finished}: ${shorten(text(d.error)!)}` : finished;
      }
      case 'agent_update.finish': {
        if (!text(d.version) || !text(d.state)) return null;
        const finished = t('audit.say.updateFinish', { version: text(d.version)!, state: text(d.state)!, updated: count(d.updated) ?? 0, skipped: count(d.skipped) ?? 0 });
        return text(d.error) ? `${finished}: ${shorten(text(d.error)!)}` : finished;
      }
      default:
        return null;
    }
  })();
  if (sentence === null) return compactDetails(d);
  // An action taken through `farol mcp` (issue #20): the hub labels it `client: "mcp"`.
  return d.client === 'mcp' ? `${sentence} ${t('audit.say.throughMcp')}` : sentence;
}
