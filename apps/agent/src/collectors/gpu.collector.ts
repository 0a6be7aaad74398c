import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { GpuSample } from '@farol/protocol';
import type { Logger } from '../logging/logger.js';
import type { Collector } from './collector.js';

/** The nvidia-smi query: one CSV line per GPU, without header or units. */
export const NVIDIA_SMI_ARGS = [
  '--query-gpu=index,name,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw',
  '--format=csv,noheader,nounits',
];
const NVIDIA_SMI_TIMEOUT_MS = 5_000;
const MIB = 1024 * 1024;

/** nvidia-smi prints "[N/A]" or "[Not Supported]" for fields a GPU does not report. */
function parseNumber(field: string | undefined): number | null {
  if (field === undefined) return null;
  const text = field.trim();
  if (text === '' || text.startsWith('[')) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

/**
 * Parses `nvidia-smi --query-gpu=… --format=csv,noheader,nounits` output. Names can contain
 * commas, so the index is the first field, the five numbers the last five, the name between.
 */
export function parseNvidiaSmiCsv(text: string): GpuSample[] {
  const gpus: GpuSample[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const fields = line.split(',');
    if (fields.length < 7) continue;
    const index = parseNumber(fields[0]);
    if (index === null || !Number.isInteger(index) || index < 0) continue;
    const [utilization, memoryUsed, memoryTotal, temperature, power] = fields.slice(-5).map(parseNumber);
    const nonNegative = (value: number | null | undefined): number | null =>
      value === null || value === undefined || value < 0 ? null : value;
    gpus.push({
      index,
      name: fields.slice(1, -5).join(',').trim().slice(0, 256),
      utilization: nonNegative(utilization),
      memoryUsed: memoryUsed == null || memoryUsed < 0 ? null : memoryUsed * MIB,
      memoryTotal: memoryTotal == null || memoryTotal < 0 ? null : memoryTotal * MIB,
      temperature: temperature ?? null,
      powerWatts: nonNegative(power),
    });
  }
  return gpus.slice(0, 64);
}

/** The full path of `command` in PATH, or null. */
export function findInPath(command: string, env: NodeJS.ProcessEnv = process.env, platform = process.platform): string | null {
  const names = platform === 'win32' ? [`${command}.exe`] : [command];
  for (const dir of (env.PATH ?? env.Path ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    for (const name of names) {
      const candidate = path.join(dir, name);
      try {
        accessSync(candidate, platform === 'win32' ? constants.F_OK : constants.X_OK);
        return candidate;
      } catch (error) {
        // Not in this directory (ENOENT) or not executable: keep looking in the next one.
        if ((error as NodeJS.ErrnoException).code === undefined) throw error;
      }
    }
  }
  return null;
}

function runNvidiaSmi(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, NVIDIA_SMI_ARGS, { timeout: NVIDIA_SMI_TIMEOUT_MS, windowsHide: true }, (error, stdout) => {
      if (error) reject(new Error(`nvidia-smi failed: ${error.message}`, { cause: error }));
      else resolve(stdout);
    });
  });
}

/** NVIDIA GPUs via nvidia-smi; an empty list (said once at info) when it is not installed. */
export function createGpuCollector(options: { logger: Logger; env?: NodeJS.ProcessEnv }): Collector<GpuSample[]> {
  let nvidiaSmi: string | null | undefined;
  return {
    name: 'gpus',
    fallback: [],
    async collect() {
      if (nvidiaSmi === undefined) {
        nvidiaSmi = findInPath('nvidia-smi', options.env);
        if (nvidiaSmi === null) options.logger.info('no NVIDIA GPU tools (nvidia-smi not in PATH): not reporting GPUs');
      }
      if (nvidiaSmi === null) return [];
      return parseNvidiaSmiCsv(await runNvidiaSmi(nvidiaSmi));
    },
  };
}
