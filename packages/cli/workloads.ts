/** Resolving a workload argument: a built-in name, or a .json / .wsim file. */
import { existsSync, readFileSync } from 'node:fs';
import type { EngineClass } from '@deplab/driver-api';
import { find_builtin, format_diagnostic, import_wsim, load_builtin, load_workload_json, type Workload } from '@deplab/harness';

/** A loaded workload, and the device options a built-in scenario sets (empty for a file). */
export type Resolved = { ok: true; workload: Workload; device: Readonly<Record<string, number | string | boolean>> } | { ok: false; errors: string[] };

export function resolve_workload(spec: string, engines: readonly EngineClass[], loops = 10): Resolved {
  const builtin = find_builtin(spec);
  let result;
  if (builtin !== undefined) {
    result = load_builtin(builtin, engines);
  } else if (existsSync(spec)) {
    let text: string;
    try {
      text = readFileSync(spec, 'utf8');
    } catch (e) {
      return { ok: false, errors: [`${spec}: cannot read: ${(e as Error).message}`] };
    }
    result = spec.endsWith('.wsim') ? import_wsim(text, spec, { engines, loops }) : load_workload_json(text, spec);
  } else {
    return { ok: false, errors: [`${spec}: not a built-in workload (see 'deplab list') and no such file`] };
  }
  return result.ok ? { ok: true, workload: result.workload, device: builtin?.device ?? {} } : { ok: false, errors: result.errors.map(format_diagnostic) };
}
