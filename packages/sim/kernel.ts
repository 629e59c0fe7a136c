/**
 * The simulated kernel: one object per run that owns virtual time, the event queue, the
 * execution contexts and every checker (lockdep-lite, lifetime tracker, allocation model,
 * violation log, trace recorder). All kernel-named API functions reach it through the object
 * they act on (a fence, a lock, a workqueue) or take it as their first argument.
 *
 * Execution: events run to completion atomically. A body (an irq handler, a work item, a
 * process step) accounts its cost on a local clock: now() = event time + cost spent so far, and
 * anything it schedules is relative to that. kworker and process bodies need a CPU: when all
 * simulated CPUs are busy the body is deferred until one is free. hardirq and softirq bodies
 * preempt and are charged to CPU 0. Code outside any body (test set-up, the harness) runs in
 * the init process context in zero time. With KernelOptions.preemption, exploration may run a
 * due event nested at a preemption point of a process or kworker body (preempt_point()).
 */
import { ExecContext, type ContextKind } from './context.ts';
import { make_cost_table, make_costs, type CostOverrides, type CostSet, type CostTable } from './cost.ts';
import { check_assumptions, define_assumption, type Assumption, type AssumptionValues } from './assumptions.ts';
import {
  EventQueue, PHASE_HARDIRQ, PHASE_KWORKER, PHASE_PROCESS, PHASE_SOFTIRQ, fifo_tie_breaker,
  type EventHandle, type TieBreaker,
} from './event-queue.ts';
import { LifetimeTracker } from './lifetime.ts';
import { Lockdep, lock_map_acquire, lock_map_release, lockdep_map } from './lockdep.ts';
import { RandomStreams } from './random.ts';
import { HZ_DEFAULT, Jiffies } from './time.ts';
import { TraceRecorder, type TraceArgs, type TraceMode, type TraceSink } from './trace.ts';
import { ViolationLog, type ViolationKind } from './violations.ts';
import { WAIT_OK, WAIT_SIGNAL, WAIT_TIMEOUT, type Sleepable, type Sleeper, type WaitResult, wait_queue_head } from './wait.ts';
import { AllocStats, type FaultInjection } from './alloc.ts';
import type { workqueue_struct } from './workqueue.ts';

export interface KernelOptions {
  /** Root seed of every random stream (default 1). */
  seed?: number;
  /** Tick rate (default 1000). */
  HZ?: number;
  /** Simulated CPUs available to kworkers and process tasks (default 8). */
  nr_cpus?: number;
  costs?: CostOverrides;
  /** Selected values of modelling assumptions (assumptions.ts); unlisted ones take their default. */
  assume?: AssumptionValues;
  trace?: TraceMode;
  /** Receives every trace event as it is emitted (needs a trace mode other than 'off'). */
  trace_sink?: TraceSink;
  /** Bound on recorded events in 'record' mode (default 5M); past it the run fails. */
  trace_limit?: number;
  /** 'full' (default) also emits the high-volume substrate tracepoints; 'jobs' only the rest. */
  trace_detail?: 'full' | 'jobs';
  tie_breaker?: TieBreaker;
  /** Bound on events processed by one run call: hitting it records a `hang` (default 50M). */
  max_events?: number;
  /** Name of the context that runs code outside any event body (default "init"). */
  init_name?: string;
  /**
   * Preemption points (exploration): at a lock release, a fence signal or a queue_work inside
   * a process or kworker body, the tie-breaker may run an event already due (an interrupt, or
   * another CPU's work item or task) nested, before the body goes on. Default off.
   */
  preemption?: boolean;
  /**
   * 'capture' (default): every new lock-order edge and first irq usage records its call site
   * (a stack capture, about 9 µs in Node 20). 'on-demand': the first LOCKDEP_SITES_EAGER sites
   * of the run are captured, later ones are not (a run with a thousand queues, each with its own
   * workqueue class, makes thousands); a site is text only when a report prints it, and if an
   * uncaptured one is printed `lockdep_sites_needed` is set and it reads "(site not captured)".
   * The same deterministic run repeated with 'capture' has every site: run_workload does that
   * (RunOptions.lockdep_sites), so no output changes.
   */
  lockdep_sites?: 'capture' | 'on-demand';
}

/**
 * Sites lockdep_sites 'on-demand' still captures at the start of a run: most runs make fewer, and
 * the reports of a run name early edges far more often than late ones, so a repeated run is rare.
 */
export const LOCKDEP_SITES_EAGER = 256;

/**
 * Frames an 'on-demand' capture walks. The model caller of a lock is 3 to 10 frames below the
 * capture (measured over every built-in workload of every driver on both backends: 18,701
 * captures); one found deeper than this is treated as not captured, so the run is repeated.
 */
export const LOCKDEP_SITE_FRAMES = 16;

/** Events one preemption point may run, one after the other (a bound, not a model choice). */
export const PREEMPT_MAX_PER_POINT = 16;

export type EventHandler = (target: unknown, arg: number) => void;

/** Thrown by run_task when the simulation runs dry while the task still waits: a deadlock. */
export class SimulationHang extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulationHang';
  }
}

export interface KernelStats {
  events: number;
  kworker_wakeups: number;
  work_items: number;
  process_wakeups: number;
  irqs: number;
  cpu_deferrals: number;
  cpu_ns: Record<ContextKind, number>;
}

