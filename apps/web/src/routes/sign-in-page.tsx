import { FarolApiError } from '@farol/client';
import { useState, type FormEvent } from 'react';
import { LanguageMenu, ThemeMenu } from '../app/layout.js';
import { usePageTitle } from '../app/page-title.js';
import { describeError } from '../app/query-client.js';
import { useSession } from '../app/session.js';
import { useI18n } from '../i18n/i18n.js';
import type { MessageKey } from '../i18n/messages.js';
import { singleSignOnUrl, takeSsoError, useSignInMethods } from '../features/accounts/sign-in-methods.js';
import { Button, buttonClasses } from '../ui/button.js';
import { ErrorNote, Spinner } from '../ui/card.js';
import { Field, TextInput } from '../ui/field.js';
import { KeyIcon, LighthouseIcon } from '../ui/icons.js';

/** A sign-in error and the field it is shown under: the one the operator used (issue #21). */
interface SignInError {
  key: MessageKey;
  detail: string;
  field: 'password' | 'otp' | 'token';
}

function signInError(error: unknown, field: SignInError['field']): SignInError {
  if (error instanceof FarolApiError && error.isAuthFailure) return { key: field === 'token' ? 'signIn.errorRefused' : 'accounts.signIn.errorRefused', detail: '', field };
  if (error instanceof FarolApiError && error.isNetworkFailure) return { key: 'signIn.errorUnreachable', detail: describeError(error), field };
  return { key: 'signIn.errorOther', detail: describeError(error), field };
}

/**
 * Username and password (and the authenticator code when two-factor sign-in is on), or an API
 * token such as the admin token `npm start` prints. With single sign-on (issue #20) a "Sign in
 * with <provider>" link comes first, and the password fields go when the hub turned them off
 * (FAROL_LOCAL_SIGNIN=off); the API token stays, the break-glass.
 */
