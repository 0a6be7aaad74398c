import { LabelKeySchema, LabelValueSchema, type Labels } from '@farol/protocol';

export interface InstallCommands {
  unix: string;
  windows: string;
  checkout: string;
}

/**
 * The one-line commands that add a machine with a join token. Join tokens are
 * `jt_<id>.<base64url>` (no character special to sh or PowerShell) and the hub URL is this
 * page's origin, so both are pasted as they are.
 */
export function installCommands(hubUrl: string, token: string, hubKeyFingerprint?: string): InstallCommands {
  const hub = hubUrl.replace(/\/+$/, '');
  // ADR 0024: install.sh then refuses an agent not signed by this hub key. A fingerprint is 43
  // base64url characters; anything else is left out rather than pasted into a shell.
  const pin = hubKeyFingerprint && /^[A-Za-z0-9_-]{43}$/.test(hubKeyFingerprint) ? ` --hub-key ${hubKeyFingerprint}` : '';
  return {
    unix: `curl -fsSL ${hub}/install.sh | sh -s -- --token ${token}${pin}`,
    windows: `& ([scriptblock]::Create((irm ${hub}/install.ps1))) -Token ${token}`,
    checkout: `farol agent --hub ${hub} --token ${token}`,
  };
}

/** `env=prod, role=web` → labels, or null when a term is not a valid `key=value`. Empty → {}. */
export function parseLabelList(text: string): Labels | null {
  const labels: Labels = {};
  for (const term of text.split(/[,\n]/).map((part) => part.trim()).filter(Boolean)) {
    const at = term.indexOf('=');
    if (at <= 0) return null;
    const key = term.slice(0, at).trim();
    const value = term.slice(at + 1).trim();
    if (!LabelKeySchema.safeParse(key).success || !LabelValueSchema.safeParse(value).success) return null;
    labels[key] = value;
  }
  return labels;
}

export const TTL_CHOICES = ['1h', '24h', '7d', '30d', '365d'] as const;
export type TtlChoice = (typeof TTL_CHOICES)[number];
