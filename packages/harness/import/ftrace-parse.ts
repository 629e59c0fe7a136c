/**
 * Captured ftrace text: the event formats deplab writes and reads, and a parser of the three
 * line layouts a capture comes in.
 *
 * Event formats: the gpu_scheduler events follow drivers/gpu/drm/scheduler/gpu_scheduler_trace.h
 * at torvalds/linux 45215c589e7f (the v6.16 rework that made drm_sched_job_queue / _run /
 * _done / _add_dep / _unschedulable stable uAPI, keyed by the finished fence as
 * "fence=%llu:%llu"); dma_fence, workqueue and hrtimer those of
 * include/trace/events/{dma_fence,workqueue,timer}.h. One printf-style template per event
 * serves writing (report/ftrace.ts) and reading (here), so the two cannot drift.
 *
 * Line layouts (the prefix before "<event>: <fields>"):
 * - tracefs `trace` and `trace_pipe` (kernel/trace/trace_output.c at torvalds/linux
 *   de3930a4883d, trace_print_context): "%16s-%-7d " comm-pid, "(%7d) " tgid with the
 *   record-tgid option, "[%03d] " CPU, the irq-info flags, " %5lu.%06lu: " seconds. With the
 *   latency-format option (trace_print_lat_context): "%8.8s-%-7d %3d" then the flags glued to
 *   the CPU and " %4lldus%c: ", microseconds since the buffer started.
 * - `trace-cmd report` (rostedt/trace-cmd d72449cb999e, tracecmd/trace-read.c
 *   trace_show_data and print_event_name): a "cpus=N" header, "%16s-%-5d [%03d]" (with -l:
 *   "%8.8s-%-5d %3d" and libtraceevent's latency flags), " %5lu.%06lu:" rounded to the
 *   microsecond, then " <event>: " padded with spaces to 20 columns of event name.
 * - `perf script` (tools/perf/builtin-script.c at torvalds/linux d22e59950304,
 *   perf_sample__fprintf_start and process_event, default tracepoint fields comm, tid, cpu,
 *   time, event, trace): "%16s " comm, "%7d " tid (or "%7d/%-7d " pid/tid), "[%03d] ",
 *   "%12s: " seconds.microseconds (--ns: nine digits), then "<system>:<event>: " right-aligned
 *   to the longest event name of the session.
 * Comment lines (#...) are skipped; "cpus=N" and lost-event markers are noted. Lines in no known
 * layout, events deplab does not use and pre-6.16 gpu_scheduler events are counted per reason
 * with their first line numbers (never dropped silently). It never throws: a known event whose
 * fields do not match its format is an error with line and column.
 */
import { diagnostic } from '../workload/diagnostics.ts';
import { LIMITS, type Diagnostic } from '../workload/types.ts';

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
 * The formats deplab writes, by ftrace event name. deplab_job_free, deplab_job_timedout and
 * deplab_job_hw_start are deplab's own (upstream has no such tracepoints, hence the prefix);
 * they use the same "fence=" key so tools that match on it still group them with the job.
 */
