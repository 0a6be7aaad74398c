/**
 * The containers whose absence or ill health matters (the design notes' WATCH_CONTAINERS):
 * comma- or space-separated names or globs (`*` any run of characters, `?` one character).
 */
export interface WatchList {
  readonly entries: readonly string[];
  /** True when a container name matches an entry. */
  matches(name: string): boolean;
  /** The entries no container in `names` matches: reported as `missing`. */
  missing(names: readonly string[]): string[];
}

const ENTRY = /^[a-zA-Z0-9*?][a-zA-Z0-9_.*?-]{0,127}$/;

/** Parses the list; throws naming the first entry that cannot be a container name or glob. */
export function parseWatchList(text: string | undefined): WatchList {
  const entries = [...new Set((text ?? '').split(/[\s,]+/).filter((entry) => entry !== ''))];
  for (const entry of entries) {
    if (!ENTRY.test(entry)) throw new Error(`watch entry "${entry}" is not a container name or glob (letters, digits, _ . - and the wildcards * ?)`);
  }
  const patterns = entries.map((entry) => ({ entry, regex: globToRegex(entry) }));
  const matches = (name: string): boolean => patterns.some(({ regex }) => regex.test(name));
  return {
    entries,
    matches,
    missing: (names) => patterns.filter(({ regex }) => !names.some((name) => regex.test(name))).map(({ entry }) => entry),
  };
}

function globToRegex(glob: string): RegExp {
  // Entries hold only [a-zA-Z0-9_.*?-]: `.` is the only character to escape.
  const body = glob.replace(/\./g, '\\.').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}
