/**
 * The Mali job manager (JM) GPU that panfrost drives, as hardware only: the JOB register
 * block that panfrost_job.c reads and writes, and job chains in GPU memory. It knows nothing
 * of either job scheduler; on-sched.ts and on-dep-hw.ts bind the same hardware through jm.ts.
 *
 * What is modelled (panfrost_regs.h names, values as the driver uses them):
 *   - NUM_JOB_SLOTS job slots (JS0 fragment, JS1 vertex/tiler/compute, JS2 unused by panfrost).
 *     Each slot has a current job and one queued behind it: the driver writes JS_HEAD_NEXT /
 *     JS_CONFIG_NEXT and then JS_COMMAND_NEXT = START; the slot starts it at once if idle, else
 *     when the current job completes ("the JM dequeues the next job without waiting for an ACK").
 *     After an error the slot does not start its next job until the error bit is cleared, and
 *     only if JS_COMMAND_NEXT still says START (the driver NOPs it to cancel).
 *   - A job chain (jc) executes for its GPU time; soft-stop (JS_COMMAND = SOFT_STOP) stops it
 *     at a job boundary keeping its progress (status STOPPED, JS_TAIL = where to resume), a
 *     hard-stop terminates it (TERMINATED). A hung chain makes no progress and ignores soft-stop.
 *     A faulting chain ends with a fault exception after its GPU time.
 *   - JOB_INT_RAWSTAT: bit j DONE of slot j, bit 16 + j its error; JOB_INT_MASK; JOB_INT_STAT =
 *     RAWSTAT & MASK; JOB_INT_CLEAR; JOB_INT_JS_STATE (bit j current active, bit 16 + j next
 *     active). The JOB interrupt line is raised while STAT is non-zero.
 *   - GPU soft reset: every slot empties, RAWSTAT and MASK clear; chains in memory survive.
 *   - deplab only: `chain_started` reports each time a slot makes a chain its running job
 *     (JS_HEAD <- JS_HEAD_NEXT: at the START write on an idle slot, when the current chain ends
 *     with START still in JS_COMMAND_NEXT, or when the error bit is cleared with START still
 *     there), for the driver's deplab_job_hw_start event. A chain resumed after a soft-stop is
 *     reported again; the event keeps the first start only.
 *
 * Hardware events (a chain finishing) run outside any CPU context at the phase of hardirqs and
 * only change registers and raise the line, as panthor's hw.ts does.
 */
import { PHASE_HARDIRQ, type EventHandle, type irq_line, type Kernel } from '@deplab/sim';

export const NUM_JOB_SLOTS = 3;

/** JS_COMMAND / JS_COMMAND_NEXT values (panfrost_regs.h). */
export const JS_COMMAND_NOP = 0x00;
export const JS_COMMAND_START = 0x01;
export const JS_COMMAND_SOFT_STOP = 0x02;
export const JS_COMMAND_HARD_STOP = 0x03;
export const JS_COMMAND_SOFT_STOP_0 = 0x04;
export const JS_COMMAND_HARD_STOP_0 = 0x05;
export const JS_COMMAND_SOFT_STOP_1 = 0x06;
export const JS_COMMAND_HARD_STOP_1 = 0x07;

/** JS_CONFIG job-chain flag (HW_FEATURE_JOBCHAIN_DISAMBIGUATION). */
export const JS_CONFIG_JOB_CHAIN_FLAG = 1 << 14;

/** Exception codes in JS_STATUS (include/uapi/drm/panfrost_drm.h, DRM_PANFROST_EXCEPTION_*). */
export const DRM_PANFROST_EXCEPTION_OK = 0x00;
export const DRM_PANFROST_EXCEPTION_DONE = 0x01;
export const DRM_PANFROST_EXCEPTION_STOPPED = 0x03;
export const DRM_PANFROST_EXCEPTION_TERMINATED = 0x04;
export const DRM_PANFROST_EXCEPTION_ACTIVE = 0x08;
export const DRM_PANFROST_EXCEPTION_MAX_NON_FAULT = 0x3f;
export const DRM_PANFROST_EXCEPTION_JOB_CONFIG_FAULT = 0x40;
export const DRM_PANFROST_EXCEPTION_JOB_BUS_FAULT = 0x48;

/** panfrost_exception_is_fault (panfrost_device.h). */
export function panfrost_exception_is_fault(code: number): boolean {
  return code > DRM_PANFROST_EXCEPTION_MAX_NON_FAULT;
}

