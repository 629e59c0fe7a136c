/**
 * The xe GPU and its GuC firmware, as hardware only (no scheduler, no driver policy). It reads
 * like the KUnit mock: per context one ring of entries executed in order, one firmware
 * command queue, interrupts to the driver.
 *
 * What is modelled:
 *   - the LRC (logical ring context, xe_lrc.c): a ring of emitted jobs, a software tail the
 *     driver writes and a hardware head the engine advances, the hardware status page seqno the
 *     ring writes when a job ends (with a user interrupt, MI_USER_INTERRUPT), the "start seqno"
 *     written when a job starts, and the context timestamp (CTX_TIMESTAMP) the TDR reads;
 *   - the GuC: host-to-GuC (H2G) commands processed in order, each `xe.guc_fw_latency_ns` after
 *     the previous one, answered by GuC-to-host (G2H) messages through the GuC interrupt:
 *     context registration, scheduling enable/disable (SCHED_CONTEXT_MODE_SET, acked by
 *     SCHED_CONTEXT_MODE_DONE), the doorbell (SCHED_CONTEXT), deregistration (acked by
 *     DEREGISTER_CONTEXT_DONE), context policies, TLB invalidation (acked by
 *     TLB_INVALIDATION_DONE), and the engine-reset / memory-CAT-error notifications;
 *   - a GT reset: the firmware forgets every context and every pending message;
 *   - deplab only: `job_started` reports each ring entry the engine starts (the moment the ring
 *     writes its start seqno; a job re-emitted after a GT reset starts again), for the driver's
 *     deplab_job_hw_start event.
 *
 * Simplification (README "What is simplified"): the GuC's scheduling between contexts
 * (priority bands, time-slicing, preemption timeout) is not modelled; every enabled context
 * executes its ring as if it had an engine to itself. Context policies are recorded only.
 *
 * Device code runs outside any CPU context: it never takes kernel locks or touches fences, it
 * only changes device state, schedules device events and raises interrupts.
 */
import { PHASE_HARDIRQ, type EventHandle, type Kernel, type irq_line } from '@deplab/sim';

/* ------------------------------------------------------------------------------------------ */
/* Constants                                                                                    */

/** enum xe_engine_class (xe_hw_engine_types.h). */
export const XE_ENGINE_CLASS_RENDER = 0;
export const XE_ENGINE_CLASS_COPY = 1;
export const XE_ENGINE_CLASS_VIDEO_DECODE = 2;
export const XE_ENGINE_CLASS_VIDEO_ENHANCE = 3;
export const XE_ENGINE_CLASS_COMPUTE = 4;
export const XE_ENGINE_CLASS_MAX = 5;
export const XE_ENGINE_CLASS_NAMES: readonly string[] = ['rcs', 'bcs', 'vcs', 'vecs', 'ccs'];

/** The LRC ring is 16 KiB (xe_lrc_ring_size()). */
export const SZ_16K = 16 * 1024;
/** MAX_JOB_SIZE_DW in recent trees (xe_ring_ops_types.h); 48 in older ones. */
export const MAX_JOB_SIZE_DW = 74;
export const MAX_JOB_SIZE_BYTES = MAX_JOB_SIZE_DW * 4;

export function xe_lrc_ring_size(): number {
  return SZ_16K;
}

/** The credit limit both bindings use: xe_lrc_ring_size() / MAX_JOB_SIZE_BYTES = 55 jobs. */
export const XE_RING_JOB_LIMIT = Math.floor(SZ_16K / MAX_JOB_SIZE_BYTES);

/**
 * GuC actions (abi/guc_actions_abi.h). Only the names matter to the model; the numbers are
 * the model's own, not the ABI's.
 */
