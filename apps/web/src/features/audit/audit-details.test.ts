import { AUDIT_ACTIONS, type AuditEntry } from '@farol/protocol';
import { describe, expect, it } from 'vitest';
import { en } from '../../i18n/en.js';
import { translate, type MessageKey } from '../../i18n/messages.js';
import { ptBR } from '../../i18n/pt-BR.js';
import { compactDetails, describeAuditDetails } from './audit-details.js';

const t = (key: MessageKey, values?: Record<string, string | number>) => translate(en, key, values);
const say = (action: AuditEntry['action'], details: AuditEntry['details']) => describeAuditDetails({ action, details }, t, 'en');

describe('audit details as sentences (#21)', () => {
  it('says what a command did and where, naming up to three machines', () => {
    const command = { kind: 'shell', argv: ['uptime'] };
    expect(say('command.create', { command, summary: 'uptime', targets: { all: true }, agents: ['web-1 (ag_0123456789abcdef)', 'web-2 (ag_1123456789abcdef)', 'db-1 (ag_2123456789abcdef)'], ttlMs: 1, timeoutMs: 1 })).toBe(
      'ran `uptime` on web-1, web-2, db-1',
    );
    const many = Array.from({ length: 12 }, (_, i) => `m-${i} (ag_${String(i).padStart(16, '0')})`);
    expect(say('command.create', { summary: 'df -h', agents: many })).toBe('ran `df -h` on 12 machines');
    expect(say('command.result', { commandId: 'cmd_1', agentName: 'web-1', state: 'failed', exitCode: 2, signal: null, error: null, stdoutBytes: 0, stderrBytes: 10 })).toBe('finished: failed, exit code 2');
  });

  it('names tokens, users and their changes instead of dumping JSON', () => {
    expect(say('token.revoke', { tokenId: 'tok_abc', name: 'ci' })).toBe('revoked API token "ci" (tok_abc)');
    expect(say('user.update', { userId: 'usr_1', username: 'vito', role: { from: 'viewer', to: 'operator' }, disabled: true, password: 'changed' })).toBe(
      'changed user vito: role viewer → operator, disabled, password changed',
    );
    expect(say('auth.login', { ip: '127.0.0.1', issue: 'session', mfa: true })).toBe('signed in from 127.0.0.1 with a second factor');
    expect(say('terminal.close', { sessionId: 'term_1', agentName: 'web-1', reason: 'closed', exitCode: 0, durationMs: 125_000, bytesIn: 1, bytesOut: 2, recorded: false })).toBe(
      'closed a terminal after 2 min (closed)',
    );
  });

  it('falls back to compact readable pairs for actions without a sentence or missing fields', () => {
    expect(say('auth.login_failed', { ip: '10.0.0.9', reason: 'bad password', attempt: { n: 3 } })).toBe('ip: 10.0.0.9 · reason: bad password · attempt: {"n":3}');
    expect(say('token.revoke', { tokenId: 'tok_abc' })).toBe('tokenId: tok_abc');
    expect(say('auth.logout', {})).toBe('signed out');
    expect(say('auth.oidc_login', { ip: '10.0.0.5', role: 'operator', scope: 'env=staging' })).toBe('signed in with single sign-on from 10.0.0.5 as operator (env=staging)');
    expect(say('auth.oidc_refused', { reason: 'no claim value maps to a role', disabled: true })).toBe('single sign-on refused and the account disabled: no claim value maps to a role');
  });

  it('says when an action came through an AI assistant (farol mcp, #20)', () => {
    expect(say('silence.create', { silenceId: 'sil_1', matcher: { agents: ['ag_1'] }, startsAt: 0, endsAt: 3_600_000, reason: 'maintenance', via: 'tok_1', client: 'mcp' })).toMatch(/ \(through an AI assistant, MCP\)$/);
    expect(say('auth.logout', { via: 'session' })).toBe('signed out');
    const pt = (key: MessageKey, values?: Record<string, string | number>) => translate(ptBR, key, values);
    expect(describeAuditDetails({ action: 'auth.logout', details: { client: 'mcp' } }, pt, 'pt-BR')).toBe('saiu (por um assistente de IA, MCP)');
  });

  it('speaks Portuguese too', () => {
    const pt = (key: MessageKey, values?: Record<string, string | number>) => translate(ptBR, key, values);
    expect(describeAuditDetails({ action: 'secret.delete', details: { name: 'db-password' } }, pt, 'pt-BR')).toBe('excluiu o segredo db-password');
  });
});

