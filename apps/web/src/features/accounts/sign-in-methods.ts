import { SignInMethodsSchema, SSO_ERROR_REASONS, type SignInMethods, type SsoErrorReason } from '@farol/protocol';
import { useQuery } from '@tanstack/react-query';
import { hubUrl } from '../../app/session.js';

/** What a hub without `GET /api/auth/methods` (older than issue #20) offers. */
const PASSWORD_ONLY: SignInMethods = { password: true, oidc: null };

/** How this hub lets people sign in (issue #20): password, single sign-on, or both. Public. */
export async function fetchSignInMethods(baseUrl: string): Promise<SignInMethods> {
  const response = await fetch(`${baseUrl}/api/auth/methods`, { credentials: 'omit', headers: { accept: 'application/json' } });
  if (response.status === 404) return PASSWORD_ONLY;
  if (!response.ok) throw new Error(`GET /api/auth/methods answered ${response.status}`);
  return SignInMethodsSchema.parse(await response.json());
}

export function useSignInMethods() {
  return useQuery({ queryKey: ['auth', 'methods'], queryFn: () => fetchSignInMethods(hubUrl()), staleTime: 5 * 60_000, retry: 1 });
}

/** Where a single sign-on starts, coming back to `returnTo` (a path on this hub). */
export function singleSignOnUrl(loginUrl: string, { returnTo, stepUp = false }: { returnTo?: string; stepUp?: boolean } = {}): string {
  const query = new URLSearchParams();
  if (stepUp) query.set('stepUp', 'true');
  if (returnTo && returnTo !== '/') query.set('returnTo', returnTo);
  const text = query.toString();
  return text === '' ? loginUrl : `${loginUrl}?${text}`;
}

/**
 * Why the last single sign-on came back unsigned-in (`/?sso_error=<reason>`, set by the hub),
 * read once and taken out of the address bar so a reload does not show it again.
 */
export function takeSsoError(location: Location, history: History): SsoErrorReason | null {
  const params = new URLSearchParams(location.search);
  const reason = params.get('sso_error');
  if (reason === null) return null;
  params.delete('sso_error');
  const rest = params.toString();
  history.replaceState(history.state, '', `${location.pathname}${rest === '' ? '' : `?${rest}`}${location.hash}`);
  return (SSO_ERROR_REASONS as readonly string[]).includes(reason) ? (reason as SsoErrorReason) : 'failed';
}
