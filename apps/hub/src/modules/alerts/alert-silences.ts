import { FarolError, parseLabelSelector, SilenceCreateSchema, toFieldIssues, type Silence, type SilenceCreate } from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import { randomId } from '../../infra/ids.js';
import type { Logger } from '../../infra/logger.js';
import type { AuditService } from '../audit/audit.service.js';
import { compileSilence } from './alert-conditions.js';
import type { AgentEntry } from './alert-rules.js';
import type { AlertRecord, AlertsRepository, SilenceRecord } from './alerts.repository.js';

function silenceView(silence: SilenceRecord, now: number): Silence {
  return { ...silence, active: silence.startsAt <= now && now < silence.endsAt };
}

/**
 * Silences, on every hub: created and ended through the API whichever hub answers, and asked
 * by the engine (on the leader) whether one holds an alert's notices back.
 */
export function createAlertSilences({
  alerts,
  directory,
  clock,
  logger,
  audit,
  announce,
  wake,
}: {
  alerts: AlertsRepository;
  /** The machines the rules know (a silence may match by label). */
  directory: ReadonlyMap<string, AgentEntry>;
  clock: Clock;
  logger: Logger;
  audit?: Pick<AuditService, 'record'> | undefined;
  /** Tells the other hubs that the silences changed here. */
  announce: () => void;
  /** Asks the engine to look again at `at` (a silence ending lets held notices go out). */
  wake: (at: number) => void;
}) {
  let silences: Array<{ silence: SilenceRecord; matches: ReturnType<typeof compileSilence> }> = [];

  return {
    get count(): number {
      return silences.length;
    },

    /** The silences in force from `now` on, from the database. */
    async reload(now: number): Promise<void> {
      silences = (await alerts.listSilences(now)).map((silence) => ({ silence, matches: compileSilence(silence.matcher) }));
    },

    /** The id of the silence that holds an alert's notices back now, or null. */
    silencedBy(alert: AlertRecord, now: number): string | null {
      if (silences.length === 0) return null;
      const agent = alert.agentId ? (directory.get(alert.agentId) ?? { id: alert.agentId, name: alert.agentName ?? alert.agentId, labels: alert.details.labels }) : null;
      for (const { silence, matches } of silences) {
        if (silence.startsAt <= now && now < silence.endsAt && matches(agent, { id: alert.ruleId, name: alert.ruleName })) return silence.id;
      }
      return null;
    },

    /** Forgets the silences that ended; calls `due` with the end of each still in force. */
    prune(now: number, due: (at: number) => void): void {
      for (const { silence } of silences) {
        if (silence.endsAt > now) due(silence.endsAt);
      }
      silences = silences.filter(({ silence }) => silence.endsAt > now);
    },

    list(all: boolean): Promise<Silence[]> {
      const now = clock.now();
      return alerts.listSilences(all ? null : now).then((list) => list.map((s) => silenceView(s, now)));
    },
    async create(input: SilenceCreate, actor: string): Promise<Silence> {
      const parsed = SilenceCreateSchema.safeParse(input);
      if (!parsed.success) throw new FarolError('validation_failed', 'invalid silence', { issues: toFieldIssues(parsed.error) });
      const body = parsed.data;
      if (body.matcher.selector) {
        try {
          parseLabelSelector(body.matcher.selector);
        } catch (error) {
          throw new FarolError('validation_failed', (error as Error).message, { issues: [{ path: 'matcher.selector', message: (error as Error).message }] });
        }
      }
      const now = clock.now();
      const startsAt = body.startsAt ?? now;
      const endsAt = body.endsAt ?? startsAt + body.duration!;
      if (endsAt <= startsAt || endsAt <= now) throw new FarolError('validation_failed', 'a silence must end after it starts and in the future');
      const silence: SilenceRecord = { id: randomId('sil'), matcher: body.matcher, startsAt, endsAt, reason: body.reason, createdBy: actor, createdAt: now };
      await alerts.insertSilence(silence);
      silences.push({ silence, matches: compileSilence(silence.matcher) });
      wake(endsAt);
      announce();
      logger.info({ silenceId: silence.id, actor, endsAt }, 'silence created');
      await audit?.record({ actor, action: 'silence.create', details: { silenceId: silence.id, matcher: silence.matcher, startsAt, endsAt, reason: silence.reason } });
      return silenceView(silence, now);
    },
    async get(id: string): Promise<Silence> {
      const silence = await alerts.findSilence(id);
      if (!silence) throw new FarolError('not_found', `no silence ${id}`);
      return silenceView(silence, clock.now());
    },
    async remove(id: string, actor: string): Promise<void> {
      const silence = await alerts.findSilence(id);
      if (!silence) throw new FarolError('not_found', `no silence ${id}`);
      const now = clock.now();
      if (silence.endsAt > now) await alerts.endSilence(id, now);
      silences = silences.filter(({ silence: s }) => s.id !== id);
      announce();
      logger.info({ silenceId: id, actor }, 'silence ended');
      await audit?.record({ actor, action: 'silence.end', details: { silenceId: id, matcher: silence.matcher, reason: silence.reason } });
      // Alerts it held back may now be sent.
      wake(now);
    },
  };
}
export type AlertSilences = ReturnType<typeof createAlertSilences>;