/**
 * Every action the hub records, read from its source: `action: 'x.y'` and the actions an
 * expression picks between (`action: ok ? 'agent_update.succeeded' : 'agent_update.failed'`).
 */
const hubSources = import.meta.glob<string>(['../../../../hub/src/**/*.ts', '!**/*.test.ts', '!**/testing/**'], { query: '?raw', import: 'default', eager: true });
const recordedActions = [
  ...new Set(
    Object.values(hubSources).flatMap((source) =>
      [...source.matchAll(/\baction:\s*([^,\n}]+)/g)].flatMap((match) => [...match[1]!.matchAll(/'([a-z_]+\.[a-z_]+)'/g)].map((quoted) => quoted[1]!)),
    ),
  ),
].sort();

/** Details as the hub records them, one entry per action (shapes from the services that record them). */
const RECORDED: Record<string, AuditEntry['details']> = {
  'command.create': { command: { kind: 'shell', argv: ['uptime'] }, summary: 'uptime', targets: { all: true }, agents: ['web-1 (ag_0123456789abcdef)'], ttlMs: 1, timeoutMs: 1 },
  'command.result': { commandId: 'cmd_1', agentName: 'web-1', state: 'succeeded', exitCode: 0, signal: null, error: null, stdoutBytes: 1, stderrBytes: 0 },
  'command.cancel': { runningTargets: 2 },
  'command.result_refused': { reason: 'bad signature' },
  'auth.login': { ip: '127.0.0.1', issue: 'session', mfa: false },
  'auth.logout': {},
  'auth.oidc_login': { ip: '127.0.0.1', issuer: 'https://idp.example', role: 'operator', scope: 'env=staging', matched: 'staging-ops', mfa: true },
  'auth.oidc_refused': { ip: '127.0.0.1', issuer: 'https://idp.example', userId: 'usr_1', disabled: true, reason: 'no claim value maps to a role' },
  'auth.oidc_step_up': { ip: '127.0.0.1', issuer: 'https://idp.example' },
  'auth.mfa_enabled': {},
  'auth.mfa_disabled': {},
  'auth.locked': { ip: '127.0.0.1', reason: 'bad password', failures: 5, lockedForMs: 900_000 },
  'token.create': { tokenId: 'tok_1', name: 'ci', owner: 'vito' },
  'token.use': { tokenId: 'tok_1', name: 'ci' },
  'token.revoke': { tokenId: 'tok_1', name: 'ci' },
  'user.create': { userId: 'usr_1', username: 'ana', role: 'operator' },
  'user.update': { userId: 'usr_1', username: 'ana', disabled: true },
  'role.create': { name: 'deployers', permissions: ['jobs.run'] },
  'role.delete': { name: 'deployers' },
  'secret.set': { name: 'db-password', version: 2 },
  'secret.delete': { name: 'db-password' },
  'secret.reveal': { name: 'db-password' },
  'secret.fetch': { names: ['db-password'] },
  'secret.fetch_refused': { reason: 'not allowed for this command' },
  'terminal.open': { sessionId: 'term_1', shell: '/bin/bash', recorded: false },
  'terminal.close': { sessionId: 'term_1', reason: 'closed', durationMs: 60_000 },
  'screenshot.capture': { width: 1280, height: 800, bytes: 120_000 },
  'screenshot.view': { screenshotId: 'shot_1' },
  'join_token.create': { joinTokenId: 'jt_1', labels: { role: 'db' }, maxUses: 3, expiresAt: null, note: null },
  'join_token.revoke': { joinTokenId: 'jt_1' },
  'agent.enroll': { name: 'db-1', hostname: 'db-1.lan', labels: { role: 'db' }, joinTokenId: 'jt_1', keyFingerprint: 'SHA256:x' },
  'agent.rename': { from: 'db-1', to: 'db-primary' },
  'agent.relabel': { name: 'db-1', from: { role: 'db' }, to: { role: 'db', env: 'prod' } },
  'agent.delete': { name: 'db-1', labels: { role: 'db' }, keyFingerprint: 'SHA256:x' },
  'alert_rule.create': { ruleId: 'ru_1', name: 'high cpu', rule: { metric: 'cpu' } },
  'alert_rule.update': { ruleId: 'ru_1', name: 'high cpu', changed: { threshold: 90, forSeconds: 600 } },
  'alert_rule.delete': { ruleId: 'ru_1', name: 'high cpu' },
  'alert.acknowledge': { alertId: 'al_1', ruleName: 'high cpu', subject: 'cpu', note: 'looking into it' },
  'silence.create': { silenceId: 'si_1', matcher: { selector: 'role=db' }, startsAt: Date.UTC(2026, 11, 6, 8), endsAt: Date.UTC(2026, 11, 6, 10), reason: 'maintenance' },
  'silence.end': { silenceId: 'si_1', matcher: { agents: ['db-1'] }, reason: 'maintenance' },
  'channel.create': { channelId: 'ch_1', name: 'ops', type: 'telegram', enabled: true },
  'channel.update': { channelId: 'ch_1', name: 'ops', changed: ['enabled', 'settings'], settings: ['botToken'] },
  'channel.delete': { channelId: 'ch_1', name: 'ops', type: 'telegram' },
  'webhook.create': { webhookId: 'wh_1', name: 'n8n', url: 'https://n8n.example/********', events: ['agent.offline'], selector: {}, signed: true },
  'webhook.update': { webhookId: 'wh_1', name: 'n8n', changed: ['events'], events: ['agent.offline', 'agent.online'] },
  'webhook.delete': { webhookId: 'wh_1', name: 'n8n' },
  'backup.create': { file: 'farol-backup-2026-12-06.farolbak', files: ['farol.db'] },
  'check.create': { checkId: 'chk_1', name: 'site', probe: { kind: 'http', url: 'https://example.com/health' }, runOn: { hub: true } },
  'check.update': { checkId: 'chk_1', name: 'site', before: { probe: { kind: 'http', url: 'https://example.com/' }, runOn: { hub: true }, enabled: true }, after: { probe: { kind: 'http', url: 'https://example.com/' }, runOn: { hub: true }, enabled: false } },
  'check.delete': { checkId: 'chk_1', name: 'site' },
  'channel.telegram_updates': { channelId: 'ch_1', name: 'ops', mode: 'webhook', url: 'https://farol.example/api/chat/telegram/ch_1/webhook' },
  'chat.link': { linkId: 'cl_1', provider: 'telegram', externalId: '1001', externalName: '@olga', via: 'telegram' },
  'chat.unlink': { linkId: 'cl_1', provider: 'telegram', externalId: '1001', externalName: null },
  'push.subscribe': { subscriptionId: 'ps_1', push: 'https://fcm.googleapis.com', browser: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0' },
  'push.unsubscribe': { subscriptionId: 'ps_1', push: 'https://fcm.googleapis.com', browser: null },
  'chat.action_refused': { kind: 'restart', alertId: 'al_1', container: 'web', reason: 'the Telegram user is not linked to a Farol user', via: 'telegram' },
  'check.run': { checkId: 'chk_1', name: 'site', requested: ['web-1'] },
  'status_page.create': { statusPageId: 'stp_1', slug: 'main', title: 'Acme status', checks: 2 },
  'status_page.update': { statusPageId: 'stp_1', slug: 'main', title: 'Acme status', checks: 3 },
  'status_page.delete': { statusPageId: 'stp_1', slug: 'main', title: 'Acme status', checks: 3 },
  'agent_update.request': { rollout: 'ro_1', version: '0.3.0', targets: { all: true }, machines: 4, current: 1, waves: [1, 3] },
  'agent_update.wave': { rollout: 'ro_1', version: '0.3.0', wave: 1, of: 2, machines: ['web-1'] },
  'agent_update.succeeded': { rollout: 'ro_1', machine: 'web-1', from: '0.2.0', to: '0.3.0', wave: 1 },
  'network.ping': { from: 'web-1', to: 'db-1', toAgentId: 'ag_2', address: '100.64.0.2', addressKind: 'tailnet', state: 'succeeded', received: 3, rttAvgMs: 12.4 },
  'agent_update.failed': { rollout: 'ro_1', machine: 'web-2', from: '0.2.0', to: '0.3.0', wave: 2, error: 'did not reconnect' },
  'agent_update.finish': { rollout: 'ro_1', version: '0.3.0', state: 'failed', updated: 3, skipped: 1, error: 'web-2 failed' },
  'container_update.rule_create': { rule: 'cur_1', selector: 'env=prod', containers: ['web', 'api-*'] },
  'container_update.rule_delete': { rule: 'cur_1' },
  'container_update.wave': { rollout: 'cro_1', container: 'web', digest: 'sha256:ab', wave: 1, machines: ['web-1'] },
  'container_update.result': { rollout: 'cro_1', container: 'web', machine: 'web-1', outcome: 'rolled_back', error: 'unhealthy' },
  'container_update.finish': { rollout: 'cro_1', container: 'web', state: 'failed', skipped: 2, error: 'web-1 rolled back' },
};

describe('every action the hub records reads as a sentence (#21)', () => {
  it('finds the hub\'s actions in its source, all of them in the protocol\'s list', () => {
    expect(recordedActions.length).toBeGreaterThan(40);
    expect(recordedActions.filter((action) => !(AUDIT_ACTIONS as readonly string[]).includes(action))).toEqual([]);
  });

  it.each(recordedActions)('%s has a sentence in English and Portuguese, not the key: value fallback', (action) => {
    const details = RECORDED[action];
    expect(details, `add ${action} to RECORDED in this test, with a sentence in audit-details.ts`).toBeDefined();
    const pt = (key: MessageKey, values?: Record<string, string | number>) => translate(ptBR, key, values);
    for (const sentence of [say(action as AuditEntry['action'], details!), describeAuditDetails({ action: action as AuditEntry['action'], details: details! }, pt, 'pt-BR')]) {
      expect(sentence).not.toBe(compactDetails(details!));
      expect(sentence).not.toMatch(/[{}]|undefined|\[object/);
    }
  });

  it('describes Docker and agent commands by what they do, not by their kind', () => {
    const on = ['web-1 (ag_0123456789abcdef)'];
    expect(say('command.create', { command: { kind: 'docker_deploy', name: 'web', image: 'nginx:1.27' }, summary: 'docker deploy web nginx:1.27', agents: on })).toBe('deployed container web from nginx:1.27 on web-1');
    expect(say('command.create', { command: { kind: 'docker_update', container: 'web' }, agents: on })).toBe('updated container web on web-1');
    expect(say('command.create', { command: { kind: 'docker_rm', container: 'web', force: true }, agents: on })).toBe('removed container web on web-1');
    expect(say('command.create', { command: { kind: 'docker_pull', image: 'redis:7' }, agents: on })).toBe('pulled image redis:7 on web-1');
    expect(say('command.create', { command: { kind: 'docker_prune' }, agents: on })).toBe('pruned unused images on web-1');
    expect(say('command.create', { command: { kind: 'agent_update', version: '0.3.0', artifacts: [] }, agents: on })).toBe('updated the agent to 0.3.0 on web-1');
  });

  it('names the objects of fleet and notification changes', () => {
    expect(say('join_token.create', RECORDED['join_token.create']!)).toBe('created join token jt_1 (labels role=db; at most 3 uses)');
    expect(say('agent.relabel', RECORDED['agent.relabel']!)).toBe('changed the labels of db-1: role=db → role=db, env=prod');
    expect(say('alert_rule.update', RECORDED['alert_rule.update']!)).toBe('changed alert rule "high cpu": threshold, forSeconds');
    expect(say('channel.create', RECORDED['channel.create']!)).toBe('created Telegram channel "ops"');
    expect(say('channel.update', RECORDED['channel.update']!)).toBe('changed channel "ops": enabled, botToken');
    expect(say('silence.end', RECORDED['silence.end']!)).toBe('ended the silence on db-1');
    expect(say('silence.create', RECORDED['silence.create']!)).toMatch(/^silenced machines matching role=db until .+: maintenance$/);
    expect(say('check.update', RECORDED['check.update']!)).toBe('changed check "site": enabled');
    expect(say('agent_update.failed', RECORDED['agent_update.failed']!)).toBe('could not update the agent on web-2 to 0.3.0: did not reconnect');
  });
});
