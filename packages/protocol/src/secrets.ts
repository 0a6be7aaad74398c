import { z } from 'zod';

// ---- limits ---------------------------------------------------------------------------------

/** Largest secret value (bytes of UTF-8 are checked by the hub; this is characters). */
export const MAX_SECRET_VALUE_LENGTH = 32_768;
/** Most secrets one command may ask for. */
export const MAX_SECRETS_PER_COMMAND = 64;
/** What redacted secret values read as in job output and logs. */
export const SECRET_REDACTION = '[secret]';

// ---- names, scopes, sources -------------------------------------------------------------------

/**
 * A secret's name is also the environment variable a command receives it as, so it follows the
 * same rule as command environment names.
 */
export const SecretNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'secret names are environment variable names: letters, digits and _, not starting with a digit');

/** Text that can cross exec() as an environment value: no NUL byte. */
export const SecretValueSchema = z
  .string()
  .min(1, 'a secret value cannot be empty')
  .max(MAX_SECRET_VALUE_LENGTH)
  .regex(/^[^\0]*$/, 'must not contain a NUL byte');

/**
 * Which machines may receive a secret: a label selector (`env=prod,role=db`), where the
 * pseudo-label `name` is the agent's name (`name=web-1`) and `*` means every machine. Checked
 * against the agent's labels and name at the moment it asks, not when the secret was written.
 */
export const SecretScopeSchema = z
  .string()
  .min(1)
  .max(1024)
  .describe('Label selector of the machines that may receive it (`role=db,env=prod`, `name=web-1`, or `*` for all)');

/** Where the value lives: sealed in the hub's database, or read through from a vault at every read. */
export const SecretSourceSchema = z.enum(['hub', 'vault', 'infisical']);
export type SecretSource = z.infer<typeof SecretSourceSchema>;

/** Where in Vault or Infisical the value is read from; default: the secret's own name. */
export const SecretRefSchema = z
  .object({
    path: z
      .string()
      .min(1)
      .max(512)
      .regex(/^[A-Za-z0-9_./-]+$/, 'letters, digits and _ . / - only')
      .refine((p) => !p.split('/').some((part) => part === '..' || part === '.'), { message: 'no . or .. segments' })
      .optional()
      .describe('Vault: KV v2 path under the mount; Infisical: the secret name there'),
    key: z
      .string()
      .min(1)
      .max(256)
      .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits and _ . - only')
      .optional()
      .describe('Vault only: the field inside the KV entry; default `value`'),
  })
  .strict();
export type SecretRef = z.infer<typeof SecretRefSchema>;

// ---- REST ---------------------------------------------------------------------------------

/** `PUT /api/secrets/:name`: a value to seal in the hub, or a reference to read through. */
export const SecretPutSchema = z
  .union([
    z
      .object({
        value: SecretValueSchema,
        scope: SecretScopeSchema,
        description: z.string().max(500).optional(),
      })
      .strict(),
    z
      .object({
        source: z.enum(['vault', 'infisical']),
        ref: SecretRefSchema.optional(),
        scope: SecretScopeSchema,
        description: z.string().max(500).optional(),
      })
      .strict(),
  ])
  .meta({ id: 'SecretPut' });
export type SecretPut = z.infer<typeof SecretPutSchema>;

/** A secret as listed: never its value. */
export const SecretSummarySchema = z
  .object({
    name: SecretNameSchema,
    scope: z.string(),
    source: SecretSourceSchema,
    ref: SecretRefSchema.nullable(),
    description: z.string().nullable(),
    version: z.number().int().positive().describe('Bumped at every change of the value or scope'),
    createdAt: z.number().int(),
    updatedAt: z.number().int(),
    updatedBy: z.string(),
  })
  .meta({ id: 'SecretSummary' });
export type SecretSummary = z.infer<typeof SecretSummarySchema>;

export const SecretListSchema = z.object({ secrets: z.array(SecretSummarySchema) }).meta({ id: 'SecretList' });
export type SecretList = z.infer<typeof SecretListSchema>;

export const SecretNameParamsSchema = z.object({ name: SecretNameSchema });

/** `POST /api/secrets/:name/reveal`: the one operator read of a value; audited. */
export const SecretRevealSchema = z.object({ name: SecretNameSchema, value: z.string() }).meta({ id: 'SecretReveal' });
export type SecretReveal = z.infer<typeof SecretRevealSchema>;

// ---- agent → hub (/agent namespace) ---------------------------------------------------------

/**
 * `secrets:fetch`: right before it runs a command that asks for secrets, the agent fetches
 * them. The hub answers only for a command it sent this agent, still unfinished, naming these
 * secrets, and only for secrets whose scope matches the agent now.
 */
export const SecretsFetchSchema = z
  .object({
    // The command id pattern of jobs.ts, restated: jobs.ts imports this module.
    commandId: z.string().regex(/^cmd_[a-z0-9]{16}$/, 'command ids look like cmd_ followed by 16 chars'),
    names: z.array(SecretNameSchema).min(1).max(MAX_SECRETS_PER_COMMAND),
  })
  .strict();
export type SecretsFetch = z.infer<typeof SecretsFetchSchema>;

export const SecretsFetchAckSchema = z.object({
  secrets: z.array(z.object({ name: SecretNameSchema, value: z.string() })),
});
export type SecretsFetchAck = z.infer<typeof SecretsFetchAckSchema>;
