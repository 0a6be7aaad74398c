import { FarolApiError } from '@farol/client';
import { useState, type FormEvent } from 'react';
import { LanguageMenu, ThemeMenu } from '../app/layout.js';
import { usePageTitle } from '../app/page-title.js';
import { describeError } from '../app/query-client.js';
import { useSession } from '../app/session.js';
import { useI18n } from '../i18n/i18n.js';
import type { MessageKey } from '../i18n/messages.js';
import { Button } from '../ui/button.js';
import { ErrorNote, Spinner } from '../ui/card.js';
import { Field, TextInput } from '../ui/field.js';
import { KeyIcon, LighthouseIcon } from '../ui/icons.js';

function signInError(error: unknown): { key: MessageKey; detail: string } {
  if (error instanceof FarolApiError && error.isAuthFailure) return { key: 'signIn.errorRefused', detail: '' };
  if (error instanceof FarolApiError && error.isNetworkFailure) return { key: 'signIn.errorUnreachable', detail: describeError(error) };
  return { key: 'signIn.errorOther', detail: describeError(error) };
}

/**
 * Username and password (and the authenticator code when two-factor sign-in is on), or an API
 * token such as the admin token `npm start` prints.
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
  const [error, setError] = useState<{ key: MessageKey; detail: string } | null>(null);
  usePageTitle(t('signIn.submit'));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const withPassword = token.trim() === '';
    if (withPassword && (username.trim() === '' || password === '')) {
      setError({ key: 'accounts.signIn.errorEmpty', detail: '' });
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
        setError(needsOtp ? { key: 'accounts.signIn.errorOtp', detail: '' } : null);
      } else if (withPassword && failure instanceof FarolApiError && failure.code === 'rate_limited') {
        setError({ key: 'accounts.signIn.errorLocked', detail: failure.message });
      } else if (withPassword && failure instanceof FarolApiError && failure.isAuthFailure) {
        setError({ key: 'accounts.signIn.errorRefused', detail: '' });
      } else {
        setError(signInError(failure));
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
          <p className="mt-2 text-sm text-balance text-slate-600 dark:text-slate-400">{t('signIn.intro')}</p>
        </div>
        <form onSubmit={(event) => void submit(event)} noValidate className="rounded-2xl border border-slate-200 bg-white p-6 shadow-xl shadow-slate-900/5 dark:border-slate-800 dark:bg-slate-900 dark:shadow-black/30">
          {endedBecause === 'expired' && !error && (
            <div className="mb-4">
              <ErrorNote>{t('signIn.expired')}</ErrorNote>
            </div>
          )}
          <div className="flex flex-col gap-4">
            <Field label={t('accounts.signIn.username')}>
              {({ id }) => <TextInput id={id} name="username" autoComplete="username" autoFocus value={username} onChange={(event) => setUsername(event.target.value)} />}
            </Field>
            <Field label={t('accounts.signIn.password')}>
              {({ id }) => <TextInput id={id} name="password" type="password" autoComplete="current-password" value={password} onChange={(event) => setPassword(event.target.value)} />}
            </Field>
            {needsOtp && (
              <Field label={t('accounts.signIn.otp')} hint={t('accounts.signIn.otpHint')}>
                {({ id, describedBy }) => (
                  <TextInput id={id} name="otp" inputMode="numeric" autoComplete="one-time-code" autoFocus value={otp} aria-describedby={describedBy} onChange={(event) => setOtp(event.target.value)} className="font-mono" />
                )}
              </Field>
            )}
          </div>
          <div className="my-5 flex items-center gap-3 text-xs text-slate-400">
            <span className="h-px flex-1 bg-slate-200 dark:bg-slate-800" />
            {t('accounts.signIn.or')}
            <span className="h-px flex-1 bg-slate-200 dark:bg-slate-800" />
          </div>
          <Field label={t('signIn.tokenLabel')} error={error ? t(error.key, { detail: error.detail }) : undefined}>
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
          <Button type="submit" variant="primary" disabled={busy} className="mt-6 w-full">
            {busy && <Spinner className="size-3.5" />}
            {busy ? t('signIn.checking') : t('signIn.submit')}
          </Button>
        </form>
      </main>
    </div>
  );
}
