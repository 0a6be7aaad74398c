import { z } from 'zod';

/** `POST /api/backups` (issue #15): the passphrase the hub encrypts the backup with; never stored or logged. */
export const BackupRequestSchema = z
  .object({
    passphrase: z.string().min(12, 'the backup passphrase needs at least 12 characters').max(1_024).describe('Encrypts the backup (scrypt, AES-256-GCM); needed to restore it'),
  })
  .meta({ id: 'BackupRequest' });
export type BackupRequest = z.infer<typeof BackupRequestSchema>;

/** Media type of a backup file streamed by `POST /api/backups`. */
export const BACKUP_MEDIA_TYPE = 'application/octet-stream';
