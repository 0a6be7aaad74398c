import {
  commandSecretNames,
  FarolError,
  isFinalTargetState,
  matchesLabels,
  parseLabelSelector,
  type Command,
  type Labels,
  type SecretList,
  type SecretPut,
  type SecretReveal,
  type SecretsFetch,
  type SecretsFetchAck,
  type SecretSummary,
  type Principal,
} from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';
import type { Clock } from '../../infra/clock.js';
import { randomId } from '../../infra/ids.js';
import type { Logger } from '../../infra/logger.js';
import type { SecretBox } from '../../infra/secret-box.js';
import type { MachineLookup } from '../agents/machines.js';
import type { AuditService } from '../audit/audit.service.js';
import { outsideScope, secretInScope } from '../auth/object-scope.js';
import type { JobLookup } from '../jobs/job-lookup.js';
import type { SecretBackend } from './backends.client.js';
import type { SecretRedactor } from './secret-redactor.js';
import type { SecretRecord, SecretsRepository } from './secrets.repository.js';

/** Who acts on a secret: the name the audit log records, and the label scope of their role (issue #11). */
export type SecretActor = Pick<Principal, 'name' | 'scope'>;

/** Throws `forbidden` unless the secret's scope lies within the actor's (object-scope.ts). */
function checkSecretScope(actor: SecretActor, secretScope: string): void {
  if (!secretInScope(actor, secretScope)) throw outsideScope(actor, 'this secret');
}

/** The scope that matches every machine. */
export const SCOPE_ALL = '*';

/**
 * Does a scope admit this machine? `*` admits all; otherwise a label selector over the agent's
 * labels plus the pseudo-label `name` (its current name, which wins over a label called name).
 */
export function scopeMatches(scope: string, agent: { name: string; labels: Labels }): boolean {
  if (scope.trim() === SCOPE_ALL) return true;
  return matchesLabels({ ...agent.labels, name: agent.name }, parseLabelSelector(scope));
}

function checkScope(scope: string): string {
  const trimmed = scope.trim();
  if (trimmed === SCOPE_ALL) return trimmed;
  try {
    if (parseLabelSelector(trimmed).length === 0) throw new Error('the scope selects nothing; use * for every machine');
  } catch (error) {
    throw new FarolError('validation_failed', `scope: ${(error as Error).message}`, { cause: error, issues: [{ path: 'scope', message: (error as Error).message }] });
  }
  return trimmed;
}

function summaryOf(record: SecretRecord): SecretSummary {
  return {
    name: record.name,
    scope: record.scope,
    source: record.source,
    ref: record.ref,
    description: record.description,
    version: record.version,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    updatedBy: record.updatedBy,
  };
}

/**
 * Operator secrets. Values are sealed with the hub's secret box, bound to the secret's id (a
 * ciphertext copied onto another row does not open), or read through from Vault/Infisical at
 * every read. Lists never carry values; the reads that do (an operator's reveal, an agent's
 * fetch for a command) are each audited, and every value read is remembered by the redactor.
 */
