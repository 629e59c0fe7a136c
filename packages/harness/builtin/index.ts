/**
 * Built-in workloads by name (`deplab list`). Each says which drivers it is meant for; JSON
 * workloads are written as objects and go through the same loader as user files, so they are
 * validated exactly like them. The gem_wsim descriptors in workloads/wsim are imported for the
 * chosen driver's engines.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EngineClass } from '@deplab/driver-api';
import { load_workload_json } from '../workload/load-json.ts';
import { import_wsim } from '../workload/wsim-import.ts';
import type { LoadResult } from '../workload/types.ts';
import { KUNIT_WORKLOADS, MOCK_SHAPE_WORKLOADS } from './kunit.ts';
import { DRIVER_WORKLOADS } from './drivers.ts';
import { STRESS_WORKLOADS } from './stress.ts';

export interface BuiltinWorkload {
  readonly name: string;
  readonly description: string;
  /** Drivers this workload is meant for ('*' = any). */
  readonly drivers: readonly string[];
  /** Part of the README's default comparison. */
  readonly default: boolean;
  /** A JSON workload object, or a gem_wsim file under workloads/wsim. */
  readonly source: { readonly json: object } | { readonly wsim: string; readonly loops: number };
  /**
   * Device options (DeviceOptions.driver) the scenario itself sets, e.g. the credit limit of
   * a KUnit suite's scheduler. They override the driver's defaults; options a run is given
   * explicitly override them.
   */
  readonly device?: Readonly<Record<string, number | string | boolean>>;
}

const WSIM: BuiltinWorkload[] = [
  ['composited-ui', 'a compositor: render batches with buffer dependencies, 60 fps', 30],
  ['cloud-gaming-60fps', 'cloud gaming: render + encode per frame with working sets', 30],
  ['media-1080p-player', '1080p playback: decode, render, throttled', 50],
  ['media_load_balance_hd12', 'load-balanced HD decode streams', 20],
  ['media_nn_1080p', 'decode + neural-network post-processing', 10],
  ['vcs_balanced', 'balanced video decode with a queue-depth limit', 10],
].map(([name, description, loops]) => ({
  name: `wsim/${name}`, description: `IGT gem_wsim: ${description}`, drivers: ['*'], default: name === 'composited-ui',
  source: { wsim: `${name}.wsim`, loops: loops as number },
}));

export const BUILTIN_WORKLOADS: readonly BuiltinWorkload[] = [...KUNIT_WORKLOADS, ...MOCK_SHAPE_WORKLOADS, ...DRIVER_WORKLOADS, ...STRESS_WORKLOADS, ...WSIM];

/** The repository root: set by the deplab launcher (DEPLAB_ROOT), else found from this file. */
function repo_root(): string {
  return process.env.DEPLAB_ROOT ?? fileURLToPath(new URL('../../../', import.meta.url));
}

export function find_builtin(name: string): BuiltinWorkload | undefined {
  return BUILTIN_WORKLOADS.find((w) => w.name === name);
}

export function builtins_for(driver: string, only_default = false): BuiltinWorkload[] {
  return BUILTIN_WORKLOADS.filter((w) => (w.drivers.includes('*') || w.drivers.includes(driver)) && (!only_default || w.default));
}

/** Compile a built-in workload for a driver with these engines. */
export function load_builtin(w: BuiltinWorkload, engines: readonly EngineClass[]): LoadResult {
  if ('json' in w.source) return load_workload_json(JSON.stringify({ name: w.name, description: w.description, ...w.source.json }), `builtin:${w.name}`);
  const text = readFileSync(`${repo_root()}/workloads/wsim/${w.source.wsim}`, 'utf8');
  return import_wsim(text, `workloads/wsim/${w.source.wsim}`, { engines, loops: w.source.loops, client_name: w.name.replace('wsim/', '') });
}
export { MATRIX_ALLOC_FAIL_PROBABILITY, MATRIX_FAULTS, fault_workload, type MatrixFault } from './faults.ts';
