import { createHash } from 'node:crypto';
import type { ScreenshotCommand } from '@farol/protocol';
import { captureScreen, NoDisplayError, type CaptureOptions } from '../screenshot/capture.js';
import { plainOutcome, type RemoteCommandContext, type RemoteOutcome } from './remote-command.js';

/** A screenshot's outcome: the result, plus the PNG that is uploaded before it. */
export type ScreenshotOutcome = RemoteOutcome & { image?: Buffer };

/**
 * `screenshot`: a PNG of the whole screen. The image does not go in the result (it may pass
 * the 1 MB message cap): the executor keeps it beside the result and uploads it in chunks
 * first; the result carries its size and SHA-256. A machine with no display answers `failed`
 * with `data: { kind: "no_display" }`, a distinct outcome the hub reports as such.
 */
export async function runScreenshotCommand(
  command: ScreenshotCommand,
  context: RemoteCommandContext,
  env: NodeJS.ProcessEnv,
  capture: (options: CaptureOptions) => ReturnType<typeof captureScreen> = captureScreen,
): Promise<ScreenshotOutcome> {
  const startedAt = context.clock.now();
  try {
    const shot = await capture({ display: command.display, maxWidth: command.maxWidth, env, signal: context.signal, timeoutMs: context.timeoutMs, logger: context.logger });
    const sha256 = createHash('sha256').update(shot.png).digest('hex');
    return {
      ...plainOutcome({
        state: 'succeeded',
        exitCode: 0,
        startedAt,
        endedAt: context.clock.now(),
        stdout: `${shot.width}x${shot.height} PNG, ${shot.png.length} bytes${shot.display ? ` from ${shot.display}` : ''} (${shot.method})\n`,
        data: { kind: 'screenshot', format: 'png', width: shot.width, height: shot.height, bytes: shot.png.length, sha256, display: shot.display, method: shot.method },
      }),
      image: shot.png,
    };
  } catch (error) {
    const endedAt = context.clock.now();
    if (context.signal.aborted) return plainOutcome({ state: 'cancelled', startedAt, endedAt, error: 'cancelled' });
    if (error instanceof NoDisplayError) {
      return plainOutcome({ state: 'failed', startedAt, endedAt, error: error.message, data: { kind: 'no_display', detail: error.message } });
    }
    context.logger.warn({ err: error }, 'screenshot failed');
    return plainOutcome({ state: 'failed', startedAt, endedAt, error: (error as Error).message.slice(0, 4_000) });
  }
}
