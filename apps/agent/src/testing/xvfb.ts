import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

/** A real X server for screenshot tests. */
export interface Xvfb {
  display: string;
  stop(): Promise<void>;
}

/** True when `program` is on PATH. */
export function hasProgram(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v "$1"`, 'sh', program], { stdio: 'ignore' }).status === 0;
}

/**
 * Why screenshot tests cannot run here, or null when they can. Under CI a missing Xvfb is a
 * failure (the suite must not silently skip what it promises to test); elsewhere the tests are
 * skipped, and their name says why (issue #21: see {@link skipNote}).
 */
export function xvfbSkipReason(env: NodeJS.ProcessEnv = process.env): string | null {
  const missing = ['Xvfb', 'xsetroot'].filter((program) => !hasProgram(program));
  if (missing.length === 0) return null;
  const reason = `needs ${missing.join(' and ')} (apt-get install xvfb x11-xserver-utils)`;
  if (env.CI) throw new Error(`${reason}: required under CI`);
  return reason;
}

/**
 * True when `convert` is ImageMagick's, not merely some program named convert (Windows'
 * disk converter, a GraphicsMagick shim): the tests rely on ImageMagick's options and output.
 */
export function hasImageMagickConvert(env: NodeJS.ProcessEnv = process.env): boolean {
  const version = spawnSync('convert', ['-version'], { encoding: 'utf8', env });
  return version.status === 0 && version.stdout.includes('ImageMagick');
}

/** Why ImageMagick tests cannot run here, or null. */
export function imageMagickSkipReason(): string | null {
  return hasImageMagickConvert() ? null : 'needs ImageMagick\'s convert (apt-get install imagemagick)';
}

/** A test name's suffix that says why it is skipped: `name (skipped: needs Xvfb …)`. */
export function skipNote(reason: string | null): string {
  return reason === null ? '' : ` (skipped: ${reason})`;
}

/**
 * Starts `Xvfb` on a display number it picks itself (`-displayfd`, so parallel test runs never
 * collide), TCP off, no reset when its last client leaves (which would repaint the root), and
 * waits until its socket exists.
 */
export async function startXvfb(screen = '640x480x24', extraArgs: string[] = []): Promise<Xvfb> {
  const child: ChildProcess = spawn('Xvfb', ['-displayfd', '1', '-screen', '0', screen, '-nolisten', 'tcp', '-noreset', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
  const number = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`Xvfb did not start: ${stderr}`)), 10_000);
    child.stdout!.on('data', (data: Buffer) => {
      out += data.toString();
      const match = /^(\d+)\n/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Xvfb exited with ${code}: ${stderr}`));
    });
  });
  const deadline = Date.now() + 5_000;
  while (!existsSync(`/tmp/.X11-unix/X${number}`)) {
    if (Date.now() > deadline) throw new Error(`Xvfb :${number} has no socket`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    display: `:${number}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Runs an X client to completion (xsetroot, display ...) against `display`. */
export function xrun(display: string, file: string, args: string[]): void {
  const result = spawnSync(file, ['-display', display, ...args], { encoding: 'utf8', timeout: 20_000 });
  if (result.status !== 0) throw new Error(`${file} failed (${result.status ?? result.signal}): ${result.stderr}`);
}
