/**
 * ftrace text of a simulated run, in the format `cat /sys/kernel/tracing/trace` prints, with
 * the upstream event formats (FTRACE_FORMATS in @deplab/harness: the gpu_scheduler events of
 * drivers/gpu/drm/scheduler/gpu_scheduler_trace.h at torvalds/linux 45215c589e7f, dma_fence,
 * workqueue and hrtimer events), so tools written for real captures read simulated ones, and
 * import_ftrace_workload reads both.
 *
 * Mapping:
 * - drm_sched_job_* events keep their names. drm_dep_job_queue / _run / _done / _add_dep /
 *   _unschedulable carry the same fields (finished fence, ring = the queue's name, job count,
 *   credit count, client id) and are written as the drm_sched_job_* event of the same kind, so
 *   a drm_dep run reads like a drm_sched one; the header says which backend it was.
 * - Events upstream does not have are written under a "deplab_" prefix, so they never pass
 *   for a real tracepoint: the job free and timeout events as deplab_job_free and
 *   deplab_job_timedout, the drivers' deplab_job_hw_start as itself (all in the same "fence="
 *   style), every other model or harness event
 *   (driver events such as xe_sched_job_run, whose fields are the model's, not xe_trace.h's)
 *   as deplab_<name>: key=value ....
 * - dev= is `options.device` (upstream: dev_name() of the scheduler's device).
 * - %ps prints the symbol of the work or timer function (the modelled function's name), as
 *   the kernel does, not the work item's field name.
 * - Tasks are the simulated contexts, with the comm cut to 15 characters as TASK_COMM_LEN
 *   (16 with the NUL) cuts it, and pids from 100 in order of appearance. hardirq and softirq
 *   contexts run on CPU 0 with the h / s flag; the others are spread over CPUs 1..n-1 in order
 *   of appearance (the simulation does not record a CPU per event). Pointers (%p) are stable
 *   synthetic values.
 * - Timestamps have microsecond resolution, as ftrace prints them: events closer than 1 us
 *   keep their order but share a timestamp.
 * - markers: tracing_mark_write lines in atrace syntax from a "deplab-markers" task (a
 *   credits counter per ring and an async slice per job from run to done), because Perfetto's
 *   text importer draws those and ignores gpu_scheduler events.
 */
import { backend_label } from './labels.ts';
import type { TraceArgs, TraceEvent } from '@deplab/sim';
import { FTRACE_FORMATS, format_ftrace_fields, type FtraceValue, type RunOutcome } from '@deplab/harness';

export interface FtraceOptions {
  /** The dev= field of gpu_scheduler events. Default 'deplab'. */
  readonly device?: string;
  /** CPUs in the header and the CPU column. Default 8. */
  readonly nr_cpus?: number;
  /** tracing_mark_write counter and slice lines for Perfetto. Default true. */
  readonly markers?: boolean;
  /** Comment lines written after "# tracer: nop" (what the trace is). */
  readonly comments?: readonly string[];
}

const FIRST_PID = 100;
/** TASK_COMM_LEN is 16 with the terminating NUL: ftrace prints at most 15 characters of a comm. */
const COMM_CHARS_MAX = 15;
const MARKER_PID = 99;
const MARKER_TASK = 'deplab-markers';
/** Synthetic pointers stay below 2^53 so they print and parse exactly. */
const POINTER_BASE = 0x8881_0000_0000;

const JOB_EVENT = /^drm_(?:sched|dep)_job_(queue|run|done|add_dep|unschedulable|free|timedout)$/;

/** Events written under their own (upstream) name and format; everything else gets the deplab_ prefix. */
const DEPLAB_PREFIX = 'deplab_';

/** Fence drivers of job fences, for dma_fence lines whose init event is not in the trace. */
const BACKEND_FENCE_DRIVER: Readonly<Record<string, string>> = { drm_sched: 'drm_sched', drm_dep: 'drm_dep' };

interface Task {
  readonly name: string;
  readonly pid: number;
  readonly cpu: number;
  readonly flags: string;
}

function key(context: unknown, seqno: unknown): string {
  return `${String(context)}:${String(seqno)}`;
}

/** %s values are one word-ish line; newlines would break the line format. */
function text(v: unknown): string {
  return String(v).replace(/[\r\n]+/g, ' ');
}

/** What %ps prints: the function's symbol; a function without a name (a closure) shows as the object it serves. */
function symbol(fn: unknown, fallback: unknown): string {
  const name = typeof fn === 'string' && /^[A-Za-z_][A-Za-z0-9_.]*$/.test(fn) ? fn : String(fallback);
  return name.replace(/[^A-Za-z0-9_.]+/g, '_');
}

function value_text(v: TraceArgs[string]): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  return String(v);
}

