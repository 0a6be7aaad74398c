import { z } from 'zod';

export const HealthSchema = z
  .object({ status: z.literal('ok'), version: z.string(), uptimeSeconds: z.number() })
  .meta({ id: 'Health' });
export type Health = z.infer<typeof HealthSchema>;

export const ReadySchema = z
  .object({ status: z.enum(['ready', 'not_ready']), database: z.enum(['ok', 'error']), detail: z.string().optional() })
  .meta({ id: 'Ready' });
export type Ready = z.infer<typeof ReadySchema>;
