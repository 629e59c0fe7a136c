/**
 * Resolving a workload argument: a built-in name, or a file whose content says what it is (a
 * JSON workload, an IGT gem_wsim descriptor, or a captured gpu_scheduler trace), never its
 * extension.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { EngineClass } from '@deplab/driver-api';
import {
  find_builtin, format_diagnostic, import_ftrace_workload, import_wsim, is_capture_line, load_builtin, load_workload_json, type Workload,
} from '@deplab/harness';

export type WorkloadKind = 'builtin' | 'json' | 'wsim' | 'capture';

/** A loaded workload, what it was loaded from, and the device options a built-in scenario sets (empty for a file). */
export type Resolved = { ok: true; workload: Workload; kind: WorkloadKind; device: Readonly<Record<string, number | string | boolean>> } | { ok: false; errors: string[] };

/** Lines looked at to recognise a capture: its header or first event is near the top. */
const DETECT_LINES = 200;

/** A gem_wsim step: no spaces, "<token>[.<more>]" (1.RCS.500-1000.0.0, M.1.VCS, p.16667, f). */
const WSIM_STEP = /^[A-Za-z0-9]+(?:\.\S*)?(?:,\S+)*$/;

/** What a workload file holds, judged from its content; null when it is none of them. */
export function detect_workload_kind(text: string): 'json' | 'wsim' | 'capture' | null {
  const body = text.replace(/^\uFEFF/, '');
  const first = body.trimStart()[0];
  if (first === '{') return 'json';
  const lines = body.split('\n', DETECT_LINES).map((l) => l.replace(/\r$/, ''));
  if (lines.some((l) => /^# tracer: /.test(l) || /^\s*cpus=\d+\s*$/.test(l) || is_capture_line(l))) return 'capture';
  const meaningful = lines.find((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
  if (meaningful !== undefined && WSIM_STEP.test(meaningful.trim())) return 'wsim';
  return null;
}

export function resolve_workload(spec: string, engines: readonly EngineClass[], loops = 10): Resolved {
  const builtin = find_builtin(spec);
  if (builtin !== undefined) {
    const result = load_builtin(builtin, engines);
    return result.ok ? { ok: true, workload: result.workload, kind: 'builtin', device: builtin.device ?? {} } : { ok: false, errors: result.errors.map(format_diagnostic) };
  }
  if (!existsSync(spec)) return { ok: false, errors: [`${spec}: not a built-in workload (see 'deplab list') and no such file`] };
  let text: string;
  try {
    text = readFileSync(spec, 'utf8');
  } catch (e) {
    return { ok: false, errors: [`${spec}: cannot read: ${(e as Error).message}`] };
  }
  const kind = detect_workload_kind(text);
  if (kind === null) {
    const first = text.split('\n').find((l) => l.trim() !== '') ?? '';
    return {
      ok: false,
      errors: [`${spec}: neither a JSON workload (starts with '{'), a gem_wsim descriptor nor a captured trace ` +
        `(tracefs trace or trace_pipe, trace-cmd report, perf script); its first line is ${JSON.stringify(first.slice(0, 60))}`],
    };
  }
  const result = kind === 'json' ? load_workload_json(text, spec)
    : kind === 'wsim' ? import_wsim(text, spec, { engines, loops })
      : import_ftrace_workload(text, spec, { engines });
  return result.ok ? { ok: true, workload: result.workload, kind, device: {} } : { ok: false, errors: result.errors.map(format_diagnostic) };
}

/** The notes of an imported capture (what was read, mapped, approximated, skipped), one per line, for standard error. */
export function capture_notes(resolved: Resolved): string {
  if (!resolved.ok || resolved.kind !== 'capture') return '';
  return resolved.workload.notes.map((n) => `deplab: ${format_diagnostic({ ...n, message: `${n.kind}: ${n.message}` })}\n`).join('');
}
