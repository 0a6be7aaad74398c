import type { z } from 'zod';

/**
 * A check compiled from a protocol schema that answers one question without allocating: would
 * zod accept this value and return it unchanged? Parsing a heartbeat with zod copies every
 * object and array and makes a result object per field: at 1,000 heartbeats a second that was
 * half of everything a 10,000-agent hub allocated (issue #16, ADR 0039). Values agents send are
 * nearly always well-formed and carry exactly the schema's keys, so the hub checks them in place
 * and calls zod only for the rest, whose answer (the refusal with its issues, or a stripped or
 * defaulted copy) stays zod's. The schema stays the one source of truth: nothing here restates
 * it, and whatever this does not understand is left to zod.
 *
 * Each node answers PASS (zod would return the same value), INVALID (zod would refuse it) or
 * ASK_ZOD (zod may accept it but return something else, such as an object with unknown keys,
 * which zod strips, or a default; or a schema kind this does not know).
 */
const PASS = 0;
const INVALID = 1;
const ASK_ZOD = 2;
type Verdict = typeof PASS | typeof INVALID | typeof ASK_ZOD;
type Node = (value: unknown) => Verdict;

/** A check, or a format schema (`z.uuid()` …), which is a check itself. */
interface CheckLike {
  _zod: { def: CheckDef; check(payload: { value: unknown; issues: unknown[] }): unknown };
}

