/**
 * ftrace text: the event formats deplab writes and reads, and a parser of the text.
 *
 * The gpu_scheduler formats follow include/drm/gpu_scheduler_trace.h as of torvalds/linux
 * commit 45215c589e7f (drivers/gpu/drm/scheduler/gpu_scheduler_trace.h, the v6.16 rework that
 * made drm_sched_job_queue / _run / _done / _add_dep / _unschedulable stable uAPI, keyed by the
 * finished fence as "fence=%llu:%llu"). The dma_fence, workqueue and hrtimer formats are those
 * of include/trace/events/{dma_fence,workqueue,timer}.h. Each format is one printf-style
 * template used both to write (report/ftrace.ts) and to read (here), so the two cannot drift.
 *
 * The parser accepts what `cat /sys/kernel/tracing/trace` and `trace-cmd report` print:
 *   <task>-<pid> [(<tgid>)] [<cpu>] [<flags>] <secs>.<frac>: <event>: <fields>
 * Comment lines (#...), blank lines and lost-event markers are skipped. Events of other
 * subsystems are kept as lines but not interpreted. It never throws: malformed input gives
 * Diagnostics with line and column.
 */
import { diagnostic, note } from '../workload/diagnostics.ts';
import { LIMITS, type Diagnostic, type Note } from '../workload/types.ts';

/* ------------------------------------------------------------------------------------------ */
/* Formats                                                                                     */

/**
 * One TP_printk format: the template with printf conversions (%s %u %d %llu %p %ps) and the
 * name of the value each conversion prints, in order.
 */
export interface FtraceFormat {
  readonly template: string;
  readonly fields: readonly string[];
}

/** drm_sched_job class (drm_sched_job_queue, drm_sched_job_run), as written. */
const SCHED_JOB: FtraceFormat = {
  template: 'dev=%s, fence=%llu:%llu, ring=%s, job count:%u, hw job count:%d, client_id:%llu',
  fields: ['dev', 'fence_context', 'fence_seqno', 'ring', 'job_count', 'hw_job_count', 'client_id'],
};

const FENCE_ONLY = (suffix: string): FtraceFormat => ({ template: `fence=%llu:%llu${suffix}`, fields: ['fence_context', 'fence_seqno'] });

const FENCE_DEPENDS = (what: string): FtraceFormat => ({
  template: `fence=%llu:%llu depends on ${what}fence=%llu:%llu`,
  fields: ['fence_context', 'fence_seqno', 'dep_context', 'dep_seqno'],
});

const DMA_FENCE: FtraceFormat = { template: 'driver=%s timeline=%s context=%u seqno=%u', fields: ['driver', 'timeline', 'context', 'seqno'] };

/**
 * The formats deplab writes, by ftrace event name. drm_sched_job_free and
 * drm_sched_job_timedout are deplab-only (upstream has no such tracepoints); they use the
 * same "fence=" key so tools that match on it still group them with the job.
 */
export const FTRACE_FORMATS: Readonly<Record<string, FtraceFormat>> = {
  drm_sched_job_queue: SCHED_JOB,
  drm_sched_job_run: SCHED_JOB,
  drm_sched_job_done: FENCE_ONLY(' signaled'),
  drm_sched_job_add_dep: FENCE_DEPENDS(''),
  drm_sched_job_unschedulable: FENCE_DEPENDS('unsignalled '),
  drm_sched_job_free: FENCE_ONLY(''),
  drm_sched_job_timedout: { template: 'fence=%llu:%llu status=%d', fields: ['fence_context', 'fence_seqno', 'status'] },
  dma_fence_init: DMA_FENCE,
  dma_fence_signaled: DMA_FENCE,
  dma_fence_destroy: DMA_FENCE,
  workqueue_queue_work: {
    template: 'work struct=%p function=%ps workqueue=%s req_cpu=%d cpu=%d',
    fields: ['work_struct', 'function', 'workqueue', 'req_cpu', 'cpu'],
  },
  workqueue_execute_start: { template: 'work struct %p: function %ps', fields: ['work_struct', 'function'] },
  workqueue_execute_end: { template: 'work struct %p: function %ps', fields: ['work_struct', 'function'] },
  hrtimer_expire_entry: { template: 'hrtimer=%p function=%ps now=%llu', fields: ['hrtimer', 'function', 'now'] },
};

