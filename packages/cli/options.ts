/**
 * Option parsing shared by the commands. Every value is checked when it is parsed, before any
 * computation, and a bad one throws a UsageError naming the option and the value (exit 2).
 */
import {
  COST_KEYS, COST_PROFILE_NAMES, COST_SPEC_SYNTAX, check_assumptions, format_cost_spec, is_cost_profile, known_assumptions, make_cost_table,
  parse_cost_spec, type AssumptionValues, type CostOverrides, type CostProfileName, type CostSpec,
} from '@deplab/sim';
import type { Backend } from '@deplab/driver-api';
import { driver_names, find_driver, type DriverEntry } from '@deplab/harness';
import { UsageError } from './errors.ts';

/** An integer option in [min, max], written in plain decimal digits (no '', '1e3', '0x10', ' 5'). */
export function int_arg(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^(0|[1-9]\d*)$/.test(value)) throw new UsageError(`${name} must be an integer in ${min}..${max}, got '${value}'`);
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${name} must be an integer in ${min}..${max}, got '${value}'`);
    return n;
  };
}

export const SEED_MAX = 2 ** 31;

/** Repeatable option collector. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * --cost key=value (repeatable) on top of --cost-profile: cost-table overrides, checked against
 * the table's keys; a value is ns or a distribution in the text form of format_cost_spec.
 */
export function parse_costs(list: readonly string[], profile?: string): CostOverrides {
  const out: Record<string, CostSpec | CostProfileName> = {};
  if (profile !== undefined) {
    if (!is_cost_profile(profile)) throw new UsageError(`--cost-profile: unknown profile '${profile}' (known: ${COST_PROFILE_NAMES.join(', ')})`);
    out.profile = profile;
  }
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq < 0) throw new UsageError(`--cost expects key=value with a value of ${COST_SPEC_SYNTAX}, got '${item}'`);
    const key = item.slice(0, eq);
    if (!(COST_KEYS as readonly string[]).includes(key)) throw new UsageError(`--cost: unknown entry '${key}' (known: ${COST_KEYS.join(', ')})`);
    try {
      out[key] = parse_cost_spec(key, item.slice(eq + 1));
    } catch (e) {
      throw new UsageError(`--cost: ${(e as Error).message}`);
    }
  }
  try { make_cost_table(out as CostOverrides); } catch (e) { throw new UsageError(`--cost: ${(e as Error).message}`); }
  return out as CostOverrides;
}

/** The cost overrides as command-line arguments (for a report's reproduce line). */
export function cost_args(costs: CostOverrides): string[] {
  return Object.entries(costs).flatMap(([k, v]) => (k === 'profile' ? ['--cost-profile', String(v)]
    : k === 'driver' ? [] : ['--cost', `${k}=${format_cost_spec(v as CostSpec)}`]));
}

export const COST_PROFILE_HELP = `cost profile (${COST_PROFILE_NAMES.join(', ')}; default ${make_cost_table().profile}; docs/cost-model.md)`;
export const COST_HELP = `cost-table override, key=ns or a distribution (${COST_SPEC_SYNTAX}); repeatable`;

/** --assume id=value (repeatable): selected modelling assumptions (docs/assumptions.md). */
export function parse_assume(list: readonly string[]): AssumptionValues {
  const out: Record<string, string> = {};
  for (const item of list) {
    const m = /^([a-z][a-z0-9_.-]*)=([a-z0-9_.-]+)$/.exec(item);
    if (m === null) throw new UsageError(`--assume expects id=value, got '${item}' (known: ${known_assumptions().map((a) => `${a.id}=${a.values.join('|')}`).join(', ') || 'none'})`);
    if (out[m[1]] !== undefined && out[m[1]] !== m[2]) throw new UsageError(`--assume ${m[1]} given twice with different values`);
    out[m[1]] = m[2];
  }
  const problems = check_assumptions(out);
  if (problems.length > 0) throw new UsageError(`--assume: ${problems.join('; ')}`);
  return out;
}

export function driver_or_fail(name: string): DriverEntry {
  const d = find_driver(name);
  if (d === undefined) throw new UsageError(`unknown driver '${name}' (known: ${driver_names().join(', ')})`);
  return d;
}

export const BACKENDS: readonly Backend[] = ['sched', 'dep', 'dep-hw'];

/** A backend name the driver has a binding for. */
export function backend_for(d: DriverEntry, value: string, option: string): Backend {
  if (!(BACKENDS as readonly string[]).includes(value)) throw new UsageError(`${option} must be one of ${BACKENDS.join(', ')}, got '${value}'`);
  const backend = value as Backend;
  const has = d.backends ?? ['sched', 'dep'];
  if (!has.includes(backend)) throw new UsageError(`${option} ${backend}: driver ${d.name} has no ${backend} binding (it has: ${has.join(', ')})`);
  return backend;
}

/** A file-name-safe form of a name (workloads and drivers become file names). */
export function slug(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-');
}
