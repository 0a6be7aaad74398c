import { JobCreateSchema, parseDuration, parseLabelSelector, type Command, type JobCreate, type JobTargets } from '@farol/protocol';

/** How the operator names the machines: a list of names, a label selector, or every machine. */
export type TargetMode = 'machines' | 'selector' | 'all';
/** A program with arguments (run directly, no shell), or a script for the machine's shell. */
export type CommandMode = 'argv' | 'shell';

/** Why the form cannot be sent, as a message key and the field it belongs to. */
export class CommandInputError extends Error {
  constructor(
    readonly field: 'targets' | 'command' | 'timeout' | 'ttl',
    readonly key: 'unterminatedQuote' | 'emptyCommand' | 'emptyTargets' | 'badSelector' | 'badDuration' | 'invalid',
    detail?: string,
  ) {
    super(detail ?? key);
  }
}

/**
 * Splits a command line into argv the way a POSIX shell would split words, without any of its
 * expansions: whitespace separates words, '…' is literal, "…" allows \" and \\, and a backslash
 * outside quotes escapes the next character. `echo "a b"` → ["echo", "a b"].
 */
export function splitArgv(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (quote === "'") {
      if (char === "'") quote = null;
      else word += char;
      continue;
    }
    if (quote === '"') {
      if (char === '"') quote = null;
      else if (char === '\\' && (text[index + 1] === '"' || text[index + 1] === '\\')) word += text[++index];
      else word += char;
      continue;
    }
    if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (char === "'" || char === '"') quote = char;
    else if (char === '\\' && index + 1 < text.length) word += text[++index];
    else word += char;
  }
  if (quote) throw new CommandInputError('command', 'unterminatedQuote');
  if (inWord) words.push(word);
  return words;
}

/** The machines from the form: names separated by commas or spaces, a selector, or all. */
export function buildTargets(mode: TargetMode, text: string): JobTargets {
  if (mode === 'all') return { all: true };
  const trimmed = text.trim();
  if (trimmed === '') throw new CommandInputError('targets', 'emptyTargets');
  if (mode === 'selector') {
    try {
      parseLabelSelector(trimmed);
    } catch (error) {
      throw new CommandInputError('targets', 'badSelector', (error as Error).message);
    }
    return { selector: trimmed };
  }
  return { agents: [...new Set(trimmed.split(/[\s,]+/).filter(Boolean))] };
}

export function buildCommand(mode: CommandMode, text: string): Command {
  if (text.trim() === '') throw new CommandInputError('command', 'emptyCommand');
  if (mode === 'shell') return { kind: 'shell', shell: true, script: text };
  const argv = splitArgv(text);
  if (argv.length === 0) throw new CommandInputError('command', 'emptyCommand');
  return { kind: 'shell', argv };
}

/** "30s", "5m", "2h" → ms; empty → the hub's default. */
export function parseOptionalDuration(field: 'timeout' | 'ttl', text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  try {
    return parseDuration(trimmed);
  } catch (error) {
    throw new CommandInputError(field, 'badDuration', (error as Error).message);
  }
}

export interface CommandFormValues {
  targetMode: TargetMode;
  targets: string;
  commandMode: CommandMode;
  command: string;
  timeout: string;
  ttl: string;
}

/** The request for `POST /api/jobs`, checked against the protocol's schema before it is sent. */
export function buildJobRequest(values: CommandFormValues): JobCreate {
  const timeoutMs = parseOptionalDuration('timeout', values.timeout);
  const ttlMs = parseOptionalDuration('ttl', values.ttl);
  const request: JobCreate = {
    command: buildCommand(values.commandMode, values.command),
    targets: buildTargets(values.targetMode, values.targets),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(ttlMs === undefined ? {} : { ttlMs }),
  };
  const checked = JobCreateSchema.safeParse(request);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const path = issue?.path[0];
    const field = path === 'timeoutMs' ? 'timeout' : path === 'ttlMs' ? 'ttl' : path === 'targets' ? 'targets' : 'command';
    throw new CommandInputError(field, 'invalid', issue?.message);
  }
  return checked.data;
}