export const XE_GUC_ACTION_REGISTER_CONTEXT = 1;
export const XE_GUC_ACTION_DEREGISTER_CONTEXT = 2;
export const XE_GUC_ACTION_SCHED_CONTEXT = 3;
export const XE_GUC_ACTION_SCHED_CONTEXT_MODE_SET = 4;
export const XE_GUC_ACTION_HOST2GUC_UPDATE_CONTEXT_POLICIES = 5;
export const XE_GUC_ACTION_TLB_INVALIDATION = 6;
/** G2H */
export const XE_GUC_ACTION_SCHED_CONTEXT_MODE_DONE = 7;
export const XE_GUC_ACTION_DEREGISTER_CONTEXT_DONE = 8;
export const XE_GUC_ACTION_CONTEXT_RESET_NOTIFICATION = 9;
export const XE_GUC_ACTION_NOTIFY_MEMORY_CAT_ERROR = 10;
export const XE_GUC_ACTION_TLB_INVALIDATION_DONE = 11;

export const GUC_ACTION_NAMES: readonly string[] = [
  '', 'REGISTER_CONTEXT', 'DEREGISTER_CONTEXT', 'SCHED_CONTEXT', 'SCHED_CONTEXT_MODE_SET',
  'UPDATE_CONTEXT_POLICIES', 'TLB_INVALIDATION', 'SCHED_CONTEXT_MODE_DONE', 'DEREGISTER_CONTEXT_DONE',
  'CONTEXT_RESET_NOTIFICATION', 'NOTIFY_MEMORY_CAT_ERROR', 'TLB_INVALIDATION_DONE',
];

export const GUC_CONTEXT_DISABLE = 0;
export const GUC_CONTEXT_ENABLE = 1;

/** Interrupt vectors of the GT interrupt line: the user interrupt of an engine class, or the GuC. */
export const XE_IRQ_GUC = XE_ENGINE_CLASS_MAX;

/** Default firmware latency: one H2G command processed after the previous one (README costs). */
export const XE_GUC_FW_LATENCY_NS = 10_000;
/** Default TLB invalidation latency in the hardware after the GuC forwarded it. */
export const XE_TLB_INVAL_NS = 5_000;

/* ------------------------------------------------------------------------------------------ */
/* Ring and LRC                                                                                 */

/**
 * What the driver wants the hardware to do for one job, shared by every ring entry emitted
 * for it (a job re-emitted after a GT reset gets a new entry with the same parameters).
 */
export class xe_hw_job {
  /** Execution time in ns; 'manual' jobs end only through xe_hw_complete_manual. */
  readonly duration_ns: number;
  readonly manual: boolean;
  manual_done = false;
  /** The job never ends by itself (fault injection); a GT reset clears it unless sticky. */
  hang: boolean;
  hang_survives_reset = false;
  /** The context executing an entry of this job now, if any. */
  running_in: guc_fw_ctx | null = null;

  constructor(duration_ns: number | 'manual', hang: boolean) {
    this.manual = duration_ns === 'manual';
    this.duration_ns = duration_ns === 'manual' ? 0 : Math.max(0, Math.round(duration_ns));
    this.hang = hang;
  }
}

/** One job as written into the ring by ring_ops->emit_job. */
export class xe_ring_entry {
  readonly seqno: number;
  readonly job: xe_hw_job;
  remaining_ns: number;
  started = false;

  constructor(seqno: number, job: xe_hw_job) {
    this.seqno = seqno;
    this.job = job;
    this.remaining_ns = job.duration_ns;
  }
}

/** struct xe_lrc: the ring, the status page seqnos and the context timestamp. */
export class xe_lrc {
  readonly hw: xe_hw;
  readonly class: number;
  readonly name: string;
  /** Ring entries by absolute position (entries before ring_base were retired). */
  private ring: (xe_ring_entry | null)[] = [];
  private ring_base = 0;
  /** Software tail (lrc->ring.tail): where the next emit writes. */
  tail = 0;
  /** Tail in the context image (xe_lrc_set_ring_tail), seen by the GuC at the next schedule. */
  ring_tail_hw = 0;
  /** Hardware head: the next entry the engine executes. */
  head = 0;
  /** Hardware status page: seqno of the last job that ended, and of the last job that started. */
  seqno = 0;
  start_seqno = 0;
  /** CTX_TIMESTAMP (ns of execution) and its value when the current job started. */
  ctx_timestamp_ns = 0;
  ctx_job_timestamp_ns = 0;
  /** The firmware context currently executing this LRC (for the live timestamp). */
  running_ctx: guc_fw_ctx | null = null;
  /**
   * Told when `seqno` moves: the fence irq of this LRC's fences (xe_device.ts), so that its
   * irq_work looks at this LRC's fences only when their status page changed. A deplab
   * shortcut for speed, not hardware: the fences it signals, and their order, are the C list
   * walk's.
   */
  seqno_watch: { lrc_seqno_moved(lrc: xe_lrc): void } | null = null;

