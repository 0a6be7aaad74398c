import { FarolApiError } from '@farol/client';
import { AgentIdSchema, LabelKeySchema, LabelValueSchema } from '@farol/protocol';
import { InvalidArgumentError, type Command } from 'commander';
import { CliError } from './cli-error.js';
import type { ConnectionOptions } from './connection.js';
import type { CliContext } from './context.js';

/**
 * Adds `--hub`, `--token` and (unless `json` is false) `--json` to a command. They are declared
 * on every command that talks to a hub rather than once on the program, because the program
 * uses positional options so that `farol agent ...` can pass its own `--hub` through untouched.
 */
export function withConnectionOptions(command: Command, { json = true }: { json?: boolean } = {}): Command {
  command
    .option('--hub <url>', 'hub URL (default: FAROL_HUB_URL, the saved login, or http://127.0.0.1:8080)')
    .option('--token <token>', 'operator token (default: FAROL_TOKEN or the saved login)');
  if (json) command.option('--json', 'print the raw JSON the hub returned');
  return command;
}

/** The connection options of a command merged with those given before the subcommand. */
export function connectionOptionsOf(command: Command): ConnectionOptions {
  return command.optsWithGlobals<ConnectionOptions>();
}

/** Commander option parser that collects a repeatable option into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Commander option parser for a `key=value` label, checked against the protocol's charset. */
export function collectLabel(value: string, previous: string[] | undefined): string[] {
  parseLabelAssignment(value);
  return collect(value, previous);
}

/** Splits and checks `key=value`; throws InvalidArgumentError (a usage error) otherwise. */
export function parseLabelAssignment(text: string): [string, string] {
  const at = text.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`"${text}" is not key=value`);
  const key = text.slice(0, at);
  const value = text.slice(at + 1);
  const keyCheck = LabelKeySchema.safeParse(key);
  if (!keyCheck.success) throw new InvalidArgumentError(`label key "${key}": ${keyCheck.error.issues[0]?.message ?? 'invalid'}`);
  const valueCheck = LabelValueSchema.safeParse(value);
  if (!valueCheck.success) throw new InvalidArgumentError(`label value "${value}": ${valueCheck.error.issues[0]?.message ?? 'invalid'}`);
  return [key, value];
}

/** Turns `['a=b', 'c=d']` into `{ a: 'b', c: 'd' }` (later wins). */
export function labelsFrom(assignments: readonly string[] | undefined): Record<string, string> {
  return Object.fromEntries((assignments ?? []).map(parseLabelAssignment));
}

/** Commander option parser for a positive whole number. */
export function parsePositiveInteger(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError('expected a whole number of 1 or more');
  return value;
}

/** Commander option parser for a TCP port (0 picks a free one). */
export function parsePort(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value > 65_535) throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return value;
}

/**
 * Runs a call and turns the hub refusals a command can explain into one line saying what to do:
 * `explain` returns that line for a FarolApiError, or undefined to let the error through as is.
 */
export async function explainFailure<T>(call: () => Promise<T>, explain: (error: FarolApiError) => string | undefined): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const line = error instanceof FarolApiError ? explain(error) : undefined;
    if (line !== undefined) throw new CliError(line, { cause: error });
    throw error;
  }
}

/**
 * Runs a call about one agent and turns the hub's 404 into a line that says what to do.
 */
export function aboutAgent<T>(ref: string, context: CliContext, call: () => Promise<T>): Promise<T> {
  return explainFailure(call, (error) => {
    if (error.status !== 404) return undefined;
    const what = AgentIdSchema.safeParse(ref).success ? `no agent with id "${ref}"` : `no agent named "${ref}"`;
    return `${what}; see ${context.commandName} agents ls`;
  });
}
