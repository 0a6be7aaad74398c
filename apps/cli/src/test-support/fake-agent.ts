import { readFile, writeFile } from 'node:fs/promises';

/**
 * Writes a stand-in for the agent bundle: it appends its arguments to `argsFile` (one JSON line
 * per start) and what a local user could see of it to `argsFile.proc` (see
 * {@link readFakeAgentProcesses}), prints one line on stdout and one on stderr, then behaves as
 * `mode` says.
 */
export async function writeFakeAgent(
  file: string,
  argsFile: string,
  mode: 'run-until-sigterm' | 'ignore-sigterm' | { exitCode: number },
): Promise<void> {
  // Signal handlers go in before the arguments are recorded: a test that sees the record may
  // send SIGTERM at once.
  const handlers =
    mode === 'run-until-sigterm'
      ? "process.on('SIGTERM', () => { appendFileSync(ARGS, JSON.stringify(['<SIGTERM>']) + '\\n'); process.exit(0); });"
      : mode === 'ignore-sigterm'
        ? "process.on('SIGTERM', () => { appendFileSync(ARGS, JSON.stringify(['<SIGTERM ignored>']) + '\\n'); });"
        : '';
  const then = typeof mode === 'object' ? `process.exit(${mode.exitCode});` : 'setInterval(() => {}, 1000);';
  await writeFile(
    file,
    [
      "import { appendFileSync, readFileSync } from 'node:fs';",
      `const ARGS = ${JSON.stringify(argsFile)};`,
      handlers,
      "appendFileSync(ARGS + '.proc', JSON.stringify({ cmdline: readFileSync('/proc/self/cmdline', 'utf8').split('\\0').filter(Boolean), joinToken: process.env.FAROL_JOIN_TOKEN ?? null }) + '\\n');",
      "appendFileSync(ARGS, JSON.stringify(process.argv.slice(2)) + '\\n');",
      "console.log('hello from agent');",
      "console.error('warning from agent');",
      then,
    ].join('\n'),
  );
}

/** The argument lists the fake agent recorded, one per start. */
export async function readFakeAgentCalls(argsFile: string): Promise<string[][]> {
  const text = await readFile(argsFile, 'utf8').catch((error: NodeJS.ErrnoException) => {
    // Not started yet: no file.
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as string[]);
}

/** One start of the fake agent: its command line as /proc shows it, and the join token it got in its environment. */
export interface FakeAgentProcess {
  cmdline: string[];
  joinToken: string | null;
}

export async function readFakeAgentProcesses(argsFile: string): Promise<FakeAgentProcess[]> {
  const text = await readFile(`${argsFile}.proc`, 'utf8').catch((error: NodeJS.ErrnoException) => {
    // Not started yet: no file.
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as FakeAgentProcess);
}
