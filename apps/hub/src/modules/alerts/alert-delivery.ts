import type { Alert, AlertNotice, Notification } from '@farol/protocol';
import type { Bus } from '../../infra/bus.js';
import type { Clock } from '../../infra/clock.js';
import { StaleLeaderError } from '../../infra/leadership.js';
import type { Logger } from '../../infra/logger.js';
import { yieldToEventLoop } from '../../infra/pause.js';
import type { UnitOfWork } from '../repositories.js';
import type { Change } from './alert-engine.js';
import type { AlertRecord, AlertsRepository } from './alerts.repository.js';

/**
 * The delivery side (the notify module) as the engine sees it: durable once `notify` returns
 * (its outbox rows are committed); rendering and sending per channel are its business.
 */
export interface Notifier {
  notify(channelRefs: string[], notification: Notification): Promise<void>;
  /** Issue #20: the same notices, once each, to the browsers of users who may see them (Web Push); durable once it returns. */
  push?(notices: AlertNotice[]): Promise<void>;
}

/** A failed hand-over to the notifier is tried again after this long. */
const DELIVERY_RETRY_MS = 30_000;
/** Changes stored per transaction when commits queue up; a single larger commit still goes whole (it is atomic). */
export const MAX_CHANGES_PER_WRITE = 500;

/** Changes committed together (one evaluation), and whether the running engine made them. */
interface Commit {
  batch: Change[];
  byEngine: boolean;
}

/**
 * The changes of a run of commits, without the alerts that were inserted and deleted within it
 * and never had an event (a machine offline for less than a write's time: issue #14). Their bus
 * events still go out; there is simply nothing to store.
 */
function storedChanges(changes: Change[]): Set<Change> {
  const inserted = new Set<string>();
  const cancelled = new Set<string>();
  const withEvents = new Set<string>();
  for (const change of changes) {
    if (change.event) withEvents.add(change.alert.id);
    if (change.op === 'insert') inserted.add(change.alert.id);
    else if (change.op === 'delete' && inserted.has(change.alert.id)) cancelled.add(change.alert.id);
  }
  return new Set(changes.filter((change) => !cancelled.has(change.alert.id) || withEvents.has(change.alert.id)));
}

interface Delivery {
  seq: number;
  channels: string[];
  notice: AlertNotice;
  /** Handed to the browsers already (a retry for failed channels does not push again). */
  pushed?: boolean;
}

/**
 * Writing alert changes and handing their notices over. Changes are stored in order, one
 * transaction per evaluation; the engine's own are fenced by the leader lease (issue #14, a
 * leader whose term ended stores nothing). The notices of one group window go to the notifier
 * as one message per channel; a failed channel gets them again later, and notices stored but
 * never handed over (a crash in between) are read back when a leader term starts (`resume`).
 */