  constructor(hw: xe_hw, class_: number, name: string) {
    this.hw = hw;
    this.class = class_;
    this.name = name;
  }

  /** ring_ops->emit_job: write one job at the software tail. Returns its position (ptrs.head). */
  emit(seqno: number, job: xe_hw_job): number {
    const pos = this.tail;
    const i = pos - this.ring_base;
    // A rewound tail may start behind the retired part: the hardware head is past those slots
    // and never executes them again, so nothing needs storing there.
    if (i >= 0 && i < this.ring.length) this.ring[i] = new xe_ring_entry(seqno, job);
    else if (i >= 0) this.ring.push(new xe_ring_entry(seqno, job));
    this.tail = pos + 1;
    return pos;
  }

  entry_at(pos: number): xe_ring_entry | null {
    return this.ring[pos - this.ring_base] ?? null;
  }

  /** Drop retired entries so the ring array stays bounded (the C ring wraps). */
  retire(): void {
    const done = Math.min(this.head, this.tail) - this.ring_base;
    if (done > 256 && done * 2 > this.ring.length) {
      this.ring = this.ring.slice(done);
      this.ring_base += done;
    }
  }

  /** Rewind the software tail to `pos` (GT-reset resubmission rewrites the ring from there). */
  rewind(pos: number): void {
    this.tail = pos;
  }

  /** CTX_TIMESTAMP now, including the slice the engine is executing. */
  ctx_timestamp_now(): number {
    const ctx = this.running_ctx;
    return ctx !== null && ctx.running !== null ? this.ctx_timestamp_ns + (this.hw.kernel.now() - ctx.run_started_at) : this.ctx_timestamp_ns;
  }

  /** The engine is idle on this ring: everything emitted has ended. */
  ring_is_idle(): boolean {
    return this.head >= this.tail;
  }
}

/* ------------------------------------------------------------------------------------------ */
/* GuC firmware                                                                                 */

/** A context registered with the GuC. */
export class guc_fw_ctx {
  readonly guc_id: number;
  readonly lrc: xe_lrc;
  /** Scheduling enabled (SCHED_CONTEXT_MODE_SET) and not reset. */
  enabled = false;
  /** Tail the firmware knows (from the last doorbell or enable). */
  known_tail = 0;
  running: xe_ring_entry | null = null;
  run_started_at = 0;
  end_event: EventHandle = -1;
  /** Recorded policies (UPDATE_CONTEXT_POLICIES). */
  priority = -1;
  policy_updates = 0;

  constructor(guc_id: number, lrc: xe_lrc) {
    this.guc_id = guc_id;
    this.lrc = lrc;
  }
}

/** One host-to-GuC or GuC-to-host message. */
export interface guc_msg {
  readonly action: number;
  readonly guc_id: number;
  /** Action argument: enable/disable, runnable state, TLB seqno, policy priority, the LRC. */
  readonly arg: number;
  readonly lrc: xe_lrc | null;
}

/**
 * The GPU: GuC firmware plus the engines executing the rings. One GT (the media GT and
 * multi-tile parts are not modelled).
 */
