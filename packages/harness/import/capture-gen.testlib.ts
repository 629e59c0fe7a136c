/**
 * Prints captures of gpu_scheduler events exactly as the tools print them, for the import
 * tests. Written from the printing code, independently of the parser:
 * - tracefs `trace` / `trace_pipe`: kernel/trace/trace_output.c (torvalds/linux de3930a4883d)
 *   trace_print_context ("%16s-%-7d ", "(%7d) ", "[%03d] ", irq-info flags, " %5lu.%06lu: ")
 *   and, with the latency-format option, trace_print_lat_context ("%8.8s-%-7d %3d", flags,
 *   " %4lldus%c: "); the header of s_show / print_func_help_header_irq (kernel/trace/trace.c
 *   at torvalds/linux 57252e7bd491); trace_pipe has no header.
 * - `trace-cmd report` (rostedt/trace-cmd d72449cb999e, tracecmd/trace-read.c): "cpus=%d",
 *   then "%16s-%-5d [%03d]" (-l: "%8.8s-%-5d %3d" and the latency flags), " %5lu.%06lu:"
 *   rounded to the microsecond, " %s: " and spaces up to 20 columns of event name.
 * - `perf script` (tools/perf/builtin-script.c at torvalds/linux d22e59950304): "%16s ",
 *   "%7d " tid (or "%7d/%-7d " with -F +pid), "[%03d] ", "%12s: " secs.usecs (--ns:
 *   "%5lu.%09llu: "), "%*s: " system:event right-aligned to the longest name, the fields.
 * The event fields are written here by hand in the TP_printk formats of
 * drivers/gpu/drm/scheduler/gpu_scheduler_trace.h (torvalds/linux 45215c589e7f).
 */

/** One traced event as the ring buffer holds it. */
export interface CapturedEvent {
  /** The task's comm (at most 15 characters, as the kernel keeps it). */
  readonly comm: string;
  readonly pid: number;
  readonly tgid: number;
  readonly cpu: number;
  /** irq-info flags as trace_print_lat_fmt prints them: irqs-off, need-resched, hardirq/softirq, preempt depth, migrate-disable. */
  readonly flags: string;
  readonly t_ns: number;
  readonly system: string;
  readonly event: string;
  readonly fields: string;
}

export type CaptureLayout =
  | 'trace' | 'trace-tgid' | 'trace-no-irq-info' | 'trace_pipe' | 'trace-latency'
  | 'trace-cmd' | 'trace-cmd-l' | 'perf' | 'perf-ns' | 'perf-pid-tid';

export const CAPTURE_LAYOUTS: readonly CaptureLayout[] = [
  'trace', 'trace-tgid', 'trace-no-irq-info', 'trace_pipe', 'trace-latency', 'trace-cmd', 'trace-cmd-l', 'perf', 'perf-ns', 'perf-pid-tid',
];

/** What the parser should call each layout. */
export const LAYOUT_NAMES: Readonly<Record<CaptureLayout, string>> = {
  'trace': 'tracefs trace', 'trace-tgid': 'tracefs trace', 'trace-no-irq-info': 'tracefs trace', 'trace_pipe': 'trace_pipe',
  'trace-latency': 'tracefs trace (latency format)', 'trace-cmd': 'trace-cmd report', 'trace-cmd-l': 'trace-cmd report (latency format)',
  'perf': 'perf script', 'perf-ns': 'perf script', 'perf-pid-tid': 'perf script',
};

const NR_CPUS = 8;

/** C's "%Ns" (right-aligned) and "%-Ns" (left-aligned); "%N.Ns" also truncates. */
const right = (s: string | number, n: number) => String(s).padStart(n);
const left = (s: string | number, n: number) => String(s).padEnd(n);
const zero = (n: number, digits: number) => String(n).padStart(digits, '0');

function seconds(t_ns: number): { secs: number; usecs: number } {
  const secs = Math.floor(t_ns / 1e9);
  return { secs, usecs: Math.floor((t_ns - secs * 1e9) / 1000) };
}

/** libtraceevent's data_latency_format on a kernel without common_migrate_disable: 3 flags and the preempt count in hex or '.'. */
function libtraceevent_flags(flags: string): string {
  return flags.slice(0, 4);
}

/** trace_find_mark: the overhead mark for the time to the next event. */
function mark(delta_ns: number): string {
  const marks: [number, string][] = [[1e9, '$'], [1e8, '@'], [1e7, '*'], [1e6, '#'], [1e5, '!'], [1e4, '+']];
  for (const [limit, sym] of marks) if (delta_ns > limit) return sym;
  return ' ';
}

