import { createAccountsClient, FarolApiError, TerminalError } from '@farol/client';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { describeError } from '../../app/query-client.js';
import { useSignedIn } from '../../app/session.js';
import { useI18n } from '../../i18n/i18n.js';
import { singleSignOnUrl, useSignInMethods } from '../accounts/sign-in-methods.js';
import { Button, buttonClasses } from '../../ui/button.js';
import { ErrorNote } from '../../ui/card.js';
import { Modal } from '../../ui/dialog.js';
import { Field, TextInput } from '../../ui/field.js';

/** True when the hub refused an action only because the second factor is not recent enough. */
export function isMfaRequired(error: unknown): boolean {
  return (error instanceof FarolApiError || error instanceof TerminalError) && error.code === 'mfa_required';
}

interface StepUpApi {
  /** Asks for a code and steps up; resolves true once the hub accepted it, false if the person cancelled. */
  ask(): Promise<boolean>;
  /** Runs `action`; on `mfa_required` asks for a code, steps up and runs it once more. */
  run<T>(action: () => Promise<T>): Promise<T>;
}

const StepUpContext = createContext<StepUpApi | null>(null);

export function useStepUp(): StepUpApi {
  const api = useContext(StepUpContext);
  if (!api) throw new Error('useStepUp needs <StepUpProvider>');
  return api;
}

/**
 * The inline second factor: an action refused with `mfa_required` (shell commands, terminals,
 * secret reads) opens one small dialog for the 6-digit code or a recovery code, calls
 * `POST /api/auth/step-up` (remembered on the session or API token for FAROL_MFA_MAX_AGE), and
 * the action is retried. Several refused actions at once share the one dialog. A single sign-on
 * user without Farol's TOTP (issue #20) is sent to the provider to sign in again instead
 * (`GET /api/auth/oidc/login?stepUp=true`), and comes back to this page.
 */
export function StepUpProvider({ children }: { children: ReactNode }) {
  const { t } = useI18n();
  const { clientOptions, client } = useSignedIn();
  const queryClient = useQueryClient();
  // The same query as useMe (accounts hooks), shared through its key.
  const me = useQuery({ queryKey: ['accounts', 'me'], queryFn: () => client.me(), staleTime: 30_000 });
  const methods = useSignInMethods();
  const provider = me.data?.stepUpWith === 'provider' ? (methods.data?.oidc ?? null) : null;
  const [open, setOpen] = useState(false);
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const waiting = useRef<Array<(ok: boolean) => void>>([]);

  const settle = useCallback((ok: boolean) => {
    const resolvers = waiting.current;
    waiting.current = [];
    setOpen(false);
    setCode('');
    setError(null);
    resolvers.forEach((resolve) => resolve(ok));
  }, []);

  const ask = useCallback(
    () =>
      new Promise<boolean>((resolve) => {
        waiting.current.push(resolve);
        setOpen(true);
      }),
    [],
  );

  const run = useCallback(
    async <T,>(action: () => Promise<T>): Promise<T> => {
      try {
        return await action();
      } catch (error) {
        if (!isMfaRequired(error)) throw error;
        if (!(await ask())) throw error;
        return action();
      }
    },
    [ask],
  );

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    // Authenticator codes are often copied with a space in the middle ("123 456").
    const otp = code.replace(/\s+/g, '');
    if (otp === '') return;
    setBusy(true);
    setError(null);
    try {
      await createAccountsClient(clientOptions).stepUp(otp);
      void queryClient.invalidateQueries({ queryKey: ['accounts', 'me'] });
      settle(true);
    } catch (failure) {
      setError(failure instanceof FarolApiError && (failure.code === 'unauthorized' || failure.status === 401 || failure.status === 400) ? t('stepUp.wrong') : describeError(failure));
    } finally {
      setBusy(false);
    }
  };

  const value = useMemo(() => ({ ask, run }), [ask, run]);
  return (
    <StepUpContext.Provider value={value}>
      {children}
      <Modal open={open} onOpenChange={(next) => !next && settle(false)} title={t('stepUp.title')} description={provider ? t('stepUp.providerIntro', { name: provider.name }) : t('stepUp.intro')}>
        {provider ? (
          <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end" data-testid="step-up-provider">
            <Button onClick={() => settle(false)}>{t('common.cancel')}</Button>
            <a href={singleSignOnUrl(provider.loginUrl, { stepUp: true, returnTo: `${window.location.pathname}${window.location.search}` })} className={buttonClasses('primary')}>
              {t('stepUp.providerSubmit', { name: provider.name })}
            </a>
          </div>
        ) : (
        <form onSubmit={(event) => void submit(event)} noValidate className="flex flex-col gap-4" data-testid="step-up-form">
          <Field label={t('stepUp.code')} hint={t('stepUp.hint')}>
            {({ id, describedBy }) => (
              <TextInput
                id={id}
                name="stepUpCode"
                value={code}
                onChange={(event) => (setCode(event.target.value), setError(null))}
                autoComplete="one-time-code"
                inputMode="text"
                autoFocus
                spellCheck={false}
                autoCapitalize="off"
                maxLength={32}
                aria-describedby={describedBy}
                className="font-mono tracking-widest"
              />
            )}
          </Field>
          {error && <ErrorNote>{error}</ErrorNote>}
          <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
            <Button onClick={() => settle(false)}>{t('common.cancel')}</Button>
            <Button type="submit" variant="primary" disabled={busy || code.trim() === ''}>
              {t('stepUp.submit')}
            </Button>
          </div>
        </form>
        )}
      </Modal>
    </StepUpContext.Provider>
  );
}
