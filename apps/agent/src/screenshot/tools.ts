import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MAX_SCREENSHOT_BYTES } from '@farol/protocol';

/** One program of a capture pipeline (argv only: no shell ever sees these). */
interface Step {
  file: string;
  args: string[];
}

/** A platform tool that writes a PNG to stdout or to a file. */
export interface CaptureTool {
  method: string;
  /** `{file}` in an argument is replaced with the path the tool should write to. */
  steps: Step[];
  output: 'stdout' | 'file';
  env?: Record<string, string>;
}

/** The tool is not installed: not an error worth reporting beyond "not installed". */
export class ToolMissingError extends Error {}

const FILE = '{file}';

/** PowerShell: the virtual screen (every monitor) through System.Drawing, saved as PNG. */
const POWERSHELL_CAPTURE = [
  'Add-Type -AssemblyName System.Windows.Forms, System.Drawing',
  '$b = [System.Windows.Forms.SystemInformation]::VirtualScreen',
  '$bmp = New-Object System.Drawing.Bitmap $b.Width, $b.Height',
  '$g = [System.Drawing.Graphics]::FromImage($bmp)',
  '$g.CopyFromScreen($b.Left, $b.Top, 0, 0, $bmp.Size)',
  "$bmp.Save('{file}', [System.Drawing.Imaging.ImageFormat]::Png)",
  '$g.Dispose(); $bmp.Dispose()',
].join('; ');

/** The tools to try for an X display, best first. ImageMagick's `png24:` keeps the output plain 8-bit RGB. */
export function x11Tools(display: string): CaptureTool[] {
  const env = { DISPLAY: display };
  return [
    { method: 'import', steps: [{ file: 'import', args: ['-display', display, '-silent', '-window', 'root', 'png24:-'] }], output: 'stdout' },
    {
      method: 'xwd',
      steps: [
        { file: 'xwd', args: ['-root', '-silent', '-display', display] },
        { file: 'convert', args: ['xwd:-', 'png24:-'] },
      ],
      output: 'stdout',
    },
    { method: 'maim', steps: [{ file: 'maim', args: ['--hidecursor', '--format', 'png'] }], output: 'stdout', env },
    { method: 'scrot', steps: [{ file: 'scrot', args: ['--overwrite', FILE] }], output: 'file', env },
    { method: 'gnome-screenshot', steps: [{ file: 'gnome-screenshot', args: ['-f', FILE] }], output: 'file', env },
  ];
}

export const WAYLAND_TOOLS: CaptureTool[] = [{ method: 'grim', steps: [{ file: 'grim', args: ['-t', 'png', '-'] }], output: 'stdout' }];
export const MACOS_TOOLS: CaptureTool[] = [{ method: 'screencapture', steps: [{ file: 'screencapture', args: ['-x', '-t', 'png', FILE] }], output: 'file' }];
export const WINDOWS_TOOLS: CaptureTool[] = [
  { method: 'powershell', steps: [{ file: 'powershell.exe', args: ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-Command', POWERSHELL_CAPTURE] }], output: 'file' },
];

/**
 * Runs a capture tool (a pipeline of one or two programs) and returns the PNG it produced.
 * Throws ToolMissingError when a program is not installed, Error with the tool's own message
 * when it fails.
 */
export async function runCaptureTool(tool: CaptureTool, options: { env: NodeJS.ProcessEnv; signal?: AbortSignal | undefined; timeoutMs: number }): Promise<Buffer> {
  const dir = tool.output === 'file' ? mkdtempSync(path.join(tmpdir(), 'farol-shot-')) : null;
  const file = dir ? path.join(dir, 'screen.png') : '';
  const fill = (arg: string): string => arg.split(FILE).join(file);
  const env = { ...options.env, ...tool.env };
  try {
    const stdout = await new Promise<Buffer>((resolve, reject) => {
      const children = tool.steps.map((step) =>
        spawn(step.file, step.args.map(fill), { env, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true }),
      );
      const stderr: string[] = children.map(() => '');
      const chunks: Buffer[] = [];
      let size = 0;
      let settled = false;
      let exited = 0;
      const finish = (error: Error | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (error) for (const child of children) child.kill('SIGKILL');
        if (error) reject(error);
        else resolve(Buffer.concat(chunks, size));
      };
      const onAbort = (): void => finish(new Error('cancelled'));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => finish(new Error(`${tool.method} did not finish within ${options.timeoutMs} ms`)), options.timeoutMs);
      children.forEach((child, index) => {
        const step = tool.steps[index]!;
        child.on('error', (error: NodeJS.ErrnoException) => {
          finish(error.code === 'ENOENT' ? new ToolMissingError(`${step.file} is not installed`) : new Error(`${step.file}: ${error.message}`));
        });
        child.stderr.setEncoding('utf8');
        child.stderr.on('data', (text: string) => {
          if (stderr[index]!.length < 2_000) stderr[index] += text;
        });
        const next = children[index + 1];
        if (next) {
          child.stdout.pipe(next.stdin);
          // The reader dying early (EPIPE) is reported by its own exit status.
          next.stdin.on('error', () => undefined);
        } else {
          child.stdout.on('data', (data: Buffer) => {
            size += data.length;
            if (size > MAX_SCREENSHOT_BYTES) finish(new Error(`${tool.method} produced more than ${MAX_SCREENSHOT_BYTES} bytes`));
            else chunks.push(data);
          });
        }
        if (index === 0) child.stdin.end();
        child.on('close', (code, signal) => {
          if (code !== 0) {
            const why = stderr[index]!.trim().split('\n').slice(-2).join(' ').slice(0, 300);
            finish(new Error(`${step.file} exited with ${code ?? signal}${why ? `: ${why}` : ''}`));
            return;
          }
          if (++exited === children.length) finish(null);
        });
      });
    });
    return tool.output === 'file' ? readFileSync(file) : stdout;
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