/**
 * Older layouts of the drm_sched_job class that the parser also reads: the v6.16-rc series
 * printed "id=%llu" after dev, and before client_id was added the line ended at hw job count.
 * Pre-6.16 kernels printed "fence=%p" (a pointer, no context:seqno): those lines cannot be
 * keyed to a job and are noted as ignored.
 */
const SCHED_JOB_READ: readonly FtraceFormat[] = [
  SCHED_JOB,
  { template: 'dev=%s, id=%llu, fence=%llu:%llu, ring=%s, job count:%u, hw job count:%d, client_id:%llu',
    fields: ['dev', 'id', 'fence_context', 'fence_seqno', 'ring', 'job_count', 'hw_job_count', 'client_id'] },
  { template: 'dev=%s, id=%llu, fence=%llu:%llu, ring=%s, job count:%u, hw job count:%d',
    fields: ['dev', 'id', 'fence_context', 'fence_seqno', 'ring', 'job_count', 'hw_job_count'] },
  { template: 'dev=%s, fence=%llu:%llu, ring=%s, job count:%u, hw job count:%d',
    fields: ['dev', 'fence_context', 'fence_seqno', 'ring', 'job_count', 'hw_job_count'] },
];

/** Pre-6.16 gpu_scheduler events (fence=%p): recognised, not importable. */
const LEGACY_EVENTS = new Set(['drm_sched_job', 'drm_run_job', 'drm_sched_process_job', 'drm_sched_job_wait_dep']);

export type FtraceValue = string | number;

/**
 * Print `values` with a format: %s as is, integers in decimal, %p as 16 hex digits (what a
 * hashed kernel pointer looks like), %ps as a symbol name.
 */
export function format_ftrace_fields(format: FtraceFormat, values: Readonly<Record<string, FtraceValue>>): string {
  let out = '';
  let field = 0;
  const t = format.template;
  for (let i = 0; i < t.length; i++) {
    if (t[i] !== '%') { out += t[i]; continue; }
    const spec = conversion_at(t, i);
    const v = values[format.fields[field++]];
    if (v === undefined) throw new RangeError(`format_ftrace_fields: no value for ${format.fields[field - 1]}`);
    out += spec === '%p' && typeof v === 'number' ? v.toString(16).padStart(16, '0') : String(v);
    i += spec.length - 1;
  }
  return out;
}

const CONVERSIONS = ['%llu', '%ps', '%s', '%u', '%d', '%p'];

function conversion_at(template: string, i: number): string {
  for (const c of CONVERSIONS) if (template.startsWith(c, i)) return c;
  throw new RangeError(`unknown conversion in ftrace template at ${i}: ${template}`);
}

type FieldMatch =
  | { readonly ok: true; readonly values: Readonly<Record<string, FtraceValue>> }
  | { readonly ok: false; readonly offset: number; readonly expected: string };

/**
 * Read `text` with a format. %s takes everything up to the next literal of the template (or
 * the end); numbers must be decimal and exact in a double. On a mismatch, returns the offset
 * in `text` where it failed and what was expected there.
 */