/** JOB_INT bits of slot j (panfrost_regs.h). */
export const JOB_INT_MASK_DONE = (j: number): number => 1 << j;
export const JOB_INT_MASK_ERR = (j: number): number => 1 << (j + 16);
export const MK_JS_MASK = (j: number): number => JOB_INT_MASK_DONE(j) | JOB_INT_MASK_ERR(j);
/** Every slot's DONE and ERR bits: GENMASK(16 + NUM_JOB_SLOTS - 1, 16) | GENMASK(NUM_JOB_SLOTS - 1, 0). */
export const JOB_INT_ALL = ((1 << NUM_JOB_SLOTS) - 1) | (((1 << NUM_JOB_SLOTS) - 1) << 16);

/** Register names of the model (the JOB block; per-slot ones take the slot). */
export type JobReg =
  | 'JOB_INT_RAWSTAT' | 'JOB_INT_CLEAR' | 'JOB_INT_MASK' | 'JOB_INT_STAT' | 'JOB_INT_JS_STATE';
export type JsReg =
  | 'JS_HEAD_NEXT' | 'JS_CONFIG_NEXT' | 'JS_COMMAND_NEXT' | 'JS_COMMAND' | 'JS_STATUS' | 'JS_HEAD' | 'JS_TAIL' | 'JS_CONFIG';

/** A job chain in GPU memory: what JS_HEAD points at. */
export class panfrost_chain {
  readonly jc: number;
  /** GPU time still needed; progress survives a soft-stop. */
  remaining_ns: number;
  /** Makes no progress (a GPU hang): completes only by hard-stop or reset. */
  hang = false;
  /** Completes only through panfrost_hw_chain_complete_manual(). */
  manual = false;
  /** Ends with this fault exception instead of DONE (0: no fault). */
  fault = 0;
  /** DONE reached (for tests). */
  done = false;

  constructor(jc: number, duration_ns: number) {
    this.jc = jc;
    this.remaining_ns = duration_ns;
  }
}

/** One job slot's registers and its two job entries (current and next). */
export class panfrost_js {
  readonly index: number;
  head_next = 0;
  config_next = 0;
  command_next = JS_COMMAND_NOP;
  /** The executing chain (JS_HEAD), its config and since when it runs. */
  current: panfrost_chain | null = null;
  config = 0;
  started_ns = 0;
  status = DRM_PANFROST_EXCEPTION_OK;
  tail = 0;
  /** An error is latched: the next job waits for the error bit to be cleared. */
  error_latched = false;
  completion: EventHandle | null = null;

  constructor(index: number) {
    this.index = index;
  }
}

export class panfrost_hw {
  readonly kernel: Kernel;
  readonly slots: panfrost_js[] = [];
  rawstat = 0;
  mask = 0;
  irq: irq_line | null = null;
  /** Chains by GPU address. */
  readonly chains = new Map<number, panfrost_chain>();
  next_jc = 0x1000;
  /** Chains that completed over the GPU's life (reports, tests). */
  jobs_done = 0;
  soft_resets = 0;
  readonly ev_chain_end: number;
  /** deplab only: a slot started executing `chain` (set by the device while tracing). */
  chain_started: ((chain: panfrost_chain) => void) | null = null;

  constructor(kernel: Kernel) {
    this.kernel = kernel;
    for (let i = 0; i < NUM_JOB_SLOTS; i++) this.slots.push(new panfrost_js(i));
    this.ev_chain_end = chain_end_kind(kernel);
  }
}

const chain_end_kinds = new WeakMap<Kernel, number>();

function chain_end_kind(k: Kernel): number {
  let kind = chain_end_kinds.get(k);
  if (kind === undefined) {
    kind = k.register_event_kind('panfrost_chain_end', (js, arg) => chain_end(js as panfrost_js, arg));
    chain_end_kinds.set(k, kind);
  }
  return kind;
}

const hw_of = new WeakMap<panfrost_js, panfrost_hw>();

/** Userspace wrote a job chain into GPU memory: its address (jc). */
export function panfrost_hw_chain_create(hw: panfrost_hw, duration_ns: number): panfrost_chain {
  const chain = new panfrost_chain(hw.next_jc, duration_ns);
  hw.next_jc += 0x100;
  hw.chains.set(chain.jc, chain);
  return chain;
}

/** The driver requested the JOB interrupt. */
export function panfrost_hw_set_irq(hw: panfrost_hw, irq: irq_line): void {
  hw.irq = irq;
  for (const js of hw.slots) hw_of.set(js, hw);
}

