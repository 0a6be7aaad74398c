import { describe, expect, it } from 'vitest';
import { buildJobRequest, buildTargets, CommandInputError, splitArgv, type CommandFormValues } from './command-input.js';

const base: CommandFormValues = { targetMode: 'machines', targets: 'web-1', commandMode: 'argv', command: 'uptime', timeout: '', ttl: '' };

describe('the run-command form', () => {
  it('splits a command line into argv like a shell would, with no expansion', () => {
    expect(splitArgv('echo "hello world"  $HOME')).toEqual(['echo', 'hello world', '$HOME']);
    expect(splitArgv(`printf '%s\\n' "a \\"b\\"" c\\ d`)).toEqual(['printf', '%s\\n', 'a "b"', 'c d']);
    expect(splitArgv(`echo '' ""`)).toEqual(['echo', '', '']);
    expect(splitArgv('  ')).toEqual([]);
  });

  it('refuses an unterminated quote instead of guessing', () => {
    expect(() => splitArgv('echo "oops')).toThrow(CommandInputError);
  });

  it('reads names, a label selector or all as the targets', () => {
    expect(buildTargets('machines', 'web-1, web-2 web-1')).toEqual({ agents: ['web-1', 'web-2'] });
    expect(buildTargets('selector', 'role=gpu,env!=dev')).toEqual({ selector: 'role=gpu,env!=dev' });
    expect(buildTargets('all', 'ignored')).toEqual({ all: true });
    expect(() => buildTargets('selector', 'role')).toThrow(/key=value/);
    expect(() => buildTargets('machines', ' ')).toThrow(CommandInputError);
  });

  it('builds the job request with a shell script only when asked, and durations in ms', () => {
    expect(buildJobRequest({ ...base, command: 'ls -l /tmp', timeout: '30s', ttl: '5m' })).toEqual({
      command: { kind: 'shell', argv: ['ls', '-l', '/tmp'] },
      targets: { agents: ['web-1'] },
      timeoutMs: 30_000,
      ttlMs: 300_000,
    });
    expect(buildJobRequest({ ...base, commandMode: 'shell', command: 'df -h | tail -1' }).command).toEqual({ kind: 'shell', shell: true, script: 'df -h | tail -1' });
  });

  it('names the field that is wrong', () => {
    const fieldOf = (values: CommandFormValues) => {
      try {
        buildJobRequest(values);
        return null;
      } catch (error) {
        return (error as CommandInputError).field;
      }
    };
    expect(fieldOf({ ...base, timeout: 'soon' })).toBe('timeout');
    expect(fieldOf({ ...base, ttl: '50ms' })).toBe('ttl');
    expect(fieldOf({ ...base, command: '' })).toBe('command');
  });
});