export const FTRACE_FORMATS: Readonly<Record<string, FtraceFormat>> = {
  drm_sched_job_queue: SCHED_JOB,
  drm_sched_job_run: SCHED_JOB,
  drm_sched_job_done: FENCE_ONLY(' signaled'),
  drm_sched_job_add_dep: FENCE_DEPENDS(''),
  drm_sched_job_unschedulable: FENCE_DEPENDS('unsignalled '),
  deplab_job_free: FENCE_ONLY(''),
  deplab_job_hw_start: FENCE_ONLY(''),
  deplab_job_timedout: { template: 'fence=%llu:%llu status=%d', fields: ['fence_context', 'fence_seqno', 'status'] },
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
  /** The thread group id where the layout shows it (record-tgid, perf's pid/tid), else null. */
  readonly tgid: number | null;
  readonly cpu: number;
  readonly flags: string;
  readonly time_ns: number;
  /** The event's system where the layout prints it (perf: "gpu_scheduler"), else null. */
  readonly system: string | null;
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
  readonly tgid: number | null;
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

/** Lines passed over for one reason: how many, and the first few line numbers. */
export interface SkippedLines {
  readonly reason: string;
  readonly count: number;
  readonly lines: readonly number[];
}

/** How many line numbers a skip summary lists per reason. */
export const SKIPPED_LINES_LISTED = 5;

/** Counts skipped lines per reason, in order of first appearance. */
export class SkipLog {
  private readonly reasons = new Map<string, { count: number; lines: number[] }>();

  add(reason: string, line: number): void {
    let r = this.reasons.get(reason);
    if (r === undefined) this.reasons.set(reason, (r = { count: 0, lines: [] }));
    r.count++;
    if (r.lines.length < SKIPPED_LINES_LISTED) r.lines.push(line);
  }

  list(): SkippedLines[] {
    return [...this.reasons].map(([reason, r]) => ({ reason, count: r.count, lines: r.lines }));
  }
}

/** "3 lines (12, 14, 20)" / "7 lines (1, 2, 3, 4, 5, ...)": a skip summary's count and lines. */
export function describe_skipped(s: SkippedLines): string {
  const more = s.count > s.lines.length ? ', ...' : '';
  return `${s.count} line${s.count === 1 ? '' : 's'} (${s.count === 1 ? 'line' : 'lines'} ${s.lines.join(', ')}${more})`;
}

export interface FtraceTrace {
  /** The layout the capture was read as: 'tracefs trace', 'trace_pipe', 'trace-cmd report', 'perf script', with ' (latency format)' where it applies. */
  readonly layout: string;
  /** Whole seconds subtracted from every timestamp (0 unless the trace's uptime exceeds 2^53 ns). */
  readonly base_s: number;
  readonly lines: readonly FtraceLine[];
  readonly jobs: readonly FtraceJobEvent[];
  readonly fences: readonly FtraceFenceEvent[];
  /** Lines that are not events deplab could read, per reason. */
  readonly skipped: readonly SkippedLines[];
}

export type FtraceParseResult =
  | { readonly ok: true; readonly trace: FtraceTrace }
  | { readonly ok: false; readonly errors: readonly Diagnostic[] };

/** Bound on the text: far above any trace worth importing, below what a JS string holds. */
export const FTRACE_TEXT_CHARS_MAX = 256 * 1024 * 1024;

// Null-prototype tables: an event named "constructor" or "__proto__" in a capture is no known event.
const JOB_KIND_OF: Readonly<Record<string, FtraceJobKind>> = Object.assign(Object.create(null) as Record<string, FtraceJobKind>, {
  drm_sched_job_queue: 'queue', drm_sched_job_run: 'run', drm_sched_job_done: 'done', drm_sched_job_add_dep: 'add_dep',
  drm_sched_job_unschedulable: 'unschedulable', deplab_job_free: 'free', deplab_job_timedout: 'timedout',
} as const);

const FENCE_KIND_OF: Readonly<Record<string, FtraceFenceEvent['kind']>> = Object.assign(Object.create(null) as Record<string, FtraceFenceEvent['kind']>, {
  dma_fence_init: 'init', dma_fence_signaled: 'signaled', dma_fence_destroy: 'destroy',
} as const);

/** Is `event` one the parser reads the fields of (a job or dma_fence event)? */
export function is_parsed_event(event: string): boolean {
  return JOB_KIND_OF[event] !== undefined || FENCE_KIND_OF[event] !== undefined;
}

const NANOSECONDS_MAX_SECONDS = Math.floor(Number.MAX_SAFE_INTEGER / 1e9) - 1;

/*
 * The prefixes of an event line, tried in this order. Flags start with a letter or '.' (irqs
 * off 'd'/'D'/'X'/'.'), so they never take the digits of a timestamp or of a CPU number.
 * - CONTEXT: tracefs and trace-cmd, "<comm>-<pid> [(<tgid>)] [<cpu>] [<flags>] ".
 * - LATENCY: latency format, "<comm>-<pid> <cpu><flags> " (the flags follow the CPU directly).
 * - PERF: perf script, "<comm> <tid>[/<tid>] [<cpu>] ".
 */
const CONTEXT_HEAD = /^\s*(.*?)-(\d+)\s+(?:\(\s*(\d+|-+)\)\s+)?\[(\d{1,5})\]\s+(?:([A-Za-z.][A-Za-z0-9.]{2,7})\s+)?/;
const LATENCY_HEAD = /^\s*(.*?)-(\d+)\s+(\d{1,5})([A-Za-z.][A-Za-z0-9.]{2,7})\s+/;
const PERF_HEAD = /^\s*(.*?)\s+(\d+)(?:\/(\d+))?\s+\[(\d{1,5})\]\s+/;
/** "<secs>.<fraction>: " (everything but the kernel's latency format) or "<usecs>us<mark>: " (that one). */
const SECONDS_STAMP = /^(\d+)\.(\d{1,9}):(?= |$)/;
const MICROSECONDS_STAMP = /^(\d+)us.:(?= |$)/;
const EVENT_NAME = /^\s*(?:([A-Za-z0-9_]+):(?=[A-Za-z0-9_]+:))?([A-Za-z0-9_]+):(?= |$)/;
/** tracefs "CPU:%d [LOST %lu EVENTS]" / "[LOST EVENTS]", trace-cmd "CPU:%d [%lld EVENTS DROPPED]" / "[EVENTS DROPPED]". */
const LOST_MARKER = /^\s*CPU:\s*\d+ \[(?:LOST(?: \d+)? EVENTS|(?:\d+ )?EVENTS DROPPED)\]\s*$/;

type HeadKind = 'context' | 'latency' | 'perf';

/** Parse ftrace text in any of the layouts above. `source` names it in diagnostics. */
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
  return {
    ok: true,
    trace: { layout: parser.layout(), base_s: parser.base_s ?? 0, lines: parser.lines, jobs: parser.jobs, fences: parser.fences, skipped: parser.skips.list() },
  };
}

