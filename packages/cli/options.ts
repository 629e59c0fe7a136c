/**
 * Option parsing shared by the commands. Every value is checked when it is parsed, before any
 * computation, and a bad one throws a UsageError naming the option and the value (exit 2).
 */
import { COST_KEYS, check_assumptions, known_assumptions, make_cost_table, type AssumptionValues, type CostOverrides } from '@deplab/sim';
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

/** --cost key=ns (repeatable): cost-table overrides, checked against the table's keys. */
export function parse_costs(list: readonly string[]): CostOverrides {
  const out: Record<string, number> = {};
  for (const item of list) {
    const m = /^([a-z_.]+)=(0|[1-9]\d*)$/.exec(item);
    if (m === null) throw new UsageError(`--cost expects key=ns (a non-negative integer), got '${item}'`);
    if (!(COST_KEYS as readonly string[]).includes(m[1])) throw new UsageError(`--cost: unknown entry '${m[1]}' (known: ${COST_KEYS.join(', ')})`);
    out[m[1]] = Number(m[2]);
  }
  try { make_cost_table(out as CostOverrides); } catch (e) { throw new UsageError(`--cost: ${(e as Error).message}`); }
  return out as CostOverrides;
}

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
