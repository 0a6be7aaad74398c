import path from 'node:path';
import { Command } from 'commander';
import { loadBundleExport } from '../bundles.js';
import { CliError, UsageError } from '../cli-error.js';
import type { CliContext } from '../context.js';

interface DbCopyReport {
  from: string;
  to: string;
  tables: Array<{ table: string; rows: number }>;
  audit: { ok: boolean; entries: number };
}

/** The export of the hub bundle `farol db copy` uses (apps/hub/src/main.ts `copyDatabase`). */
interface DbCopyBundle {
  copyDatabase(options: { from: string; to: { url: string; caFile?: string; poolSize: number }; force?: boolean }): Promise<DbCopyReport>;
}

/**
 * `farol db copy --from data/farol.db --to postgres://…` (issue #13): a stopped SQLite hub's
 * whole database into an empty PostgreSQL database; then start the hub with the same data
 * directory and FAROL_DATABASE_URL, and its agents reconnect without enrolling again.
 */
export function createDbCopyCommand(context: CliContext): Command {
  return new Command('copy')
    .description('copy a SQLite hub database (stop the hub first) into an empty PostgreSQL database')
    .requiredOption('--from <file>', "the hub's farol.db, or its data directory")
    .requiredOption('--to <url>', 'the PostgreSQL database, postgres://user@host:5432/db')
    .option('--ca-file <file>', "PEM file of the CA of the PostgreSQL server's certificate")
    .option('--force', 'replace the contents of a target database that is not empty')
    .action(async (flags: { from: string; to: string; caFile?: string; force?: boolean }) => {
      if (!/^postgres(ql)?:\/\//.test(flags.to)) throw new UsageError('--to must be a PostgreSQL URL such as postgres://farol@127.0.0.1:5432/farol');
      const copyDatabase = await loadBundleExport<DbCopyBundle, 'copyDatabase'>(context, context.bundles.hub, 'hub', 'copyDatabase');
      let report: DbCopyReport;
      try {
        report = await copyDatabase({
          from: path.resolve(context.cwd, flags.from),
          to: { url: flags.to, poolSize: 2, ...(flags.caFile ? { caFile: path.resolve(context.cwd, flags.caFile) } : {}) },
          force: flags.force === true,
        });
      } catch (error) {
        throw new CliError((error as Error).message, { cause: error });
      }
      const rows = report.tables.reduce((sum, t) => sum + t.rows, 0);
      context.stdout(
        `copied ${rows} rows in ${report.tables.length} tables from ${report.from} to ${report.to}; audit chain verified (${report.audit.entries} entries)\n` +
          `start the hub on it with the same data directory: FAROL_DATABASE_URL=<url> farol hub --data ${path.dirname(report.from)}\n`,
      );
    });
}