export class xe_hw {
  readonly kernel: Kernel;
  readonly name: string;
  /** The GT interrupt line, requested by the driver (xe_irq.c). */
  irq: irq_line | null = null;
  readonly contexts = new Map<number, guc_fw_ctx>();
  private readonly h2g: guc_msg[] = [];
  private h2g_head = 0;
  private h2g_due_ns = 0;
  /** G2H messages waiting for the driver to read them (the CT G2H buffer). */
  readonly g2h: guc_msg[] = [];
  /** The firmware runs (false during a GT reset). */
  running = true;
  /** Count of GT resets, and whether injected hangs survive one. */
  resets = 0;
  fw_latency_ns: number;
  tlb_inval_ns: number;
  /** Every H2G command the firmware processed, in order (tests read it). */
  readonly log: { t_ns: number; action: number; guc_id: number; arg: number }[] = [];
  log_enabled = false;
  /** deplab only: the engine started a ring entry of `job` (set by the driver while tracing). */
  job_started: ((job: xe_hw_job) => void) | null = null;
  private readonly EV_H2G: number;
  private readonly EV_ENGINE_END: number;
  private readonly EV_G2H: number;

  constructor(kernel: Kernel, name: string) {
    this.kernel = kernel;
    this.name = name;
    this.fw_latency_ns = kernel.cost_of('xe.guc_fw_latency_ns', XE_GUC_FW_LATENCY_NS);
    this.tlb_inval_ns = kernel.cost_of('xe.tlb_inval_ns', XE_TLB_INVAL_NS);
    // Event args carry the reset epoch: messages of a firmware instance lost in a GT reset die with it.
    this.EV_H2G = kernel.register_event_kind('xe_guc_fw_h2g', (hw, epoch) => { if (epoch === this.resets) guc_fw_process_one(hw as xe_hw); });
    this.EV_ENGINE_END = kernel.register_event_kind('xe_engine_job_end', (ctx) => engine_job_end(this, ctx as guc_fw_ctx));
    this.EV_G2H = kernel.register_event_kind('xe_guc_fw_g2h', (msg, epoch) => { if (epoch === this.resets) guc_fw_send_g2h_now(this, msg as guc_msg); });
  }

  /** xe_guc_ct_send: queue one H2G command; the firmware processes it after the ones before. */
  h2g_send(action: number, guc_id: number, arg: number, lrc: xe_lrc | null): void {
    if (!this.running) return; // a GuC being reset drops the CT traffic
    const k = this.kernel;
    this.h2g.push({ action, guc_id, arg, lrc });
    this.h2g_due_ns = Math.max(this.h2g_due_ns, k.now()) + this.fw_latency_ns;
    k.schedule_at(this.h2g_due_ns, PHASE_HARDIRQ, this.EV_H2G, this, this.resets);
  }

  h2g_due_ns_reset(): void {
    this.h2g_due_ns = 0;
  }

  h2g_pending(): number {
    return this.h2g.length - this.h2g_head;
  }

  pop_h2g(): guc_msg | null {
    if (this.h2g_head >= this.h2g.length) return null;
    const msg = this.h2g[this.h2g_head++];
    if (this.h2g_head === this.h2g.length) {
      this.h2g.length = 0;
      this.h2g_head = 0;
    }
    return msg;
  }

  /** The firmware answers: queue a G2H message and raise the GuC interrupt at `at_ns`. */
  g2h_send(action: number, guc_id: number, arg: number, at_ns: number): void {
    const msg: guc_msg = { action, guc_id, arg, lrc: null };
    if (at_ns <= this.kernel.now()) guc_fw_send_g2h_now(this, msg);
    else this.kernel.schedule_at(at_ns, PHASE_HARDIRQ, this.EV_G2H, msg, this.resets);
  }

  schedule_end(ctx: guc_fw_ctx, at_ns: number): EventHandle {
    return this.kernel.schedule_at(at_ns, PHASE_HARDIRQ, this.EV_ENGINE_END, ctx, 0);
  }
}

function guc_fw_send_g2h_now(hw: xe_hw, msg: guc_msg): void {
  if (!hw.running) return;
  hw.g2h.push(msg);
  if (hw.irq !== null) hw.kernel.raise_irq_at(hw.irq, hw.kernel.now(), XE_IRQ_GUC);
}

