import {
  ApiTokenCreatedSchema,
  ApiTokenListSchema,
  ApiTokenSchema,
  CSRF_HEADER,
  LoginResultSchema,
  OTP_HEADER,
  PrincipalSchema,
  RecoveryCodesSchema,
  RoleListSchema,
  RoleSchema,
  SessionInfoSchema,
  TotpEnrolmentSchema,
  UserListSchema,
  UserSchema,
  type ApiToken,
  type ApiTokenCreated,
  type ApiTokenCreateInput,
  type LoginRequestInput,
  type LoginResult,
  type Permission,
  type Principal,
  type Role,
  type User,
  type UserCreate,
  type UserUpdate,
} from '@farol/protocol';
import { createTransport, segment, type FarolClientOptions } from './transport.js';

/** Options of the accounts client: a token, or (in the browser) the session cookie plus its CSRF token. */
export interface AccountsClientOptions extends FarolClientOptions {
  /** Sent as X-CSRF-Token on unsafe methods, for a cookie session. */
  csrfToken?: string | undefined;
  /** A fresh TOTP code, sent as X-Farol-OTP (step-up for API-token callers). */
  otp?: string | undefined;
}

/** Sign-in, API tokens, users and roles of a hub (issue #6). Every method throws FarolApiError on failure. */
export interface AccountsClient {
  login(input: LoginRequestInput): Promise<LoginResult>;
  logout(): Promise<void>;
  session(): Promise<{ principal: Principal; csrfToken: string | null }>;
  stepUp(otp: string): Promise<Principal>;
  changePassword(currentPassword: string, newPassword: string): Promise<void>;
  enrolTotp(): Promise<{ secret: string; uri: string }>;
  confirmTotp(otp: string): Promise<{ recoveryCodes: string[] }>;
  disableTotp(otp: string): Promise<void>;
  listTokens(options?: { all?: boolean }): Promise<{ tokens: ApiToken[] }>;
  createToken(input: ApiTokenCreateInput): Promise<ApiTokenCreated>;
  revokeToken(id: string): Promise<ApiToken>;
  listUsers(): Promise<{ users: User[] }>;
  createUser(input: UserCreate): Promise<User>;
  updateUser(id: string, changes: UserUpdate): Promise<User>;
  listRoles(): Promise<{ roles: Role[] }>;
  createRole(input: { name: string; permissions: Permission[]; description?: string }): Promise<Role>;
  deleteRole(name: string): Promise<void>;
}

export function createAccountsClient(options: AccountsClientOptions): AccountsClient {
  const { request } = createTransport(options, {
    headers: (method) => {
      const headers: Record<string, string> = {};
      if (options.csrfToken && method !== 'GET') headers[CSRF_HEADER] = options.csrfToken;
      if (options.otp) headers[OTP_HEADER] = options.otp;
      return headers;
    },
  });
  return {
    login: (input) => request({ method: 'POST', path: '/api/auth/login', body: input, schema: LoginResultSchema }),
    logout: () => request<void>({ method: 'POST', path: '/api/auth/logout' }),
    session: () => request({ method: 'GET', path: '/api/auth/session', schema: SessionInfoSchema }),
    stepUp: (otp) => request({ method: 'POST', path: '/api/auth/step-up', body: { otp }, schema: PrincipalSchema }),
    changePassword: (currentPassword, newPassword) => request<void>({ method: 'POST', path: '/api/me/password', body: { currentPassword, newPassword } }),
    enrolTotp: () => request({ method: 'POST', path: '/api/me/totp', schema: TotpEnrolmentSchema }),
    confirmTotp: (otp) => request({ method: 'POST', path: '/api/me/totp/confirm', body: { otp }, schema: RecoveryCodesSchema }),
    disableTotp: (otp) => request<void>({ method: 'POST', path: '/api/me/totp/disable', body: { otp } }),
    listTokens: (query = {}) => request({ method: 'GET', path: '/api/tokens', query: { all: query.all ? 'true' : undefined }, schema: ApiTokenListSchema }),
    createToken: (input) => request({ method: 'POST', path: '/api/tokens', body: input, schema: ApiTokenCreatedSchema }),
    revokeToken: (tokenId) => request({ method: 'DELETE', path: `/api/tokens/${segment(tokenId)}`, schema: ApiTokenSchema }),
    listUsers: () => request({ method: 'GET', path: '/api/users', schema: UserListSchema }),
    createUser: (input) => request({ method: 'POST', path: '/api/users', body: input, schema: UserSchema }),
    updateUser: (userId, changes) => request({ method: 'PATCH', path: `/api/users/${segment(userId)}`, body: changes, schema: UserSchema }),
    listRoles: () => request({ method: 'GET', path: '/api/roles', schema: RoleListSchema }),
    createRole: (input) => request({ method: 'POST', path: '/api/roles', body: input, schema: RoleSchema }),
    deleteRole: (name) => request<void>({ method: 'DELETE', path: `/api/roles/${segment(name)}` }),
  };
}