function tracefs_header(events: number, tgid: boolean, irq_info: boolean): string[] {
  const counts = `# entries-in-buffer/entries-written: ${events}/${events}   #P:${NR_CPUS}`;
  if (!irq_info) {
    return ['# tracer: nop', '#', counts, '#',
      `#           TASK-PID    ${tgid ? '   TGID   ' : ''} CPU#     TIMESTAMP  FUNCTION`,
      `#              | |      ${tgid ? '     |    ' : ''}   |         |         |`];
  }
  const space = tgid ? '            ' : '  ';
  return ['# tracer: nop', '#', counts, '#',
    `#                            ${space}  _-----=> irqs-off/BH-disabled`,
    `#                            ${space} / _----=> need-resched`,
    `#                            ${space}| / _---=> hardirq/softirq`,
    `#                            ${space}|| / _--=> preempt-depth`,
    `#                            ${space}||| / _-=> migrate-disable`,
    `#                            ${space}|||| /     delay`,
    `#           TASK-PID  ${tgid ? '     TGID   ' : '  '} CPU#  |||||  TIMESTAMP  FUNCTION`,
    `#              | |    ${tgid ? '       |    ' : '  '}   |   |||||     |         |`];
}

function latency_header(events: number): string[] {
  return ['# tracer: nop', '#', '# nop latency trace v1.1.5 on 7.0.0-rc3', '# --------------------------------------------------------------------',
    `# latency: 0 us, #${events}/${events}, CPU#0 | (M:preempt VP:0, KP:0, SP:0 HP:0 #P:${NR_CPUS})`, '#    -----------------',
    '#    | task: -0 (uid:0 nice:0 policy:0 rt_prio:0)', '#    -----------------', '#',
    '#                    _------=> CPU#            ', '#                   / _-----=> irqs-off/BH-disabled',
    '#                  | / _----=> need-resched    ', '#                  || / _---=> hardirq/softirq ',
    '#                  ||| / _--=> preempt-depth   ', '#                  |||| / _-=> migrate-disable ',
    '#                  ||||| /     delay           ', '#  cmd     pid     |||||| time  |   caller     ',
    '#     \\   /        ||||||  \\    |    /       '];
}

/** One line of the tracefs trace file (trace_print_context + the event's output). */
function tracefs_line(e: CapturedEvent, tgid: boolean, irq_info: boolean): string {
  const { secs, usecs } = seconds(e.t_ns);
  return `${right(e.comm, 16)}-${left(e.pid, 7)} ${tgid ? `(${right(e.tgid, 7)}) ` : ''}[${zero(e.cpu, 3)}] ${irq_info ? e.flags : ''}`
    + ` ${right(secs, 5)}.${zero(usecs, 6)}: ${e.event}: ${e.fields}`;
}

/** One line of the latency format (trace_print_lat_context, lat_print_timestamp). */
function latency_line(e: CapturedEvent, start_ns: number, next_ns: number): string {
  const comm = e.comm.slice(0, 8);
  return `${right(comm, 8)}-${left(e.pid, 7)} ${right(e.cpu, 3)}${e.flags} ${right(Math.floor((e.t_ns - start_ns) / 1000), 4)}us${mark(next_ns - e.t_ns)}: ${e.event}: ${e.fields}`;
}

/** One line of `trace-cmd report` (trace_show_data, print_event_name). */
function trace_cmd_line(e: CapturedEvent, latency: boolean): string {
  const rounded = Math.floor((e.t_ns + 500) / 1000);
  const secs = Math.floor(rounded / 1e6), usecs = rounded - secs * 1e6;
  const head = latency ? `${right(e.comm.slice(0, 8), 8)}-${left(e.pid, 5)} ${right(e.cpu, 3)}${libtraceevent_flags(e.flags)}` : `${right(e.comm, 16)}-${left(e.pid, 5)} [${zero(e.cpu, 3)}]`;
  const pad = ' '.repeat(Math.max(0, 20 - e.event.length));
  return `${head} ${right(secs, 5)}.${zero(usecs, 6)}: ${e.event}: ${pad}${e.fields}`;
}

/** One line of `perf script` with the default tracepoint fields (perf_sample__fprintf_start, process_event). */
function perf_line(e: CapturedEvent, name_width: number, ns: boolean, pid_tid: boolean): string {
  const secs = Math.floor(e.t_ns / 1e9), nsecs = e.t_ns - secs * 1e9;
  const time = ns ? `${right(secs, 5)}.${zero(nsecs, 9)}: ` : `${right(`${secs}.${zero(Math.floor(nsecs / 1000), 6)}`, 12)}: `;
  const ids = pid_tid ? `${right(e.tgid, 7)}/${left(e.pid, 7)} ` : `${right(e.pid, 7)} `;
  return `${right(e.comm, 16)} ${ids}[${zero(e.cpu, 3)}] ${time}${right(`${e.system}:${e.event}`, name_width)}: ${e.fields}`;
}

