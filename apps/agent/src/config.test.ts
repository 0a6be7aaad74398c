import { describe, expect, it } from 'vitest';
import { ConfigError, defaultStateDir, loadAgentConfig, loadSimulateConfig, parseSize } from './config.js';

describe('agent configuration', () => {
  it('takes flags over environment over defaults', () => {
    const config = loadAgentConfig(
      { interval: '30s' },
      { FAROL_HEARTBEAT_INTERVAL: '5s', FAROL_HUB_URL: 'https://hub.example.com/', FAROL_BUFFER_MAX_BYTES: '100MB', FAROL_AGENT_STATE_DIR: '/tmp/x' },
    );
    expect(config).toMatchObject({
      heartbeatIntervalMs: 30_000,
      hubUrl: 'https://hub.example.com',
      bufferMaxBytes: 100 * 1024 * 1024,
      bufferMaxAgeMs: 24 * 3_600_000,
      reconnectMaxDelayMs: 60_000,
      stateDir: '/tmp/x',
      logLevel: 'info',
    });
  });

  it('reports every bad field with its flag and variable, never echoing the token', () => {
    let error: unknown;
    try {
      loadAgentConfig({ interval: '500ms', token: '' }, { FAROL_LOG_LEVEL: 'loud', FAROL_BUFFER_MAX_AGE: 'forever' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/--interval \/ FAROL_HEARTBEAT_INTERVAL: the interval is at least 1s/);
    expect(problems.join('\n')).toMatch(/--log-level \/ FAROL_LOG_LEVEL: .*\(got "loud"\)/);
    expect(problems.join('\n')).toMatch(/--buffer-max-age \/ FAROL_BUFFER_MAX_AGE: durations look like/);
    expect(problems.find((p) => p.startsWith('--token'))).not.toContain('got');
  });

  it('takes several hubs separated by commas, normalized, and refuses a bad one by name (issue #14)', () => {
    expect(loadAgentConfig({ hub: ' https://a.example:8080/, https://b.example:8080 ,https://a.example:8080' }, {}).hubUrl).toBe(
      'https://a.example:8080,https://b.example:8080',
    );
    expect(loadAgentConfig({}, { FAROL_HUB_URL: 'http://10.0.0.1:8080,http://10.0.0.2:8080' }).hubUrl).toBe('http://10.0.0.1:8080,http://10.0.0.2:8080');
    expect(() => loadAgentConfig({ hub: 'https://a.example:8080,ftp://b.example' }, {})).toThrow(/--hub \/ FAROL_HUB_URL: .*not "ftp:\/\/b.example"/);
    expect(() => loadAgentConfig({ hub: ' , ' }, {})).toThrow(/--hub \/ FAROL_HUB_URL: the hub URL looks like/);
  });

  it('parses sizes with binary units', () => {
    expect(parseSize('50MB')).toBe(52_428_800);
    expect(parseSize('512KiB')).toBe(524_288);
    expect(parseSize('1.5G')).toBe(1_610_612_736);
    expect(parseSize('4096')).toBe(4096);
    expect(() => parseSize('much')).toThrow();
  });

  it('keeps state under /var/lib as root and under XDG_STATE_HOME otherwise', () => {
    if (process.platform === 'win32') return;
    expect(defaultStateDir({}, true)).toBe('/var/lib/farol-agent');
    expect(defaultStateDir({ XDG_STATE_HOME: '/home/a/.state' }, false)).toBe('/home/a/.state/farol-agent');
    expect(defaultStateDir({ XDG_STATE_HOME: 'relative' }, false)).toMatch(/\.local\/state\/farol-agent$/);
  });

  it('requires the hub and the agent count to simulate', () => {
    expect(() => loadSimulateConfig({}, {})).toThrow('--hub / FAROL_HUB_URL: required\n  --agents: required');
    expect(loadSimulateConfig({ hub: 'http://h:1', agents: '100', duration: '1m' }, {})).toMatchObject({
      agents: 100,
      durationMs: 60_000,
      heartbeatIntervalMs: 10_000,
      stateDir: 'farol-sim',
    });
  });
});