/** A process task: a generator stepped in process context (a user thread or a kthread). */
export class Task implements Sleeper {
  readonly kernel: Kernel;
  readonly ctx: ExecContext;
  readonly gen: Sleepable<unknown>;
  done = false;
  result: unknown = undefined;
  blocked = true;
  resume_scheduled = false;
  sigkill_pending = false;
  exiting = false;
  readonly exited = new wait_queue_head();

  constructor(kernel: Kernel, ctx: ExecContext, gen: Sleepable<unknown>) {
    this.kernel = kernel;
    this.ctx = ctx;
    this.gen = gen;
  }

  wake(): void {
    if (!this.blocked || this.resume_scheduled || this.done) return;
    this.resume_scheduled = true;
    const k = this.kernel;
    k.stats.process_wakeups++;
    k.spend(k.cost.try_to_wake_up_ns.draw());
    k.schedule_at(k.now() + k.cost.process_wakeup_ns.draw(), PHASE_PROCESS, k.EV_TASK_RESUME, this, 0);
  }
}

/** A body waiting in the CPU run queue: the event that runs it. */
interface RunqueueEntry {
  readonly phase: number;
  readonly kind: number;
  readonly target: unknown;
}
const RUNQUEUE_TAKEN: RunqueueEntry = { phase: 0, kind: -1, target: null };

/**
 * Which waiting body a freed CPU serves (S8). `fifo`: the one that asked first; both kinds are
 * SCHED_NORMAL. `kworker-first`: a waiting kworker before waiting process tasks, in the order the
 * kworkers asked: the wake-up preference EEVDF tends to give a short sleeper over a task that
 * has been running. Read only where the two differ, a kworker waiting behind a process task.
 */
export const sim_assume_cpu_order = define_assumption({
  id: 'sim.cpu-order',
  values: ['fifo', 'kworker-first'] as const,
  default: 'fifo',
  summary: 'a freed CPU serves the waiting body that asked first (fifo) or a waiting kworker before waiting process tasks (kworker-first)',
  doc: 'docs/assumptions.md#selectable-assumptions',
});

/** A device interrupt line (request_irq). */
export class irq_line {
  readonly kernel: Kernel;
  readonly name: string;
  readonly ctx: ExecContext;
  readonly dev: unknown;
  readonly handler: (dev: any, arg: number) => void;

  constructor(kernel: Kernel, name: string, dev: unknown, handler: (dev: any, arg: number) => void) {
    this.kernel = kernel;
    this.name = name;
    this.dev = dev;
    this.handler = handler;
    this.ctx = new ExecContext('hardirq', `irq/${name}`);
  }
}

/**
 * The fire time of one armed timer (or timed wait) where the values of an assumption would
 * make it differ (timer.wheel): Kernel.open_choice. Owned by the timer and re-armed with it.
 */
export class TimedChoice {
  assumption = '';
  /** The earliest fire time under any value; Infinity when closed. */
  at_ns = Infinity;
}

export class Kernel {
  readonly eq: EventQueue;
  readonly jiffies: Jiffies;
  readonly random: RandomStreams;
  /** The run's cost table (plain data: profile and entries, docs/cost-model.md). */
  readonly costs: CostTable;
  /** The table's entries ready to charge: `k.spend(k.cost.spin_lock_ns.draw())`. */
  readonly cost: CostSet;
  /** The assumption values this run selected (defaults omitted). */
  readonly assumptions: AssumptionValues;
  /**
   * The assumptions this run has read so far (assume(), close_choice()), in first-read order;
   * complete once settle_choices() ran at the end. A run that never read an assumption is the
   * same run under any value of it: compare_seed_group reuses runs on that ground.
   */
  readonly assumptions_read = new Set<string>();
  /** Timers whose fire time an assumption decides, armed and not yet fired or cancelled (open_choice). */
  private readonly open_choices = new Set<TimedChoice>();
  /** Set when a report printed a site that lockdep_sites 'on-demand' did not capture: repeat the run with 'capture'. */
  lockdep_sites_needed = false;
  /** Under lockdep_sites 'on-demand': the one site every capture past the eager ones returns. */
  private readonly site_not_captured: LazySite | null;
  private sites_taken = 0;
  /**
   * costs.driver as a Map (the table is fixed for the run): cost_of runs several times per job
   * with many different names, and a Map lookup stays fast where a keyed load on the object goes
   * megamorphic.
   */
  private readonly driver_costs: ReadonlyMap<string, number>;
  readonly trace: TraceRecorder;
  readonly violations = new ViolationLog();
  readonly lifetime: LifetimeTracker;
  readonly lockdep: Lockdep;
  readonly alloc = new AllocStats();
  readonly faults: FaultInjection = { alloc_fail_probability: 0, alloc_fail_tags: null };
  readonly stats: KernelStats = {
    events: 0, kworker_wakeups: 0, work_items: 0, process_wakeups: 0, irqs: 0, cpu_deferrals: 0,
    cpu_ns: { process: 0, kworker: 0, softirq: 0, hardirq: 0 },
  };
  readonly max_events: number;

  /** The context whose code is running now. */
  current: ExecContext;
  readonly init_ctx: ExecContext;
  readonly softirq_ctx = new ExecContext('softirq', 'softirq/timer');
  readonly hrtimer_ctx = new ExecContext('hardirq', 'hardirq/hrtimer');

  /** dma-fence signalling annotation (dma_fence_begin_signalling / __dma_fence_might_wait). */
  readonly dma_fence_map: lockdep_map;
  /** Memory reclaim (fs_reclaim_acquire): taken by sleeping allocations and reclaim workers. */
  readonly fs_reclaim: lockdep_map;

