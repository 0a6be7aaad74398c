/**
 * Renders rows as columns separated by two spaces, each as wide as its widest cell. The last
 * column is not padded, so lines carry no trailing spaces. Returns the text with a final newline.
 */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, column) => Math.max(...all.map((row) => displayWidth(row[column] ?? ''))));
  return all
    .map((row) =>
      headers
        .map((_, column) => {
          const cell = row[column] ?? '';
          return column === headers.length - 1 ? cell : cell + ' '.repeat(widths[column]! - displayWidth(cell));
        })
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/**
 * Renders `label value` pairs with the values aligned, indented by `indent` spaces. Pairs whose
 * value is undefined are skipped, so callers can list optional facts inline.
 */
export function renderFields(fields: readonly (readonly [string, string | undefined])[], indent = 0): string {
  const present = fields.filter((field): field is readonly [string, string] => field[1] !== undefined);
  const width = Math.max(0, ...present.map(([label]) => displayWidth(label)));
  const pad = ' '.repeat(indent);
  return present.map(([label, value]) => `${pad}${label}${' '.repeat(width - displayWidth(label))}  ${value}`.trimEnd() + '\n').join('');
}

/** Counts code points, so names with accents line up (wide CJK glyphs are out of scope). */
function displayWidth(text: string): number {
  return [...text].length;
}
