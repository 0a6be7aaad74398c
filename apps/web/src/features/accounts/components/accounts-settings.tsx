import { useMe } from '../hooks/use-accounts.js';
import { ApiTokensPanel } from './api-tokens-panel.js';
import { PasswordPanel } from './password-panel.js';
import { TwoFactorPanel } from './two-factor-panel.js';
import { UsersPanel } from './users-panel.js';

/** The accounts part of Settings: your password, second factor and API tokens, and users for those who manage them. */
export function AccountsSettings() {
  const me = useMe();
  return (
    <>
      <div className="grid gap-6 lg:grid-cols-2">
        <PasswordPanel />
        <TwoFactorPanel />
      </div>
      <ApiTokensPanel />
      {me.data?.permissions.includes('users:manage') && <UsersPanel />}
    </>
  );
}
