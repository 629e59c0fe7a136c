/**
 * Resolving a workload argument: a built-in name, or a file whose content says what it is (a
 * JSON workload, an IGT gem_wsim descriptor, or a captured gpu_scheduler trace), never its
 * extension.
 */
import { readFileSync, statSync } from 'node:fs';
import type { EngineClass } from '@deplab/driver-api';
import {
  check_workload_for_driver, find_builtin, format_diagnostic, import_ftrace_workload, import_wsim, is_capture_line, load_builtin, load_workload_json,
  type DriverEntry, type Workload,
} from '@deplab/harness';

export type WorkloadKind = 'builtin' | 'json' | 'wsim' | 'capture';

/** A loaded workload, what it was loaded from, and the device options a built-in scenario sets (empty for a file). */
export type Resolved = { ok: true; workload: Workload; kind: WorkloadKind; device: Readonly<Record<string, number | string | boolean>> } | { ok: false; errors: string[] };

/** The largest workload file read (a long capture); larger ones are refused before reading. */
export const WORKLOAD_FILE_BYTES_MAX = 256 * 1024 * 1024;

/**
 * The text of an input file named on the command line, or why it cannot be read: only a regular
 * file is read (a FIFO or /dev/zero would block or never end), and only up to `max_bytes`.
 */
export function read_input_file(path: string, max_bytes: number): { ok: true; text: string } | { ok: false; error: string } {
  let st;
  try { st = statSync(path); } catch (e) { return { ok: false, error: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `cannot read: ${(e as Error).message}` }; }
  if (st.isDirectory()) return { ok: false, error: 'a directory, not a file' };
  if (!st.isFile()) return { ok: false, error: 'not a regular file (a device, FIFO or socket)' };
  if (st.size > max_bytes) return { ok: false, error: `${st.size} bytes, more than the ${max_bytes} deplab reads` };
  try {
    return { ok: true, text: readFileSync(path, 'utf8') };
  } catch (e) {
    return { ok: false, error: `cannot read: ${(e as Error).message}` };
  }
}

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
  const read = read_input_file(spec, WORKLOAD_FILE_BYTES_MAX);
  if (!read.ok) return { ok: false, errors: [read.error === 'no such file' ? `${spec}: not a built-in workload (see 'deplab list') and no such file` : `${spec}: ${read.error}`] };
  const text = read.text;
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

/**
 * A workload argument resolved for one driver: loaded, then checked against what the driver's
 * uapi accepts (engines, queue knobs), so a workload it would refuse is a usage error naming the
 * file, the client, the queue and the field, before anything runs.
 */
export function resolve_for_driver(spec: string, driver: DriverEntry, loops = 10): Resolved {
  const r = resolve_workload(spec, driver.engines, loops);
  if (!r.ok) return r;
  const problems = check_workload_for_driver(r.workload, driver);
  return problems.length === 0 ? r : { ok: false, errors: problems.map((p) => `${format_diagnostic(p)} (workload ${r.workload.name})`) };
}

/** The notes of an imported capture (what was read, mapped, approximated, skipped), one per line, for standard error. */
export function capture_notes(resolved: Resolved): string {
  if (!resolved.ok || resolved.kind !== 'capture') return '';
  return resolved.workload.notes.map((n) => `deplab: ${format_diagnostic({ ...n, message: `${n.kind}: ${n.message}` })}\n`).join('');
}
