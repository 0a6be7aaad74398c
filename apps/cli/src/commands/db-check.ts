import path from 'node:path';
import { Command } from 'commander';
import { loadBundleExport } from '../bundles.js';
import { CliError } from '../cli-error.js';
import type { CliContext } from '../context.js';
import { createDbCopyCommand } from './db-copy.js';

/** The export of the hub bundle `farol db check` uses (apps/hub/src/main.ts `checkDatabase`). */
interface DbCheckBundle {
  checkDatabase(overrides: { dataDir?: string }): { file: string; ok: boolean; problems: string[]; durationMs: number };
}

/**
 * `farol db check`: a full integrity check of the hub's database, read-only, safe while the
 * hub runs (issue #12). Exit 0 when sound, 1 with the problems and how to restore otherwise.
 */
export function createDbCheckCommand(context: CliContext): Command {
  return new Command('check')
    .description('full integrity check of the hub database (read-only; exit 1 on damage)')
    .option('--data <dir>', 'the hub\'s data directory (default FAROL_DATA_DIR, else ./data)')
    .action(async (flags: { data?: string }) => {
      const checkDatabase = await loadBundleExport<DbCheckBundle, 'checkDatabase'>(context, context.bundles.hub, 'hub', 'checkDatabase');
      let report: ReturnType<DbCheckBundle['checkDatabase']>;
      try {
        report = checkDatabase(flags.data === undefined ? {} : { dataDir: path.resolve(context.cwd, flags.data) });
      } catch (error) {
        throw new CliError((error as Error).message, { cause: error });
      }
      if (report.ok) {
        context.stdout(`${report.file}: ok (integrity_check, ${report.durationMs} ms)\n`);
        return;
      }
      context.stdout(`${report.file}: DAMAGED\n${report.problems.map((line) => `  ${line}`).join('\n')}\n`);
      throw new CliError(
        `the database is damaged: stop the hub, keep a copy of ${report.file}, restore the latest backup of it (see docs/operations.md, "Corruption"), then start the hub`,
      );
    });
}

/** `farol db`: the hub database, on this machine. */
export function createDbCommand(context: CliContext): Command {
  return new Command('db').description('the hub database on this machine: check, copy to PostgreSQL').addCommand(createDbCheckCommand(context)).addCommand(createDbCopyCommand(context));
}