function update_irq(hw: panfrost_hw): void {
  if (hw.irq !== null && (hw.rawstat & hw.mask) !== 0) hw.kernel.raise_irq_at(hw.irq, hw.kernel.now(), 0);
}

/** Start `chain` on the slot now (JS_HEAD <- JS_HEAD_NEXT). */
function slot_start(hw: panfrost_hw, js: panfrost_js, chain: panfrost_chain | undefined, config: number): void {
  js.command_next = JS_COMMAND_NOP;
  if (chain === undefined) {
    // A jc that points at nothing: a job config fault at once.
    js.status = DRM_PANFROST_EXCEPTION_JOB_CONFIG_FAULT;
    js.error_latched = true;
    hw.rawstat |= JOB_INT_MASK_ERR(js.index);
    update_irq(hw);
    return;
  }
  js.current = chain;
  js.config = config;
  js.tail = chain.jc;
  js.status = DRM_PANFROST_EXCEPTION_ACTIVE;
  js.started_ns = hw.kernel.now();
  if (hw.chain_started !== null) hw.chain_started(chain);
  schedule_end(hw, js);
}

function schedule_end(hw: panfrost_hw, js: panfrost_js): void {
  const chain = js.current!;
  if (chain.hang || chain.manual) return;
  js.completion = hw.kernel.schedule_at(js.started_ns + chain.remaining_ns, PHASE_HARDIRQ, hw.ev_chain_end, js, 0);
}

/** Hardware event: the current chain of `js` reached its end (DONE, or its fault). */
function chain_end(js: panfrost_js, _arg: number): void {
  const hw = hw_of.get(js)!;
  js.completion = null;
  const chain = js.current;
  if (chain === null) return;
  chain.remaining_ns = 0;
  finish_current(hw, js, chain.fault !== 0 ? chain.fault : DRM_PANFROST_EXCEPTION_DONE);
}

/** The current chain ended with `status`: latch it, raise the interrupt, start the next one. */
function finish_current(hw: panfrost_hw, js: panfrost_js, status: number): void {
  const chain = js.current!;
  js.current = null;
  js.status = status;
  if (status === DRM_PANFROST_EXCEPTION_DONE) {
    chain.done = true;
    hw.jobs_done++;
    hw.rawstat |= JOB_INT_MASK_DONE(js.index);
    if (js.command_next === JS_COMMAND_START) slot_start(hw, js, hw.chains.get(js.head_next), js.config_next);
  } else {
    js.error_latched = true;
    hw.rawstat |= JOB_INT_MASK_ERR(js.index);
  }
  update_irq(hw);
}

/** Stop the current chain of `js` with `status`, keeping its progress (soft) or not. */
function stop_current(hw: panfrost_hw, js: panfrost_js, status: number): void {
  const chain = js.current;
  if (chain === null) return;
  if (js.completion !== null) {
    hw.kernel.cancel_event(js.completion);
    js.completion = null;
  }
  if (!chain.hang && !chain.manual) chain.remaining_ns = Math.max(0, chain.remaining_ns - (hw.kernel.now() - js.started_ns));
  js.tail = chain.jc;
  finish_current(hw, js, status);
}

function chain_flag_matches(js: panfrost_js, command: number): boolean {
  if (command === JS_COMMAND_HARD_STOP || command === JS_COMMAND_SOFT_STOP) return true;
  const flag = (js.config & JS_CONFIG_JOB_CHAIN_FLAG) !== 0;
  return (command === JS_COMMAND_HARD_STOP_1 || command === JS_COMMAND_SOFT_STOP_1) === flag;
}

/** job_read(pfdev, reg). */
export function job_read(hw: panfrost_hw, reg: JobReg): number {
  switch (reg) {
    case 'JOB_INT_RAWSTAT': return hw.rawstat;
    case 'JOB_INT_STAT': return hw.rawstat & hw.mask;
    case 'JOB_INT_MASK': return hw.mask;
    case 'JOB_INT_JS_STATE': {
      let state = 0;
      for (const js of hw.slots) {
        if (js.current !== null) state |= 1 << js.index;
        if (js.command_next === JS_COMMAND_START) state |= 1 << (js.index + 16);
      }
      return state;
    }
    default: return 0;
  }
}

