import { existsSync, readdirSync } from 'node:fs';
import type { Logger } from '../logging/logger.js';
import { decodePng, encodePng, pngSize } from './png.js';
import { scaleDown } from './scale.js';
import { MACOS_TOOLS, runCaptureTool, ToolMissingError, WAYLAND_TOOLS, WINDOWS_TOOLS, x11Tools, type CaptureTool } from './tools.js';
import { captureX11Root, parseDisplay, X11_SOCKET_DIR, X11Error, type X11Display } from './x11.client.js';

/** Nothing to capture on this machine: a distinct answer, not a failure of the agent. */
export class NoDisplayError extends Error {}

export interface CaptureOptions {
  /** The display asked for; default DISPLAY, else the first local X server. */
  display?: string | undefined;
  maxWidth?: number | undefined;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal | undefined;
  timeoutMs: number;
  logger: Logger;
  platform?: NodeJS.Platform;
  /** Where local X servers put their sockets (tests point this elsewhere to play a headless machine). */
  socketDir?: string;
  /** false skips the agent's own X client and goes straight to the platform's tools. */
  native?: boolean;
}

export interface Capture {
  png: Buffer;
  width: number;
  height: number;
  display: string | null;
  method: string;
}

/** The lowest-numbered X server with a socket in `socketDir`, as `:N`. */
export function firstLocalDisplay(socketDir: string): string | null {
  if (!existsSync(socketDir)) return null;
  const numbers = readdirSync(socketDir)
    .map((name) => /^X(\d+)$/.exec(name)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  return numbers.length > 0 ? `:${numbers[0]}` : null;
}

/**
 * Takes a PNG of the whole screen. On X11 the agent speaks the X protocol itself (no tool
 * needed); when that fails it tries the tools the platform has (ImageMagick `import`,
 * `xwd | convert`, maim, scrot, gnome-screenshot), `grim` on Wayland, `screencapture` on macOS
 * and System.Drawing through PowerShell on Windows. Throws NoDisplayError when the machine has
 * no display at all.
 */
export async function captureScreen(options: CaptureOptions): Promise<Capture> {
  const platform = options.platform ?? process.platform;
  if (platform === 'darwin') return withTools(MACOS_TOOLS, null, options, []);
  if (platform === 'win32') return withTools(WINDOWS_TOOLS, null, options, []);

  const socketDir = options.socketDir ?? X11_SOCKET_DIR;
  const name = options.display ?? (options.env.DISPLAY || null) ?? firstLocalDisplay(socketDir);
  if (name === null) {
    if (options.env.WAYLAND_DISPLAY) return withTools(WAYLAND_TOOLS, null, options, []);
    throw new NoDisplayError(`no display: DISPLAY is not set, there is no X server socket in ${socketDir} and no Wayland session`);
  }
  let display: X11Display;
  try {
    display = parseDisplay(name, socketDir);
  } catch (error) {
    throw new NoDisplayError(`no display: ${(error as Error).message}`);
  }
  if (display.socketPath !== null && !existsSync(display.socketPath)) {
    throw new NoDisplayError(`no display: no X server is running on ${name} (no ${display.socketPath})`);
  }
  const failures: string[] = [];
  if (options.native !== false) {
    try {
      const image = await captureX11Root(display, { env: options.env, signal: options.signal, timeoutMs: options.timeoutMs });
      const scaled = options.maxWidth ? scaleDown(image, options.maxWidth) : image;
      const png = await encodePng(scaled.rgb, scaled.width, scaled.height);
      return { png, width: scaled.width, height: scaled.height, display: name, method: 'x11' };
    } catch (error) {
      if (options.signal?.aborted) throw error;
      options.logger.warn({ err: error, display: name }, 'native X11 capture failed; trying the platform\'s tools');
      failures.push(`x11: ${error instanceof X11Error ? error.message : String(error)}`);
    }
  }
  return withTools(x11Tools(name), name, options, failures);
}

async function withTools(tools: CaptureTool[], display: string | null, options: CaptureOptions, failures: string[]): Promise<Capture> {
  let anyInstalled = false;
  for (const tool of tools) {
    let png: Buffer;
    try {
      png = await runCaptureTool(tool, { env: options.env, signal: options.signal, timeoutMs: options.timeoutMs });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      if (error instanceof ToolMissingError) {
        failures.push(`${tool.method}: not installed`);
        continue;
      }
      anyInstalled = true;
      options.logger.warn({ err: error, method: tool.method }, 'screen capture tool failed');
      failures.push(`${tool.method}: ${(error as Error).message}`);
      continue;
    }
    anyInstalled = true;
    const size = pngSize(png);
    if (!size) {
      failures.push(`${tool.method}: did not produce a PNG`);
      continue;
    }
    if (options.maxWidth && size.width > options.maxWidth) {
      const scaled = scaleDown(decodePng(png), options.maxWidth);
      return { png: await encodePng(scaled.rgb, scaled.width, scaled.height), width: scaled.width, height: scaled.height, display, method: tool.method };
    }
    return { png, ...size, display, method: tool.method };
  }
  const where = display ? `X display ${display}` : 'the screen';
  const hint = anyInstalled || failures.some((f) => f.startsWith('x11:')) ? '' : ' (install ImageMagick, or run the agent where it can reach the display)';
  throw new Error(`could not capture ${where}: ${failures.join('; ')}${hint}`);
}
