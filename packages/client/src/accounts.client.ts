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
import { contractFailure, networkFailure, responseFailure } from './api-error.js';
import { normalizeBaseUrl, type FarolClientOptions } from './http.client.js';

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

interface Parser<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false; error: unknown };
}

export function createAccountsClient(options: AccountsClientOptions): AccountsClient {
  const baseUrl = normalizeBaseUrl(options.baseUrl);
  const doFetch: typeof fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const timeoutMs = options.timeoutMs ?? 30_000;

  async function request<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body: unknown, schema: Parser<T> | null): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.csrfToken && method !== 'GET') headers[CSRF_HEADER] = options.csrfToken;
    if (options.otp) headers[OTP_HEADER] = options.otp;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await doFetch(`${baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined,
      });
    } catch (error) {
      throw networkFailure(baseUrl, error);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw networkFailure(baseUrl, error);
    }
    let parsedBody: unknown = text;
    if (text !== '') {
      try {
        parsedBody = JSON.parse(text);
      } catch {
        // Not JSON (a proxy's error page): responseFailure describes it by status.
        parsedBody = text;
      }
    }
    if (!response.ok) throw responseFailure(baseUrl, response.status, response.statusText, parsedBody);
    if (!schema) return undefined as T;
    const parsed = schema.safeParse(parsedBody);
    if (!parsed.success) throw contractFailure(baseUrl, response.status, `${method} ${path}`, parsed.error);
    return parsed.data;
  }

  const id = (value: string): string => encodeURIComponent(value);
  return {
    login: (input) => request('POST', '/api/auth/login', input, LoginResultSchema),
    logout: () => request('POST', '/api/auth/logout', undefined, null),
    session: () => request('GET', '/api/auth/session', undefined, SessionInfoSchema),
    stepUp: (otp) => request('POST', '/api/auth/step-up', { otp }, PrincipalSchema),
    changePassword: (currentPassword, newPassword) => request('POST', '/api/me/password', { currentPassword, newPassword }, null),
    enrolTotp: () => request('POST', '/api/me/totp', undefined, TotpEnrolmentSchema),
    confirmTotp: (otp) => request('POST', '/api/me/totp/confirm', { otp }, RecoveryCodesSchema),
    disableTotp: (otp) => request('POST', '/api/me/totp/disable', { otp }, null),
    listTokens: (query = {}) => request('GET', `/api/tokens${query.all ? '?all=true' : ''}`, undefined, ApiTokenListSchema),
    createToken: (input) => request('POST', '/api/tokens', input, ApiTokenCreatedSchema),
    revokeToken: (tokenId) => request('DELETE', `/api/tokens/${id(tokenId)}`, undefined, ApiTokenSchema),
    listUsers: () => request('GET', '/api/users', undefined, UserListSchema),
    createUser: (input) => request('POST', '/api/users', input, UserSchema),
    updateUser: (userId, changes) => request('PATCH', `/api/users/${id(userId)}`, changes, UserSchema),
    listRoles: () => request('GET', '/api/roles', undefined, RoleListSchema),
    createRole: (input) => request('POST', '/api/roles', input, RoleSchema),
    deleteRole: (name) => request('DELETE', `/api/roles/${id(name)}`, undefined, null),
  };
}
