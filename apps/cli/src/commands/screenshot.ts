import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createScreenshotsClient, FarolApiError } from '@farol/client';
import { DisplayNameSchema } from '@farol/protocol';
import { Command } from 'commander';
import { CliError, UsageError } from '../cli-error.js';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatBytes, formatJson } from '../output/format.js';
import { aboutAgent, connectionOptionsOf, parsePositiveInteger, withConnectionOptions } from '../options.js';
import { parseDurationOption } from './exec-run.js';

interface ScreenshotOptions {
  output?: string;
  display?: string;
  maxWidth?: number;
  timeout?: number;
}

/** Width and height from a PNG's IHDR chunk (bytes 16 to 24). */
function pngSize(png: Uint8Array): { width: number; height: number } | null {
  if (png.length < 24) return null;
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** The one line for each way a screenshot can fail. */
function explain(error: unknown, ref: string, context: CliContext): never {
  if (!(error instanceof FarolApiError)) throw error;
  const detail = error.detail ?? error.message;
  switch (error.code) {
    case 'no_display':
      throw new CliError(`${detail}; screenshots need a desktop session on the machine (X11, Wayland, macOS or Windows)`, { cause: error });
    case 'command_refused':
      throw new CliError(`${detail}; the machine's own policy.json decides (farol-agent policy)`, { cause: error });
    case 'agent_offline':
      throw new CliError(`${detail}; see ${context.commandName} agents ls ${ref}`, { cause: error });
    case 'command_failed':
      throw new CliError(detail, { cause: error });
    default:
      throw error;
  }
}

/** `farol screenshot AGENT -o out.png`: a PNG of the machine's screen, now. */
export function createScreenshotCommand(context: CliContext): Command {
  const command = new Command('screenshot')
    .description('save a PNG of a machine\'s screen (its policy.json must allow screenshot)')
    .argument('<agent>', 'agent name or id')
    .option('-o, --output <file>', 'where to write the PNG (default <agent>-<time>.png here)')
    .option('--display <display>', 'X11 display on the machine, e.g. :0 (default its DISPLAY, else the first X server)')
    .option('--max-width <pixels>', 'scale down to at most this width', parsePositiveInteger)
    .option('--timeout <duration>', 'how long the capture may take, e.g. 60s (default 30s)', parseDurationOption);
  withConnectionOptions(command).action(async (ref: string, options: ScreenshotOptions) => {
    if (options.display !== undefined && !DisplayNameSchema.safeParse(options.display).success) {
      throw new UsageError(`--display ${JSON.stringify(options.display)} is not an X display; use :0, :1.0 or host:0`);
    }
    if (options.maxWidth !== undefined && options.maxWidth < 16) throw new UsageError('--max-width is at least 16');
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createScreenshotsClient);
    const request = {
      ...(options.display ? { display: options.display } : {}),
      ...(options.maxWidth ? { maxWidth: options.maxWidth } : {}),
      ...(options.timeout ? { timeoutMs: Math.min(Math.max(options.timeout, 1_000), 300_000) } : {}),
    };
    const shot = await aboutAgent(ref, context, () => client.takeScreenshot(ref, request)).catch((error: unknown) => explain(error, ref, context));
    const stamp = new Date(context.now()).toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
    const file = path.resolve(context.cwd, options.output ?? `${ref}-${stamp}.png`);
    try {
      await writeFile(file, shot.png);
    } catch (error) {
      throw new CliError(`cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; choose another -o`, { cause: error });
    }
    const size = pngSize(shot.png);
    if (connection.json) {
      context.stdout(formatJson({ file, id: shot.id, jobId: shot.jobId, bytes: shot.png.length, ...size }));
      return;
    }
    context.stdout(`${file}: ${size ? `${size.width}x${size.height} ` : ''}PNG, ${formatBytes(shot.png.length)} from ${ref} (screenshot ${shot.id})\n`);
  });
  return command;
}
