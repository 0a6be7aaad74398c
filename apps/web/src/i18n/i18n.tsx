import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { readStored, writeStored } from '../app/storage.js';
import { en } from './en.js';
import { detectLocale, isLocale, translate, translatePlural, type Locale, type MessageKey, type Messages, type PluralKey } from './messages.js';
import { ptBR } from './pt-BR.js';

const LOCALE_KEY = 'farol.locale';
const DICTIONARIES: Record<Locale, Messages> = { en, 'pt-BR': ptBR };

export interface I18n {
  locale: Locale;
  messages: Messages;
  setLocale(locale: Locale): void;
  t(key: MessageKey, values?: Record<string, string | number>): string;
  plural(key: PluralKey, n: number, values?: Record<string, string | number>): string;
}

const I18nContext = createContext<I18n | null>(null);

function initialLocale(): Locale {
  const stored = readStored('local', LOCALE_KEY);
  return isLocale(stored) ? stored : detectLocale(navigator.languages.length > 0 ? navigator.languages : [navigator.language]);
}

/** The language: from the remembered choice, else the browser's; `<html lang>` follows it. */
export function I18nProvider({ children }: { children: ReactNode }) {
  const [locale, setLocaleState] = useState<Locale>(initialLocale);

  useEffect(() => {
    document.documentElement.lang = locale;
  }, [locale]);

  const setLocale = useCallback((next: Locale) => {
    writeStored('local', LOCALE_KEY, next);
    setLocaleState(next);
  }, []);

  const value = useMemo<I18n>(() => {
    const messages = DICTIONARIES[locale];
    return {
      locale,
      messages,
      setLocale,
      t: (key, values) => translate(messages, key, values),
      plural: (key, n, values) => translatePlural(messages, locale, key, n, values),
    };
  }, [locale, setLocale]);

  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const context = useContext(I18nContext);
  if (!context) throw new Error('useI18n outside I18nProvider');
  return context;
}
