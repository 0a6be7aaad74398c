import { describe, expect, it } from 'vitest';
import { createSecretRedactor } from './secret-redactor.js';

describe('secret redactor', () => {
  it('blanks a registry login\'s password on its own as well as the whole value (ADR 0023)', () => {
    const redactor = createSecretRedactor();
    expect(redactor.remember(JSON.stringify({ username: 'ci', password: 'pw"with-quote' }))).toBe(true);
    expect(redactor.redact('login {"username":"ci","password":"pw\\"with-quote"} stored')).toBe('login [secret] stored');
    expect(redactor.redact('401 for pw"with-quote')).toBe('401 for [secret]');
    expect(redactor.redact('{"msg":"pw\\"with-quote"}')).toBe('{"msg":"[secret]"}');
    // The user name is not a secret; a value that is not a login is blanked whole only.
    expect(redactor.redact('user ci')).toBe('user ci');
    redactor.remember('plain:value-123');
    expect(redactor.redact('value-123')).toBe('value-123');
  });
});
