import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const unitFile = path.join(root, 'deploy/systemd/farol-hub.service');

/** `Key=value` lines of a unit, by section; repeated keys keep every value. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1]!, current);
      continue;
    }
    const at = line.indexOf('=');
    if (!current || at < 0) throw new Error(`not a unit line: ${line}`);
    const key = line.slice(0, at);
    current.set(key, [...(current.get(key) ?? []), line.slice(at + 1)]);
  }
  return sections;
}

const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;

describe('deploy/systemd/farol-hub.service (#15)', () => {
  const service = parseUnit(readFileSync(unitFile, 'utf8')).get('Service')!;
  const one = (key: string): string | undefined => service.get(key)?.at(-1);

  it('runs the hub as an unprivileged user with a 0700 state directory and an optional environment file', () => {
    expect(one('User')).toBe('farol');
    expect(one('StateDirectory')).toBe('farol');
    expect(one('StateDirectoryMode')).toBe('0700');
    expect(one('EnvironmentFile')).toBe('-/etc/farol/hub.env');
    expect(service.get('Environment')).toContain('FAROL_DATA_DIR=/var/lib/farol');
    expect(one('ExecStart')).toMatch(/farol\.mjs hub$/);
  });

  it('is hardened: no new privileges, no capabilities, read-only system, filtered system calls', () => {
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('CapabilityBoundingSet')).toBe('');
    expect(one('AmbientCapabilities')).toBe('');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('ProtectHome')).toBe('yes');
    expect(one('PrivateTmp')).toBe('yes');
    expect(one('PrivateDevices')).toBe('yes');
    expect(one('ReadWritePaths')).toBe('/var/lib/farol');
    expect(one('RestrictAddressFamilies')).toBe('AF_INET AF_INET6 AF_UNIX');
    expect(service.get('SystemCallFilter')).toEqual(['@system-service', '~@privileged']);
    expect(one('RestrictSUIDSGID')).toBe('yes');
    expect(one('UMask')).toBe('0077');
    // V8's JIT writes code pages: this one would stop the hub at start.
    expect(service.has('MemoryDenyWriteExecute')).toBe(false);
  });

  it.runIf(hasSystemdAnalyze)('passes systemd-analyze verify with an exposure rated OK', () => {
    expect(() => execFileSync('systemd-analyze', ['verify', unitFile], { stdio: 'pipe' })).not.toThrow();
    const security = execFileSync('systemd-analyze', ['security', '--offline=yes', unitFile], { encoding: 'utf8' });
    const exposure = Number(/Overall exposure level for farol-hub\.service: ([\d.]+)/.exec(security)?.[1]);
    expect(exposure).toBeLessThan(2);
  });
});
