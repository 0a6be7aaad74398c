import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliError } from './cli-error.js';
import { DEFAULT_HUB_URL, resolveConnection } from './connection.js';
import type { CliContext } from './context.js';
import { createCliHarness, type CliHarness } from './test-support/cli-runner.js';

let cli: CliHarness;

beforeEach(async () => {
  cli = await createCliHarness();
});
afterEach(async () => {
  await cli.cleanup();
});

function contextWith(env: Record<string, string>): CliContext {
  return { env, homeDir: cli.home } as CliContext;
}

async function saveLogin(hubUrl: string, token: string): Promise<void> {
  const dir = path.join(cli.home, '.config', 'farol');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'config.json'), JSON.stringify({ hubUrl, token }));
}

describe('resolveConnection', () => {
  it('prefers flags over the environment over the saved login', async () => {
    await saveLogin('http://saved:1', 'saved-token');
    const env = { FAROL_HUB_URL: 'http://env:2', FAROL_TOKEN: 'env-token' };

    expect(await resolveConnection({ hub: 'http://flag:3', token: 'flag-token' }, contextWith(env))).toEqual({
      hubUrl: 'http://flag:3',
      token: 'flag-token',
    });
    expect(await resolveConnection({}, contextWith(env))).toEqual({ hubUrl: 'http://env:2', token: 'env-token' });
    expect(await resolveConnection({}, contextWith({}))).toEqual({ hubUrl: 'http://saved:1', token: 'saved-token' });
  });

  it('falls back to the default hub URL with no token', async () => {
    expect(await resolveConnection({}, contextWith({}))).toEqual({ hubUrl: DEFAULT_HUB_URL, token: undefined });
  });

  it('never sends the saved token to a different hub', async () => {
    await saveLogin('http://saved:1', 'saved-token');
    expect(await resolveConnection({ hub: 'http://elsewhere:1' }, contextWith({}))).toEqual({ hubUrl: 'http://elsewhere:1', token: undefined });
    expect(await resolveConnection({ hub: 'http://saved:1/' }, contextWith({}))).toEqual({ hubUrl: 'http://saved:1', token: 'saved-token' });
  });

  it('reports a damaged config file instead of ignoring it', async () => {
    const file = path.join(cli.home, 'broken.json');
    await writeFile(file, '{"hubUrl":');
    await expect(resolveConnection({}, contextWith({ FAROL_CONFIG: file }))).rejects.toThrow(CliError);
    await expect(resolveConnection({}, contextWith({ FAROL_CONFIG: file }))).rejects.toThrow(/not valid JSON; run farol login again/);
  });
});