  // Built-in event kinds.
  readonly EV_TASK_RESUME: number;
  readonly EV_SLEEP_TIMEOUT: number;
  readonly EV_IRQ: number;
  readonly EV_CALL_SOFTIRQ: number;
  readonly EV_CALL_HARDIRQ: number;
  readonly EV_CPU_DISPATCH: number;

  private readonly handlers: EventHandler[] = [];
  private readonly handler_names: string[] = [];
  private in_body = false;
  /** Start of the running body on the virtual clock: the event time, or the preemption point. */
  private base = 0;
  private spent = 0;
  private cpu = 0;
  /** KernelOptions.preemption: call sites test it before calling preempt_point(). */
  readonly preemption: boolean;
  /** Preemption points are ignored while > 0 (inside a nested body, or a sleep's condition check). */
  preempt_off = 0;
  /** Start time of nested bodies (the preemption point), -Infinity outside one. */
  private nest_floor = -Infinity;
  /** Events run nested at preemption points. */
  preemptions = 0;
  private readonly cpu_busy_until: Float64Array;
  /** Bodies waiting for a CPU (claim_cpu), oldest first from runqueue_head. */
  private readonly runqueue: RunqueueEntry[] = [];
  private runqueue_head = 0;
  /** Kworker bodies in the run queue (sim.cpu-order decides only while one waits). */
  private runqueue_kworkers = 0;
  /** The run queue's one dispatch event, or -1. */
  private dispatch: EventHandle = -1;
  private next_fence_context = 1;
  private readonly system_wqs = new Map<string, workqueue_struct>();
  /** Set by workqueue.ts at import time, to create the system workqueues lazily. */
  static create_system_wq: ((k: Kernel, name: string) => workqueue_struct) | null = null;

  constructor(options: KernelOptions = {}) {
    this.eq = new EventQueue();
    this.eq.tie_breaker = options.tie_breaker ?? fifo_tie_breaker;
    this.preemption = options.preemption === true;
    // After a nested event the queue's time is that event's, possibly past a time the
    // preempted body computed before: such an event is due at once instead of in the past.
    this.eq.clamp_past = this.preemption;
    this.jiffies = new Jiffies(options.HZ ?? HZ_DEFAULT);
    this.random = new RandomStreams(options.seed ?? 1);
    this.costs = make_cost_table(options.costs);
    this.cost = make_costs(this.costs, this.random);
    this.driver_costs = new Map(Object.entries(this.costs.driver));
    const problems = check_assumptions(options.assume ?? {});
    if (problems.length > 0) throw new RangeError(problems.join('; '));
    this.assumptions = Object.freeze({ ...(options.assume ?? {}) });
    this.trace = new TraceRecorder(options.trace ?? 'off', options.trace_limit ?? 5_000_000, (options.trace_detail ?? 'full') === 'full', options.trace_sink ?? null);
    this.max_events = options.max_events ?? 50_000_000;
    const nr_cpus = options.nr_cpus ?? 8;
    if (!Number.isInteger(nr_cpus) || nr_cpus < 1 || nr_cpus > 1024) {
      throw new RangeError(`nr_cpus must be an integer in 1..1024, got ${nr_cpus}`);
    }
    this.cpu_busy_until = new Float64Array(nr_cpus);
    this.init_ctx = new ExecContext('process', options.init_name ?? 'init');
    this.current = this.init_ctx;
    this.lifetime = new LifetimeTracker(this);
    this.site_not_captured = (options.lockdep_sites ?? 'capture') === 'capture' ? null
      : new LazySite(() => { this.lockdep_sites_needed = true; return '(site not captured)'; });
    this.lockdep = new Lockdep(this);
    this.dma_fence_map = new lockdep_map(this, 'dma_fence_map');
    this.fs_reclaim = new lockdep_map(this, 'fs_reclaim');
    this.EV_TASK_RESUME = this.register_event_kind('task_resume', (t) => this.resume_task(t as Task));
    this.EV_SLEEP_TIMEOUT = this.register_event_kind('sleep_timeout', (s) => this.sleep_timeout(s as Sleeper));
    this.EV_IRQ = this.register_event_kind('irq', (line, arg) => this.handle_irq(line as irq_line, arg));
    this.EV_CALL_SOFTIRQ = this.register_event_kind('softirq_call', (c, arg) => this.run_call(this.softirq_ctx, c as Callback, arg));
    this.EV_CALL_HARDIRQ = this.register_event_kind('hardirq_call', (c, arg) => this.run_call(this.hrtimer_ctx, c as Callback, arg));
    this.EV_CPU_DISPATCH = this.register_event_kind('cpu_dispatch', () => this.cpu_dispatch());
    this.prime_reclaim_lockdep();
  }

  /* ---------------------------------------------------------------------------------------- */
  /* Time                                                                                      */

  /** Virtual time in ns, including the cost the running body has spent so far. */
  now(): number {
    return this.in_body ? this.base + this.spent : this.eq.time;
  }

  /**
   * ktime_get(): now(), but strictly increasing within a context: a read at the instant of the
   * context's previous read returns that read + 1 ns. Zero-time code (the init context outside
   * bodies, a body that spends nothing between reads) then still observes its reads in order,
   * as consecutive clock reads on one CPU are; the virtual clock itself does not move.
   */
  ktime_get(): number {
    const now = this.now();
    const ctx = this.current;
    const t = now > ctx.ktime_last_ns ? now : ctx.ktime_last_ns + 1;
    ctx.ktime_last_ns = t;
    return t;
  }

