import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCliHarness, type CliHarness } from '../test-support/cli-runner.js';

let cli: CliHarness;

beforeEach(async () => {
  cli = await createCliHarness();
});
afterEach(async () => {
  await cli.cleanup();
});

/** Runs `farol ARGS` with an in-memory agent bundle that records what it was given. */
async function runWithAgent(args: string[], exitCode: number | void = undefined) {
  const argvs: string[][] = [];
  const calls: string[][] = [];
  const loaded: string[] = [];
  const result = await cli.run(args, {}, {
    importModule: async (url) => {
      loaded.push(url.href);
      return {
        runAgentCommand: (argv: string[]) => {
          argvs.push(argv);
          calls.push(argv.slice(2));
          return exitCode;
        },
      };
    },
  });
  return { ...result, argvs, calls, loaded };
}

describe('farol agent', () => {
  it('passes every argument after "agent" to the agent untouched, options included', async () => {
    const result = await runWithAgent(['agent', 'run', '--hub', 'http://h:1', '--token', 'T', '--state', '/s', '--json']);
    expect(result.code).toBe(0);
    expect(result.calls).toEqual([['run', '--hub', 'http://h:1', '--token', 'T', '--state', '/s', '--json']]);
    expect(result.loaded).toEqual([pathToFileURL(path.join(cli.home, 'missing', 'farol-agent.mjs')).href]);
  });

  it('hands the agent a process-style argv: node, the bundle, then the arguments', async () => {
    const result = await runWithAgent(['agent', 'status']);
    expect(result.argvs).toEqual([[process.execPath, path.join(cli.home, 'missing', 'farol-agent.mjs'), 'status']]);
  });

  it("leaves --help to the agent's own parser", async () => {
    const result = await runWithAgent(['agent', '--help']);
    expect(result.calls).toEqual([['--help']]);
    expect(result.stdout).toBe('');
  });

  it('exits with the code the agent returns, printing nothing of its own', async () => {
    const result = await runWithAgent(['agent', 'enroll', '--token', 'expired'], 3);
    expect(result).toMatchObject({ code: 3, stderr: '' });
  });

  it('runs "farol simulate ..." as the agent\'s simulate command', async () => {
    const result = await runWithAgent(['simulate', '--agents', '500', '--hub', 'http://h:1']);
    expect(result.calls).toEqual([['simulate', '--agents', '500', '--hub', 'http://h:1']]);
  });

  it('imports a real bundle file from disk', async () => {
    const bundle = path.join(cli.home, 'farol-agent.mjs');
    const record = path.join(cli.home, 'args.json');
    await writeFile(
      bundle,
      `import { writeFileSync } from 'node:fs';\nexport function runAgentCommand(argv) { writeFileSync(${JSON.stringify(record)}, JSON.stringify(argv.slice(2))); return 0; }\n`,
    );
    const result = await cli.run(['agent', 'status', '--state', '/s'], {}, { bundles: { hub: pathToFileURL(bundle), agent: pathToFileURL(bundle) } });
    expect(result.code).toBe(0);
    expect(JSON.parse(await readFile(record, 'utf8'))).toEqual(['status', '--state', '/s']);
  });

  it('says to build when the agent bundle is missing', async () => {
    const result = await cli.run(['agent', 'run']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `farol: the agent is not built (${path.join(cli.home, 'missing', 'farol-agent.mjs')} is missing); run npm run build in the Farol checkout\n`,
    );
  });

  it('says to rebuild when the bundle lacks the export', async () => {
    const result = await cli.run(['agent', 'run'], {}, { importModule: async () => ({}) });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/does not export runAgentCommand\(\); .*rebuild with npm run build\n$/);
  });
});

describe('farol hub', () => {
  it('runs the hub bundle with the flags as overrides', async () => {
    const overrides: unknown[] = [];
    const result = await cli.run(
      ['hub', '--port', '9000', '--bind', '0.0.0.0', '--data', 'hub-data', '--public-url', 'https://hub.example/'],
      {},
      { importModule: async () => ({ runHub: async (o: unknown) => void overrides.push(o) }) },
    );
    expect(result.code).toBe(0);
    expect(overrides).toEqual([{ port: 9000, bind: '0.0.0.0', dataDir: path.join(cli.home, 'hub-data'), publicUrl: 'https://hub.example' }]);
  });

  it('passes no override for a flag that was not given', async () => {
    const overrides: unknown[] = [];
    await cli.run(['hub'], {}, { importModule: async () => ({ runHub: async (o: unknown) => void overrides.push(o) }) });
    expect(overrides).toEqual([{}]);
  });

  it('refuses a port that is not a number with a usage error', async () => {
    const result = await cli.run(['hub', '--port', 'http'], {}, { importModule: async () => ({ runHub: async () => undefined }) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('expected a port number');
  });
});
