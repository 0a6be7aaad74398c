import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  MAX_MESSAGE_BYTES,
  SCREENSHOT_CHUNK_BYTES,
  type CommandResult,
  type ScreenshotUpload,
} from '@farol/protocol';
import { createMemoryLogger } from '../logging/logger.js';
import { systemClock } from '../runtime/clock.js';
import { waitFor } from '../testing/agent-harness.js';
import { signTestCommandClaims } from '../testing/signed-token.js';
import { openCommandState } from './command-state.repository.js';
import { createCommandExecutor } from './executor.js';
import { loadPolicy } from './policy.schema.js';
import { plainOutcome } from './remote-command.js';
import type { ScreenshotOutcome } from './screenshot.command.js';

const AGENT_ID = 'ag_screenshottest01';
const hubKeys = generateKeyPairSync('ed25519');

function signScreenshot(): { token: string; commandId: string } {
  const { token, claims } = signTestCommandClaims({ sub: AGENT_ID, command: { kind: 'screenshot' } }, hubKeys.privateKey);
  return { token, commandId: claims.commandId };
}

/**
 * A hub side of the upload that behaves like the real one: it appends a chunk only at the
 * offset it holds and answers with what it holds; it can drop the connection after N chunks.
 */
function uploadHub() {
  const held = new Map<string, Buffer>();
  const hub = {
    linked: true,
    chunks: [] as Array<{ offset: number; size: number }>,
    results: [] as CommandResult[],
    dropAfterChunks: Infinity,
    isLinked: () => hub.linked,
    async request(event: string, payload: unknown) {
      if (!hub.linked) throw new Error('not connected to the hub');
      if (event === 'screenshot:upload') {
        const upload = payload as ScreenshotUpload;
        // What Socket.IO would carry: each chunk on its own under the message cap.
        expect(upload.data.byteLength).toBeLessThanOrEqual(SCREENSHOT_CHUNK_BYTES);
        hub.chunks.push({ offset: upload.offset, size: upload.data.byteLength });
        if (hub.chunks.length > hub.dropAfterChunks) {
          hub.linked = false;
          throw new Error('disconnected');
        }
        const have = held.get(upload.commandId) ?? Buffer.alloc(0);
        if (upload.offset === have.length) held.set(upload.commandId, Buffer.concat([have, upload.data]));
        return { ok: true, data: { received: held.get(upload.commandId)!.length } };
      }
      if (event === 'command:result') {
        hub.results.push(payload as CommandResult);
        return { ok: true, data: { stored: true } };
      }
      return { ok: true, data: {} };
    },
  };
  return { hub, held };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'farol-shot-exec-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function executorWith(hub: ReturnType<typeof uploadHub>['hub'], image: Buffer, policyFile = path.join(dir, 'policy.json')) {
  const { logger, lines } = createMemoryLogger('debug');
  const sha256 = createHash('sha256').update(image).digest('hex');
  const screenshot = async (): Promise<ScreenshotOutcome> => ({
    ...plainOutcome({
      state: 'succeeded',
      exitCode: 0,
      startedAt: Date.now(),
      endedAt: Date.now(),
      data: { kind: 'screenshot', format: 'png', width: 1920, height: 1080, bytes: image.length, sha256, display: ':0', method: 'x11' },
    }),
    image,
  });
  const none = async () => plainOutcome({ state: 'succeeded', startedAt: Date.now(), endedAt: Date.now() });
  const executor = createCommandExecutor({
    agentId: AGENT_ID,
    hubKey: hubKeys.publicKey,
    link: hub as never,
    state: openCommandState({ dir: path.join(dir, 'state'), clock: systemClock, logger }),
    policy: () => loadPolicy(policyFile),
    handlers: { shell: none, metrics: none, processes: none, docker: none, screenshot },
    lifecycle: { describe: (kind) => kind, request: () => undefined },
    clock: systemClock,
    logger,
  });
  return Object.assign(executor, { messages: () => lines().map((line) => String(line.msg)) });
}

describe('screenshot transfer (agent side)', () => {
  it('uploads an image larger than one message in chunks, all before its result, then forgets it', async () => {
    const image = randomBytes(3 * 1024 * 1024 + 12_345);
    expect(image.length).toBeGreaterThan(MAX_MESSAGE_BYTES);
    const { hub, held } = uploadHub();
    const { token, commandId } = signScreenshot();
    await executorWith(hub, image).run({ token });
    await waitFor(() => hub.results.length === 1, 5_000, 'the result');
    expect(hub.chunks.length).toBe(Math.ceil(image.length / SCREENSHOT_CHUNK_BYTES));
    expect(held.get(commandId)!.equals(image)).toBe(true);
    expect(hub.results[0]).toMatchObject({ state: 'succeeded', data: { kind: 'screenshot', bytes: image.length } });
    await waitFor(() => readdirSync(path.join(dir, 'state', 'results')).length === 0, 5_000, 'the outbox to empty');
  });

  it('resumes from what the hub holds after the connection drops mid-upload', async () => {
    const image = randomBytes(2 * 1024 * 1024);
    const { hub, held } = uploadHub();
    hub.dropAfterChunks = 2;
    const { token, commandId } = signScreenshot();
    const executor = executorWith(hub, image);
    await executor.run({ token });
    const kept = path.join(dir, 'state', 'results', `${commandId}.png`);
    await waitFor(() => executor.messages().includes('result not acknowledged; kept to send again'), 5_000, 'the drop');
    expect(existsSync(kept)).toBe(true);
    expect(hub.results).toHaveLength(0);
    hub.linked = true;
    hub.dropAfterChunks = Infinity;
    await executor.flushOutbox();
    expect(hub.results).toHaveLength(1);
    expect(held.get(commandId)!.equals(image)).toBe(true);
    // Two chunks held before the drop (the third was lost with the connection); after it, the
    // first chunk again learns that the hub holds 1 MiB, and the upload goes on from there.
    expect(hub.chunks.slice(3).map((c) => c.offset)).toEqual([0, 2 * SCREENSHOT_CHUNK_BYTES, 3 * SCREENSHOT_CHUNK_BYTES]);
    expect(existsSync(kept)).toBe(false);
  });

  it('refuses a screenshot the local policy does not allow, without capturing anything', async () => {
    const policyFile = path.join(dir, 'locked.json');
    writeFileSync(policyFile, JSON.stringify({ allow: ['metrics'] }));
    const { hub } = uploadHub();
    const { token } = signScreenshot();
    await executorWith(hub, randomBytes(10), policyFile).run({ token });
    await waitFor(() => hub.results.length === 1, 5_000, 'the refusal');
    expect(hub.results[0]).toMatchObject({ state: 'refused', error: 'refused by agent policy: screenshot is not allowed here', data: null });
    expect(hub.chunks).toHaveLength(0);
  });
});
