import { SECRET_REDACTION } from '@farol/protocol';

/** Values shorter than this are not redacted: `[secret]` everywhere a 2-letter value occurs would wreck output and logs. */
export const MIN_REDACTED_LENGTH = 4;

/**
 * The secret values this hub process has seen (set, revealed or fetched by an agent), held in
 * memory only, and a function that blanks them out of any text: job output before it is stored
 * or streamed, and every log line before pino writes it.
 */
export interface SecretRedactor {
  remember(value: string): void;
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
      if (value.length < MIN_REDACTED_LENGTH || known.has(value)) return;
      known.add(value);
      const forms = new Set([value, JSON.stringify(value).slice(1, -1)]);
      needles = [...needles, ...forms].sort((a, b) => b.length - a.length);
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
