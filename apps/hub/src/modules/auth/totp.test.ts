import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, hotp, totpAt, verifyTotp } from './totp.js';

describe('TOTP (RFC 6238 / RFC 4226)', () => {
  const rfcSecret = Buffer.from('12345678901234567890');

  it('matches the RFC 4226 HOTP test values', () => {
    // Appendix D of RFC 4226, counters 0..3.
    expect([0, 1, 2, 3].map((counter) => hotp(rfcSecret, counter))).toEqual(['755224', '287082', '359152', '969429']);
  });

  it('matches the RFC 6238 SHA-1 test vectors (last 6 digits)', () => {
    const secret = base32Encode(rfcSecret);
    expect(totpAt(secret, 59_000)).toBe('287082');
    expect(totpAt(secret, 1_111_111_109_000)).toBe('081804');
    expect(totpAt(secret, 1_234_567_890_000)).toBe('005924');
    expect(totpAt(secret, 2_000_000_000_000)).toBe('279037');
  });

  it('round-trips base32 and accepts one step of drift either side, no more', () => {
    expect(base32Decode(base32Encode(rfcSecret))).toEqual(rfcSecret);
    const secret = base32Encode(rfcSecret);
    const at = 1_234_567_890_000;
    expect(verifyTotp(secret, totpAt(secret, at - 30_000), at)).not.toBeNull();
    expect(verifyTotp(secret, totpAt(secret, at + 30_000), at)).not.toBeNull();
    expect(verifyTotp(secret, totpAt(secret, at - 60_000), at)).toBeNull();
    expect(verifyTotp(secret, 'abcdef', at)).toBeNull();
  });
});