export function createAlertDelivery({
  alerts,
  unitOfWork,
  engineUnitOfWork,
  notifier,
  bus,
  clock,
  logger,
  toApi,
  isEngaged,
  wake,
  groupWindowMs,
  timersEnabled,
}: {
  alerts: AlertsRepository;
  unitOfWork: UnitOfWork;
  engineUnitOfWork?: UnitOfWork | undefined;
  notifier: Notifier;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  toApi: (alert: AlertRecord, now: number) => Alert;
  /** Whether the engine runs on this hub now (this hub leads). */
  isEngaged: () => boolean;
  wake: (at: number) => void;
  groupWindowMs: number;
  timersEnabled: boolean;
}) {
  let writing: Promise<void> = Promise.resolve();
  /** Commits waiting for the write in progress; the next write stores them together. */
  let queued: Commit[] = [];
  let deliveries: Delivery[] = [];
  let retries: { at: number; items: Delivery[] } | undefined;
  let delivering: Promise<void> = Promise.resolve();
  let flushTimer: NodeJS.Timeout | undefined;

  function commit(batch: Change[]): void {
    // Decided now: changes the running engine made are fenced even if it stops before they are stored.
    queued.push({ batch, byEngine: isEngaged() });
    // A write is already due: it takes this batch too.
    if (queued.length > 1) return;
    writing = writing.then(writeQueued).catch((error: unknown) => logger.error({ err: error }, 'storing alert changes failed'));
  }

  /**
   * Stores every commit queued since the last write, in order: consecutive commits of the same
   * kind (fenced or not) in one transaction (up to MAX_CHANGES_PER_WRITE changes), so a burst of presence changes (a hub's machines
   * coming back) costs one transaction instead of one each (issue #14). If a transaction of
   * several commits fails, each is tried alone, so one bad change does not take the others.
   */
  async function writeQueued(): Promise<void> {
    const commits = queued;
    queued = [];
    let start = 0;
    while (start < commits.length) {
      let end = start + 1;
      let changes = commits[start]!.batch.length;
      while (end < commits.length && commits[end]!.byEngine === commits[start]!.byEngine && changes + commits[end]!.batch.length <= MAX_CHANGES_PER_WRITE) {
        changes += commits[end]!.batch.length;
        end += 1;
      }
      const run = commits.slice(start, end);
      // Heartbeats go on between the transactions of a storm (10,000 machines offline at once held the event loop for a second, #16).
      if (start > 0) await yieldToEventLoop();
      try {
        await persist(run.flatMap((c) => c.batch), run[0]!.byEngine);
      } catch (error) {
        // A leader whose term ended stores none of them: trying each alone would only fail again.
        if (run.length === 1 || error instanceof StaleLeaderError) {
          logger.error({ err: error, changes: run[0]!.batch.length }, 'storing alert changes failed');
        } else {
          for (const one of run) {
            await persist(one.batch, one.byEngine).catch((failure: unknown) => logger.error({ err: failure, changes: one.batch.length }, 'storing alert changes failed'));
          }
        }
      }
      start = end;
    }
  }

  async function persist(batch: Change[], byEngine: boolean): Promise<void> {
    const kept = storedChanges(batch);
    // The engine's own writes are fenced (several hubs): a leader whose term ended stores nothing.
    const seqs = kept.size === 0 ? batch.map(() => null) : await (byEngine ? (engineUnitOfWork ?? unitOfWork) : unitOfWork)(async (repos) => {
      const stored: Array<number | null> = [];
      // Deleted last, all at once: nothing after a delete in the batch is about the same alert.
      const deleted: string[] = [];
      for (const change of batch) {
        if (!kept.has(change)) {
          stored.push(null);
          continue;
        }
        if (change.op === 'insert') await repos.alerts.insertAlert(change.alert);
        else if (change.op === 'update') await repos.alerts.updateAlert(change.alert);
        else deleted.push(change.alert.id);
        stored.push(change.event ? await repos.alerts.insertEvent({ alertId: change.alert.id, ...change.event }) : null);
      }
      if (deleted.length > 0) await repos.alerts.deleteAlerts(deleted);
      return stored;
    });
    const now = clock.now();
    batch.forEach((change, index) => {
      const seq = seqs[index];
      if (change.event?.notice && seq !== null && seq !== undefined) {
        deliveries.push({ seq, channels: change.event.channels, notice: JSON.parse(change.event.notice) as AlertNotice });
      }
      if (change.publish) bus.publish('alert.changed', { event: change.publish, alert: toApi(change.alert, now), labels: change.alert.details.labels });
    });
    if (deliveries.length > 0) scheduleFlush();
  }

  function scheduleFlush(): void {
    if (!timersEnabled || flushTimer) return;
    flushTimer = setTimeout(() => {
      flushTimer = undefined;
      void flush();
    }, groupWindowMs);
    flushTimer.unref();
  }

  /** Hands the queued notices to the notifier: one message per channel with every notice for it. */
  function flush(): Promise<void> {
    const batch = deliveries;
    deliveries = [];
    if (batch.length > 0) delivering = delivering.then(() => deliver(batch));
    return delivering;
  }

  async function deliver(batch: Delivery[]): Promise<void> {
    const unpushed = batch.filter((item) => !item.pushed);
    if (notifier.push && unpushed.length > 0) {
      try {
        await notifier.push(unpushed.map((item) => item.notice));
      } catch (error) {
        // Browser notifications are a convenience beside the channels: not a reason to send those twice.
        logger.error({ err: error, notices: unpushed.length }, 'handing alert notices to browser notifications failed');
      }
      for (const item of unpushed) item.pushed = true;
    }
    const byChannel = new Map<string, Delivery[]>();
    for (const item of batch) {
      for (const channel of item.channels) {
        let list = byChannel.get(channel);
        if (!list) byChannel.set(channel, (list = []));
        list.push(item);
      }
    }
    const failed = new Set<Delivery>();
    for (const [channel, items] of byChannel) {
      try {
        await notifier.notify([channel], { kind: 'alerts', alerts: items.map((item) => item.notice) });
      } catch (error) {
        logger.error({ err: error, channel, notices: items.length }, 'handing alert notices to the notifier failed; retrying later');
        for (const item of items) failed.add(item);
      }
    }
    const delivered = batch.filter((item) => !failed.has(item)).map((item) => item.seq);
    try {
      await alerts.markDelivered(delivered, clock.now());
    } catch (error) {
      // They would be handed over again after a restart: a duplicate, not a loss.
      logger.error({ err: error, notices: delivered.length }, 'marking alert notices delivered failed');
    }
    if (failed.size > 0) {
      // Only the failed channels get them again.
      const again = [...failed].map((item) => ({ ...item, channels: item.channels.filter((channel) => (byChannel.get(channel) ?? []).some((i) => failed.has(i))) }));
      const at = clock.now() + DELIVERY_RETRY_MS;
      retries = { at, items: [...(retries?.items ?? []), ...again] };
      wake(at);
    }
  }

  return {
    commit,
    flush,

    /** Resolves once every change committed so far is stored (or its failure logged). */
    written(): Promise<void> {
      return writing;
    },

    /** A leader term starts: the notices stored but never handed over are queued again. */
    async resume(): Promise<void> {
      deliveries = [];
      for (const event of await alerts.undeliveredEvents()) {
        deliveries.push({ seq: event.seq, channels: event.channels, notice: JSON.parse(event.notice!) as AlertNotice });
      }
    },

    /** Starts the group window if notices wait (after `resume`). */
    flushSoon(): void {
      if (deliveries.length > 0) scheduleFlush();
    },

    /** Queues the failed notices whose retry is due; the time of the next retry, or null. */
    retryDue(now: number): number | null {
      if (!retries) return null;
      if (now < retries.at) return retries.at;
      deliveries.push(...retries.items);
      retries = undefined;
      scheduleFlush();
      return null;
    },

    /** The leader term ends: no group window runs on (settle hands the queue over). */
    cancelFlushTimer(): void {
      if (flushTimer) clearTimeout(flushTimer);
      flushTimer = undefined;
    },
  };
}
export type AlertDelivery = ReturnType<typeof createAlertDelivery>;