export function createSecretsService({
  secrets,
  agents,
  jobs,
  audit,
  box,
  backend,
  redactor,
  bus,
  clock,
  logger,
}: {
  secrets: SecretsRepository;
  agents: Pick<MachineLookup, 'list' | 'findById'>;
  jobs: JobLookup;
  audit: AuditService;
  box: SecretBox;
  /** Vault or Infisical when configured (FAROL_SECRETS_BACKEND); null: the hub's own store only. */
  backend: SecretBackend | null;
  redactor: SecretRedactor;
  /** `secret.known` (issue #14): a value learned on one hub is redacted on every hub. */
  bus: Bus;
  clock: Clock;
  logger: Logger;
}) {
  /** The version of each hub-stored secret this hub already holds: its own announcements are not read back. */
  const learned = new Map<string, number>();

  /** True while this hub announces a value: the bus hands the announcement to this hub's own subscribers synchronously. */
  let announcing = false;

  /** Remembers a value; when it is new to this hub, every other hub is told the name (never the value). */
  function learn(record: Pick<SecretRecord, 'name' | 'version' | 'source'>, value: string): void {
    if (record.source === 'hub') learned.set(record.name, record.version);
    if (!redactor.remember(value)) return;
    announcing = true;
    try {
      bus.publish('secret.known', { name: record.name, version: record.version });
    } finally {
      announcing = false;
    }
  }

  async function valueOf(record: SecretRecord): Promise<string> {
    if (record.source === 'hub') {
      if (record.valueSealed === null) throw new FarolError('internal', `secret ${record.name} has no stored value`);
      return box.open(record.valueSealed, record.id);
    }
    if (!backend || backend.source !== record.source) {
      throw new FarolError('unavailable', `secret ${record.name} is read from ${record.source}, which this hub is not configured for (FAROL_SECRETS_BACKEND)`);
    }
    return backend.read(record.name, record.ref);
  }

  async function read(record: SecretRecord): Promise<string> {
    const value = await valueOf(record);
    learn(record, value);
    return value;
  }

  async function refuseFetch(agentId: string, request: SecretsFetch, reason: string): Promise<never> {
    logger.warn({ agentId, commandId: request.commandId, names: request.names, reason }, 'refused an agent\'s secret fetch');
    await audit.record({
      actor: `agent:${agentId}`,
      action: 'secret.fetch_refused',
      agentId,
      details: { commandId: request.commandId, names: request.names, reason },
    });
    throw new FarolError('forbidden', reason);
  }

  const service = {
    /**
     * At start: every value sealed in this hub is remembered by the redactor, so logs and job
     * output are redacted from the first line, not only after a read. Read-through values are
     * remembered when first read (fetching them all at start would hit Vault for nothing).
     */
    /**
     * Follows `secret.known` from the other hubs: reads the named secret itself (the database's
     * sealed value, or the backend) and remembers it. Returns the unsubscribe.
     */
    followOtherHubs(): () => void {
      // Values announced while Redis was away were missed: every stored one is read again
      // (read-through values are learned again at their next read on this hub).
      const unsubscribeResumed = bus.subscribe('broadcasts.resumed', () => {
        service.primeRedactor().catch((error: unknown) => logger.error({ err: error }, 'could not read the secrets again after Redis came back; some may not be redacted here until read'));
      });
      const unsubscribeKnown = bus.subscribe('secret.known', ({ name, version }) => {
        if (announcing || learned.get(name) === version) return;
        void (async () => {
          const record = await secrets.findByName(name);
          if (!record) return; // deleted meanwhile: nothing left to redact
          redactor.remember(await valueOf(record));
          if (record.source === 'hub') learned.set(record.name, record.version);
        })().catch((error: unknown) => logger.error({ err: error, name }, 'could not read a secret another hub announced; it is not redacted here until read'));
      });
      return () => {
        unsubscribeKnown();
        unsubscribeResumed();
      };
    },

    async primeRedactor(): Promise<void> {
      const records = (await secrets.list()).filter((record) => record.source === 'hub');
      let unreadable = 0;
      for (const record of records) {
        try {
          redactor.remember(await valueOf(record));
          learned.set(record.name, record.version);
        } catch (error) {
          // Reported once below with the count; each read of such a secret fails with its own error.
          if (!(error instanceof FarolError)) throw error;
          unreadable++;
        }
      }
      if (unreadable > 0) logger.error({ unreadable, total: records.length }, 'some stored secrets do not open with this hub\'s secret key (was FAROL_SECRET_KEY or secret.key changed?)');
    },

    /** Issue #11: a scoped actor lists only the secrets within their scope. */
    async list(actor: SecretActor): Promise<SecretList> {
      return { secrets: (await secrets.list()).filter((record) => secretInScope(actor, record.scope)).map(summaryOf) };
    },

    async get(name: string, actor: SecretActor): Promise<SecretSummary> {
      const record = await secrets.findByName(name);
      if (!record) throw new FarolError('not_found', `no secret ${name}`);
      checkSecretScope(actor, record.scope);
      return summaryOf(record);
    },

    /** Creates or replaces a secret; `created` tells the route 201 from 200. */
    async put(name: string, input: SecretPut, by: SecretActor): Promise<{ secret: SecretSummary; created: boolean }> {
      const actor = by.name;
      const scope = checkScope(input.scope);
      // Issue #11: a scoped actor neither replaces a secret outside their scope nor widens one beyond it.
      checkSecretScope(by, scope);
      if ('source' in input && (!backend || backend.source !== input.source)) {
        throw new FarolError('validation_failed', `this hub does not read secrets from ${input.source}; set FAROL_SECRETS_BACKEND=${input.source} and its connection settings`);
      }
      const now = clock.now();
      const result = await audit.transaction(async (repos, log) => {
        const existing = await repos.secrets.findByName(name);
        if (existing) checkSecretScope(by, existing.scope);
        const id = existing?.id ?? randomId('sec');
        const record: SecretRecord = {
          id,
          name,
          scope,
          source: 'source' in input ? input.source : 'hub',
          // Sealed with the row's id as associated data: it opens for this secret only.
          valueSealed: 'value' in input ? box.seal(input.value, id) : null,
          ref: 'source' in input ? (input.ref ?? null) : null,
          description: input.description ?? null,
          version: (existing?.version ?? 0) + 1,
          createdAt: existing?.createdAt ?? now,
          updatedAt: now,
          updatedBy: actor,
        };
        if (existing) await repos.secrets.update(record);
        else await repos.secrets.insert(record);
        log({ actor, action: 'secret.set', details: { name, scope, source: record.source, version: record.version, created: !existing } });
        return { secret: summaryOf(record), created: !existing };
      });
      if ('value' in input) learn({ name, version: result.secret.version, source: 'hub' }, input.value);
      logger.info({ name, scope, actor, source: result.secret.source, version: result.secret.version }, 'secret set');
      return result;
    },

    async remove(name: string, by: SecretActor): Promise<void> {
      const actor = by.name;
      await audit.transaction(async (repos, log) => {
        const existing = await repos.secrets.findByName(name);
        if (!existing) throw new FarolError('not_found', `no secret ${name}`);
        checkSecretScope(by, existing.scope);
        if (!(await repos.secrets.remove(name))) throw new FarolError('not_found', `no secret ${name}`);
        log({ actor, action: 'secret.delete', details: { name } });
      });
      logger.info({ name, actor }, 'secret deleted');
    },

    /** An operator reads a value (audited before it is returned). */
    async reveal(name: string, by: SecretActor): Promise<SecretReveal> {
      const actor = by.name;
      const record = await secrets.findByName(name);
      if (!record) throw new FarolError('not_found', `no secret ${name}`);
      checkSecretScope(by, record.scope);
      const value = await read(record);
      await audit.record({ actor, action: 'secret.reveal', details: { name, source: record.source, version: record.version } });
      logger.info({ name, actor }, 'secret revealed to an operator');
      return { name, value };
    },

    /**
     * Issue #11: a command may ask only for secrets within the requesting actor's scope, so
     * relabelling a machine to match a secret's scope never hands that secret to a scoped
     * operator (the machine match is checked on top, by `assertDispatchable` and at fetch).
     */
    async assertUsableBy(actor: SecretActor, names: readonly string[]): Promise<void> {
      if (actor.scope === null || names.length === 0) return;
      const records = await secrets.findByNames([...names]);
      const outside = records.filter((record) => !secretInScope(actor, record.scope));
      if (outside.length > 0) throw outsideScope(actor, `secret ${outside.map((r) => r.name).join(', ')}`);
    },

    /**
     * Dispatch check of a job: every secret the command asks for exists and is scoped to every
     * target, or nothing is sent (checked again at fetch time: labels can change meanwhile).
     */
    async assertDispatchable(command: Command, targets: Array<{ id: string; name: string }>): Promise<void> {
      // Issue #18: a deploy's --env-secret names are checked like exec's --secret.
      const names = [...commandSecretNames(command)];
      if (names.length === 0) return;
      const records = await secrets.findByNames(names);
      const missing = names.filter((name) => !records.some((r) => r.name === name));
      if (missing.length > 0) throw new FarolError('not_found', `no secret ${missing.join(', ')}`);
      const byId = targets.length > 16 ? new Map((await agents.list()).map((a) => [a.id, a])) : null;
      for (const target of targets) {
        const agent = byId ? byId.get(target.id) : await agents.findById(target.id);
        if (!agent) throw new FarolError('not_found', `no agent ${target.name}`);
        const outside = records.filter((record) => !scopeMatches(record.scope, agent));
        if (outside.length > 0) {
          throw new FarolError('forbidden', `${outside.map((r) => `secret ${r.name} (scope ${r.scope})`).join(', ')} is not scoped to ${agent.name}; nothing was sent`);
        }
      }
    },

    /**
     * An agent fetches the secrets of a command it is about to run. Only for a command this
     * hub sent that agent, not finished, that names these secrets, and only secrets whose scope
     * matches the agent as it is now. Every fetch, granted or refused, is audited.
     */
    async fetchForCommand(agentId: string, request: SecretsFetch): Promise<SecretsFetchAck> {
      const target = await jobs.findTarget(request.commandId);
      if (!target || target.agentId !== agentId) return refuseFetch(agentId, request, `no command ${request.commandId} was sent to this agent`);
      if (isFinalTargetState(target.state)) return refuseFetch(agentId, request, `command ${request.commandId} has already finished`);
      const job = await jobs.findJob(target.jobId);
      const asked = job ? commandSecretNames(job.command) : [];
      const notAsked = request.names.filter((name) => !asked.includes(name));
      if (notAsked.length > 0) return refuseFetch(agentId, request, `command ${request.commandId} did not ask for ${notAsked.join(', ')}`);
      const agent = await agents.findById(agentId);
      if (!agent) return refuseFetch(agentId, request, 'this agent is not enrolled');
      const records = await secrets.findByNames(request.names);
      const missing = request.names.filter((name) => !records.some((r) => r.name === name));
      if (missing.length > 0) return refuseFetch(agentId, request, `no secret ${missing.join(', ')}`);
      const outside = records.filter((record) => !scopeMatches(record.scope, agent));
      if (outside.length > 0) return refuseFetch(agentId, request, `${outside.map((r) => r.name).join(', ')} not scoped to ${agent.name}`);
      // Issue #11: and only secrets within the scope the sender's role has now.
      const senderScope = job ? await secrets.actorScope(job.createdBy) : undefined;
      if (job && senderScope !== undefined && senderScope !== null) {
        const foreign = records.filter((record) => !secretInScope({ scope: senderScope }, record.scope));
        if (foreign.length > 0) return refuseFetch(agentId, request, `${foreign.map((r) => r.name).join(', ')} not within the scope of ${job.createdBy}, who sent the command`);
      }
      const values = await Promise.all(records.map(async (record) => ({ name: record.name, value: await read(record) })));
      await audit.record({
        actor: `agent:${agentId}`,
        action: 'secret.fetch',
        agentId,
        jobId: target.jobId,
        details: { commandId: request.commandId, agentName: agent.name, names: records.map((r) => r.name) },
      });
      logger.info({ agentId, commandId: request.commandId, names: records.map((r) => r.name) }, 'secrets delivered to an agent');
      return { secrets: values };
    },

    /**
     * ADR 0023: a registry login for an agent's background digest check, outside any command.
     * The caller (container auto-update) decided that a rule hands this secret to this machine;
     * here the secret's own scope must admit the machine as it is now. Granted or refused, audited.
     */
    async fetchForRegistry(agentId: string, name: string, purpose: { registry: string; rule: string }): Promise<string> {
      const refuse = async (reason: string): Promise<never> => {
        logger.warn({ agentId, name, ...purpose, reason }, 'refused a registry login to an agent');
        await audit.record({ actor: `agent:${agentId}`, action: 'secret.fetch_refused', agentId, details: { names: [name], purpose: 'registry', ...purpose, reason } });
        throw new FarolError('forbidden', reason);
      };
      const agent = await agents.findById(agentId);
      if (!agent) return refuse('this agent is not enrolled');
      const [record] = await secrets.findByNames([name]);
      if (!record) return refuse(`no secret ${name}`);
      if (!scopeMatches(record.scope, agent)) return refuse(`${name} not scoped to ${agent.name}`);
      const value = await read(record);
      await audit.record({ actor: `agent:${agentId}`, action: 'secret.fetch', agentId, details: { agentName: agent.name, names: [name], purpose: 'registry', ...purpose } });
      logger.info({ agentId, name, ...purpose }, 'registry login delivered to an agent');
      return value;
    },

    redact: (text: string): string => redactor.redact(text),
  };
  return service;
}
export type SecretsService = ReturnType<typeof createSecretsService>;