export function match_ftrace_fields(format: FtraceFormat, text: string): FieldMatch {
  const t = format.template;
  const values: Record<string, FtraceValue> = {};
  let pos = 0, field = 0;
  for (let i = 0; i < t.length;) {
    if (t[i] !== '%') {
      let j = i;
      while (j < t.length && t[j] !== '%') j++;
      const literal = t.slice(i, j);
      if (!text.startsWith(literal, pos)) return { ok: false, offset: pos, expected: `'${literal}'` };
      pos += literal.length;
      i = j;
      continue;
    }
    const spec = conversion_at(t, i);
    i += spec.length;
    const name = format.fields[field++];
    if (spec === '%s' || spec === '%ps') {
      let next = t.indexOf('%', i);
      if (next < 0) next = t.length;
      const stop = t.slice(i, next);
      const end = stop === '' ? text.length : text.indexOf(stop, pos);
      if (end < 0) return { ok: false, offset: pos, expected: `${name} followed by '${stop}'` };
      values[name] = text.slice(pos, end);
      pos = end;
      continue;
    }
    const m = (spec === '%p' ? /^[0-9a-fA-F]+/ : spec === '%d' ? /^-?\d+/ : /^\d+/).exec(text.slice(pos));
    if (m === null) return { ok: false, offset: pos, expected: `${name} (${spec})` };
    const n = spec === '%p' ? Number.parseInt(m[0], 16) : Number(m[0]);
    if (!Number.isSafeInteger(n)) return { ok: false, offset: pos, expected: `${name} below 2^53` };
    values[name] = n;
    pos += m[0].length;
  }
  if (pos !== text.length) return { ok: false, offset: pos, expected: 'end of line' };
  return { ok: true, values };
}

/* ------------------------------------------------------------------------------------------ */
/* Parsed records                                                                              */

/** One event line. time_ns counts from `base_s` whole seconds (see FtraceTrace). */
export interface FtraceLine {
  readonly line: number;
  readonly task: string;
  readonly pid: number;
  readonly cpu: number;
  readonly flags: string;
  readonly time_ns: number;
  readonly event: string;
  readonly fields: string;
  /** 1-based column where `fields` starts. */
  readonly fields_column: number;
}

export type FtraceJobKind = 'queue' | 'run' | 'done' | 'add_dep' | 'unschedulable' | 'free' | 'timedout';

/** A gpu_scheduler event, keyed by the job's finished fence. Fields its format lacks are null. */
export interface FtraceJobEvent {
  readonly kind: FtraceJobKind;
  readonly line: number;
  readonly time_ns: number;
  readonly task: string;
  readonly pid: number;
  readonly cpu: number;
  readonly fence_context: number;
  readonly fence_seqno: number;
  readonly dev: string | null;
  readonly ring: string | null;
  readonly job_count: number | null;
  readonly hw_job_count: number | null;
  readonly client_id: number | null;
  readonly dep_context: number | null;
  readonly dep_seqno: number | null;
  readonly status: number | null;
}

export interface FtraceFenceEvent {
  readonly kind: 'init' | 'signaled' | 'destroy';
  readonly line: number;
  readonly time_ns: number;
  readonly driver: string;
  readonly timeline: string;
  readonly context: number;
  readonly seqno: number;
}

export interface FtraceTrace {
  /** Whole seconds subtracted from every timestamp (0 unless the trace's uptime exceeds 2^53 ns). */
  readonly base_s: number;
  readonly lines: readonly FtraceLine[];
  readonly jobs: readonly FtraceJobEvent[];
  readonly fences: readonly FtraceFenceEvent[];
  readonly notes: readonly Note[];
}

export type FtraceParseResult =
  | { readonly ok: true; readonly trace: FtraceTrace }
  | { readonly ok: false; readonly errors: readonly Diagnostic[] };

/** Bound on the text: far above any trace worth importing, below what a JS string holds. */
export const FTRACE_TEXT_CHARS_MAX = 256 * 1024 * 1024;

const JOB_KIND_OF: Readonly<Record<string, FtraceJobKind>> = {
  drm_sched_job_queue: 'queue', drm_sched_job_run: 'run', drm_sched_job_done: 'done', drm_sched_job_add_dep: 'add_dep',
  drm_sched_job_unschedulable: 'unschedulable', drm_sched_job_free: 'free', drm_sched_job_timedout: 'timedout',
};

