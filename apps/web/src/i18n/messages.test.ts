import { describe, expect, it } from 'vitest';
import { en } from './en.js';
import { detectLocale, translate, translatePlural, type MessageKey } from './messages.js';
import { ptBR } from './pt-BR.js';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();

describe('the dictionaries', () => {
  it('give every English message a Portuguese one with the same placeholders', () => {
    for (const key of Object.keys(en) as MessageKey[]) {
      expect(ptBR[key], key).toBeTruthy();
      expect(placeholders(ptBR[key]), key).toEqual(placeholders(en[key]));
    }
  });

  it('picks Portuguese for any pt browser language and English otherwise', () => {
    expect(detectLocale(['pt-PT', 'en'])).toBe('pt-BR');
    expect(detectLocale(['de-DE', 'en-GB'])).toBe('en');
    expect(detectLocale(['fr'])).toBe('en');
  });

  it('fills values and picks plural forms by language', () => {
    expect(translate(en, 'fleet.showing', { shown: 3, total: 9 })).toBe('Showing 3 of 9');
    expect(translatePlural(en, 'en', 'fleet.machines', 1)).toBe('1 machine');
    expect(translatePlural(en, 'en', 'fleet.machines', 1000)).toBe('1,000 machines');
    expect(translatePlural(ptBR, 'pt-BR', 'fleet.machines', 1000)).toBe('1.000 máquinas');
  });
});