  /** The kernel's `jiffies`. */
  get jiffies_now(): number {
    return this.jiffies.at(this.now());
  }

  get HZ(): number {
    return this.jiffies.HZ;
  }

  /** Account `ns` of CPU work to the running body. Outside any body this is free. */
  spend(ns: number): void {
    if (this.in_body) this.spent += ns;
  }

  /** A driver cost from the table (driver.<name>), or `fallback_ns` if the table has none. */
  cost_of(name: string, fallback_ns: number): number {
    return this.driver_costs.get(name) ?? fallback_ns;
  }

  /** The value this run selected for a modelling assumption, or its default. */
  assume<V extends string>(a: Assumption<V>): V {
    this.assumptions_read.add(a.id);
    const v = this.assumptions[a.id];
    return v === undefined ? a.default : (v as V);
  }

  /**
   * The value of `a` without counting a read: for a caller that knows the values would make no
   * difference yet, and counts the read where they would (open_choice).
   */
  assumption_value<V extends string>(a: Assumption<V>): V {
    const v = this.assumptions[a.id];
    return v === undefined ? a.default : (v as V);
  }

  /**
   * A timer armed now would fire at different times under the values of assumption `id`, the
   * earliest at `at_ns`: the run reads the assumption only if the timer is still pending then
   * (close_choice, settle_choices). Cancelled or re-armed before it, the run is the same under
   * every value.
   */
  open_choice(choice: TimedChoice, id: string, at_ns: number): void {
    if (choice.at_ns !== Infinity) this.close_choice(choice);
    choice.assumption = id;
    choice.at_ns = at_ns;
    this.open_choices.add(choice);
  }

  /** The timer of `choice` fires or is cancelled now (or the timed wait ends). */
  close_choice(choice: TimedChoice): void {
    if (choice.at_ns === Infinity) return;
    // At or after the earliest fire time the timer was still pending: another value would have
    // run it (at the same instant, the order is not known: counted as read).
    if (this.now() >= choice.at_ns) this.assumptions_read.add(choice.assumption);
    choice.at_ns = Infinity;
    this.open_choices.delete(choice);
  }

  /** The end of the run: a timer still pending at its earliest fire time was read as well. */
  settle_choices(): void {
    const now = this.now();
    for (const c of this.open_choices) if (now >= c.at_ns) this.assumptions_read.add(c.assumption);
  }

  /* ---------------------------------------------------------------------------------------- */
  /* Events                                                                                    */

  /** Register a handler; the returned kind is used with schedule_at. Call at set-up, not per event. */
  register_event_kind(name: string, handler: EventHandler): number {
    this.handlers.push(handler);
    this.handler_names.push(name);
    return this.handlers.length - 1;
  }

  schedule_at(at_ns: number, phase: number, kind: number, target: unknown, arg: number): EventHandle {
    return this.eq.schedule(at_ns, phase, kind, target, arg);
  }

  cancel_event(handle: EventHandle): boolean {
    return this.eq.cancel(handle);
  }

  /** Run `fn(target, arg)` in softirq (timer) context at `at_ns`; `fn` must be long-lived. */
  call_softirq_at(at_ns: number, callback: Callback, arg: number): EventHandle {
    return this.eq.schedule(at_ns, PHASE_SOFTIRQ, this.EV_CALL_SOFTIRQ, callback, arg);
  }

  /** Run a callback in hardirq context (hrtimer, irq_work) at `at_ns`. */
  call_hardirq_at(at_ns: number, callback: Callback, arg: number): EventHandle {
    return this.eq.schedule(at_ns, PHASE_HARDIRQ, this.EV_CALL_HARDIRQ, callback, arg);
  }

  /** Process one event. Returns false when there is none. */
  step(): boolean {
    if (this.in_body) {
      this.violation('model_error', 'Kernel.step', 'the simulation was driven from inside an event body');
      return false;
    }
    const eq = this.eq;
    const slot = eq.pop();
    if (slot < 0) return false;
    const kind = eq.kind_of(slot);
    const target = eq.target_of(slot);
    const arg = eq.arg_of(slot);
    eq.done(slot);
    this.stats.events++;
    this.handlers[kind](target, arg);
    return true;
  }

  /**
   * A preemption point (KernelOptions.preemption; callers test `kernel.preemption` first): in a
   * process or kworker body that holds no lock (spinlock, mutex) and has hardirqs enabled, the
   * tie-breaker decides, while an event is due by the body's local time, whether that event
   * runs now, nested, before the body goes on; every decision is a recorded choice
   * (EventQueue.choices: 0 = go on, 1 = run it), so a replay is exact. A nested hardirq or
   * softirq body is an interrupt on this CPU: its cost delays the preempted body. A nested
   * kworker or process body runs on another CPU from this instant. Nested bodies are not
   * preempted themselves. Under the FIFO tie-breaker nothing is ever preempted.
   */
  preempt_point(): void {
    if (this.preempt_off > 0 || !this.in_body) return;
    const ctx = this.current;
    if ((ctx.kind !== 'process' && ctx.kind !== 'kworker') || ctx.atomic > 0 || ctx.irqs_off > 0) return;
    for (const h of ctx.held) if (!h.cls.pseudo) return;
    const eq = this.eq;
    if (eq.tie_breaker === fifo_tie_breaker) return;
    for (let n = 0; n < PREEMPT_MAX_PER_POINT; n++) {
      const at = this.now();
      if (eq.peek_time() > at) return;
      if (eq.choose_recorded(2) === 0) return;
      this.run_nested(at);
    }
  }