/** The capture text of `events` (sorted by time here) as `layout` prints it. */
export function print_capture(events: readonly CapturedEvent[], layout: CaptureLayout): string {
  const sorted = [...events].sort((a, b) => a.t_ns - b.t_ns);
  const n = sorted.length;
  let lines: string[];
  switch (layout) {
    case 'trace':
    case 'trace-tgid':
    case 'trace-no-irq-info': {
      const tgid = layout === 'trace-tgid', irq = layout !== 'trace-no-irq-info';
      lines = [...tracefs_header(n, tgid, irq), ...sorted.map((e) => tracefs_line(e, tgid, irq))];
      break;
    }
    case 'trace_pipe':
      lines = sorted.map((e) => tracefs_line(e, false, true));
      break;
    case 'trace-latency': {
      const start = sorted[0]?.t_ns ?? 0;
      lines = [...latency_header(n), ...sorted.map((e, i) => latency_line(e, start, sorted[i + 1]?.t_ns ?? e.t_ns))];
      break;
    }
    case 'trace-cmd':
    case 'trace-cmd-l':
      lines = [`cpus=${NR_CPUS}`, ...sorted.map((e) => trace_cmd_line(e, layout === 'trace-cmd-l'))];
      break;
    case 'perf':
    case 'perf-ns':
    case 'perf-pid-tid': {
      const width = Math.max(...sorted.map((e) => e.system.length + 1 + e.event.length));
      lines = sorted.map((e) => perf_line(e, width, layout === 'perf-ns', layout === 'perf-pid-tid'));
      break;
    }
  }
  return lines.join('\n') + '\n';
}

/** A job as the capture shows it: who queued it, where, when it ran and finished, what it waited for. */
export interface CaptureJob {
  /** drm_file client id; null prints the pre-client_id layout of drm_sched_job_queue/_run. */
  readonly client_id: number | null;
  readonly comm: string;
  readonly pid: number;
  readonly tgid?: number;
  readonly ring: string;
  /** The drm_gpu_scheduler behind the ring name, when several share one (panthor names them all "panthor-queue"); default the ring. */
  readonly scheduler?: string;
  readonly context: number;
  readonly seqno: number;
  readonly queue_us: number;
  readonly run_us: number;
  readonly done_us: number;
  readonly deps?: readonly (readonly [number, number])[];
}

/**
 * The gpu_scheduler events of `jobs`: drm_sched_job_queue and _add_dep from the submitting
 * task, drm_sched_job_run from the ring's kworker, drm_sched_job_done from the interrupt (on
 * the idle task, hardirq flags), each with the job and hw job counts the scheduler would
 * show. Times are microseconds after `base_s` seconds of uptime.
 */
export function scheduler_events(jobs: readonly CaptureJob[], dev = '0000:03:00.0', base_s = 1520): CapturedEvent[] {
  const at = (us: number) => base_s * 1e9 + us * 1000;
  const out: CapturedEvent[] = [];
  const counts = (scheduler: string, us: number) => {
    const on_ring = jobs.filter((j) => (j.scheduler ?? j.ring) === scheduler);
    return {
      queued: on_ring.filter((j) => j.queue_us < us && j.run_us > us).length,
      hw: on_ring.filter((j) => j.run_us <= us && j.done_us > us).length,
    };
  };
  const sched_job = (j: CaptureJob, us: number) => {
    const c = counts(j.scheduler ?? j.ring, us);
    const base = `dev=${dev}, fence=${j.context}:${j.seqno}, ring=${j.ring}, job count:${c.queued}, hw job count:${c.hw}`;
    return j.client_id === null ? base : `${base}, client_id:${j.client_id}`;
  };
  const kworkers = new Map<string, number>();
  for (const j of jobs) {
    const task = { comm: j.comm, pid: j.pid, tgid: j.tgid ?? j.pid, cpu: j.pid % NR_CPUS, flags: '.....' };
    out.push({ ...task, t_ns: at(j.queue_us), system: 'gpu_scheduler', event: 'drm_sched_job_queue', fields: sched_job(j, j.queue_us) });
    for (const [context, seqno] of j.deps ?? []) {
      out.push({ ...task, t_ns: at(j.queue_us) + 500, system: 'gpu_scheduler', event: 'drm_sched_job_add_dep', fields: `fence=${j.context}:${j.seqno} depends on fence=${context}:${seqno}` });
    }
    if (!kworkers.has(j.ring)) kworkers.set(j.ring, 200 + kworkers.size);
    const kworker = { comm: `kworker/u${2 * NR_CPUS}:${kworkers.get(j.ring)! - 200}`, pid: kworkers.get(j.ring)!, tgid: kworkers.get(j.ring)!, cpu: 5, flags: '.....' };
    out.push({ ...kworker, t_ns: at(j.run_us), system: 'gpu_scheduler', event: 'drm_sched_job_run', fields: sched_job(j, j.run_us) });
    out.push({ comm: '<idle>', pid: 0, tgid: 0, cpu: 0, flags: 'd.h2.', t_ns: at(j.done_us), system: 'gpu_scheduler', event: 'drm_sched_job_done', fields: `fence=${j.context}:${j.seqno} signaled` });
  }
  return out;
}

/** An event of another subsystem, as a real capture mixes them in (sched_switch). */
export function sched_switch(t_us: number, base_s = 1520): CapturedEvent {
  return {
    comm: 'Xorg', pid: 1187, tgid: 1187, cpu: 7, flags: 'd..2.', t_ns: base_s * 1e9 + t_us * 1000, system: 'sched', event: 'sched_switch',
    fields: 'prev_comm=Xorg prev_pid=1187 prev_prio=120 prev_state=S ==> next_comm=swapper/7 next_pid=0 next_prio=120',
  };
}
