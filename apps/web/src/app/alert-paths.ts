/** The sections of the Alerts page, each at its own path (`/alerts`, `/alerts/rules`, …). */
export const ALERT_SECTIONS = ['alerts', 'rules', 'silences', 'channels'] as const;
export type AlertSection = (typeof ALERT_SECTIONS)[number];

/** The section a path names, or null when it is not an Alerts page. */
export function alertSectionOf(pathname: string): AlertSection | null {
  if (pathname === '/alerts') return 'alerts';
  const match = /^\/alerts\/(rules|silences|channels)$/.exec(pathname);
  return match ? (match[1] as AlertSection) : null;
}