  /** Run the next due event nested in the current body, as if it came at `at_ns`. */
  private run_nested(at_ns: number): void {
    const eq = this.eq;
    const ctx = this.current, spent = this.spent, base = this.base, cpu = this.cpu, sleeper = this.current_sleeper;
    const busy = this.cpu_busy_until;
    const busy_self = busy[cpu], busy_irq = busy[0];
    const irq_ns_before = this.stats.cpu_ns.hardirq + this.stats.cpu_ns.softirq;
    busy[cpu] = Infinity; // this CPU runs the preempted body
    this.preempt_off++;
    this.nest_floor = at_ns;
    this.in_body = false;
    const slot = eq.pop();
    const kind = eq.kind_of(slot);
    const target = eq.target_of(slot);
    const arg = eq.arg_of(slot);
    eq.done(slot);
    this.stats.events++;
    this.preemptions++;
    if (this.trace.enabled) this.trace.emit(at_ns, 'preempt', ctx.name, { event: this.handler_names[kind] });
    this.handlers[kind](target, arg);
    // An interrupt ran on this CPU (not on CPU 0 as usual): its cost delays the preempted body.
    const irq_ns = this.stats.cpu_ns.hardirq + this.stats.cpu_ns.softirq - irq_ns_before;
    if (irq_ns > 0) {
      busy[0] = busy_irq;
      this.stats.cpu_ns[ctx.kind] -= irq_ns; // counted as interrupt time, not again at leave()
    }
    busy[cpu] = busy_self;
    this.nest_floor = -Infinity;
    this.preempt_off--;
    this.current = ctx;
    this.in_body = true;
    this.base = base;
    this.spent = spent + irq_ns;
    this.cpu = cpu;
    this.current_sleeper = sleeper;
  }

  /**
   * Run events until `cond()` holds or virtual time would pass `deadline_ns`. Time then stands
   * at the deadline if the condition never held. Returns cond().
   */
  run_until(cond: () => boolean, deadline_ns = Infinity): boolean {
    let budget = this.max_events;
    while (!cond()) {
      // Without a deadline there is nothing to stop at: step() reports an empty queue itself.
      if (deadline_ns !== Infinity && this.eq.peek_time() > deadline_ns) {
        if (deadline_ns !== Infinity && deadline_ns > this.eq.time) this.eq.advance_to(deadline_ns);
        return cond();
      }
      if (!this.step()) return cond();
      if (--budget === 0) {
        this.violation('hang', 'Kernel.run_until', `no progress after ${this.max_events} events (livelock?)`);
        return cond();
      }
    }
    return true;
  }

  /** Run for `ns` of virtual time. */
  run_for(ns: number): void {
    this.run_until(() => false, this.eq.time + ns);
  }

  /** Run until no event is left. */
  run_all(): void {
    this.run_until(() => false);
  }

  /* ---------------------------------------------------------------------------------------- */
  /* Contexts, tasks, sleeping                                                                 */

  /** Enter a body in `ctx`: it becomes current and starts its local clock. */
  enter(ctx: ExecContext): void {
    this.current = ctx;
    this.in_body = true;
    this.base = this.body_start_ns();
    this.spent = 0;
  }

  /** When a body starting now starts: the event time, or the preemption point of a nested one. */
  private body_start_ns(): number {
    const t = this.eq.time;
    return t > this.nest_floor ? t : this.nest_floor;
  }

  /** Leave the body: charge its cost to a CPU and return to the init context. */
  leave(ctx: ExecContext): void {
    this.stats.cpu_ns[ctx.kind] += this.spent;
    if (ctx.kind === 'hardirq' || ctx.kind === 'softirq') {
      this.cpu_busy_until[0] = Math.max(this.cpu_busy_until[0], this.base) + this.spent;
    } else {
      this.cpu_busy_until[this.cpu] = this.base + this.spent;
    }
    this.in_body = false;
    this.spent = 0;
    this.current = this.init_ctx;
  }

  /**
   * A body finished for good (irq handler, timer, work item, task): it must not leave a lock,
   * a signalling section or disabled irqs behind. The state is reset so one bug is one report.
   */
  check_exit_clean(ctx: ExecContext, what: string): void {
    if (ctx.held.length === 0 && ctx.atomic === 0 && ctx.irqs_off === 0) return;
    const held = ctx.held.map((h) => `${h.cls.name} (acquired at ${h.site})`);
    this.violation('lock_held_at_exit', what, `${what} returned with ${held.length > 0 ? held.join(', ') : 'irqs disabled'} held`);
    ctx.held.length = 0;
    ctx.atomic = 0;
    ctx.irqs_off = 0;
  }

  /**
   * Claim a CPU for a kworker/process body at the current event time. When none is free, the
   * body (event `kind` on `target`, in `phase`) waits in the CPU run queue and runs when a
   * CPU frees up, in the order the bodies asked, or kworkers first (sim.cpu-order; the exploring
   * tie-breaker may pick another waiting body; each pick is a recorded choice). One dispatch event stands for the whole
   * queue, so N bodies waiting for 8 CPUs cost O(N) events, not O(N) per freed CPU. A body that
   * finds a CPU free takes it even while others wait (the wake-up that lands on an idle CPU).
   * Returns false when the body was queued: the caller returns and is called again later.
   */
  claim_cpu(phase: number, kind: number, target: unknown): boolean {
    const best = this.free_cpu(this.body_start_ns());
    if (best < 0) return true;
    this.stats.cpu_deferrals++;
    this.runqueue.push({ phase, kind, target });
    if (phase === PHASE_KWORKER) this.runqueue_kworkers++;
    if (this.dispatch < 0) this.dispatch = this.schedule_at(this.cpu_busy_until[best], phase, this.EV_CPU_DISPATCH, null, 0);
    return false;
  }

