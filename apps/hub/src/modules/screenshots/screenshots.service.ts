import {
  FarolError,
  type CommandResult,
  type ScreenshotData,
  type ScreenshotRequest,
  type ScreenshotUpload,
  type ScreenshotUploadAck,
} from '@farol/protocol';
import type { Clock } from '../../infra/clock.js';
import { randomId } from '../../infra/ids.js';
import type { Logger } from '../../infra/logger.js';
import type { AuditService } from '../audit/audit.service.js';
import type { JobAccess, JobsService, ResultHook } from '../jobs/jobs.service.js';
import type { ScreenshotRecord, ScreenshotsRepository } from './screenshots.repository.js';

/** A stored screenshot's metadata, as the service hands it to routes and gateways. */
export type { ScreenshotRecord } from './screenshots.repository.js';

/** How long the capture and upload may take by default. */
export const DEFAULT_SCREENSHOT_TIMEOUT_MS = 30_000;
/** A screenshot is only worth taking now: an offline machine is not waited for. */
const SCREENSHOT_TTL_MS = 15_000;
/** How long a machine that is connecting (online, hello not yet done) may take to be sent the command. */
const CONNECTING_GRACE_MS = 3_000;
/** How long past the timeout a request waits for the result to be stored. */
const WAIT_SLACK_MS = 5_000;
/** The first 8 bytes of every PNG. */
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Uploads nobody finished are dropped after this long. */
const PARTIAL_MAX_AGE_MS = 3_600_000;

export interface ScreenshotRetention {
  maxCount: number;
  maxAgeMs: number;
}

/**
 * Screenshots: a `screenshot` job on one machine whose PNG arrives in chunks over the agent's
 * connection before its result. The result is accepted only once the upload is complete and
 * its SHA-256 matches; then the image is stored, audited (who took it) and its id written into
 * the target's data, so the job history links to it.
 */
