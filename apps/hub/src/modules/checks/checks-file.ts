import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { CheckInputSchema, parseLabelSelector, StatusPageInputSchema, type CheckSpec, type StatusPageSpec } from '@farol/protocol';

/** FAROL_CHECKS_FILE could not be used; `problems` names every one with its place in the file. */
export class ChecksFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ChecksFileError';
  }
}

export interface ChecksFileContent {
  checks: CheckSpec[];
  statusPages: StatusPageSpec[];
}

function pathText(path: ReadonlyArray<PropertyKey>): string {
  return path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('');
}

const nameOf = (raw: unknown, key: 'name' | 'slug'): string | undefined =>
  typeof raw === 'object' && raw !== null && typeof (raw as Record<string, unknown>)[key] === 'string' ? ((raw as Record<string, unknown>)[key] as string) : undefined;

/**
 * Reads and checks the whole file (the same schemas as the REST API), collecting every problem:
 * YAML syntax with line and column, schema errors with their path inside the file (e.g.
 * `checks[1] (api).probe.url`), duplicate names and slugs. Status page entries may name checks
 * made through the API too, so they are resolved when the file is applied (main.ts), where a
 * missing one also stops the hub.
 */
export function parseChecksFile(text: string, file: string): ChecksFileContent {
  const problems: string[] = [];
  const document = parseDocument(text, { prettyErrors: true });
  for (const error of document.errors) problems.push(`YAML ${error.linePos?.[0] ? `line ${error.linePos[0].line}, column ${error.linePos[0].col}` : ''}: ${error.message.split('\n')[0]}`);
  if (problems.length > 0) throw new ChecksFileError(file, problems);
  const root: unknown = document.toJS() ?? {};
  if (typeof root !== 'object' || root === null || Array.isArray(root)) throw new ChecksFileError(file, ['the file must be a mapping with `checks:` (and optionally `statusPages:`)']);
  for (const key of Object.keys(root)) if (key !== 'checks' && key !== 'statusPages') problems.push(`${key}: unknown key (expected checks, statusPages)`);
  const rawChecks = (root as { checks?: unknown }).checks ?? [];
  const rawPages = (root as { statusPages?: unknown }).statusPages ?? [];
  if (!Array.isArray(rawChecks)) problems.push('checks: must be a list');
  if (!Array.isArray(rawPages)) problems.push('statusPages: must be a list');

  const checks: CheckSpec[] = [];
  const names = new Map<string, number>();
  if (Array.isArray(rawChecks)) {
    rawChecks.forEach((raw: unknown, index) => {
      const name = nameOf(raw, 'name');
      const prefix = `checks[${index}]${name ? ` (${name})` : ''}`;
      const parsed = CheckInputSchema.safeParse(raw);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) problems.push(`${prefix}${pathText(issue.path)}: ${issue.message}`);
        return;
      }
      if ('selector' in parsed.data.runOn) {
        try {
          parseLabelSelector(parsed.data.runOn.selector);
        } catch (error) {
          problems.push(`${prefix}.runOn.selector: ${(error as Error).message}`);
        }
      }
      const earlier = names.get(parsed.data.name);
      if (earlier !== undefined) problems.push(`${prefix}.name: "${parsed.data.name}" is already used by checks[${earlier}]`);
      names.set(parsed.data.name, index);
      checks.push(parsed.data);
    });
  }

  const statusPages: StatusPageSpec[] = [];
  const slugs = new Map<string, number>();
  if (Array.isArray(rawPages)) {
    rawPages.forEach((raw: unknown, index) => {
      const slug = nameOf(raw, 'slug');
      const prefix = `statusPages[${index}]${slug ? ` (${slug})` : ''}`;
      const parsed = StatusPageInputSchema.safeParse(raw);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) problems.push(`${prefix}${pathText(issue.path)}: ${issue.message}`);
        return;
      }
      const earlier = slugs.get(parsed.data.slug);
      if (earlier !== undefined) problems.push(`${prefix}.slug: "${parsed.data.slug}" is already used by statusPages[${earlier}]`);
      slugs.set(parsed.data.slug, index);
      statusPages.push(parsed.data);
    });
  }
  if (problems.length > 0) throw new ChecksFileError(file, problems);
  return { checks, statusPages };
}

export function loadChecksFile(file: string): ChecksFileContent {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ChecksFileError(file, [`cannot read it: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`]);
  }
  return parseChecksFile(text, file);
}
