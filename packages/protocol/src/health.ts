import { z } from 'zod';

export const HealthSchema = z
  .object({ status: z.literal('ok'), version: z.string(), uptimeSeconds: z.number() })
  .meta({ id: 'Health' });
export type Health = z.infer<typeof HealthSchema>;

export const ReadySchema = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    database: z.enum(['ok', 'error']),
    /** Which database was checked: the SQLite file, or `postgresql://host:port/database` (no user or password). */
    databaseName: z.string().optional(),
    /** Whether the last write reached the disk (a full disk makes it `failing`). */
    writes: z.enum(['ok', 'failing']).optional(),
    /** The start-up `PRAGMA quick_check`. */
    integrity: z.enum(['ok', 'failed', 'unchecked']).optional(),
    /** Several hubs (issue #14): whether this hub reaches the Redis they share; absent for one hub. */
    redis: z.enum(['ok', 'lost']).optional(),
    /** What is wrong and what to do, when not ready. */
    detail: z.string().optional(),
  })
  .meta({ id: 'Ready' });
export type Ready = z.infer<typeof ReadySchema>;