/** zod's internals as far as this reads them (zod 4's `_zod.def`). */
interface Def {
  type: string;
  /** Set on a format schema: the schema is a check of that kind. */
  check?: string;
  checks?: CheckLike[];
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  element?: z.ZodType;
  items?: z.ZodType[];
  rest?: z.ZodType | null;
  options?: z.ZodType[];
  innerType?: z.ZodType;
  entries?: Record<string, string | number>;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  values?: unknown[];
  coerce?: boolean;
}
interface CheckDef {
  check: string;
  value?: number | bigint;
  inclusive?: boolean;
  format?: string;
  maximum?: number;
  minimum?: number;
  length?: number;
  pattern?: RegExp;
  when?: (payload: { value: unknown; issues: unknown[] }) => boolean;
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;
const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const askZod: Node = () => ASK_ZOD;

/** A value check of a number, string or array; null when its kind is not one this knows. */
function compileCheck(check: CheckLike): ((value: never) => boolean) | null {
  const def = check._zod.def;
  switch (def.check) {
    case 'greater_than': {
      const bound = Number(def.value);
      return def.inclusive ? (value: number) => value >= bound : (value: number) => value > bound;
    }
    case 'less_than': {
      const bound = Number(def.value);
      return def.inclusive ? (value: number) => value <= bound : (value: number) => value < bound;
    }
    case 'number_format':
      // zod's `int()` is a safe integer; the other formats (int32, float32 …) are left to zod.
      return def.format === 'safeint' ? (value: number) => Number.isSafeInteger(value) : null;
    case 'max_length': {
      const maximum = def.maximum!;
      return (value: { length: number }) => value.length <= maximum;
    }
    case 'min_length': {
      const minimum = def.minimum!;
      return (value: { length: number }) => value.length >= minimum;
    }
    case 'length_equals': {
      const length = def.length!;
      return (value: { length: number }) => value.length === length;
    }
    case 'string_format': {
      if (def.format === 'regex' && def.pattern) {
        const pattern = def.pattern;
        return (value: string) => {
          pattern.lastIndex = 0;
          return pattern.test(value);
        };
      }
      // Other formats (uuid, email, url …): zod's own check, which reads the value and leaves it.
      return (value: string) => {
        const payload = { value, issues: [] as unknown[] };
        check._zod.check(payload);
        return payload.issues.length === 0;
      };
    }
    case 'custom':
      // A refinement (`refine`, `superRefine`): its function, which reads the value and leaves
      // it as it is (it may only add issues). One that is asynchronous is zod's to refuse.
      return (value: unknown) => {
        const payload = { value, issues: [] as unknown[] };
        if (def.when && !def.when(payload)) return true;
        const result = check._zod.check(payload);
        if (result instanceof Promise) throw new AsyncRefinement();
        return payload.issues.length === 0;
      };
    default:
      // Trims, case changes, multiples and the like: zod decides.
      return null;
  }
}

/** Thrown by an asynchronous refinement: the value goes to zod, whatever the rest says. */
class AsyncRefinement extends Error {}

/**
 * The checks of a schema as one predicate; null when one of them is not known here. A format
 * schema (`z.uuid()`, `z.int()`, `z.email()` …) is itself a check, before the ones chained on it.
 */
function compileChecks(schema: z.ZodType, def: Def): ((value: never) => boolean) | null | undefined {
  const own = def.check !== undefined ? [schema as unknown as CheckLike] : [];
  const checks = [...own, ...(def.checks ?? [])].map(compileCheck);
  if (checks.some((check) => check === null)) return null;
  if (checks.length === 0) return undefined;
  const known = checks as Array<(value: never) => boolean>;
  return (value: never) => {
    for (const check of known) if (!check(value)) return false;
    return true;
  };
}

function compileNode(schema: z.ZodType, seen: Map<z.ZodType, Node>): Node {
  const known = seen.get(schema);
  if (known) return known;
  // Recursive schemas (lazy) and repeated sub-schemas compile once; the slot is filled below.
  let compiled: Node = askZod;
  const forward: Node = (value) => compiled(value);
  seen.set(schema, forward);
  compiled = compileKind(schema, seen);
  seen.set(schema, compiled);
  return compiled;
}

function compileKind(schema: z.ZodType, seen: Map<z.ZodType, Node>): Node {
  const def = defOf(schema);
  if (def.coerce) return askZod;
  const checks = compileChecks(schema, def);
  if (checks === null) return askZod;
  switch (def.type) {
    case 'number':
      // zod's numbers are finite (no NaN, no Infinity).
      return (value) => (typeof value !== 'number' || !Number.isFinite(value) ? INVALID : checks && !checks(value as never) ? INVALID : PASS);
    case 'string':
      return (value) => (typeof value !== 'string' ? INVALID : checks && !checks(value as never) ? INVALID : PASS);
    case 'boolean':
      return checks ? askZod : (value) => (typeof value === 'boolean' ? PASS : INVALID);
    case 'null':
      return (value) => (value === null ? PASS : INVALID);
    case 'unknown':
    case 'any':
      return checks ? askZod : () => PASS;
    case 'literal': {
      const values = def.values!;
      return (value) => (values.includes(value) ? PASS : INVALID);
    }
    case 'enum': {
      const values = new Set(Object.values(def.entries!));
      return (value) => ((typeof value === 'string' || typeof value === 'number') && values.has(value) ? PASS : INVALID);
    }
    case 'nullable': {
      const inner = compileNode(def.innerType!, seen);
      return (value) => (value === null ? PASS : inner(value));
    }
    case 'optional': {
      const inner = compileNode(def.innerType!, seen);
      return (value) => (value === undefined ? PASS : inner(value));
    }
    case 'default':
    case 'prefault': {
      // Present: as the inner schema. Absent: zod fills in the default, so the value changes.
      const inner = compileNode(def.innerType!, seen);
      return (value) => (value === undefined ? ASK_ZOD : inner(value));
    }
    case 'array': {
      const element = compileNode(def.element!, seen);
      return (value) => {
        if (!Array.isArray(value)) return INVALID;
        if (checks && !checks(value as never)) return INVALID;
        let verdict: Verdict = PASS;
        for (let i = 0; i < value.length; i++) {
          const each = element(value[i]);
          if (each === INVALID) return INVALID;
          if (each === ASK_ZOD) verdict = ASK_ZOD;
        }
        return verdict;
      };
    }
    case 'tuple': {
      const items = def.items!.map((item) => compileNode(item, seen));
      const rest = def.rest ? compileNode(def.rest, seen) : null;
      // Optional trailing items change what zod returns for a short tuple: zod decides those.
      if (def.items!.some((item) => (item as unknown as { _zod: { optin?: string } })._zod.optin === 'optional')) return askZod;
      return (value) => {
        if (!Array.isArray(value)) return INVALID;
        if (value.length < items.length || (rest === null && value.length > items.length)) return INVALID;
        let verdict: Verdict = PASS;
        for (let i = 0; i < value.length; i++) {
          const each = i < items.length ? items[i]!(value[i]) : rest!(value[i]);
          if (each === INVALID) return INVALID;
          if (each === ASK_ZOD) verdict = ASK_ZOD;
        }
        return checks && verdict === PASS && !checks(value as never) ? INVALID : verdict;
      };
    }
    case 'object':
      return compileObject(def, checks, seen);
    case 'record': {
      const keyType = defOf(def.keyType!);
      // String keys only; enum keys (which zod requires all of) and the like are left to zod.
      if (keyType.type !== 'string' || checks) return askZod;
      const key = compileNode(def.keyType!, seen);
      const item = compileNode(def.valueType!, seen);
      return (value) => {
        if (!isPlainObject(value)) return INVALID;
        let verdict: Verdict = PASS;
        for (const name in value) {
          if (!Object.hasOwn(value, name)) continue;
          // zod's copy drops this key rather than set the prototype.
          if (name === '__proto__') return ASK_ZOD;
          const named = key(name);
          const each = named === PASS ? item(value[name]) : named;
          if (each === INVALID) return INVALID;
          if (each === ASK_ZOD) verdict = ASK_ZOD;
        }
        return verdict;
      };
    }
    case 'union': {
      const options = def.options!.map((option) => compileNode(option, seen));
      // zod returns the first option that accepts the value: an option that might accept it
      // differently (ASK_ZOD) before the one that passes leaves the answer to zod.
      return (value) => {
        for (const option of options) {
          const verdict = option(value);
          if (verdict !== INVALID) return verdict;
        }
        return INVALID;
      };
    }
    case 'custom':
      // `z.custom(fn)`, `z.instanceof(C)`: the schema is its own check; zod returns the value as it is.
      return checks ? (value) => (checks(value as never) ? PASS : INVALID) : askZod;
    default:
      // Transforms, pipes, dates, intersections …: zod decides.
      return askZod;
  }
}

function compileObject(def: Def, checks: ((value: never) => boolean) | undefined, seen: Map<z.ZodType, Node>): Node {
  const shape = def.shape!;
  const keys = Object.keys(shape);
  const fields = keys.map((key) => ({
    key,
    check: compileNode(shape[key]!, seen),
    optional: (shape[key] as unknown as { _zod: { optin?: string } })._zod.optin === 'optional',
  }));
  const known = new Set(keys);
  // Keys the shape does not name: zod strips them by default (so the value would change),
  // refuses them in a strict object (`never`), and checks and keeps them in a passthrough one.
  const extra: Node = def.catchall === undefined ? askZod : defOf(def.catchall).type === 'never' ? () => INVALID : compileNode(def.catchall, seen);
  return (value) => {
    if (!isPlainObject(value)) return INVALID;
    let verdict: Verdict = PASS;
    let present = 0;
    for (const field of fields) {
      if (!Object.hasOwn(value, field.key)) {
        // Absent: fine for an optional key; otherwise zod parses `undefined` (usually a refusal).
        if (!field.optional) verdict = ASK_ZOD;
        continue;
      }
      present++;
      const each = field.check(value[field.key]);
      if (each === INVALID) return INVALID;
      if (each === ASK_ZOD) verdict = ASK_ZOD;
    }
    if (verdict !== PASS) return verdict;
    // Counting first: the usual value has exactly the shape's keys, and nothing else is looked at.
    let enumerable = 0;
    // Inherited keys are counted on purpose: the loop below leaves a value with one to zod.
    for (const key in value) if (key !== undefined) enumerable++;
    // Refinements of the whole object (`superRefine`) see it once every field passed.
    if (enumerable === present) return checks && !checks(value as never) ? INVALID : PASS;
    for (const key in value) {
      // An inherited key (zod's strict check sees those too) or a JSON `__proto__` key: zod decides.
      if (!Object.hasOwn(value, key) || key === '__proto__') return ASK_ZOD;
      if (known.has(key)) continue;
      const each = extra(value[key]);
      if (each !== PASS) return each;
    }
    return checks && !checks(value as never) ? INVALID : PASS;
  };
}

/**
 * Compiles `schema` into a predicate that is true only when zod's `safeParse` would succeed
 * and return a value equal to the input (same keys, same values). When it is false, call zod:
 * the value may still be valid (zod returns it stripped or defaulted) or it is refused.
 */
export function compileSchemaCheck(schema: z.ZodType): (value: unknown) => boolean {
  const cached = compiledChecks.get(schema);
  if (cached) return cached;
  const root = compileNode(schema, new Map());
  const check = (value: unknown): boolean => {
    try {
      return root(value) === PASS;
    } catch (error) {
      if (error instanceof AsyncRefinement) return false;
      throw error;
    }
  };
  compiledChecks.set(schema, check);
  return check;
}

/** Schemas are immutable: each compiles once per process (a dashboard socket's table is built per socket). */
const compiledChecks = new WeakMap<z.ZodType, (value: unknown) => boolean>();

/**
 * Parses `value` with `schema`, checking it in place first: a value zod would return unchanged
 * is returned as it is, without zod's copy; anything else gets zod's answer.
 */
export function createFastParser<S extends z.ZodType>(schema: S): (value: unknown) => z.ZodSafeParseResult<z.output<S>> {
  const check = compileSchemaCheck(schema);
  return (value) => (check(value) ? { success: true, data: value as z.output<S> } : schema.safeParse(value));
}
