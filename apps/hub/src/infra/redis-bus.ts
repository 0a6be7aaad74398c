import { BROADCAST_TOPICS, createLocalDelivery, type Bus, type BusEvents, type BusTopic, type PublishFailure } from './bus.js';
import type { Logger } from './logger.js';
import { decodeMessage, encodeMessage, type RedisConnection } from './redis.js';

interface Envelope {
  /** The publishing hub: it delivered to its own subscribers already. */
  o: string;
  t: BusTopic;
  e: unknown;
}

/**
 * The bus of several hubs (issue #14). Broadcast topics (BROADCAST_TOPICS) reach this hub's
 * subscribers at once and every other hub's through one Redis pub/sub channel, JSON-encoded;
 * local topics never leave the process. Redis pub/sub delivers at most once, in order per
 * publisher: an event published while Redis is lost is reported to `onPublishFailure` and not
 * retried (broadcast events describe state the database or the next event carries again; the
 * durable parts — results, commands — never depend on the bus).
 */
export function createRedisBus({
  redis,
  hubId,
  logger,
  onPublishFailure,
}: {
  redis: RedisConnection;
  hubId: string;
  logger: Logger;
  onPublishFailure?: PublishFailure;
}): Bus & { start(): Promise<void>; stop(): Promise<void> } {
  const local = createLocalDelivery(logger);
  const channel = `${redis.prefix}bus`;
  let failing = false;
  const reportFailure: PublishFailure =
    onPublishFailure ??
    ((topic, error) => {
      // Once per outage, not per event: a lost Redis fails every heartbeat's broadcast.
      if (failing) return;
      failing = true;
      logger.error({ err: error, topic }, 'could not broadcast a bus event to the other hubs (Redis); their dashboards miss events until it is back');
    });

  const onMessage = (from: string, text: string): void => {
    if (from !== channel) return;
    let envelope: Envelope;
    try {
      envelope = decodeMessage<Envelope>(text);
    } catch (error) {
      logger.error({ err: error }, 'dropped an unreadable bus message from Redis');
      return;
    }
    if (envelope.o === hubId || !BROADCAST_TOPICS.has(envelope.t)) return;
    local.deliver(envelope.t, envelope.e as BusEvents[typeof envelope.t]);
  };

  return {
    publish(topic, event) {
      local.deliver(topic, event);
      if (!BROADCAST_TOPICS.has(topic)) return;
      // Not queued for later: what the other hubs missed meanwhile they re-read when Redis is back
      // (`broadcasts.resumed`), and a flood of stale events then would only mislead them.
      if (!redis.isUp()) {
        reportFailure(topic, new Error(`Redis is unreachable (${redis.client.status})`));
        return;
      }
      let text: string;
      try {
        text = encodeMessage({ o: hubId, t: topic, e: event } satisfies Envelope);
      } catch (error) {
        reportFailure(topic, error);
        return;
      }
      redis.client.publish(channel, text).then(
        () => {
          if (failing) logger.info('bus events reach the other hubs again');
          failing = false;
        },
        (error: unknown) => reportFailure(topic, error),
      );
    },
    subscribe: local.subscribe,
    async start(): Promise<void> {
      redis.subscriber.on('message', onMessage);
      await redis.subscriber.subscribe(channel);
    },
    async stop(): Promise<void> {
      redis.subscriber.off('message', onMessage);
      await redis.subscriber.unsubscribe(channel).catch((error: unknown) => logger.debug({ err: error }, 'unsubscribing the bus from Redis failed (closing anyway)'));
    },
  };
}
