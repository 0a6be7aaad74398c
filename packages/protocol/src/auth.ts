import { z } from 'zod';
import { DurationSchema } from './tokens.js';

/**
 * Every permission an operator can hold (issue #6). A role is a set of these; an API token
 * holds a subset of its owner's. New permissions are additions; a name is never reused.
 */
export const PERMISSIONS = [
  'nodes:read',
  'nodes:write',
  'commands:exec',
  'containers:manage',
  'terminal:open',
  'screen:view',
  'secrets:read',
  'secrets:write',
  'alerts:manage',
  'join-tokens:manage',
  'audit:read',
  'users:manage',
  /** GET /metrics when the hub listens beyond loopback (#11): it names every machine. */
  'metrics:read',
  /** POST /api/backups (#15): a backup holds every secret and the hub key; only admins by default. */
  'backups:create',
  /** Agent updates and rollouts (#15): replaces the agent's own code on machines in scope. */
  'agents:update',
  /** Service checks (#19): read their definitions, results and uptime; manage: create, change, delete, run now. */
  'checks:read',
  'checks:manage',
] as const;
export const PermissionSchema = z.enum(PERMISSIONS);
export type Permission = z.infer<typeof PermissionSchema>;

/** The roles every hub has; they cannot be changed or removed. */
export const BUILTIN_ROLES = {
  viewer: ['nodes:read', 'metrics:read', 'checks:read'],
  operator: [
    'nodes:read',
    'nodes:write',
    'commands:exec',
    'containers:manage',
    'terminal:open',
    'screen:view',
    'secrets:read',
    'alerts:manage',
    'join-tokens:manage',
    'audit:read',
    'metrics:read',
    'agents:update',
    'checks:read',
    'checks:manage',
  ],
  admin: [...PERMISSIONS],
} as const satisfies Record<string, readonly Permission[]>;
export type BuiltinRole = keyof typeof BUILTIN_ROLES;

export const RoleNameSchema = z.string().regex(/^[a-z][a-z0-9-]{1,31}$/, 'role names are 2-32 lowercase letters, digits or dashes');
export const UsernameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'usernames are 1-64 letters, digits, dots, dashes, @ or underscores');
/** At least 12 characters: long passphrases beat composition rules (NIST SP 800-63B). */
export const PasswordSchema = z.string().min(12, 'passwords need at least 12 characters').max(256);
export const OtpCodeSchema = z.string().regex(/^(\d{6}|[a-z0-9]{5}-[a-z0-9]{5})$/, 'a 6-digit code from the authenticator app, or a recovery code xxxxx-xxxxx');
/** A label selector that limits a role binding, e.g. `env=staging`. */
export const ScopeSchema = z.string().min(1).max(512).describe('Label selector limiting the role to matching machines, e.g. env=staging');

/** The authenticated operator (`GET /api/me`). */
export const PrincipalSchema = z
  .object({
    kind: z.literal('user'),
    id: z.string().describe('User id'),
    name: z.string().describe('Username; what the audit log records as the actor'),
    role: z.string(),
    permissions: z.array(PermissionSchema).describe('Effective: the role\'s, narrowed by the API token when one is used'),
    scope: z.string().nullable().describe('Label selector the role is limited to, or null for every machine'),
    via: z.enum(['token', 'session']),
    tokenId: z.string().nullable(),
    mfaEnabled: z.boolean(),
    mfaAt: z.number().int().nullable().describe('When the second factor was last given on this session (ms since epoch)'),
    stepUpWith: z
      .enum(['code', 'provider'])
      .nullable()
      .optional()
      .describe('How this operator gives a fresh second factor (issue #20): code (TOTP, POST /api/auth/step-up), provider (sign in again at the single sign-on provider, GET /api/auth/oidc/login?stepUp=true), null when step-up does not apply'),
  })
  .meta({ id: 'Principal' });
export type Principal = z.infer<typeof PrincipalSchema>;

export const RoleSchema = z
  .object({ name: z.string(), permissions: z.array(PermissionSchema), builtin: z.boolean(), description: z.string().nullable() })
  .meta({ id: 'Role' });