/** Does this line read as an event line of a capture (used to tell a capture from other files)? */
export function is_capture_line(s: string): boolean {
  return split_head(s) !== null;
}

interface Head {
  readonly kind: HeadKind;
  readonly task: string;
  readonly pid: number;
  readonly tgid: number | null;
  readonly cpu: number;
  readonly flags: string;
  /** Where the timestamp starts, and its match. */
  readonly stamp_at: number;
  readonly stamp: RegExpExecArray;
  readonly relative: boolean;
}

function split_head(s: string): Head | null {
  const context = CONTEXT_HEAD.exec(s);
  if (context !== null) {
    const stamp = SECONDS_STAMP.exec(s.slice(context[0].length));
    if (stamp !== null) {
      const tgid = context[3] === undefined || context[3].startsWith('-') ? null : Number(context[3]);
      return { kind: 'context', task: context[1], pid: Number(context[2]), tgid, cpu: Number(context[4]), flags: context[5] ?? '', stamp_at: context[0].length, stamp, relative: false };
    }
  }
  const latency = LATENCY_HEAD.exec(s);
  if (latency !== null) {
    const rest = s.slice(latency[0].length);
    const absolute = SECONDS_STAMP.exec(rest);
    const stamp = absolute ?? MICROSECONDS_STAMP.exec(rest);
    if (stamp !== null) {
      return { kind: 'latency', task: latency[1], pid: Number(latency[2]), tgid: null, cpu: Number(latency[3]), flags: latency[4], stamp_at: latency[0].length, stamp, relative: absolute === null };
    }
  }
  const perf = PERF_HEAD.exec(s);
  if (perf !== null) {
    const stamp = SECONDS_STAMP.exec(s.slice(perf[0].length));
    if (stamp !== null) {
      const [pid, tgid] = perf[3] === undefined ? [Number(perf[2]), null] : [Number(perf[3]), Number(perf[2])];
      return { kind: 'perf', task: perf[1], pid, tgid, cpu: Number(perf[4]), flags: '', stamp_at: perf[0].length, stamp, relative: false };
    }
  }
  return null;
}

