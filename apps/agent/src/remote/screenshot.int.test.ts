import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useAgentHarness, waitFor } from '../testing/agent-harness.js';
import { signTestCommand } from '../testing/test-hub.js';
import { skipNote, startXvfb, xrun, xvfbSkipReason, type Xvfb } from '../testing/xvfb.js';

const noXvfb = xvfbSkipReason();
import { decodePng } from '../screenshot/png.js';

// The real agent (in process) over a real Socket.IO link: a screenshot of a real X server
// arrives as binary chunks, then its result; a headless machine answers "no display".

describe.skipIf(noXvfb !== null)(`screenshot command over the hub link${skipNote(noXvfb)}`, () => {
  const h = useAgentHarness();
  let xvfb: Xvfb;
  let noSockets: string;

  beforeAll(async () => {
    xvfb = await startXvfb('800x600x24');
    xrun(xvfb.display, 'xsetroot', ['-solid', '#2040c0']);
    noSockets = mkdtempSync(path.join(tmpdir(), 'farol-headless-'));
  });
  afterAll(async () => {
    await xvfb?.stop();
    rmSync(noSockets, { recursive: true, force: true });
  });

  it('captures the display, uploads the PNG in chunks, then reports its size and SHA-256', async () => {
    void h.start({}, { commandEnv: { DISPLAY: xvfb.display, PATH: process.env.PATH } });
    await waitFor(() => h.stored().length >= 1, 8_000, 'linked');
    h.hub.sendCommand(signTestCommand(h.hubState, { sub: h.agent()!.agentId, command: { kind: 'screenshot' } }));
    await waitFor(() => h.hubState.results.length === 1, 15_000, 'the result');
    const result = h.hubState.results[0]!;
    const png = h.hubState.uploads.get(result.commandId)!;
    expect(result).toMatchObject({ state: 'succeeded', data: { kind: 'screenshot', width: 800, height: 600, bytes: png.length, display: xvfb.display, method: 'x11' } });
    expect(result.data?.kind === 'screenshot' && result.data.sha256).toBe(createHash('sha256').update(png).digest('hex'));
    const image = decodePng(png);
    expect([...image.rgb.subarray(0, 3)]).toEqual([0x20, 0x40, 0xc0]);
  });

  it('answers "no display" on a machine without DISPLAY, X sockets or Wayland', async () => {
    void h.start({}, { commandEnv: { PATH: process.env.PATH }, screenshot: { socketDir: noSockets } });
    await waitFor(() => h.stored().length >= 1, 8_000, 'linked');
    h.hub.sendCommand(signTestCommand(h.hubState, { sub: h.agent()!.agentId, command: { kind: 'screenshot' } }));
    await waitFor(() => h.hubState.results.length === 1, 15_000, 'the result');
    expect(h.hubState.results[0]).toMatchObject({
      state: 'failed',
      data: { kind: 'no_display', detail: expect.stringMatching(/^no display: DISPLAY is not set/) },
      error: expect.stringMatching(/^no display/),
    });
    expect(h.hubState.uploads.size).toBe(0);
  });
});
