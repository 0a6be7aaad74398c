import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { AlertRuleInputSchema, type AlertRuleSpec } from '@farol/protocol';
import { checkRule } from './alert-conditions.js';

/** FAROL_ALERTS_FILE could not be used; `problems` names every one with its place in the file. */
export class AlertsFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'AlertsFileError';
  }
}

export interface AlertsFileContent {
  rules: AlertRuleSpec[];
  /** The `channels:` list, unparsed: the notifier validates it. */
  channels: unknown[] | undefined;
}

function pathText(path: ReadonlyArray<PropertyKey>): string {
  return path.map((key, index) => (typeof key === 'number' ? `[${key}]` : index === 0 ? String(key) : `.${String(key)}`)).join('');
}

/**
 * Reads and checks the whole file, collecting every problem (YAML syntax with line and column,
 * schema errors and rule checks with the path inside the file, e.g. `rules[2] (Disk).condition.threshold`).
 */
export function parseAlertsFile(text: string, file: string): AlertsFileContent {
  const problems: string[] = [];
  const document = parseDocument(text, { prettyErrors: true });
  for (const error of document.errors) problems.push(`YAML ${error.linePos?.[0] ? `line ${error.linePos[0].line}, column ${error.linePos[0].col}` : ''}: ${error.message.split('\n')[0]}`);
  if (problems.length > 0) throw new AlertsFileError(file, problems);
  const root: unknown = document.toJS() ?? {};
  if (typeof root !== 'object' || root === null || Array.isArray(root)) throw new AlertsFileError(file, ['the file must be a mapping with `rules:` (and optionally `channels:`)']);
  for (const key of Object.keys(root)) if (key !== 'rules' && key !== 'channels') problems.push(`${key}: unknown key (expected rules, channels)`);
  const rawRules = (root as { rules?: unknown }).rules ?? [];
  const rawChannels = (root as { channels?: unknown }).channels;
  if (!Array.isArray(rawRules)) problems.push('rules: must be a list');
  if (rawChannels !== undefined && !Array.isArray(rawChannels)) problems.push('channels: must be a list');
  const rules: AlertRuleSpec[] = [];
  const names = new Map<string, number>();
  if (Array.isArray(rawRules)) {
    rawRules.forEach((raw: unknown, index) => {
      const name = typeof raw === 'object' && raw !== null && typeof (raw as { name?: unknown }).name === 'string' ? (raw as { name: string }).name : undefined;
      const prefix = `rules[${index}]${name ? ` (${name})` : ''}`;
      const parsed = AlertRuleInputSchema.safeParse(raw);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) problems.push(`${prefix}${issue.path.length ? `.${pathText(issue.path)}` : ''}: ${issue.message}`);
        return;
      }
      for (const problem of checkRule(parsed.data)) problems.push(`${prefix}.${problem}`);
      const earlier = names.get(parsed.data.name);
      if (earlier !== undefined) problems.push(`${prefix}.name: "${parsed.data.name}" is already used by rules[${earlier}]`);
      names.set(parsed.data.name, index);
      rules.push(parsed.data);
    });
  }
  if (problems.length > 0) throw new AlertsFileError(file, problems);
  return { rules, channels: rawChannels as unknown[] | undefined };
}

export function loadAlertsFile(file: string): AlertsFileContent {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new AlertsFileError(file, [`cannot read it: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`]);
  }
  return parseAlertsFile(text, file);
}
