import { interpolate } from '../ui/format.js';
import type { en } from './en.js';

/** Every string the dashboard shows, keyed as in the English dictionary. */
export type MessageKey = keyof typeof en;
export type Messages = Record<MessageKey, string>;

export const LOCALES = ['en', 'pt-BR'] as const;
export type Locale = (typeof LOCALES)[number];

/** Each language's own name, shown in the language switch. */
export const LOCALE_NAMES: Record<Locale, string> = { en: 'English', 'pt-BR': 'Português (Brasil)' };

/** Keys that come in `_one` / `_other` forms. */
type PluralBase<K> = K extends `${infer Base}_other` ? Base : never;
export type PluralKey = PluralBase<MessageKey>;

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value);
}

/** The browser's preferred languages → a supported locale: any Portuguese → pt-BR, else English. */
export function detectLocale(languages: readonly string[]): Locale {
  for (const language of languages) {
    const lower = language.toLowerCase();
    if (lower.startsWith('pt')) return 'pt-BR';
    if (lower.startsWith('en')) return 'en';
  }
  return 'en';
}

/** Looks a key up and fills its placeholders. */
export function translate(messages: Messages, key: MessageKey, values?: Record<string, string | number>): string {
  return interpolate(messages[key], values);
}

/** Picks the `_one` or `_other` form for `n` by the locale's plural rules and fills `{n}`. */
export function translatePlural(messages: Messages, locale: Locale, key: PluralKey, n: number, values: Record<string, string | number> = {}): string {
  const form = new Intl.PluralRules(locale).select(n) === 'one' ? 'one' : 'other';
  const formatted = new Intl.NumberFormat(locale).format(n);
  return interpolate(messages[`${key}_${form}` as MessageKey], { n: formatted, ...values });
}