/** The firmware processes the oldest H2G command. */
function guc_fw_process_one(hw: xe_hw): void {
  const msg = hw.pop_h2g();
  if (msg === null || !hw.running) return;
  const k = hw.kernel;
  if (hw.log_enabled) hw.log.push({ t_ns: k.now(), action: msg.action, guc_id: msg.guc_id, arg: msg.arg });
  if (k.trace.enabled) k.tp('xe_guc_fw_h2g', { action: GUC_ACTION_NAMES[msg.action], guc_id: msg.guc_id, arg: msg.arg });
  const ctx = hw.contexts.get(msg.guc_id) ?? null;
  switch (msg.action) {
    case XE_GUC_ACTION_REGISTER_CONTEXT:
      if (ctx === null && msg.lrc !== null) hw.contexts.set(msg.guc_id, new guc_fw_ctx(msg.guc_id, msg.lrc));
      break;
    case XE_GUC_ACTION_HOST2GUC_UPDATE_CONTEXT_POLICIES:
      if (ctx !== null) {
        ctx.priority = msg.arg;
        ctx.policy_updates++;
      }
      break;
    case XE_GUC_ACTION_SCHED_CONTEXT:
      if (ctx !== null) {
        ctx.known_tail = ctx.lrc.ring_tail_hw;
        engine_kick(hw, ctx);
      }
      break;
    case XE_GUC_ACTION_SCHED_CONTEXT_MODE_SET:
      if (ctx === null) break; // unknown context: the GuC rejects it, no G2H
      if (msg.arg === GUC_CONTEXT_ENABLE) {
        ctx.enabled = true;
        ctx.known_tail = ctx.lrc.ring_tail_hw;
        engine_kick(hw, ctx);
      } else {
        engine_preempt(hw, ctx);
        ctx.enabled = false;
      }
      hw.g2h_send(XE_GUC_ACTION_SCHED_CONTEXT_MODE_DONE, msg.guc_id, msg.arg, k.now());
      break;
    case XE_GUC_ACTION_DEREGISTER_CONTEXT:
      if (ctx === null) break;
      engine_preempt(hw, ctx);
      hw.contexts.delete(msg.guc_id);
      hw.g2h_send(XE_GUC_ACTION_DEREGISTER_CONTEXT_DONE, msg.guc_id, 0, k.now());
      break;
    case XE_GUC_ACTION_TLB_INVALIDATION:
      hw.g2h_send(XE_GUC_ACTION_TLB_INVALIDATION_DONE, 0, msg.arg, k.now() + hw.tlb_inval_ns);
      break;
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Engines                                                                                      */

/** Start the next ring entry of `ctx` if it may run and nothing runs. */
function engine_kick(hw: xe_hw, ctx: guc_fw_ctx): void {
  if (ctx.running !== null || !ctx.enabled || !hw.running) return;
  const lrc = ctx.lrc;
  if (lrc.head >= ctx.known_tail) return;
  const entry = lrc.entry_at(lrc.head);
  if (entry === null) return;
  const k = hw.kernel;
  if (!entry.started) {
    // The ring writes the start seqno and saves CTX_TIMESTAMP before the batch starts.
    entry.started = true;
    lrc.start_seqno = entry.seqno;
    lrc.ctx_job_timestamp_ns = lrc.ctx_timestamp_ns;
    if (hw.job_started !== null) hw.job_started(entry.job);
  }
  ctx.running = entry;
  ctx.run_started_at = k.now();
  lrc.running_ctx = ctx;
  entry.job.running_in = ctx;
  const job = entry.job;
  if (job.hang || (job.manual && !job.manual_done)) return; // no end event: hangs, or waits for the test
  ctx.end_event = hw.schedule_end(ctx, k.now() + entry.remaining_ns);
}

/** Stop executing `ctx` (preemption, disable, engine reset), keeping the job's progress. */
function engine_preempt(hw: xe_hw, ctx: guc_fw_ctx): void {
  const entry = ctx.running;
  if (entry === null) return;
  const elapsed = hw.kernel.now() - ctx.run_started_at;
  entry.remaining_ns = Math.max(0, entry.remaining_ns - elapsed);
  ctx.lrc.ctx_timestamp_ns += elapsed;
  if (ctx.end_event >= 0) hw.kernel.cancel_event(ctx.end_event);
  ctx.end_event = -1;
  ctx.running = null;
  entry.job.running_in = null;
  ctx.lrc.running_ctx = null;
}

/** The running entry of `ctx` ended: write the seqno, raise the user interrupt, go on. */
function engine_job_end(hw: xe_hw, ctx: guc_fw_ctx): void {
  const entry = ctx.running;
  if (entry === null) return;
  const k = hw.kernel;
  const lrc = ctx.lrc;
  lrc.ctx_timestamp_ns += k.now() - ctx.run_started_at;
  ctx.end_event = -1;
  ctx.running = null;
  entry.job.running_in = null;
  lrc.running_ctx = null;
  entry.remaining_ns = 0;
  lrc.seqno = entry.seqno;
  lrc.seqno_watch?.lrc_seqno_moved(lrc);
  lrc.head++;
  lrc.retire();
  if (hw.irq !== null) k.raise_irq_at(hw.irq, k.now(), lrc.class);
  engine_kick(hw, ctx);
}

/** Complete a 'manual' job: now if it is executing, else as soon as it starts. */
export function xe_hw_complete_manual(hw: xe_hw, job: xe_hw_job): void {
  job.manual_done = true;
  const ctx = job.running_in;
  if (ctx !== null && ctx.end_event < 0 && !job.hang) ctx.end_event = hw.schedule_end(ctx, hw.kernel.now());
}

/** Fault injection: `job` stops making progress wherever it is. */
export function xe_hw_hang_job(hw: xe_hw, job: xe_hw_job): void {
  job.hang = true;
  const ctx = job.running_in;
  if (ctx !== null && ctx.end_event >= 0) {
    hw.kernel.cancel_event(ctx.end_event);
    ctx.end_event = -1;
  }
}

/**
 * The GuC resets the engine a context runs on (fault injection): the running job is lost,
 * the context is no longer scheduled, and the firmware notifies the driver with
 * CONTEXT_RESET_NOTIFICATION, or NOTIFY_MEMORY_CAT_ERROR for a page fault on a
 * non-fault-capable context. Returns false if the context is not registered or has no work.
 */
export function xe_hw_context_reset(hw: xe_hw, guc_id: number, cat_error: boolean): boolean {
  const ctx = hw.contexts.get(guc_id);
  if (ctx === undefined || !hw.running) return false;
  // Only a context with work on the engine can be reset.
  if (ctx.running === null && ctx.lrc.head >= ctx.known_tail) return false;
  engine_preempt(hw, ctx);
  ctx.enabled = false;
  const action = cat_error ? XE_GUC_ACTION_NOTIFY_MEMORY_CAT_ERROR : XE_GUC_ACTION_CONTEXT_RESET_NOTIFICATION;
  hw.g2h_send(action, guc_id, 0, hw.kernel.now() + hw.fw_latency_ns);
  return true;
}

/**
 * GT reset, hardware half (do_gt_reset): engines stop, the GuC forgets every context and every
 * pending message. Injected hangs are transient unless marked sticky: the job re-emitted after
 * the reset runs normally. The firmware stays down until xe_hw_gt_restart.
 */
export function xe_hw_gt_reset(hw: xe_hw): void {
  hw.resets++;
  for (const ctx of hw.contexts.values()) {
    const entry = ctx.running;
    engine_preempt(hw, ctx);
    if (entry !== null && !entry.job.hang_survives_reset) entry.job.hang = false;
  }
  hw.contexts.clear();
  while (hw.pop_h2g() !== null) { /* lost */ }
  hw.h2g_due_ns_reset();
  hw.g2h.length = 0;
  hw.running = false;
}

/** GT reset done: the firmware is loaded again and accepts commands. */
export function xe_hw_gt_restart(hw: xe_hw): void {
  hw.running = true;
}
