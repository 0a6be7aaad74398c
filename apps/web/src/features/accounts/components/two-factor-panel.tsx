import { useState, type FormEvent } from 'react';
import { describeError } from '../../../app/query-client.js';
import { useI18n } from '../../../i18n/i18n.js';
import { Button } from '../../../ui/button.js';
import { ErrorNote, Panel, Spinner } from '../../../ui/card.js';
import { CopyLine } from '../../../ui/copy-button.js';
import { Field, TextInput } from '../../../ui/field.js';
import { useToast } from '../../../ui/toast.js';
import { useMe, useTwoFactor } from '../hooks/use-accounts.js';

function CodeForm({ label, submitLabel, busy, onSubmit, name }: { label: string; submitLabel: string; busy: boolean; onSubmit: (code: string) => void; name: string }) {
  const [code, setCode] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (code.trim()) onSubmit(code.trim());
  };
  return (
    <form onSubmit={submit} className="flex flex-wrap items-end gap-3" noValidate>
      <Field label={label} className="w-48">
        {({ id }) => <TextInput id={id} name={name} inputMode="numeric" autoComplete="one-time-code" value={code} onChange={(e) => setCode(e.target.value)} className="font-mono" />}
      </Field>
      <Button type="submit" disabled={busy || code.trim() === ''}>
        {busy && <Spinner className="size-3.5" />} {submitLabel}
      </Button>
    </form>
  );
}

/**
 * Two-factor sign-in (TOTP): turn it on with an authenticator app, keep the recovery codes,
 * confirm it is you before shell commands, terminals and secret reads, or turn it off.
 */
export function TwoFactorPanel() {
  const { t } = useI18n();
  const notify = useToast();
  const me = useMe();
  const twoFactor = useTwoFactor();
  const [recoveryCodes, setRecoveryCodes] = useState<string[] | null>(null);
  const enrolment = twoFactor.enrol.data;
  const error = twoFactor.enrol.error ?? twoFactor.confirm.error ?? twoFactor.stepUp.error ?? twoFactor.disable.error;

  return (
    <Panel title={t('accounts.mfa.title')} description={t('accounts.mfa.intro')} data-testid="two-factor">
      {me.data && !me.data.mfaEnabled && !enrolment && (
        <Button onClick={() => twoFactor.enrol.mutate()} disabled={twoFactor.enrol.isPending}>
          {t('accounts.mfa.turnOn')}
        </Button>
      )}
      {me.data && !me.data.mfaEnabled && enrolment && (
        <div className="flex flex-col gap-4">
          <p className="text-sm text-slate-600 dark:text-slate-300">{t('accounts.mfa.scan')}</p>
          <CopyLine text={enrolment.secret} label={t('accounts.mfa.secret')} testId="totp-secret" />
          <CopyLine text={enrolment.uri} label={t('accounts.mfa.uri')} testId="totp-uri" />
          <CodeForm
            name="totpConfirm"
            label={t('accounts.mfa.code')}
            submitLabel={t('accounts.mfa.confirm')}
            busy={twoFactor.confirm.isPending}
            onSubmit={(code) => twoFactor.confirm.mutate(code, { onSuccess: (result) => setRecoveryCodes(result.recoveryCodes) })}
          />
        </div>
      )}
      {recoveryCodes && (
        <div className="mb-4 rounded-lg border border-amber-300 bg-amber-50 p-3 dark:border-amber-500/40 dark:bg-amber-500/10" data-testid="recovery-codes">
          <p className="mb-2 text-sm font-medium text-amber-900 dark:text-amber-200">{t('accounts.mfa.recovery')}</p>
          <ul className="grid grid-cols-2 gap-1 font-mono text-xs sm:grid-cols-5">
            {recoveryCodes.map((code) => (
              <li key={code}>{code}</li>
            ))}
          </ul>
        </div>
      )}
      {me.data?.mfaEnabled && (
        <div className="flex flex-col gap-5">
          <CodeForm
            name="totpStepUp"
            label={t('accounts.mfa.stepUp')}
            submitLabel={t('accounts.mfa.stepUpSubmit')}
            busy={twoFactor.stepUp.isPending}
            onSubmit={(code) => twoFactor.stepUp.mutate(code, { onSuccess: () => notify(t('accounts.mfa.steppedUp')) })}
          />
          <CodeForm
            name="totpDisable"
            label={t('accounts.mfa.turnOffCode')}
            submitLabel={t('accounts.mfa.turnOff')}
            busy={twoFactor.disable.isPending}
            onSubmit={(code) => twoFactor.disable.mutate(code, { onSuccess: () => (setRecoveryCodes(null), twoFactor.enrol.reset(), notify(t('accounts.mfa.turnedOff'))) })}
          />
        </div>
      )}
      {error && <div className="mt-3"><ErrorNote>{describeError(error)}</ErrorNote></div>}
    </Panel>
  );
}