  /** Claims a CPU free at `t` (this.cpu) and returns -1, or returns the CPU that frees up first. */
  private free_cpu(t: number): number {
    const busy = this.cpu_busy_until;
    let best = 0;
    for (let i = 0; i < busy.length; i++) {
      if (busy[i] <= t) { this.cpu = i; return -1; }
      if (busy[i] < busy[best]) best = i;
    }
    return best;
  }

  /** The dispatch event of the CPU run queue: hand a free CPU to the next waiting body. */
  private cpu_dispatch(): void {
    this.dispatch = -1;
    const q = this.runqueue;
    const waiting = q.length - this.runqueue_head;
    if (waiting === 0) return;
    const t = this.body_start_ns();
    const best = this.free_cpu(t);
    if (best >= 0) {
      // Taken meanwhile (a body that found it free, an interrupt on CPU 0): wait for the next one.
      this.dispatch = this.schedule_at(this.cpu_busy_until[best], q[this.runqueue_head].phase, this.EV_CPU_DISPATCH, null, 0);
      return;
    }
    const pick = waiting < 2 ? 0 : this.eq.tie_breaker !== fifo_tie_breaker ? this.eq.choose_recorded(waiting) : this.cpu_order_pick();
    const body = q[this.runqueue_head + pick];
    if (body.phase === PHASE_KWORKER) this.runqueue_kworkers--;
    if (pick > 0) q.splice(this.runqueue_head + pick, 1);
    else q[this.runqueue_head++] = RUNQUEUE_TAKEN;
    if (this.runqueue_head === q.length) {
      q.length = 0;
      this.runqueue_head = 0;
    } else if (this.runqueue_head > 1024 && this.runqueue_head * 2 > q.length) {
      q.splice(0, this.runqueue_head);
      this.runqueue_head = 0;
    }
    this.handlers[body.kind](body.target, 0);
    if (this.dispatch < 0 && q.length > this.runqueue_head) {
      this.dispatch = this.schedule_at(t, q[this.runqueue_head].phase, this.EV_CPU_DISPATCH, null, 0);
    }
  }

  /** The waiting body sim.cpu-order serves next, as an offset from the run queue's head. */
  private cpu_order_pick(): number {
    const q = this.runqueue, head = this.runqueue_head;
    if (this.runqueue_kworkers === 0 || q[head].phase === PHASE_KWORKER) return 0; // both orders agree
    if (this.assume(sim_assume_cpu_order) === 'fifo') return 0;
    let i = head + 1;
    while (q[i].phase !== PHASE_KWORKER) i++;
    return i - head;
  }

  /** Start a process task (a kthread or user thread) that runs `gen`. */
  spawn(name: string, gen: Sleepable<unknown>): Task {
    const task = new Task(this, new ExecContext('process', name), gen);
    task.resume_scheduled = true;
    this.schedule_at(this.now(), PHASE_PROCESS, this.EV_TASK_RESUME, task, 0);
    return task;
  }

  /**
   * Run `gen` as the init context (a test thread, the harness's driver thread) until it
   * finishes, processing events meanwhile. Throws SimulationHang if nothing can wake it.
   */
  run_task<T>(gen: Sleepable<T>): T {
    if (this.in_body) throw new Error('run_task called from inside an event body');
    const task = new Task(this, this.init_ctx, gen);
    task.blocked = false;
    this.step_task(task);
    let budget = this.max_events;
    while (!task.done) {
      if (!this.step()) {
        const msg = `${this.init_ctx.name} waits forever: no event left that could wake it`;
        this.violation('hang', 'Kernel.run_task', msg);
        throw new SimulationHang(msg);
      }
      if (--budget === 0) {
        const msg = `no progress after ${this.max_events} events while ${this.init_ctx.name} waits`;
        this.violation('hang', 'Kernel.run_task', msg);
        throw new SimulationHang(msg);
      }
    }
    return task.result as T;
  }

  /** The sleeper running now (a process task or a kworker in a sleepy item), if any. */
  current_sleeper: Sleeper | null = null;

  /**
   * The core of every sleeping primitive: sleep on `wq` (or only on the deadline) until
   * `cond()` holds, the absolute `deadline_ns` passes, or (killable) a fatal signal arrives.
   */
  *wait_until(wq: wait_queue_head | null, cond: () => boolean, deadline_ns = Infinity, killable = false): Sleepable<WaitResult> {
    this.might_sleep('wait');
    for (;;) {
      // No preemption between the check and going to sleep: the wake-up it would let through
      // is one the kernel's prepare_to_wait ordering does not lose.
      this.preempt_off++;
      const ok = cond();
      this.preempt_off--;
      if (ok) return WAIT_OK;
      const s = this.current_sleeper;
      if (s === null) {
        this.violation('model_error', this.caller_site(), `${this.current.name} tried to sleep outside a resumable process`);
        return WAIT_TIMEOUT;
      }
      if (killable && s.sigkill_pending) return WAIT_SIGNAL;
      if (this.now() >= deadline_ns) return WAIT_TIMEOUT;
      if (wq !== null) wq.sleepers.push(s);
      const timer = deadline_ns === Infinity ? -1 : this.schedule_at(deadline_ns, PHASE_SOFTIRQ, this.EV_SLEEP_TIMEOUT, s, 0);
      yield;
      if (timer >= 0) this.eq.cancel(timer);
      if (wq !== null) {
        const i = wq.sleepers.indexOf(s);
        if (i >= 0) wq.sleepers.splice(i, 1);
      }
    }
  }