const FENCE_KIND_OF: Readonly<Record<string, FtraceFenceEvent['kind']>> = {
  dma_fence_init: 'init', dma_fence_signaled: 'signaled', dma_fence_destroy: 'destroy',
};

/** Lines a capture may hold besides events and comments: trace-cmd's "cpus=N", lost-event markers. */
const SKIPPED_LINE = /^\s*(?:cpus=\d+\s*$|version = |CPU:\s*\d+ \[LOST \d+ EVENTS\])/;

const NANOSECONDS_MAX_SECONDS = Math.floor(Number.MAX_SAFE_INTEGER / 1e9) - 1;

/** Parse ftrace text. `source` names it in diagnostics. */
export function parse_ftrace(text: string, source: string): FtraceParseResult {
  if (text.length > FTRACE_TEXT_CHARS_MAX) {
    return { ok: false, errors: [diagnostic(source, `trace text is larger than ${FTRACE_TEXT_CHARS_MAX} characters`)] };
  }
  const parser = new LineParser(source);
  let start = 0;
  for (let line = 1; start <= text.length && parser.errors.length < LIMITS.errors; line++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let s = text.slice(start, end);
    if (s.endsWith('\r')) s = s.slice(0, -1);
    parser.line(s, line);
    start = end + 1;
  }
  if (parser.errors.length > 0) return { ok: false, errors: parser.errors };
  return { ok: true, trace: { base_s: parser.base_s ?? 0, lines: parser.lines, jobs: parser.jobs, fences: parser.fences, notes: parser.notes } };
}

class LineParser {
  readonly errors: Diagnostic[] = [];
  readonly notes: Note[] = [];
  readonly lines: FtraceLine[] = [];
  readonly jobs: FtraceJobEvent[] = [];
  readonly fences: FtraceFenceEvent[] = [];
  base_s: number | null = null;
  private readonly source: string;
  private readonly noted = new Set<string>();

  constructor(source: string) {
    this.source = source;
  }

  private error(line: number, column: number, message: string): void {
    if (this.errors.length < LIMITS.errors) this.errors.push(diagnostic(this.source, message, { position: { line, column } }));
  }

  private note_once(key: string, kind: Note['kind'], message: string, line: number): void {
    if (this.noted.has(key)) return;
    this.noted.add(key);
    this.notes.push(note(kind, this.source, message, { line, column: 1 }));
  }