export function SignInPage() {
  const { t } = useI18n();
  const { signIn, signInWithPassword, endedBecause } = useSession();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [otp, setOtp] = useState('');
  const [needsOtp, setNeedsOtp] = useState(false);
  const [token, setToken] = useState('');
  const [remember, setRemember] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<SignInError | null>(null);
  const [ssoError] = useState(() => takeSsoError(window.location, window.history));
  const methods = useSignInMethods();
  const passwordAllowed = methods.data?.password ?? true;
  const oidc = methods.data?.oidc ?? null;
  const errorFor = (field: SignInError['field']) => (error?.field === field ? t(error.key, { detail: error.detail }) : undefined);
  usePageTitle(t('signIn.submit'));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const withPassword = passwordAllowed && token.trim() === '';
    if (!passwordAllowed && token.trim() === '') {
      setError({ key: 'signIn.errorEmpty', detail: '', field: 'token' });
      return;
    }
    if (withPassword && (username.trim() === '' || password === '')) {
      setError({ key: 'accounts.signIn.errorEmpty', detail: '', field: 'password' });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      if (withPassword) {
        await signInWithPassword({ username: username.trim(), password, ...(needsOtp && otp.trim() ? { otp: otp.trim() } : {}) });
      } else {
        await signIn(token, remember);
      }
    } catch (failure) {
      if (failure instanceof FarolApiError && failure.code === 'mfa_required') {
        setNeedsOtp(true);
        setError(needsOtp ? { key: 'accounts.signIn.errorOtp', detail: '', field: 'otp' } : null);
      } else if (withPassword && failure instanceof FarolApiError && failure.code === 'rate_limited') {
        setError({ key: 'accounts.signIn.errorLocked', detail: failure.message, field: 'password' });
      } else {
        setError(signInError(failure, withPassword ? 'password' : 'token'));
      }
      setBusy(false);
    }
  };

  return (
    <div className="relative flex min-h-dvh flex-col items-center justify-center bg-gradient-to-b from-indigo-50/70 via-slate-50 to-slate-50 px-4 py-12 dark:from-indigo-950/30 dark:via-slate-950 dark:to-slate-950">
      <div className="absolute top-3 right-3 flex gap-0.5">
        <LanguageMenu />
        <ThemeMenu />
      </div>
      <main className="w-full max-w-md">
        <div className="mb-8 flex flex-col items-center text-center">
          <LighthouseIcon className="size-12 shadow-lg shadow-indigo-500/20 rounded-xl" />
          <h1 className="mt-5 text-2xl font-semibold tracking-tight text-slate-900 dark:text-white">{t('signIn.title')}</h1>
          <p className="mt-2 text-sm text-balance text-slate-600 dark:text-slate-400">{t(passwordAllowed ? 'signIn.intro' : 'signIn.introSso')}</p>
        </div>
        <form onSubmit={(event) => void submit(event)} noValidate className="rounded-2xl border border-slate-200 bg-white p-6 shadow-xl shadow-slate-900/5 dark:border-slate-800 dark:bg-slate-900 dark:shadow-black/30">
          {endedBecause === 'expired' && !error && (
            <div className="mb-4">
              <ErrorNote>{t('signIn.expired')}</ErrorNote>
            </div>
          )}
          {ssoError && !error && (
            <div className="mb-4">
              <ErrorNote>{t(`signIn.ssoError.${ssoError}`)}</ErrorNote>
            </div>
          )}
          {oidc && (
            <>
              <a href={singleSignOnUrl(oidc.loginUrl)} className={buttonClasses('primary', 'md', 'w-full')} data-testid="sso-sign-in">
                {t('signIn.sso', { name: oidc.name })}
              </a>
              {passwordAllowed && (
                <div className="my-5 flex items-center gap-3 text-xs text-slate-400">
                  <span className="h-px flex-1 bg-slate-200 dark:bg-slate-800" />
                  {t('signIn.ssoOr')}
                  <span className="h-px flex-1 bg-slate-200 dark:bg-slate-800" />
                </div>
              )}
            </>
          )}
          {passwordAllowed && (
          <div className="flex flex-col gap-4">
            <Field label={t('accounts.signIn.username')}>
              {({ id }) => <TextInput id={id} name="username" autoComplete="username" autoFocus value={username} onChange={(event) => setUsername(event.target.value)} />}
            </Field>
            <Field label={t('accounts.signIn.password')} error={errorFor('password')}>
              {({ id, describedBy, invalid }) => (
                <TextInput
                  id={id}
                  name="password"
                  type="password"
                  autoComplete="current-password"
                  value={password}
                  aria-describedby={describedBy}
                  aria-invalid={invalid}
                  onChange={(event) => setPassword(event.target.value)}
                />
              )}
            </Field>
            {needsOtp && (
              <Field label={t('accounts.signIn.otp')} hint={t('accounts.signIn.otpHint')} error={errorFor('otp')}>
                {({ id, describedBy, invalid }) => (
                  <TextInput
                    id={id}
                    name="otp"
                    inputMode="numeric"
                    autoComplete="one-time-code"
                    autoFocus
                    value={otp}
                    aria-describedby={describedBy}
                    aria-invalid={invalid}
                    onChange={(event) => setOtp(event.target.value)}
                    className="font-mono"
                  />
                )}
              </Field>
            )}
          </div>
          )}
          <div className="my-5 flex items-center gap-3 text-xs text-slate-400">
            <span className="h-px flex-1 bg-slate-200 dark:bg-slate-800" />
            {t('accounts.signIn.or')}
            <span className="h-px flex-1 bg-slate-200 dark:bg-slate-800" />
          </div>
          <Field label={t('signIn.tokenLabel')} error={errorFor('token')}>
            {({ id, describedBy, invalid }) => (
              <div className="relative">
                <KeyIcon className="pointer-events-none absolute top-1/2 left-3 size-4 -translate-y-1/2 text-slate-400" />
                <TextInput
                  id={id}
                  name="token"
                  type="password"
                  autoComplete="off"
                  spellCheck={false}
                  value={token}
                  onChange={(event) => setToken(event.target.value)}
                  aria-describedby={describedBy}
                  aria-invalid={invalid}
                  className="pl-9 font-mono"
                  placeholder="fat_…"
                />
              </div>
            )}
          </Field>
          <label className="mt-4 flex cursor-pointer items-start gap-3 rounded-lg p-1 -m-1">
            <input
              type="checkbox"
              name="remember"
              checked={remember}
              onChange={(event) => setRemember(event.target.checked)}
              className="mt-0.5 size-4 rounded border-slate-300 accent-indigo-600 pointer-coarse:size-5"
            />
            <span>
              <span className="block text-sm font-medium text-slate-700 dark:text-slate-200">{t('signIn.remember')}</span>
              <span className="block text-xs text-slate-500 dark:text-slate-400">{t('signIn.rememberHint')}</span>
            </span>
          </label>
          <Button type="submit" variant={oidc ? 'secondary' : 'primary'} disabled={busy} className="mt-6 w-full">
            {busy && <Spinner className="size-3.5" />}
            {busy ? t('signIn.checking') : t('signIn.submit')}
          </Button>
        </form>
      </main>
    </div>
  );
}
