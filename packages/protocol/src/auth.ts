import { z } from 'zod';

/** The authenticated operator (`GET /api/me`). Accounts and roles (issue #6) add kinds. */
export const PrincipalSchema = z.object({ kind: z.literal('admin'), id: z.string() }).meta({ id: 'Principal' });
export type Principal = z.infer<typeof PrincipalSchema>;
