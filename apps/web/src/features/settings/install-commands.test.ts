import { describe, expect, it } from 'vitest';
import { installCommands, parseLabelList } from './install-commands.js';

describe('install commands', () => {
  it('builds the one-line commands for each platform with the hub and token', () => {
    const token = 'jt_abcdefghijkl.0123456789abcdefghijklmnopqrstuvwxyzABCDEFG';
    expect(installCommands('https://hub.example:8080/', token)).toEqual({
      unix: `curl -fsSL https://hub.example:8080/install.sh | sh -s -- --token ${token}`,
      windows: `& ([scriptblock]::Create((irm https://hub.example:8080/install.ps1))) -Token ${token}`,
      checkout: `farol agent --hub https://hub.example:8080 --token ${token}`,
    });
  });

  it('pins the hub key in the unix line when the hub gave a well-formed fingerprint (ADR 0024)', () => {
    const fingerprint = 'q4Tz0mXq6Yk3c1x0Vb8sUe2oWcR7nLf5DgHjK9aPzQ4';
    expect(installCommands('https://hub.example', 'jt_x.y', fingerprint).unix).toBe(`curl -fsSL https://hub.example/install.sh | sh -s -- --token jt_x.y --hub-key ${fingerprint}`);
    expect(installCommands('https://hub.example', 'jt_x.y', 'not a fingerprint; rm -rf /').unix).toBe('curl -fsSL https://hub.example/install.sh | sh -s -- --token jt_x.y');
  });

  it('reads comma-separated labels and refuses malformed ones', () => {
    expect(parseLabelList('env=prod, role=web')).toEqual({ env: 'prod', role: 'web' });
    expect(parseLabelList('  ')).toEqual({});
    expect(parseLabelList('env')).toBeNull();
    expect(parseLabelList('env=pro d')).toBeNull();
  });
});
