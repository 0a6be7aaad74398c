import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const architecture = readFileSync(path.join(root, 'docs/architecture.md'), 'utf8');

/** Descriptions start at this column or later; a line indented this far only continues one. */
const DESCRIPTION_COLUMN = 20;

/**
 * The paths the "Folders" tree names: each line is `<indent><name> [<name>…]  <description>`,
 * a name ending in `/` is a folder whose children are indented under it. Placeholders
 * (`<feature>`) are not paths.
 */
function namedPaths(markdown: string): string[] {
  const section = markdown.split('\n## Folders')[1] ?? '';
  const block = /```\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const parents: Array<{ indent: number; path: string }> = [];
  const paths: string[] = [];
  for (const line of block.split('\n')) {
    const match = /^( *)(\S+(?: \S+)*)/.exec(line);
    if (!match || match[1]!.length >= DESCRIPTION_COLUMN) continue;
    const indent = match[1]!.length;
    while (parents.length > 0 && parents.at(-1)!.indent >= indent) parents.pop();
    const parent = parents.at(-1)?.path ?? '';
    const names = match[2]!.split(' ');
    for (const name of names) if (!name.includes('<')) paths.push(parent + name);
    if (names.length === 1 && names[0]!.endsWith('/')) parents.push({ indent, path: parent + names[0] });
  }
  return paths;
}

describe('docs/architecture.md (#21)', () => {
  it('names only folders and files that exist, so the map fails the build when it drifts', () => {
    const paths = namedPaths(architecture);
    expect(paths.length).toBeGreaterThan(60);
    expect(paths.filter((named) => !existsSync(path.join(root, named)))).toEqual([]);
  });

  it('names each folder once', () => {
    const paths = namedPaths(architecture);
    expect(paths.filter((named, index) => paths.indexOf(named) !== index)).toEqual([]);
  });

  it('no longer calls shipped features "not here yet"', () => {
    const notYet = architecture.split(/## What is deliberately not here yet/)[1] ?? '';
    for (const shipped of ['Docker', 'screenshots', 'dashboard', 'accounts', 'TLS']) expect(notYet, shipped).not.toContain(shipped);
  });

  it('answers "where is X" with a path for the four questions newcomers ask', () => {
    const where = architecture.split(/## Where is/)[1]?.split('\n## ')[0] ?? '';
    for (const question of ['heartbeat', 'alert', 'sign', 'live fleet']) expect(where, question).toMatch(new RegExp(question, 'i'));
    for (const file of where.match(/`([\w./-]+\.tsx?)`/g) ?? []) expect(existsSync(path.join(root, file.slice(1, -1))), file).toBe(true);
  });
});
