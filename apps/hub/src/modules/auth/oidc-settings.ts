import { readFileSync } from 'node:fs';
import type { HubConfig } from '../../config.js';
import { parseRoleMap, unknownRoles } from './oidc-role-map.js';
import type { OidcSettings } from './oidc.service.js';

/** The callback route; the redirect URL registered at the provider ends with it. */
export const OIDC_CALLBACK_PATH = '/api/auth/oidc/callback';

/**
 * FAROL_OIDC_* → the settings of the single sign-on (issue #20), or null when it is off. Reads
 * the client secret and role-mapping files; throws `OidcRoleMapError` listing every problem of
 * the mapping (main.ts turns it into a configuration error: the hub does not start).
 */
export function loadOidcSettings(config: HubConfig): OidcSettings | null {
  if (config.oidcIssuer === undefined || config.oidcClientId === undefined) return null;
  const secret = config.oidcClientSecret ?? (config.oidcClientSecretFile === undefined ? null : readFileSync(config.oidcClientSecretFile, 'utf8').trim());
  const mapSource = config.oidcRoleMapFile === undefined ? 'FAROL_OIDC_ROLE_MAP' : `FAROL_OIDC_ROLE_MAP_FILE ${config.oidcRoleMapFile}`;
  const mapText = config.oidcRoleMap ?? readFileSync(config.oidcRoleMapFile!, 'utf8');
  return {
    issuer: config.oidcIssuer,
    clientId: config.oidcClientId,
    clientSecret: secret === '' ? null : secret,
    redirectUrl: config.oidcRedirectUrl ?? `${config.publicUrl!.replace(/\/+$/, '')}${OIDC_CALLBACK_PATH}`,
    scopes: config.oidcScopes,
    name: config.oidcName ?? new URL(config.oidcIssuer).host,
    roleClaim: config.oidcRoleClaim,
    usernameClaim: config.oidcUsernameClaim,
    roleMap: parseRoleMap(mapText, mapSource),
  };
}

/** Problems of roles the mapping names that the hub does not have (once custom roles are loaded). */
export function oidcRoleProblems(settings: OidcSettings, roleExists: (name: string) => boolean): string[] {
  return unknownRoles(settings.roleMap, roleExists, 'FAROL_OIDC_ROLE_MAP');
}