/** job_write(pfdev, reg, value) for the JOB block. */
export function job_write(hw: panfrost_hw, reg: JobReg, value: number): void {
  if (reg === 'JOB_INT_MASK') {
    hw.mask = value;
    update_irq(hw);
  } else if (reg === 'JOB_INT_CLEAR') {
    hw.rawstat &= ~value;
    for (const js of hw.slots) {
      if ((value & JOB_INT_MASK_ERR(js.index)) === 0 || !js.error_latched) continue;
      js.error_latched = false;
      if (js.current === null && js.command_next === JS_COMMAND_START) slot_start(hw, js, hw.chains.get(js.head_next), js.config_next);
    }
  }
}

/** js read: the per-slot registers. */
export function js_read(hw: panfrost_hw, js: number, reg: JsReg): number {
  const s = hw.slots[js];
  switch (reg) {
    case 'JS_HEAD_NEXT': return s.head_next;
    case 'JS_CONFIG_NEXT': return s.config_next;
    case 'JS_COMMAND_NEXT': return s.command_next;
    case 'JS_STATUS': return s.status;
    case 'JS_HEAD': return s.current?.jc ?? 0;
    case 'JS_TAIL': return s.tail;
    case 'JS_CONFIG': return s.config;
    default: return 0;
  }
}

/** js write: the per-slot registers; the commands act at once. */
export function js_write(hw: panfrost_hw, js: number, reg: JsReg, value: number): void {
  const s = hw.slots[js];
  switch (reg) {
    case 'JS_HEAD_NEXT': s.head_next = value; return;
    case 'JS_CONFIG_NEXT': s.config_next = value; return;
    case 'JS_COMMAND_NEXT':
      s.command_next = value;
      if (value === JS_COMMAND_START && s.current === null && !s.error_latched) slot_start(hw, s, hw.chains.get(s.head_next), s.config_next);
      return;
    case 'JS_COMMAND':
      if (s.current === null || !chain_flag_matches(s, value)) return;
      if (value === JS_COMMAND_HARD_STOP || value === JS_COMMAND_HARD_STOP_0 || value === JS_COMMAND_HARD_STOP_1) {
        stop_current(hw, s, DRM_PANFROST_EXCEPTION_TERMINATED);
      } else if (!s.current.hang) {
        stop_current(hw, s, DRM_PANFROST_EXCEPTION_STOPPED);
      }
      return;
    default:
  }
}

/** GPU soft reset (panfrost_gpu_soft_reset): every slot empties; chains in memory survive. */
export function panfrost_hw_soft_reset(hw: panfrost_hw): void {
  for (const js of hw.slots) {
    if (js.completion !== null) hw.kernel.cancel_event(js.completion);
    if (js.current !== null && !js.current.hang && !js.current.manual) {
      js.current.remaining_ns = Math.max(0, js.current.remaining_ns - (hw.kernel.now() - js.started_ns));
    }
    js.completion = null;
    js.current = null;
    js.command_next = JS_COMMAND_NOP;
    js.status = DRM_PANFROST_EXCEPTION_OK;
    js.error_latched = false;
  }
  hw.rawstat = 0;
  hw.mask = 0;
  hw.soft_resets++;
}

/* ------------------------------------------------------------------------------------------ */
/* Fault injection (not registers: what the workload does to the GPU)                           */

/** The chain stops making progress (a hang): a running one keeps its slot forever. */
export function panfrost_hw_chain_hang(hw: panfrost_hw, chain: panfrost_chain): void {
  chain.hang = true;
  for (const js of hw.slots) {
    if (js.current !== chain || js.completion === null) continue;
    hw.kernel.cancel_event(js.completion);
    js.completion = null;
  }
}

/** The chain faults: a running one ends now with `exception`, a queued one when it has run. */
export function panfrost_hw_chain_fault(hw: panfrost_hw, chain: panfrost_chain, exception: number): void {
  chain.fault = exception;
  chain.hang = false;
  for (const js of hw.slots) {
    if (js.current !== chain) continue;
    if (js.completion !== null) hw.kernel.cancel_event(js.completion);
    js.completion = null;
    finish_current(hw, js, exception);
  }
}

/** A manual chain may end now (its GPU time is over). */
export function panfrost_hw_chain_complete_manual(hw: panfrost_hw, chain: panfrost_chain): void {
  chain.manual = false;
  chain.remaining_ns = 0;
  for (const js of hw.slots) {
    if (js.current !== chain) continue;
    js.started_ns = hw.kernel.now();
    schedule_end(hw, js);
  }
}
