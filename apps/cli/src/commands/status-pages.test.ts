import { describe, expect, it } from 'vitest';
import type { StatusPage } from '@farol/protocol';
import { entryFromOption, renderStatusPages } from './status-pages.js';

describe('farol status-pages (#19)', () => {
  it('reads --show CHECK=DISPLAY NAME, names with = and spaces included', () => {
    expect(entryFromOption('api=Website')).toEqual({ check: 'api', name: 'Website' });
    expect(entryFromOption('internal api = Website & API = public')).toEqual({ check: 'internal api', name: 'Website & API = public' });
    expect(() => entryFromOption('api')).toThrow('--show takes CHECK=DISPLAY NAME (got "api")');
    expect(() => entryFromOption('=Website')).toThrow(/--show takes/);
    expect(() => entryFromOption('api=')).toThrow(/--show takes/);
  });

  it('lists each page with its path, title, source and what each check is shown as', () => {
    const page: StatusPage = {
      id: 'stp_1',
      slug: 'main',
      title: 'Acme',
      description: null,
      language: 'auto',
      checks: [
        { checkId: 'chk_1', checkName: 'api', name: 'Website' },
        { checkId: 'chk_2', checkName: null, name: 'Old' },
      ],
      source: 'file',
      path: '/status/main',
      createdAt: 0,
      updatedAt: 0,
    };
    expect(renderStatusPages([page])).toBe('/status/main  "Acme"  [file]\n  Website ← api; Old ← (deleted chk_2)\n');
    expect(renderStatusPages([{ ...page, language: 'pt-BR', source: 'api' }])).toBe('/status/main  "Acme"  (pt-BR)\n  Website ← api; Old ← (deleted chk_2)\n');
    expect(renderStatusPages([])).toBe('no status pages\n');
  });
});