export type Role = z.infer<typeof RoleSchema>;
export const RoleCreateSchema = z
  .object({ name: RoleNameSchema, permissions: z.array(PermissionSchema).min(1).max(PERMISSIONS.length), description: z.string().max(200).optional() })
  .strict()
  .meta({ id: 'RoleCreate' });
export const RoleListSchema = z.object({ roles: z.array(RoleSchema) }).meta({ id: 'RoleList' });
export const RoleNameParamsSchema = z.object({ name: RoleNameSchema });

export const UserSchema = z
  .object({
    id: z.string(),
    username: z.string(),
    role: z.string(),
    scope: z.string().nullable(),
    disabled: z.boolean(),
    mfaEnabled: z.boolean(),
    createdAt: z.number().int(),
    lastLoginAt: z.number().int().nullable(),
  })
  .meta({ id: 'User' });
export type User = z.infer<typeof UserSchema>;
export const UserListSchema = z.object({ users: z.array(UserSchema) }).meta({ id: 'UserList' });
export const UserCreateSchema = z
  .object({ username: UsernameSchema, password: PasswordSchema, role: RoleNameSchema, scope: ScopeSchema.optional() })
  .strict()
  .meta({ id: 'UserCreate' });
export type UserCreate = z.infer<typeof UserCreateSchema>;
export const UserUpdateSchema = z
  .object({ role: RoleNameSchema.optional(), scope: ScopeSchema.nullable().optional(), disabled: z.boolean().optional(), password: PasswordSchema.optional() })
  .strict()
  .meta({ id: 'UserUpdate' });
export type UserUpdate = z.infer<typeof UserUpdateSchema>;
export const UserIdParamsSchema = z.object({ id: z.string().min(1).max(128) });

export const ApiTokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    userId: z.string(),
    permissions: z.array(PermissionSchema).nullable().describe('null: every permission of the owner'),
    createdAt: z.number().int(),
    expiresAt: z.number().int().nullable(),
    revokedAt: z.number().int().nullable(),
    lastUsedAt: z.number().int().nullable(),
    state: z.enum(['active', 'expired', 'revoked']),
  })
  .meta({ id: 'ApiToken' });
export type ApiToken = z.infer<typeof ApiTokenSchema>;
export const ApiTokenListSchema = z.object({ tokens: z.array(ApiTokenSchema) }).meta({ id: 'ApiTokenList' });
export const ApiTokenCreateSchema = z
  .object({
    name: z.string().min(1).max(100),
    permissions: z.array(PermissionSchema).min(1).max(PERMISSIONS.length).optional().describe('Subset of your permissions; default all of them'),
    ttl: DurationSchema.optional().describe('Lifetime, e.g. 30d; default 90d, at most 365d'),
  })
  .strict()
  .meta({ id: 'ApiTokenCreate' });
export type ApiTokenCreateInput = z.input<typeof ApiTokenCreateSchema>;
export const ApiTokenCreatedSchema = ApiTokenSchema.extend({ token: z.string().describe('Shown only now') }).meta({ id: 'ApiTokenCreated' });
export type ApiTokenCreated = z.infer<typeof ApiTokenCreatedSchema>;
export const ApiTokenIdParamsSchema = z.object({ id: z.string().min(1).max(128) });

export const LoginRequestSchema = z
  .object({
    username: z.string().min(1).max(64),
    password: z.string().min(1).max(256),
    otp: OtpCodeSchema.optional(),
    issue: z.enum(['session', 'token']).default('session').describe('session: an HttpOnly cookie (browsers); token: a new API token (CLI)'),
    tokenName: z.string().min(1).max(100).optional(),
    tokenTtl: DurationSchema.optional().describe('Lifetime of the token with issue=token; default 90d'),
  })
  .strict()
  .meta({ id: 'LoginRequest' });
export type LoginRequestInput = z.input<typeof LoginRequestSchema>;
export const LoginResultSchema = z
  .object({
    principal: PrincipalSchema,
    csrfToken: z.string().nullable().describe('Session logins: send it back as X-CSRF-Token on POST, PUT, PATCH, DELETE'),
    token: ApiTokenCreatedSchema.nullable(),
  })
  .meta({ id: 'LoginResult' });