function timestamp(t_ns: number): string {
  const secs = Math.floor(t_ns / 1e9);
  const usecs = Math.floor((t_ns - secs * 1e9) / 1000);
  return `${String(secs).padStart(5)}.${String(usecs).padStart(6, '0')}`;
}

function line(task: Task, t_ns: number, event: string, fields: string): string {
  return `${task.name.padStart(16)}-${String(task.pid).padEnd(7)} [${String(task.cpu).padStart(3, '0')}] ${task.flags} ${timestamp(t_ns)}: ${event}: ${fields}`;
}

class FtraceWriter {
  private readonly tasks = new Map<string, Task>();
  private readonly fence_names = new Map<string, { driver: string; timeline: string }>();
  private readonly job_fences = new Map<string, { driver: string; ring: string }>();
  private readonly pointers = new Map<string, number>();
  private readonly marker_cookies = new Map<string, number>();
  private next_cpu = 0;
  readonly lines: string[] = [];
  private readonly marker_task: Task;

  constructor(private readonly options: Required<Omit<FtraceOptions, 'comments'>>) {
    this.marker_task = { name: MARKER_TASK, pid: MARKER_PID, cpu: 0, flags: '.....' };
  }

  private task(context: string): Task {
    let t = this.tasks.get(context);
    if (t !== undefined) return t;
    const irq = context.startsWith('hardirq/') || context.startsWith('irq/');
    const softirq = context.startsWith('softirq/');
    const nr = this.options.nr_cpus;
    const cpu = irq || softirq || nr === 1 ? 0 : 1 + (this.next_cpu++ % (nr - 1));
    t = { name: context.replace(/\s+/g, '_').slice(0, COMM_CHARS_MAX), pid: FIRST_PID + this.tasks.size, cpu, flags: irq ? 'd.h1.' : softirq ? '..s1.' : '.....' };
    this.tasks.set(context, t);
    return t;
  }

  /** A stable fake kernel pointer per object name (what %p prints, hashed). */
  private pointer(name: string): number {
    let p = this.pointers.get(name);
    if (p === undefined) this.pointers.set(name, (p = POINTER_BASE + (this.pointers.size + 1) * 0x40));
    return p;
  }

  private emit(e: TraceEvent, event: string, values: Record<string, FtraceValue>): void {
    this.lines.push(line(this.task(e.context), e.t_ns, event, format_ftrace_fields(FTRACE_FORMATS[event], values)));
  }

  private marker(t_ns: number, message: string): void {
    if (this.options.markers) this.lines.push(line(this.marker_task, t_ns, 'tracing_mark_write', message));
  }

  private fence_name(a: TraceArgs): { driver: string; timeline: string } {
    const k = key(a.context, a.seqno);
    const known = this.fence_names.get(k);
    if (known !== undefined) return known;
    const job = this.job_fences.get(k);
    return job !== undefined ? { driver: job.driver, timeline: job.ring } : { driver: 'unknown', timeline: 'unknown' };
  }

  private job(e: TraceEvent, kind: string): void {
    const a = e.args;
    const event = kind === 'free' || kind === 'timedout' ? `${DEPLAB_PREFIX}job_${kind}` : `drm_sched_job_${kind}`;
    const fence = { fence_context: Number(a.fence_context), fence_seqno: Number(a.fence_seqno) };
    const k = key(a.fence_context, a.fence_seqno);
    switch (kind) {
      case 'queue':
      case 'run': {
        const ring = text(a.ring);
        this.job_fences.set(k, { driver: BACKEND_FENCE_DRIVER[e.name.startsWith('drm_dep') ? 'drm_dep' : 'drm_sched'], ring });
        this.emit(e, event, {
          dev: this.options.device, ...fence, ring, job_count: Number(a.job_count), hw_job_count: Number(a.hw_job_count), client_id: Number(a.client_id),
        });
        this.marker(e.t_ns, `C|${MARKER_PID}|credits ${ring}|${Number(a.hw_job_count)}`);
        if (kind === 'run') {
          const cookie = this.marker_cookies.size + 1;
          this.marker_cookies.set(k, cookie);
          this.marker(e.t_ns, `S|${MARKER_PID}|${ring}|${cookie}`);
        }
        return;
      }
      case 'done': {
        this.emit(e, event, fence);
        const cookie = this.marker_cookies.get(k);
        const ring = this.job_fences.get(k)?.ring;
        if (cookie !== undefined && ring !== undefined) this.marker(e.t_ns, `F|${MARKER_PID}|${ring}|${cookie}`);
        return;
      }
      case 'add_dep':
      case 'unschedulable':
        this.emit(e, event, { ...fence, dep_context: Number(a.dep_context), dep_seqno: Number(a.dep_seqno) });
        return;
      case 'timedout':
        this.emit(e, event, { ...fence, status: Number(a.status ?? 0) });
        return;
      default:
        this.emit(e, event, fence);
    }
  }

