import { describe, expect, it } from 'vitest';
import { CommandSchema, describeCommand, isContainerRef } from './index.js';

describe('container commands', () => {
  it('accepts Docker names and hex ids, nothing that could reach the Engine API path', () => {
    for (const good of ['web', 'web_1.blue-2', 'A9', '0123456789ab', 'f'.repeat(64)]) expect(isContainerRef(good)).toBe(true);
    for (const bad of ['', '../x', 'a/b', 'x?y', '.x', '_x', '-x', 'a b', 'a%2F', '$(id)', 'x;y', 'é', 'a\0b', 'x'.repeat(129)]) expect(isContainerRef(bad)).toBe(false);
  });

  it('validates every Docker command kind strictly', () => {
    expect(CommandSchema.safeParse({ kind: 'docker_restart', container: 'web', timeoutSeconds: 5 }).success).toBe(true);
    expect(CommandSchema.safeParse({ kind: 'docker_logs', container: 'web', tail: 10, since: 1_700_000_000 }).success).toBe(true);
    expect(CommandSchema.safeParse({ kind: 'docker_ps' }).success).toBe(true);
    expect(CommandSchema.safeParse({ kind: 'docker_stop', container: '../web' }).success).toBe(false);
    expect(CommandSchema.safeParse({ kind: 'docker_start' }).success).toBe(false);
    expect(CommandSchema.safeParse({ kind: 'docker_start', container: 'web', force: true }).success).toBe(false);
    expect(CommandSchema.safeParse({ kind: 'docker_logs', container: 'web', tail: 0 }).success).toBe(false);
    expect(CommandSchema.safeParse({ kind: 'docker_logs', container: 'web', since: -1 }).success).toBe(false);
    expect(CommandSchema.safeParse({ kind: 'docker_restart', container: 'web', timeoutSeconds: 601 }).success).toBe(false);
  });

  it('describes Docker commands in one line', () => {
    expect(describeCommand({ kind: 'docker_restart', container: 'web' })).toBe('docker restart web');
    expect(describeCommand({ kind: 'docker_logs', container: 'web', tail: 5, since: 10 })).toBe('docker logs web --tail 5 --since 10');
    expect(describeCommand({ kind: 'docker_ps' })).toBe('docker ps');
  });
});