  /** Wake every sleeper on `wq`; each re-checks its condition. */
  wake_up(wq: wait_queue_head): void {
    const list = wq.sleepers;
    if (list.length === 0) return;
    const sleepers = list.splice(0, list.length);
    for (const s of sleepers) s.wake();
  }

  /** Deliver SIGKILL to a task: killable waits return -ERESTARTSYS. */
  send_sigkill(task: Task): void {
    task.sigkill_pending = true;
    task.wake();
  }

  /** might_sleep(): a violation if the current context may not sleep. */
  might_sleep(site: string): void {
    const ctx = this.current;
    if (ctx.may_sleep) return;
    const why = ctx.kind === 'hardirq' || ctx.kind === 'softirq' ? `in ${ctx.kind} context`
      : ctx.atomic > 0 ? `with ${ctx.held.filter((h) => !h.cls.pseudo).map((h) => h.cls.name).join(', ')} held`
        : 'with hardirqs disabled';
    this.violation_once(`sleep:${site}:${ctx.name}`, 'sleep_in_atomic', site, `BUG: sleeping function called from invalid context ${why} (${ctx.name})`);
  }

  /** The task whose code runs now, if the current context is a process task. */
  current_task(): Task | null {
    const s = this.current_sleeper;
    return s instanceof Task ? s : null;
  }

  private step_task(task: Task): void {
    this.enter(task.ctx);
    const prev = this.current_sleeper;
    this.current_sleeper = task;
    task.blocked = false;
    const r = task.gen.next();
    this.current_sleeper = prev;
    if (r.done === true) {
      task.done = true;
      task.result = r.value;
      if (task.ctx !== this.init_ctx) this.check_exit_clean(task.ctx, task.ctx.name);
      this.wake_up(task.exited);
    } else {
      task.blocked = true;
      if (task.ctx.atomic > 0) {
        this.violation('sleep_in_atomic', task.ctx.name, `${task.ctx.name} slept with a spinlock held`);
      }
    }
    this.leave(task.ctx);
  }

  private resume_task(task: Task): void {
    if (!this.claim_cpu(PHASE_PROCESS, this.EV_TASK_RESUME, task)) return;
    task.resume_scheduled = false;
    if (task.done) return;
    this.step_task(task);
  }

  private sleep_timeout(s: Sleeper): void {
    this.enter(this.softirq_ctx);
    s.wake();
    this.leave(this.softirq_ctx);
  }

  /* ---------------------------------------------------------------------------------------- */
  /* Interrupts and callbacks                                                                   */

  /** request_irq: a device interrupt line whose handler runs in hardirq context. */
  request_irq<D>(name: string, dev: D, handler: (dev: D, arg: number) => void): irq_line {
    return new irq_line(this, name, dev, handler);
  }

  /** The device raises `line` at absolute time `at_ns` with a device-defined `arg`. */
  raise_irq_at(line: irq_line, at_ns: number, arg: number): EventHandle {
    return this.schedule_at(at_ns, PHASE_HARDIRQ, this.EV_IRQ, line, arg);
  }

  private handle_irq(line: irq_line, arg: number): void {
    this.stats.irqs++;
    this.enter(line.ctx);
    this.spend(this.cost.hardirq_entry_ns.draw());
    line.handler(line.dev, arg);
    this.check_exit_clean(line.ctx, `irq handler ${line.name}`);
    this.leave(line.ctx);
  }

  private run_call(ctx: ExecContext, c: Callback, arg: number): void {
    this.enter(ctx);
    this.spend((ctx.kind === 'hardirq' ? this.cost.hardirq_entry_ns : this.cost.softirq_entry_ns).draw());
    c.fn(c.target, arg);
    this.check_exit_clean(ctx, ctx.name);
    this.leave(ctx);
  }

  /* ---------------------------------------------------------------------------------------- */
  /* Fences, workqueues                                                                        */

  /** dma_fence_context_alloc(num): `num` consecutive new fence contexts; returns the first. */
  dma_fence_context_alloc(num: number): number {
    const first = this.next_fence_context;
    this.next_fence_context += num;
    return first;
  }

  /** A system workqueue by its kernel name (system_wq, system_percpu_wq, system_unbound_wq, ...). */
  system_wq(name = 'system_wq'): workqueue_struct {
    let wq = this.system_wqs.get(name);
    if (wq === undefined) {
      if (Kernel.create_system_wq === null) throw new Error('workqueue.ts not loaded');
      wq = Kernel.create_system_wq(this, name);
      this.system_wqs.set(name, wq);
    }
    return wq;
  }

  /** Used by workqueue.ts: one workqueue known under two kernel names (system_wq/system_percpu_wq). */
  system_wq_alias(name: string, canonical: string, create: () => workqueue_struct): workqueue_struct {
    let wq = this.system_wqs.get(canonical);
    if (wq === undefined) {
      wq = create();
      this.system_wqs.set(canonical, wq);
    }
    this.system_wqs.set(name, wq);
    return wq;
  }

  /* ---------------------------------------------------------------------------------------- */
  /* Checks                                                                                    */