  event(e: TraceEvent): void {
    const a = e.args;
    const job = JOB_EVENT.exec(e.name);
    if (job !== null) return this.job(e, job[1]);
    switch (e.name) {
      case 'deplab_job_hw_start':
        return this.emit(e, e.name, { fence_context: Number(a.fence_context), fence_seqno: Number(a.fence_seqno) });
      case 'dma_fence_init':
        this.fence_names.set(key(a.context, a.seqno), { driver: text(a.driver), timeline: text(a.timeline) });
        return this.emit(e, e.name, { driver: text(a.driver), timeline: text(a.timeline), context: Number(a.context), seqno: Number(a.seqno) });
      case 'dma_fence_signaled':
      case 'dma_fence_destroy':
        return this.emit(e, e.name, { ...this.fence_name(a), context: Number(a.context), seqno: Number(a.seqno) });
      case 'workqueue_queue_work':
        return this.emit(e, e.name, {
          work_struct: this.pointer(`work ${String(a.workqueue)} ${String(a.work)}`), function: symbol(a.function, a.work),
          workqueue: text(a.workqueue), req_cpu: this.options.nr_cpus, cpu: this.task(e.context).cpu,
        });
      case 'workqueue_execute_start':
      case 'workqueue_execute_end':
        return this.emit(e, e.name, { work_struct: this.pointer(`work ${String(a.workqueue)} ${String(a.work)}`), function: symbol(a.function, a.work) });
      case 'hrtimer_expire_entry':
        return this.emit(e, e.name, { hrtimer: this.pointer(`hrtimer ${String(a.timer)}`), function: symbol(a.function, a.timer), now: e.t_ns });
      default: {
        const fields = Object.keys(a).map((k) => `${k}=${value_text(a[k])}`).join(' ');
        this.lines.push(line(this.task(e.context), e.t_ns, `${DEPLAB_PREFIX}${e.name}`, text(fields)));
      }
    }
  }
}

/**
 * ftrace text of a list of trace events (any order: written sorted by time, stably). Starts
 * with the header of the nop tracer, then one line per event.
 */
export function ftrace_text(events: readonly TraceEvent[], options: FtraceOptions = {}): string {
  const nr_cpus = options.nr_cpus ?? 8;
  if (!Number.isInteger(nr_cpus) || nr_cpus < 1 || nr_cpus > 4096) throw new RangeError(`nr_cpus must be an integer in 1..4096, got ${nr_cpus}`);
  const writer = new FtraceWriter({ device: text(options.device ?? 'deplab').replace(/[\s,]+/g, '_'), nr_cpus, markers: options.markers ?? true });
  const sorted = events.map((e, i) => ({ e, i })).sort((x, y) => x.e.t_ns - y.e.t_ns || x.i - y.i);
  for (const { e } of sorted) writer.event(e);
  const n = writer.lines.length;
  const header = [
    '# tracer: nop',
    '#',
    ...(options.comments ?? []).map((c) => `# ${text(c)}`),
    ...((options.comments ?? []).length > 0 ? ['#'] : []),
    `# entries-in-buffer/entries-written: ${n}/${n}   #P:${nr_cpus}`,
    '#',
    '#                                _-----=> irqs-off/BH-disabled',
    '#                               / _----=> need-resched',
    '#                              | / _---=> hardirq/softirq',
    '#                              || / _--=> preempt-depth',
    '#                              ||| / _-=> migrate-disable',
    '#                              |||| /     delay',
    '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION',
    '#              | |         |   |||||     |         |',
  ];
  return [...header, ...writer.lines].join('\n') + '\n';
}

/** ftrace text of one run; dev= is the driver's name unless options.device says otherwise. */
export function run_ftrace(outcome: RunOutcome, options: FtraceOptions = {}): string {
  if (outcome.kernel.trace.mode !== 'record') throw new RangeError('run_ftrace: the run was not recorded (trace mode must be record)');
  const backend = backend_label(outcome.backend);
  const comments = options.comments ?? [
    `deplab: ${outcome.workload.name} on ${outcome.device.driver} ${backend}, seed ${outcome.seed} (simulated, virtual time)`,
    'deplab: gpu_scheduler formats of drivers/gpu/drm/scheduler/gpu_scheduler_trace.h at torvalds/linux 45215c589e7f'
      + (outcome.backend === 'dep' ? '; drm_dep_job_* events are written as drm_sched_job_*' : ''),
    'deplab: events upstream does not have are prefixed deplab_',
  ];
  return ftrace_text(outcome.kernel.trace.events, { ...options, device: options.device ?? outcome.device.driver, comments });
}
