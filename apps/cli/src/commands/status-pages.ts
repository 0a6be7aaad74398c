import { createChecksClient, FarolApiError } from '@farol/client';
import { StatusPageLanguageSchema, type StatusPage, type StatusPageInput } from '@farol/protocol';
import { Command } from 'commander';
import { UsageError } from '../cli-error.js';
import { connectTo } from '../connection.js';
import type { CliContext } from '../context.js';
import { formatJson } from '../output/format.js';
import { connectionOptionsOf, explainFailure, withConnectionOptions } from '../options.js';

/** `--show "api=Website"` → `{ check: 'api', name: 'Website' }` (the name is what the public sees). */
export function entryFromOption(text: string): StatusPageInput['checks'][number] {
  const at = text.indexOf('=');
  if (at <= 0 || at === text.length - 1) throw new UsageError(`--show takes CHECK=DISPLAY NAME (got "${text}")`);
  return { check: text.slice(0, at).trim(), name: text.slice(at + 1).trim() };
}

export function renderStatusPages(pages: readonly StatusPage[]): string {
  if (pages.length === 0) return 'no status pages\n';
  return `${pages
    .map((page) => {
      const shown = page.checks.map((c) => `${c.name} ← ${c.checkName ?? `(deleted ${c.checkId})`}`).join('; ');
      return `${page.path}  "${page.title}"${page.language === 'auto' ? '' : `  (${page.language})`}${page.source === 'file' ? '  [file]' : ''}\n  ${shown}`;
    })
    .join('\n')}\n`;
}

function createListCommand(context: CliContext): Command {
  const command = new Command('ls').alias('list').description('list public status pages and the checks they show');
  withConnectionOptions(command).action(async () => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createChecksClient);
    const { pages } = await client.listStatusPages();
    context.stdout(connection.json ? formatJson({ pages }) : renderStatusPages(pages));
  });
  return command;
}

function createSetCommand(context: CliContext): Command {
  const command = new Command('set')
    .description('create or replace the public status page at /status/SLUG (no sign-in needed to read it)')
    .argument('<slug>', 'a-z, 0-9 and -')
    .requiredOption('--title <text>', 'the page title')
    .option('--description <text>', 'a line under the title')
    .option('--language <language>', "auto (the visitor's browser language: Portuguese or English), en or pt-BR", 'auto')
    .option('--show <check=name...>', 'a check and the name the public sees, e.g. --show "api=Website" (repeat; in this order)', (value: string, all: string[] = []) => [...all, value]);
  withConnectionOptions(command).action(async (slug: string, options: { title: string; description?: string; language: string; show?: string[] }) => {
    if (!options.show?.length) throw new UsageError('name at least one check with --show CHECK=DISPLAY NAME');
    const language = StatusPageLanguageSchema.safeParse(options.language);
    if (!language.success) throw new UsageError(`--language takes auto, en or pt-BR (got "${options.language}")`);
    const input: StatusPageInput = {
      slug,
      title: options.title,
      ...(options.description ? { description: options.description } : {}),
      language: language.data,
      checks: options.show.map(entryFromOption),
    };
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createChecksClient);
    const exists = await client.getStatusPage(slug).then(
      () => true,
      (error: unknown) => {
        if (error instanceof FarolApiError && error.status === 404) return false;
        throw error;
      },
    );
    const page = await explainFailure(
      () => (exists ? client.replaceStatusPage(slug, input) : client.createStatusPage(input)),
      () => undefined,
    );
    context.stdout(connection.json ? formatJson(page) : `${exists ? 'replaced' : 'created'} status page ${page.path}\n`);
  });
  return command;
}

function createRemoveCommand(context: CliContext): Command {
  const command = new Command('rm').alias('remove').description('delete a status page (its checks stay)').argument('<slug>', 'status page slug');
  withConnectionOptions(command).action(async (slug: string) => {
    const connection = connectionOptionsOf(command);
    const client = await connectTo(connection, context, createChecksClient);
    await explainFailure(() => client.deleteStatusPage(slug), (error) => (error.status === 404 ? `no status page "${slug}"; see ${context.commandName} status-pages ls` : undefined));
    context.stdout(connection.json ? formatJson({ removed: slug }) : `removed status page ${slug}\n`);
  });
  return command;
}

/** `farol status-pages ls|set|rm` (issue #19). */
export function createStatusPagesCommand(context: CliContext): Command {
  const command = new Command('status-pages').description('public status pages of chosen checks, served at /status/SLUG: ls, set, rm');
  for (const create of [createListCommand, createSetCommand, createRemoveCommand]) command.addCommand(create(context));
  return command;
}