  line(s: string, line: number): void {
    if (/^\s*(#|$)/.test(s)) return;
    if (SKIPPED_LINE.test(s)) {
      if (s.includes('LOST')) this.note_once('lost', 'ignored', 'the capture lost events (ring buffer overrun): jobs may be incomplete', line);
      return;
    }
    const parsed = this.split(s, line);
    if (parsed === null) return;
    this.lines.push(parsed);
    const job_kind = JOB_KIND_OF[parsed.event];
    if (job_kind !== undefined) this.job_event(parsed, job_kind);
    else if (FENCE_KIND_OF[parsed.event] !== undefined) this.fence_event(parsed);
    else if (LEGACY_EVENTS.has(parsed.event)) {
      this.note_once('legacy', 'ignored', `${parsed.event}: a pre-6.16 gpu_scheduler event (fence=%p, no context:seqno); such events cannot be keyed to jobs`, line);
    }
  }

  /** The common prefix: task-pid, optional (tgid), [cpu], optional flags, timestamp, event name. */
  private split(s: string, line: number): FtraceLine | null {
    const cpu_match = /\s\[(\d{1,5})\]/.exec(s);
    if (cpu_match === null) {
      this.error(line, 1, "expected '<task>-<pid> [<cpu>] <secs>.<usecs>: <event>: <fields>'");
      return null;
    }
    const head = /^\s*(.*\S)-(\d+)(?:\s+\(\s*(?:\d+|-+)\))?\s*$/.exec(s.slice(0, cpu_match.index));
    if (head === null) {
      this.error(line, 1, "expected '<task>-<pid>' before the CPU number");
      return null;
    }
    const after_cpu = cpu_match.index + cpu_match[0].length;
    const rest = s.slice(after_cpu);
    // Flags are optional (trace-cmd report may leave them out); the timestamp follows them.
    const flags = /^\s+(?:([A-Za-z0-9.]{1,6})(?=\s))?\s*/.exec(rest)!;
    const stamp_at = after_cpu + flags[0].length;
    const stamp = /^(\d+)\.(\d{1,9}):\s/.exec(s.slice(stamp_at));
    if (stamp === null) {
      this.error(line, stamp_at + 1, "expected a timestamp '<secs>.<usecs>:'");
      return null;
    }
    const time_ns = this.time_ns(Number(stamp[1]), stamp[2], line, stamp_at + 1);
    if (time_ns === null) return null;
    const event_start = stamp_at + stamp[0].length;
    const event = /^([A-Za-z0-9_]+):(?: |$)/.exec(s.slice(event_start));
    if (event === null) {
      this.error(line, event_start + 1, "expected '<event>: ' after the timestamp");
      return null;
    }
    const fields_start = event_start + event[0].length;
    return {
      line, task: head[1], pid: Number(head[2]), cpu: Number(cpu_match[1]), flags: flags[1] ?? '', time_ns, event: event[1],
      fields: s.slice(fields_start), fields_column: fields_start + 1,
    };
  }

  private time_ns(secs: number, fraction: string, line: number, column: number): number | null {
    // Real uptimes can pass 2^53 ns (104 days): count from the first timestamp's second then.
    if (this.base_s === null) this.base_s = secs > NANOSECONDS_MAX_SECONDS ? secs : 0;
    const relative = secs - this.base_s;
    if (relative < 0 || relative > NANOSECONDS_MAX_SECONDS) {
      this.error(line, column, `timestamp ${secs}.${fraction} is out of range of the trace's first timestamp`);
      return null;
    }
    return relative * 1e9 + Number(fraction.padEnd(9, '0'));
  }

  private fields(l: FtraceLine, formats: readonly FtraceFormat[]): Readonly<Record<string, FtraceValue>> | null {
    let best: { offset: number; expected: string } = { offset: -1, expected: '' };
    for (const format of formats) {
      const m = match_ftrace_fields(format, l.fields);
      if (m.ok) return m.values;
      if (m.offset > best.offset) best = m;
    }
    this.error(l.line, l.fields_column + best.offset, `${l.event}: expected ${best.expected} (format '${formats[0].template}')`);
    return null;
  }

  private job_event(l: FtraceLine, kind: FtraceJobKind): void {
    const formats = kind === 'queue' || kind === 'run' ? SCHED_JOB_READ : [FTRACE_FORMATS[l.event]];
    const v = this.fields(l, formats);
    if (v === null) return;
    const num = (k: string) => (typeof v[k] === 'number' ? v[k] as number : null);
    const str = (k: string) => (typeof v[k] === 'string' ? v[k] as string : null);
    this.jobs.push({
      kind, line: l.line, time_ns: l.time_ns, task: l.task, pid: l.pid, cpu: l.cpu,
      fence_context: v.fence_context as number, fence_seqno: v.fence_seqno as number,
      dev: str('dev'), ring: str('ring'), job_count: num('job_count'), hw_job_count: num('hw_job_count'), client_id: num('client_id'),
      dep_context: num('dep_context'), dep_seqno: num('dep_seqno'), status: num('status'),
    });
  }

  private fence_event(l: FtraceLine): void {
    const v = this.fields(l, [DMA_FENCE]);
    if (v === null) return;
    this.fences.push({
      kind: FENCE_KIND_OF[l.event], line: l.line, time_ns: l.time_ns, driver: v.driver as string, timeline: v.timeline as string,
      context: v.context as number, seqno: v.seqno as number,
    });
  }
}

