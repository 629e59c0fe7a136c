/**
 * load_workload_json: JSON text -> Workload, or every error found, each naming a line and
 * column and (after the syntax check) the field path.
 */
import { check_workload } from './check.ts';
import { compile_workload } from './compile-json.ts';
import { diagnostic, format_path, type PathSegment } from './diagnostics.ts';
import { read_json } from './json-text.ts';
import { error_map, WorkloadSpec } from './schema.ts';
import { LIMITS, type Diagnostic, type LoadResult } from './types.ts';

/** The lists of a workload and their bounds, checked on the raw value before the schema reads every element. */
const LIST_LIMITS: readonly { readonly key: string; readonly max: number; readonly what: string }[] = [
  { key: 'clients', max: LIMITS.clients, what: 'clients' },
  { key: 'streams', max: LIMITS.clients, what: 'streams' },
  { key: 'buffers', max: LIMITS.buffers, what: 'buffers' },
  { key: 'external_fences', max: LIMITS.buffers, what: 'external fences' },
  { key: 'events', max: LIMITS.events, what: 'events' },
];

/**
 * Lists longer than the format allows, found in one pass over the parsed value: a file with
 * 65,537 steps is refused in milliseconds, not after every step was validated.
 */
export function size_problems(value: unknown, source: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  const too_long = (list: unknown, max: number, path: string, what: string) => {
    if (Array.isArray(list) && list.length > max) out.push(diagnostic(source, `${list.length} ${what}: at most ${max} allowed`, { path }));
  };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return out;
  const top = value as Record<string, unknown>;
  for (const l of LIST_LIMITS) too_long(top[l.key], l.max, l.key, l.what);
  if (Array.isArray(top.clients) && top.clients.length <= LIMITS.clients) {
    top.clients.forEach((client: unknown, c) => {
      if (client === null || typeof client !== 'object') return;
      const cl = client as Record<string, unknown>;
      too_long(cl.queues, LIMITS.queues_per_client, `clients[${c}].queues`, 'queues');
      const program = cl.program as Record<string, unknown> | null | undefined;
      if (program !== null && typeof program === 'object') too_long(program.steps, LIMITS.steps_per_program, `clients[${c}].program.steps`, 'steps');
    });
  }
  return out;
}

function capped(errors: Diagnostic[], source: string): Diagnostic[] {
  if (errors.length <= LIMITS.errors) return errors;
  const rest = errors.length - LIMITS.errors;
  return [...errors.slice(0, LIMITS.errors), diagnostic(source, `... and ${rest} more error${rest > 1 ? 's' : ''}`)];
}

/**
 * Loads a JSON workload (format: packages/harness/workload/README.md). Never throws: bad JSON
 * gives one error with line and column; a schema or reference problem gives one error per bad
 * field, with its path (`clients[1].program.steps[3].batch.duration_us`) and position.
 */
export function load_workload_json(text: string, source_name: string): LoadResult {
  if (text.length > LIMITS.text_chars) {
    return { ok: false, errors: [diagnostic(source_name, `text longer than ${LIMITS.text_chars} characters`)] };
  }
  // JSON.parse is an order of magnitude faster than the positional reader: bounds first.
  let quick: unknown;
  try { quick = JSON.parse(text); } catch { quick = undefined; }
  const oversized = size_problems(quick, source_name);
  if (oversized.length > 0) return { ok: false, errors: oversized };
  const json = read_json(text);
  if (!json.ok) return { ok: false, errors: [diagnostic(source_name, `invalid JSON: ${json.message}`, { position: json.position })] };
  const at = (path: readonly PathSegment[], message: string) =>
    diagnostic(source_name, message, { path: format_path(path), position: json.position_at(path) });

  const parsed = WorkloadSpec.safeParse(json.value, { error: error_map });
  if (!parsed.success) {
    const errors = parsed.error.issues.map((issue) => {
      const single_key = issue.code === 'unrecognized_keys' && issue.keys.length === 1;
      const path = single_key ? [...issue.path, issue.keys[0]] : issue.path;
      return at(path as PathSegment[], single_key ? 'unknown field' : issue.message);
    });
    return { ok: false, errors: capped(errors, source_name) };
  }
  const origin_of = (path: readonly PathSegment[]) => {
    const position = json.position_at(path);
    const where = position === null ? source_name : `${source_name}:${position.line}:${position.column}`;
    return `${where} ${format_path(path)}`;
  };
  const compiled = compile_workload(parsed.data, source_name, origin_of);
  if (!compiled.ok) return { ok: false, errors: capped(compiled.errors.map((error) => at(error.path, error.message)), source_name) };
  const problems = check_workload(compiled.workload);
  if (problems.length > 0) {
    return { ok: false, errors: problems.map((p) => ({ ...p, message: `internal: compiled workload breaks an invariant: ${p.message}` })) };
  }
  return compiled;
}