class LineParser {
  readonly errors: Diagnostic[] = [];
  readonly lines: FtraceLine[] = [];
  readonly jobs: FtraceJobEvent[] = [];
  readonly fences: FtraceFenceEvent[] = [];
  readonly skips = new SkipLog();
  base_s: number | null = null;
  private readonly source: string;
  private tracer_header = false;
  private trace_cmd_header = false;
  private readonly heads = new Map<HeadKind, number>();

  constructor(source: string) {
    this.source = source;
  }

  /** The layout most lines were in, named as the tool that prints it. */
  layout(): string {
    const most = [...this.heads].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'context';
    const latency = most === 'latency' ? ' (latency format)' : '';
    if (most === 'perf') return 'perf script';
    if (this.trace_cmd_header) return `trace-cmd report${latency}`;
    if (this.tracer_header) return `tracefs trace${latency}`;
    return `trace_pipe${latency}`;
  }

  private error(line: number, column: number, message: string): void {
    if (this.errors.length < LIMITS.errors) this.errors.push(diagnostic(this.source, message, { position: { line, column } }));
  }

  line(s: string, line: number): void {
    if (/^\s*$/.test(s)) return;
    if (/^\s*#/.test(s)) {
      if (/^# tracer: /.test(s)) this.tracer_header = true;
      return;
    }
    if (/^\s*cpus=\d+\s*$/.test(s)) {
      this.trace_cmd_header = true;
      return;
    }
    if (LOST_MARKER.test(s)) {
      this.skips.add('lost-events marker: the ring buffer overran, so jobs around it may be incomplete', line);
      return;
    }
    const parsed = this.split(s, line);
    if (parsed === null) return;
    this.lines.push(parsed);
    const job_kind = JOB_KIND_OF[parsed.event];
    if (job_kind !== undefined) this.job_event(parsed, job_kind);
    else if (FENCE_KIND_OF[parsed.event] !== undefined) this.fence_event(parsed);
    else if (LEGACY_EVENTS.has(parsed.event)) {
      this.skips.add(`${parsed.event}: a pre-6.16 gpu_scheduler event (fence=%p, no context:seqno) cannot be keyed to a job`, line);
    }
  }

  /** The line's prefix, timestamp and event name; null (and a skip) when it is in no known layout. */
  private split(s: string, line: number): FtraceLine | null {
    const head = split_head(s);
    if (head === null) {
      this.skips.add('not an event line of tracefs, trace-cmd report or perf script', line);
      return null;
    }
    this.heads.set(head.kind, (this.heads.get(head.kind) ?? 0) + 1);
    const stamp_column = head.stamp_at + 1;
    const time_ns = head.relative
      ? Number(head.stamp[1]) * 1000
      : this.time_ns(Number(head.stamp[1]), head.stamp[2], line, stamp_column);
    if (time_ns === null) return null;
    if (!Number.isSafeInteger(time_ns)) {
      this.error(line, stamp_column, `timestamp ${head.stamp[0]} is out of range`);
      return null;
    }
    const event_start = head.stamp_at + head.stamp[0].length;
    const event = EVENT_NAME.exec(s.slice(event_start));
    if (event === null) {
      this.skips.add('no "<event>: " after the timestamp', line);
      return null;
    }
    let fields_start = event_start + event[0].length;
    while (s[fields_start] === ' ') fields_start++;
    return {
      line, task: head.task, pid: head.pid, tgid: head.tgid, cpu: head.cpu, flags: head.flags, time_ns,
      system: event[1] ?? null, event: event[2], fields: s.slice(fields_start), fields_column: fields_start + 1,
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
      kind, line: l.line, time_ns: l.time_ns, task: l.task, pid: l.pid, tgid: l.tgid, cpu: l.cpu,
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