  violation(kind: ViolationKind, site: string, message: string, detail: readonly string[] = []): void {
    this.violations.record({ kind, time_ns: this.now(), context: this.current.name, site, message, detail });
    if (this.trace.enabled) this.trace.emit(this.now(), 'violation', this.current.name, { kind, site, message });
  }

  violation_once(key: string, kind: ViolationKind, site: string, message: string, detail: readonly string[] = []): void {
    const v = { kind, time_ns: this.now(), context: this.current.name, site, message, detail };
    if (this.violations.record_once(key, v) && this.trace.enabled) {
      this.trace.emit(this.now(), 'violation', this.current.name, { kind, site, message });
    }
  }

  /** WARN_ON(cond): records a `warn` violation when cond is true; returns cond. */
  WARN_ON(cond: boolean, site: string, message = 'WARN_ON'): boolean {
    if (cond) this.violation('warn', site, message);
    return cond;
  }

  /** WARN_ON_ONCE: like WARN_ON, reported once per site. */
  WARN_ON_ONCE(cond: boolean, site: string, message = 'WARN_ON_ONCE'): boolean {
    if (cond) this.violation_once(`warn_once:${site}`, 'warn', site, message);
    return cond;
  }

  /** BUG_ON: the kernel would oops; the model records a `bug` and carries on. */
  BUG_ON(cond: boolean, site: string, message = 'BUG_ON'): boolean {
    if (cond) this.violation('bug', site, message);
    return cond;
  }

  /** Emit a trace event from the current context (no-op when tracing is off). */
  tp(name: string, args: TraceArgs): void {
    if (this.trace.enabled) this.trace.emit(this.now(), name, this.current.name, args);
  }

  /**
   * The model source position that called into the substrate: the first stack frame outside
   * packages/sim. Only computed when a report needs it (new lock edges, violations).
   */
  caller_site(): string {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 40;
    const stack = new Error().stack ?? '';
    Error.stackTraceLimit = limit;
    return site_of_stack(stack);
  }

  /**
   * caller_site(), formatted only when read: the stack is taken now (cheap), turned into text
   * (through the bundle's source map: the costly part) only if a report prints it. Lockdep
   * records a site for every new lock edge of every run, and few are ever printed.
   */
  lazy_caller_site(): LazySite {
    const not_captured = this.site_not_captured;
    if (not_captured !== null && ++this.sites_taken > LOCKDEP_SITES_EAGER) return not_captured;
    // A capture costs per frame walked (about 0.7 µs each): under 'on-demand' only the frames
    // a model caller is found in, and a site not among them counts as not captured.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = not_captured === null ? 40 : LOCKDEP_SITE_FRAMES;
    const holder: { stack?: string } = {};
    Error.captureStackTrace(holder);
    Error.stackTraceLimit = limit;
    if (not_captured === null) return new LazySite(() => site_of_stack(holder.stack ?? ''));
    return new LazySite(() => model_frame_of_stack(holder.stack ?? '') ?? String(not_captured));
  }

  /**
   * Boot-time lockdep priming as in drivers/dma-buf/dma-resv.c dma_resv_lockdep(): memory
   * reclaim may wait on dma-fences (shrinkers, MMU notifiers), so fs_reclaim -> dma_fence_map.
   * A sleeping allocation inside a signalling section then closes a cycle.
   */
  private prime_reclaim_lockdep(): void {
    const site = 'dma_resv_lockdep (boot-time priming)';
    lock_map_acquire(this.fs_reclaim, site);
    lock_map_acquire(this.dma_fence_map, site);
    lock_map_release(this.dma_fence_map);
    lock_map_release(this.fs_reclaim);
  }
}

/** A site as caller_site() gives it, from a stack's text: the first frame outside packages/sim. */
function site_of_stack(stack: string): string {
  return model_frame_of_stack(stack) ?? 'unknown';
}

/** The first frame of a stack's text outside packages/sim (and node_modules, node:), as a site; null if none. */
export function model_frame_of_stack(stack: string): string | null {
  for (const line of stack.split('\n').slice(1)) {
    const m = /at (?:(.*?) \()?(?:file:\/\/)?([^()]*?):(\d+):\d+\)?$/.exec(line.trim());
    if (m === null) continue;
    const file = m[2];
    if (file.includes('node_modules') || file.startsWith('node:')) continue;
    if (/\/packages\/sim\/[^/]*\.ts$/.test(file) && !file.endsWith('.test.ts')) continue;
    const rel = file.replace(/^.*?\/((?:packages|drivers|bench)\/)/, '$1');
    return m[1] ? `${m[1]} (${rel}:${m[3]})` : `${rel}:${m[3]}`;
  }
  return null;
}

/** Text made when first read (String(), a template literal), then kept: a site a report may never print. */
export class LazySite {
  private make: (() => string) | null;
  private text = '';

  constructor(make: () => string) {
    this.make = make;
  }

  toString(): string {
    if (this.make !== null) {
      this.text = this.make();
      this.make = null;
    }
    return this.text;
  }
}

/** An acquisition site: given by the model, or captured and formatted when printed. */
export type Site = string | LazySite;

/** A long-lived callback for call_softirq_at / call_hardirq_at (create once, schedule often). */
export interface Callback {
  readonly fn: (target: any, arg: number) => void;
  readonly target: unknown;
}

export { PHASE_HARDIRQ, PHASE_KWORKER, PHASE_PROCESS, PHASE_SOFTIRQ };
