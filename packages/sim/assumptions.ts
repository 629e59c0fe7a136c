/**
 * Selectable modelling assumptions. Where the RFC text (or an upstream era) leaves a choice
 * open, the model that makes the choice defines it here with an id, its values, a default and
 * where it is documented (docs/assumptions.md); a run selects values with KernelOptions.assume
 * (`--assume ID=VALUE` on the command line), and model code reads them with
 * `kernel.assume(definition)`. Reports and replay tokens carry the values a run used, so a
 * conclusion can be re-checked under every alternative.
 */

export interface Assumption<V extends string = string> {
  /** Dotted id, e.g. "dep.release": model prefix, then the choice. */
  readonly id: string;
  readonly values: readonly V[];
  readonly default: V;
  /** One line: what is being chosen. */
  readonly summary: string;
  /** Where the choice and its reasoning are written down (docs/assumptions.md#anchor). */
  readonly doc: string;
}

/** The values a run selects, by assumption id; ids not listed take their default. */
export type AssumptionValues = Readonly<Record<string, string>>;

const REGISTRY: Assumption[] = [];

/** Define an assumption (at module load of the model that reads it). Ids are unique. */
export function define_assumption<V extends string>(a: Assumption<V>): Assumption<V> {
  if (!/^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+$/.test(a.id)) throw new RangeError(`assumption id '${a.id}' must be dotted lower-case words`);
  if (REGISTRY.some((x) => x.id === a.id)) throw new RangeError(`assumption '${a.id}' defined twice`);
  if (a.values.length < 2) throw new RangeError(`assumption '${a.id}' needs at least two values`);
  if (!a.values.includes(a.default)) throw new RangeError(`assumption '${a.id}': default '${a.default}' is not one of its values`);
  REGISTRY.push(a as Assumption);
  return a;
}

/** Every defined assumption, by id. */
export function known_assumptions(): readonly Assumption[] {
  return [...REGISTRY].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
}

/** Problems with a set of values (unknown id, value not allowed), one message each. */
export function check_assumptions(values: AssumptionValues): string[] {
  const out: string[] = [];
  for (const [id, value] of Object.entries(values)) {
    const a = REGISTRY.find((x) => x.id === id);
    if (a === undefined) {
      out.push(`unknown assumption '${id}' (known: ${known_assumptions().map((x) => x.id).join(', ') || 'none'})`);
    } else if (!(a.values as readonly string[]).includes(value)) {
      out.push(`assumption '${id}' cannot be '${value}' (one of: ${a.values.join(', ')})`);
    }
  }
  return out;
}

/**
 * The values with defaults left out, keys sorted: the canonical form reports, tokens and
 * cache keys use, so that spelling out a default changes nothing.
 */
export function canonical_assumptions(values: AssumptionValues): AssumptionValues {
  const out: Record<string, string> = {};
  for (const id of Object.keys(values).sort()) {
    const a = REGISTRY.find((x) => x.id === id);
    if (a === undefined || a.default !== values[id]) out[id] = values[id];
  }
  return out;
}