export function createScreenshotsService({
  store,
  jobs,
  audit,
  clock,
  logger,
  retention,
}: {
  store: ScreenshotsRepository;
  jobs: Pick<JobsService, 'create' | 'cancel' | 'get' | 'waitForFinal' | 'findCommand'>;
  audit: AuditService;
  clock: Clock;
  logger: Logger;
  retention: ScreenshotRetention;
}) {
  /** What each upload in progress claims to be, so a chunk of another capture restarts it. */
  const uploads = new Map<string, { total: number; sha256: string }>();

  async function applyRetention(): Promise<void> {
    const now = clock.now();
    const all = await store.list();
    const excess = all.length - retention.maxCount;
    let removed = 0;
    for (const [index, record] of all.entries()) {
      if (index < excess || now - record.createdAt > retention.maxAgeMs) {
        await store.remove(record.id);
        removed++;
      }
    }
    const partials = await store.prunePartials(now, PARTIAL_MAX_AGE_MS);
    if (removed + partials > 0) logger.info({ removed, partials }, 'screenshot retention');
  }

  /** Checks a screenshot result against its upload and stores the image; returns the data with its id. */
  async function storeImage(context: { agentId: string; jobId: string; createdBy: string; result: CommandResult }, data: ScreenshotData): Promise<ScreenshotData> {
    const { commandId } = context.result;
    const existing = await store.findByCommand(commandId);
    if (existing) return { ...data, screenshotId: existing.id };
    const size = await store.partialSize(commandId);
    if (size !== data.bytes) {
      // The agent keeps the result and the image; after its next hello it uploads again.
      throw new FarolError('unavailable', `the screenshot upload is incomplete (${size} of ${data.bytes} bytes); upload it again`);
    }
    const sha256 = await store.partialSha256(commandId);
    if (sha256 !== data.sha256) {
      await store.discardPartial(commandId);
      uploads.delete(commandId);
      throw new FarolError('unavailable', 'the uploaded screenshot does not match its SHA-256; upload it again');
    }
    const record: ScreenshotRecord = {
      id: randomId('shot'),
      agentId: context.agentId,
      agentName: (await jobs.get(context.jobId)).targets.find((t) => t.commandId === commandId)?.agentName ?? context.agentId,
      jobId: context.jobId,
      commandId,
      createdBy: context.createdBy,
      createdAt: clock.now(),
      format: 'png',
      width: data.width,
      height: data.height,
      bytes: data.bytes,
      sha256: data.sha256,
      display: data.display,
      method: data.method,
    };
    await store.finalize(record);
    uploads.delete(commandId);
    await audit.record({
      actor: context.createdBy,
      action: 'screenshot.capture',
      agentId: context.agentId,
      jobId: context.jobId,
      details: { screenshotId: record.id, commandId, agentName: record.agentName, width: record.width, height: record.height, bytes: record.bytes, sha256: record.sha256, method: record.method },
    });
    logger.info({ screenshotId: record.id, agentId: context.agentId, jobId: context.jobId, bytes: record.bytes }, 'screenshot stored');
    await applyRetention();
    return { ...data, screenshotId: record.id };
  }

  const resultHook: ResultHook = async ({ agentId, jobId, command, createdBy, result }) => {
    if (command.kind !== 'screenshot') return result.data;
    if (result.state !== 'succeeded' || result.data?.kind !== 'screenshot') {
      await store.discardPartial(result.commandId);
      uploads.delete(result.commandId);
      return result.data;
    }
    return storeImage({ agentId, jobId, createdBy, result }, result.data);
  };

  return {
    resultHook,

    /** A chunk from an agent: appended when it continues the upload; the answer says how much is held. */
    async upload(agentId: string, chunk: ScreenshotUpload): Promise<ScreenshotUploadAck> {
      const command = await jobs.findCommand(agentId, chunk.commandId);
      if (!command || command.command.kind !== 'screenshot') {
        throw new FarolError('forbidden', `no screenshot ${chunk.commandId} was asked of this agent`);
      }
      if (command.hasResult || (await store.findByCommand(chunk.commandId))) return { received: chunk.total };
      if (chunk.offset === 0 && !Buffer.from(chunk.data.buffer, chunk.data.byteOffset, Math.min(8, chunk.data.byteLength)).equals(PNG_SIGNATURE)) {
        throw new FarolError('validation_failed', 'a screenshot must be a PNG (it does not start with the PNG signature)');
      }
      if (chunk.offset + chunk.data.byteLength > chunk.total) {
        throw new FarolError('validation_failed', `the chunk ends at ${chunk.offset + chunk.data.byteLength}, past the total of ${chunk.total}`);
      }
      const claimed = uploads.get(chunk.commandId);
      if (claimed && (claimed.total !== chunk.total || claimed.sha256 !== chunk.sha256)) {
        // Another capture of the same command (an agent that re-ran it after a crash): start over.
        await store.discardPartial(chunk.commandId);
      }
      uploads.set(chunk.commandId, { total: chunk.total, sha256: chunk.sha256 });
      return { received: await store.append(chunk.commandId, chunk.offset, chunk.data) };
    },

    /**
     * Takes a screenshot of one machine now: a one-target job, then waits for the stored image.
     * Each way it can go wrong has its own code: offline, refused by the agent's policy, no
     * display, or failed.
     */
    async take(agentRef: string, request: ScreenshotRequest, actor: string, access?: JobAccess): Promise<ScreenshotRecord> {
      const timeoutMs = request.timeoutMs ?? DEFAULT_SCREENSHOT_TIMEOUT_MS;
      const command = { kind: 'screenshot' as const, ...(request.display ? { display: request.display } : {}), ...(request.maxWidth ? { maxWidth: request.maxWidth } : {}) };
      const job = await jobs.create({ command, targets: { agents: [agentRef] }, ttlMs: SCREENSHOT_TTL_MS, timeoutMs }, actor, access);
      let first = job.targets[0]!;
      // A machine that has just connected gets its commands once its hello is done: give it a moment.
      for (let waited = 0; first.state === 'queued' && waited < CONNECTING_GRACE_MS; waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        first = (await jobs.get(job.id)).targets[0]!;
      }
      if (first.state === 'queued') {
        // Not worth running later: cancel it now, so it stays in the history as asked and cancelled.
        await jobs.cancel(job.id, actor);
        throw new FarolError('agent_offline', `${first.agentName} is offline; a screenshot needs the machine connected`);
      }
      const finished = await jobs.waitForFinal(first.commandId, timeoutMs + WAIT_SLACK_MS);
      const target = (await jobs.get(job.id)).targets[0]!;
      if (!finished) throw new FarolError('command_failed', `no screenshot from ${target.agentName} within ${Math.round((timeoutMs + WAIT_SLACK_MS) / 1000)} s (job ${job.id})`);
      if (target.state === 'succeeded' && target.data?.kind === 'screenshot' && target.data.screenshotId) {
        const record = await store.find(target.data.screenshotId);
        if (record) return record;
        throw new FarolError('not_found', `screenshot ${target.data.screenshotId} was already removed by retention`);
      }
      if (target.state === 'refused') throw new FarolError('command_refused', `${target.agentName} refused: ${target.error ?? 'refused by the agent'}`);
      if (target.data?.kind === 'no_display') throw new FarolError('no_display', `${target.agentName} has no display to capture (${target.data.detail})`);
      throw new FarolError('command_failed', `screenshot on ${target.agentName} ${target.state.replace('_', ' ')}: ${target.error ?? 'no detail'} (job ${job.id})`);
    },

    /** A stored screenshot and its PNG's bytes; `viewer` is audited. */
    async open(id: string, viewer: string): Promise<{ record: ScreenshotRecord; image: AsyncIterable<Buffer> }> {
      const record = await store.find(id);
      if (!record) throw new FarolError('not_found', `no screenshot ${id} (retention keeps ${retention.maxCount}, for ${Math.round(retention.maxAgeMs / 86_400_000)} d)`);
      await audit.record({ actor: viewer, action: 'screenshot.view', agentId: record.agentId, jobId: record.jobId, details: { screenshotId: id } });
      return { record, image: store.image(record) };
    },

    find: (id: string) => store.find(id),
    /** The PNG of a screenshot just taken (its taker is audited by `screenshot.capture`). */
    image: (record: ScreenshotRecord) => store.image(record),

    /** At start: applies retention once (the hub may have been down a while). */
    start: () => applyRetention(),
  };
}
export type ScreenshotsService = ReturnType<typeof createScreenshotsService>;