export type LoginResult = z.infer<typeof LoginResultSchema>;
export const PasswordChangeSchema = z
  .object({ currentPassword: z.string().min(1).max(256), newPassword: PasswordSchema })
  .strict()
  .meta({ id: 'PasswordChange' });
export type PasswordChange = z.infer<typeof PasswordChangeSchema>;
export const OtpRequestSchema = z.object({ otp: OtpCodeSchema }).strict().meta({ id: 'OtpRequest' });
export const TotpEnrolmentSchema = z
  .object({ secret: z.string().describe('base32'), uri: z.string().describe('otpauth://totp/… for a QR code') })
  .meta({ id: 'TotpEnrolment' });
export const RecoveryCodesSchema = z.object({ recoveryCodes: z.array(z.string()).describe('Shown only now; each works once') }).meta({ id: 'RecoveryCodes' });
export const SessionInfoSchema = z.object({ principal: PrincipalSchema, csrfToken: z.string().nullable() }).meta({ id: 'SessionInfo' });

/** How the dashboard may sign in (issue #20): `GET /api/auth/methods`, public. */
export const SignInMethodsSchema = z
  .object({
    password: z.boolean().describe('false with FAROL_LOCAL_SIGNIN=off: POST /api/auth/login answers 403 password_signin_off (API tokens still work)'),
    oidc: z
      .object({ name: z.string().describe('Shown as "Sign in with <name>"'), loginUrl: z.string().describe('Where the browser goes to start single sign-on') })
      .nullable()
      .describe('Single sign-on (OpenID Connect), null when not configured'),
  })
  .meta({ id: 'SignInMethods' });
export type SignInMethods = z.infer<typeof SignInMethodsSchema>;
/** Why a single sign-on attempt ended on the sign-in page (`/?sso_error=<reason>`), never the provider's own text. */
export const SSO_ERROR_REASONS = ['expired', 'refused', 'disabled', 'failed', 'unavailable', 'mismatch'] as const;
export type SsoErrorReason = (typeof SSO_ERROR_REASONS)[number];

/** Header that carries the CSRF token of a cookie session on unsafe methods. */
export const CSRF_HEADER = 'x-csrf-token';
/** Header with a fresh TOTP code, for step-up on API-token requests. */
export const OTP_HEADER = 'x-farol-otp';
/**
 * Header naming the kind of client a request comes through (issue #20): `mcp` for `farol mcp`.
 * Only a label for the audit log (`details.client`); it grants and refuses nothing, and values
 * outside {@link CLIENT_LABELS} are ignored.
 */
export const CLIENT_HEADER = 'x-farol-client';
export const CLIENT_LABELS = ['mcp'] as const;
export type ClientLabel = (typeof CLIENT_LABELS)[number];
export const SESSION_COOKIE = 'farol_session';

/** Failed sign-ins and second factors, aggregated (issue #11): who tried what, without an audit row per attempt. */
export const AuthFailureSchema = z
  .object({
    windowStart: z.number().int().describe('Start of the window (ms since epoch); one row per address, username and window'),
    ip: z.string().describe('Client address (X-Forwarded-For only from FAROL_TRUST_PROXY)'),
    username: z.string().describe('The username tried, as sent (control characters replaced, at most 64 characters); it may not exist'),
    failures: z.number().int().describe('Wrong passwords or codes in the window'),
    refused: z.number().int().describe('Attempts refused unchecked (locked, or too many from the address)'),
    firstAt: z.number().int(),
    lastAt: z.number().int(),
    lastReason: z.string(),
  })
  .meta({ id: 'AuthFailure' });
export type AuthFailure = z.infer<typeof AuthFailureSchema>;
export const AuthFailureListSchema = z.object({ failures: z.array(AuthFailureSchema).describe('Most recent first') }).meta({ id: 'AuthFailureList' });
export const AuthFailureQuerySchema = z
  .object({
    username: z.string().min(1).max(64).optional(),
    ip: z.string().min(1).max(64).optional(),
    since: z.coerce.number().int().nonnegative().optional().describe('ms since epoch; default: the whole retention (30 days)'),
    limit: z.coerce.number().int().min(1).max(1_000).optional().describe('Default 100'),
  })
  .strict();
