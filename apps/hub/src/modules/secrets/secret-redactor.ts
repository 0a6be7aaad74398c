import { parseRegistryCredential, SECRET_REDACTION } from '@farol/protocol';

/** Values shorter than this are not redacted: `[secret]` everywhere a 2-letter value occurs would wreck output and logs. */
export const MIN_REDACTED_LENGTH = 4;

/**
 * The secret values this hub process has seen (set, revealed or fetched by an agent, here or on
 * another hub of the fleet), held in memory only, and a function that blanks them out of any
 * text: job output before it is stored or streamed, and every log line before pino writes it.
 */
export interface SecretRedactor {
  /** True when the value was new to this hub (every hub is then told, issue #14). */
  remember(value: string): boolean;
  redact(text: string): string;
  /** How many distinct values are known (for tests). */
  size(): number;
}

export function createSecretRedactor(): SecretRedactor {
  /** Each value and its JSON-escaped form (how it appears inside a JSON log line), longest first. */
  let needles: string[] = [];
  const known = new Set<string>();
  return {
    remember(value) {
      if (value.length < MIN_REDACTED_LENGTH || known.has(value)) return false;
      known.add(value);
      const forms = new Set([value, JSON.stringify(value).slice(1, -1)]);
      // ADR 0023: a registry login's password is used alone (an auth header, an error): blanked alone too.
      const login = value.startsWith('{') ? parseRegistryCredential(value) : null;
      if (login !== null && typeof login !== 'string' && login.password.length >= MIN_REDACTED_LENGTH) {
        forms.add(login.password);
        forms.add(JSON.stringify(login.password).slice(1, -1));
      }
      needles = [...needles, ...forms].sort((a, b) => b.length - a.length);
      return true;
    },
    redact(text) {
      if (needles.length === 0) return text;
      let out = text;
      for (const needle of needles) if (out.includes(needle)) out = out.split(needle).join(SECRET_REDACTION);
      return out;
    },
    size: () => known.size,
  };
}
