import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CliError } from './cli-error.js';
import type { CliContext } from './context.js';

/** What `farol login` saves: which hub, and the operator token for it. */
export interface CliConfig {
  hubUrl: string;
  token: string;
}

/** `$FAROL_CONFIG`, else `$XDG_CONFIG_HOME/farol/config.json`, else `~/.config/farol/config.json`. */
export function configFilePath(context: Pick<CliContext, 'env' | 'homeDir'>): string {
  if (context.env.FAROL_CONFIG) return context.env.FAROL_CONFIG;
  const configHome = context.env.XDG_CONFIG_HOME || path.join(context.homeDir, '.config');
  return path.join(configHome, 'farol', 'config.json');
}

/** Reads the saved login; null when there is none. A damaged file is an error, not "no login". */
export async function readConfigFile(file: string): Promise<CliConfig | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${file} is not valid JSON; run farol login again`, { cause: error });
  }
  const config = data as Partial<CliConfig> | null;
  if (typeof config !== 'object' || config === null || typeof config.hubUrl !== 'string' || typeof config.token !== 'string') {
    throw new CliError(`${file} does not hold { hubUrl, token }; run farol login again`);
  }
  return { hubUrl: config.hubUrl, token: config.token };
}

/**
 * Saves the login readable by its owner only (0600, directory 0700). Written to a temporary
 * file then renamed, so an interrupted write never leaves half a token behind.
 */
export async function writeConfigFile(file: string, config: CliConfig): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, file);
  // writeFile's mode applies only to new files; an older file keeps whatever mode it had.
  await chmod(file, 0o600);
}
