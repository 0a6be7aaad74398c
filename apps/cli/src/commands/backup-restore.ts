import path from 'node:path';
import { Command } from 'commander';
import { loadBundleExport } from '../bundles.js';
import { CliError } from '../cli-error.js';
import type { CliContext } from '../context.js';
import { readBackupPassphrase } from './backup-create.js';

/** The export of the hub bundle `farol backup restore` uses (apps/hub/src/main.ts `restoreBackup`). */
interface BackupRestoreBundle {
  restoreBackup(input: { file: string; passphrase: string; dataDir: string }): Promise<{ manifest: { createdAt: string; files: string[]; notes: string[] }; dataDir: string }>;
}

/** `farol backup restore FILE --data-dir DIR`: into a new, empty data directory on this machine (issue #15). */
export function createBackupRestoreCommand(context: CliContext): Command {
  return new Command('restore')
    .description('restore a backup into a new, empty data directory; then start the hub on it (farol hub --data DIR)')
    .argument('<file>', 'the backup file (from farol backup create or FAROL_BACKUP_EVERY)')
    .requiredOption('--data-dir <dir>', 'the new data directory (must not exist or be empty)')
    .option('--passphrase-file <file>', 'file holding the passphrase (else FAROL_BACKUP_PASSPHRASE)')
    .action(async (file: string, flags: { dataDir: string; passphraseFile?: string }) => {
      const passphrase = readBackupPassphrase(context, flags.passphraseFile);
      const restoreBackup = await loadBundleExport<BackupRestoreBundle, 'restoreBackup'>(context, context.bundles.hub, 'hub', 'restoreBackup');
      let result: Awaited<ReturnType<BackupRestoreBundle['restoreBackup']>>;
      try {
        result = await restoreBackup({ file: path.resolve(context.cwd, file), passphrase, dataDir: path.resolve(context.cwd, flags.dataDir) });
      } catch (error) {
        throw new CliError((error as Error).message, { cause: error });
      }
      const notes = result.manifest.notes.map((note) => `  note: ${note}\n`).join('');
      context.stdout(`restored the backup of ${result.manifest.createdAt} into ${result.dataDir} (${result.manifest.files.join(', ')})\n${notes}start the hub on it: farol hub --data ${result.dataDir}\n`);
    });
}
