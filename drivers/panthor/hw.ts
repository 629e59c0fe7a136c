/**
 * The Mali CSF GPU and its firmware (MCU), as hardware only: what panthor_fw.c and the CSF
 * interface registers show the kernel. It knows nothing of either job scheduler; on-sched.ts
 * and on-dep.ts bind the same hardware to drm_sched and to drm_dep through csf.ts.
 *
 * What is modelled, read like the KUnit mock (one lock-free timeline per command stream):
 *   - CSG slots (the firmware runs at most `csg_slot_count` groups at once). A slot holds the
 *     command streams (CS, one per queue) of the group bound to it and a state the driver
 *     requests (START, RESUME, SUSPEND, TERMINATE) and the firmware acknowledges.
 *   - A CS executes its ring buffer in order while its slot is active: each entry is one job
 *     (16 or 24 instructions, the CALL of the user stream), and ends with SYNC_ADD64 on the
 *     queue's 64-bit sync object (seqno + 1). Every resident CS runs in parallel (no shader-core
 *     contention is modelled). SUSPEND saves the running entry's progress (the suspend buffer),
 *     RESUME continues it.
 *   - Events: SYNC_UPDATE when a sync object moved, IDLE when every CS of the slot ran dry,
 *     CS_FATAL (with an exception type) when a CS faults. They raise the JOB interrupt, one CSG
 *     bit per slot, coalesced while the line is already raised (level-triggered).
 *   - A doorbell makes the firmware look at the slot's rings again (after panthor.fw_doorbell_ns).
 *   - GPU soft reset (the MCU reboots: every slot is empty again, the rings and sync objects in
 *     memory survive) and halt (device unplug: nothing runs, no interrupt).
 *
 * Request/acknowledge handshake: panthor_fw_csg_request() applies the request at the current
 * time and returns the acknowledged state. The driver accounts the firmware's acknowledge
 * latency on its own clock before calling it (see csf.ts, csgs_upd_ctx_apply_locked): the model
 * cannot let the tick sleep on the ack with the scheduler lock held, because run_job (which
 * takes that lock upstream) cannot sleep in either scheduler model.
 *
 * Hardware events (a CS finishing a job) run outside any CPU context, at the phase of hardirqs,
 * and only raise the interrupt; everything the kernel does happens in the interrupt handler and
 * the work items it queues.
 *
 * deplab only: `entry_started` reports every time a CS starts or resumes executing an entry
 * (after the doorbell latency when a doorbell made the firmware look), for the driver's
 * deplab_job_hw_start event; the model schedules the report only while the hook is set.
 */
import {
  PHASE_HARDIRQ, type EventHandle, type Kernel, type irq_line,
} from '@deplab/sim';

/** CSG_STATE_* request values (panthor_fw.h). */
export const CSG_STATE_TERMINATE = 0;
export const CSG_STATE_START = 1;
export const CSG_STATE_SUSPEND = 2;
export const CSG_STATE_RESUME = 3;
/** Not a request: a slot with nothing bound (after reset or unbind). */
export const CSG_STATE_NONE = -1;

/** CSG events (bits of a slot's event word, CSG_REQ ^ CSG_ACK upstream). */
export const CSG_SYNC_UPDATE = 1 << 0;
export const CSG_IDLE = 1 << 1;
export const CSG_PROGRESS_TIMER_EVENT = 1 << 2;

/** JOB_INT_GLOBAL_IF: the global interface bit of the JOB interrupt (bits 0..30 are CSG slots). */
export const JOB_INT_GLOBAL_IF = 1 << 31;

/** Exception types (include/uapi/drm/panthor_drm.h, enum drm_panthor_exception_type). */
export const DRM_PANTHOR_EXCEPTION_CS_UNRECOVERABLE = 0x41;
export const DRM_PANTHOR_EXCEPTION_CS_INSTR_INVALID = 0x49;

/** MAX_CSGS (panthor_fw.h) and the MAX_CSG_PRIO + 1 clamp of panthor_sched_init. */
export const MAX_CSGS = 31;
export const MAX_CSG_PRIO = 0xf;
/** MAX_CS_PER_CSG (panthor_fw.h). */
export const MAX_CS_PER_CSG = 32;

/** One ring entry: the instructions the kernel emits for one job (CALL + SYNC_ADD64). */
export class panthor_fw_ring_entry {
  /** The driver's job (container_of). */
  readonly owner: unknown;
  /** GPU time the user stream needs. */
  duration_ns = 0;
  /** Ring slots taken (instructions; = the job's credits). */
  instrs = 0;
  /** Stops making progress (a hung stream): never completes by itself. */
  hang = false;
  /** Completes only through panthor_fw_entry_complete_manual(). */
  manual = false;
  manual_released = false;
  /** GPU time still needed (progress survives suspend/resume). */
  remaining_ns = 0;
  /** On a ring, not yet executed. */
  queued = false;
  /** Executed: its SYNC_ADD64 happened. */
  done = false;

  constructor(owner: unknown) {
    this.owner = owner;
  }
}

/** One command stream interface: a queue's ring buffer and its 64-bit sync object. */
export class panthor_fw_cs {
  readonly gpu: panthor_gpu;
  readonly name: string;
  /** Ring size in instructions (ringbuf_size / sizeof(u64)). */
  readonly size_instrs: number;
  used_instrs = 0;
  /** Entries written, oldest first; entries before `head` are executed (compacted lazily). */
  ring: panthor_fw_ring_entry[] = [];
  head = 0;
  /** Entries written (INSERT) and executed (EXTRACT), in entries. */
  insert = 0;
  extract = 0;
  /** The queue's sync object (panthor_syncobj_64b). */
  syncobj_seqno = 0;
  syncobj_status = 0;
  /** The slot this CS is programmed on, or null. */
  slot: panthor_fw_csg | null = null;
  cs_id = -1;
  /** When the head entry started executing (-1: not running). */
  running_since = -1;
  completion: EventHandle = -1;
  /** A CS_FATAL to raise the next time this CS runs (0: none). */
  fatal_latched = 0;
  /** Halted by a fatal exception until the group is terminated. */
  faulted = false;
  destroyed = false;

  constructor(gpu: panthor_gpu, name: string, size_instrs: number) {
    this.gpu = gpu;
    this.name = name;
    this.size_instrs = size_instrs;
  }
}

/** One CSG slot of the firmware. */
export class panthor_fw_csg {
  readonly id: number;
  /** Acknowledged state (CSG_STATE_*), CSG_STATE_NONE when nothing is bound. */
  state = CSG_STATE_NONE;
  readonly cs: (panthor_fw_cs | null)[] = [];
  /** CSG_EP_REQ_PRIORITY as acknowledged. */
  priority = 0;
  /** Pending CSG events (CSG_SYNC_UPDATE | CSG_IDLE | ...). */
  events = 0;
  /** CS slots with a pending CS_FATAL, and the exception type of each. */
  cs_fatal = 0;
  readonly cs_fatal_type: number[] = [];
  /** CSG_STATUS_STATE_IS_IDLE as last computed by the firmware. */
  idle = true;

  constructor(id: number) {
    this.id = id;
  }
}

/** The GPU: firmware slots, the JOB interrupt line, and the firmware's timing. */
export class panthor_gpu {
  readonly kernel: Kernel;
  readonly slots: panthor_fw_csg[] = [];
  irq: irq_line | null = null;
  /** JOB_INT_STAT: CSG bits (and JOB_INT_GLOBAL_IF) not yet read by the handler. */
  irq_status = 0;
  irq_raised = false;
  /** The MCU is stopped (unplug): no execution, no request, no interrupt. */
  halted = false;
  /** Jobs executed over the GPU's life, for reports. */
  jobs_done = 0;
  /** Doorbell to the firmware noticing new ring entries, ns (hardware time). */
  readonly doorbell_ns: number;
  readonly ev_cs_done: number;
  /** Every CS ever created and not destroyed (for reset and halt). */
  readonly streams = new Set<panthor_fw_cs>();
  /** deplab only: a CS started or resumed executing `entry` (set by the driver while tracing). */
  entry_started: ((entry: panthor_fw_ring_entry) => void) | null = null;
  readonly ev_cs_start: number;

  constructor(kernel: Kernel, csg_slot_count: number) {
    this.kernel = kernel;
    for (let i = 0; i < csg_slot_count; i++) this.slots.push(new panthor_fw_csg(i));
    this.doorbell_ns = kernel.cost_of('panthor.fw_doorbell_ns', 2_000);
    const kinds = cs_event_kinds(kernel);
    this.ev_cs_done = kinds.done;
    this.ev_cs_start = kinds.start;
  }
}

const cs_kinds = new WeakMap<Kernel, { done: number; start: number }>();

/** The CS's device-time event kinds, registered once per kernel. */
function cs_event_kinds(k: Kernel): { done: number; start: number } {
  let kinds = cs_kinds.get(k);
  if (kinds === undefined) {
    kinds = {
      done: k.register_event_kind('panthor_cs_done', (cs) => cs_entry_done(cs as panthor_fw_cs)),
      start: k.register_event_kind('panthor_cs_start', (cs, start_ns) => cs_entry_started(cs as panthor_fw_cs, start_ns)),
    };
    cs_kinds.set(k, kinds);
  }
  return kinds;
}

/** The driver requested the JOB interrupt (request_irq in panthor_fw_init). */
export function panthor_fw_set_irq(gpu: panthor_gpu, irq: irq_line): void {
  gpu.irq = irq;
}

/** Raise CSG bit `csg_id` of the JOB interrupt; coalesced while the line is raised. */
function raise_csg_irq(gpu: panthor_gpu, csg_id: number): void {
  if (gpu.halted || gpu.irq === null) return;
  gpu.irq_status |= 1 << csg_id;
  if (gpu.irq_raised) return;
  gpu.irq_raised = true;
  gpu.kernel.raise_irq_at(gpu.irq, gpu.kernel.now(), 0);
}

/**
 * Read and acknowledge JOB_INT_STAT (the handler's first register access). Returns the bits
 * that were pending; the line drops.
 */
export function panthor_fw_irq_ack(gpu: panthor_gpu): number {
  const status = gpu.irq_status;
  gpu.irq_status = 0;
  gpu.irq_raised = false;
  return status;
}

/* ------------------------------------------------------------------------------------------ */
/* Command streams                                                                              */

/** A queue's CS interface and ring (panthor_fw_alloc_queue_iface_mem + the ring BO). */
export function panthor_fw_cs_create(gpu: panthor_gpu, name: string, ringbuf_size_bytes: number): panthor_fw_cs {
  const cs = new panthor_fw_cs(gpu, name, ringbuf_size_bytes / 8);
  gpu.streams.add(cs);
  return cs;
}

/** The queue's memory is gone: the CS must not be programmed on a slot any more. */
export function panthor_fw_cs_destroy(cs: panthor_fw_cs): void {
  const k = cs.gpu.kernel;
  k.WARN_ON(cs.slot !== null, 'panthor_fw_cs_destroy', `${cs.name}: CS freed while programmed on CSG ${cs.slot?.id}`);
  cs_stop(cs);
  cs.destroyed = true;
  cs.gpu.streams.delete(cs);
}

/** Entries written and not executed. */
export function panthor_fw_cs_pending(cs: panthor_fw_cs): number {
  return cs.insert - cs.extract;
}

/**
 * copy_instrs_to_ringbuf + the INSERT update: append `entry` to the ring. The scheduler's
 * credits keep the ring from overflowing; an overflow is a WARN (the kernel would overwrite
 * unexecuted instructions).
 */
export function panthor_fw_cs_ring_write(cs: panthor_fw_cs, entry: panthor_fw_ring_entry, instrs: number): void {
  const k = cs.gpu.kernel;
  k.WARN_ON(cs.used_instrs + instrs > cs.size_instrs, 'copy_instrs_to_ringbuf',
    `${cs.name}: ring overflow (${cs.used_instrs} + ${instrs} > ${cs.size_instrs} instructions)`);
  entry.instrs = instrs;
  entry.remaining_ns = entry.duration_ns;
  entry.queued = true;
  cs.used_instrs += instrs;
  cs.ring.push(entry);
  cs.insert++;
}

/** The running entry, or undefined. */
function cs_head(cs: panthor_fw_cs): panthor_fw_ring_entry | undefined {
  return cs.ring[cs.head];
}

function slot_active(slot: panthor_fw_csg | null): boolean {
  return slot !== null && (slot.state === CSG_STATE_START || slot.state === CSG_STATE_RESUME);
}

/**
 * Start the head entry if the CS may run: slot active, not faulted, GPU not halted. `delay_ns`
 * is the time until the firmware looks at the ring (a doorbell), 0 when it continues on its own.
 */
function cs_kick(cs: panthor_fw_cs, delay_ns: number): void {
  const gpu = cs.gpu;
  if (gpu.halted || cs.faulted || !slot_active(cs.slot) || cs.running_since >= 0) return;
  const entry = cs_head(cs);
  if (entry === undefined) return;
  if (cs.fatal_latched !== 0) {
    cs_raise_fatal(cs, cs.fatal_latched);
    return;
  }
  const k = gpu.kernel;
  const start = k.now() + delay_ns;
  cs.running_since = start;
  if (cs.slot!.idle) cs.slot!.idle = false;
  if (gpu.entry_started !== null) {
    if (delay_ns === 0) gpu.entry_started(entry);
    else k.schedule_at(start, PHASE_HARDIRQ, gpu.ev_cs_start, cs, start);
  }
  if (entry.hang || (entry.manual && !entry.manual_released)) return; // never completes by itself
  cs.completion = k.schedule_at(start + entry.remaining_ns, PHASE_HARDIRQ, gpu.ev_cs_done, cs, 0);
}

/** Device time `start_ns`: the head entry started unless the CS was stopped or moved on since the kick. */
function cs_entry_started(cs: panthor_fw_cs, start_ns: number): void {
  const entry = cs_head(cs);
  if (cs.running_since !== start_ns || entry === undefined || cs.destroyed || cs.gpu.halted) return;
  cs.gpu.entry_started?.(entry);
}

/** Stop executing, saving the head entry's progress (suspend buffer). */
function cs_stop(cs: panthor_fw_cs): void {
  if (cs.running_since < 0) return;
  const k = cs.gpu.kernel;
  if (cs.completion >= 0) {
    k.cancel_event(cs.completion);
    cs.completion = -1;
  }
  const entry = cs_head(cs);
  if (entry !== undefined && !entry.hang && !(entry.manual && !entry.manual_released)) {
    const ran = Math.max(0, k.now() - cs.running_since);
    entry.remaining_ns = Math.max(0, entry.remaining_ns - ran);
    if (entry.remaining_ns === 0) {
      // It finished while the request was in flight: its SYNC_ADD64 happened.
      cs.running_since = -1;
      cs_complete_head(cs);
      return;
    }
  }
  cs.running_since = -1;
}

/** The head entry executed its SYNC_ADD64: sync object, EXTRACT, events. */
function cs_complete_head(cs: panthor_fw_cs): void {
  const gpu = cs.gpu;
  const entry = cs.ring[cs.head];
  cs.ring[cs.head] = undefined as unknown as panthor_fw_ring_entry;
  cs.head++;
  if (cs.head > 64 && cs.head * 2 > cs.ring.length) {
    cs.ring = cs.ring.slice(cs.head);
    cs.head = 0;
  }
  entry.done = true;
  entry.queued = false;
  cs.used_instrs -= entry.instrs;
  cs.extract++;
  cs.syncobj_seqno++;
  gpu.jobs_done++;
  const slot = cs.slot;
  if (slot === null) return;
  slot.events |= CSG_SYNC_UPDATE;
  if (cs_head(cs) === undefined && slot_idle(slot)) {
    slot.idle = true;
    slot.events |= CSG_IDLE;
  }
  raise_csg_irq(gpu, slot.id);
}

/** Hardware event: the running entry of `cs` is done; go on with the next one. */
function cs_entry_done(cs: panthor_fw_cs): void {
  cs.completion = -1;
  cs.running_since = -1;
  if (cs.destroyed || cs.gpu.halted) return;
  const k = cs.gpu.kernel;
  if (k.trace.enabled) k.tp('panthor_cs_job_done', { cs: cs.name, seqno: cs.syncobj_seqno + 1 });
  cs_complete_head(cs);
  cs_kick(cs, 0);
}

/** Every bound CS has an empty ring (CSG_STATUS_STATE_IS_IDLE). A hung CS is busy. */
function slot_idle(slot: panthor_fw_csg): boolean {
  for (const cs of slot.cs) if (cs !== null && cs_head(cs) !== undefined) return false;
  return true;
}

function cs_raise_fatal(cs: panthor_fw_cs, type: number): void {
  cs_stop(cs);
  cs.fatal_latched = 0;
  cs.faulted = true;
  const slot = cs.slot!;
  slot.cs_fatal |= 1 << cs.cs_id;
  slot.cs_fatal_type[cs.cs_id] = type;
  raise_csg_irq(cs.gpu, slot.id);
}

/**
 * Fault injection: the CS raises CS_FATAL with exception `type` as soon as it executes (now if
 * it is running on an active slot, else when its group next runs).
 */
export function panthor_fw_cs_inject_fatal(cs: panthor_fw_cs, type: number): void {
  if (cs.faulted) return;
  if (slot_active(cs.slot) && !cs.gpu.halted) cs_raise_fatal(cs, type);
  else cs.fatal_latched = type;
}

/** Fault injection: the entry stops making progress (a hung stream). */
export function panthor_fw_entry_hang(entry: panthor_fw_ring_entry, cs: panthor_fw_cs | null): void {
  if (entry.done || entry.hang) return;
  entry.hang = true;
  if (cs !== null && cs_head(cs) === entry && cs.completion >= 0) {
    cs.gpu.kernel.cancel_event(cs.completion);
    cs.completion = -1;
  }
}

/** A manual entry may complete now (at once if it is running, else as soon as it runs). */
export function panthor_fw_entry_complete_manual(entry: panthor_fw_ring_entry, cs: panthor_fw_cs | null): void {
  if (!entry.manual || entry.manual_released || entry.done) return;
  entry.manual_released = true;
  entry.remaining_ns = 0;
  if (cs !== null && cs_head(cs) === entry && cs.running_since >= 0 && !entry.hang) {
    const k = cs.gpu.kernel;
    cs.completion = k.schedule_at(Math.max(k.now(), cs.running_since), PHASE_HARDIRQ, cs.gpu.ev_cs_done, cs, 0);
  }
}

/** The term path writes the sync object by hand (seqno = last, status = ~0) to unblock waiters. */
export function panthor_fw_cs_syncobj_write(cs: panthor_fw_cs, seqno: number, status: number): void {
  cs.syncobj_seqno = seqno;
  cs.syncobj_status = status;
}

/* ------------------------------------------------------------------------------------------ */
/* CSG slots                                                                                    */

/** cs_slot_prog_locked: program CS interface `cs_id` of slot `csg_id` with `cs`. */
export function panthor_fw_cs_prog(gpu: panthor_gpu, csg_id: number, cs_id: number, cs: panthor_fw_cs): void {
  const slot = gpu.slots[csg_id];
  gpu.kernel.WARN_ON(cs.slot !== null && cs.slot !== slot, 'cs_slot_prog_locked', `${cs.name} already programmed on CSG ${cs.slot?.id}`);
  slot.cs[cs_id] = cs;
  cs.slot = slot;
  cs.cs_id = cs_id;
}

/** group_unbind_locked's side: the slot forgets the group's CS interfaces. */
export function panthor_fw_csg_unbind(gpu: panthor_gpu, csg_id: number): void {
  const slot = gpu.slots[csg_id];
  gpu.kernel.WARN_ON(slot_active(slot), 'group_unbind_locked', `CSG ${csg_id} unbound while active`);
  slot_clear(slot);
}

/** The slot stops and forgets its CS interfaces and state (unbind, firmware reset). */
function slot_clear(slot: panthor_fw_csg): void {
  for (const cs of slot.cs) {
    if (cs === null) continue;
    cs_stop(cs);
    cs.slot = null;
    cs.cs_id = -1;
  }
  slot.cs.length = 0;
  slot.state = CSG_STATE_NONE;
  slot.events = 0;
  slot.cs_fatal = 0;
  slot.idle = true;
}

/**
 * The firmware handles a CSG state request (the caller has accounted the acknowledge latency).
 * START/RESUME: the group runs; SUSPEND: progress is saved; TERMINATE: the streams stop for
 * good. Returns the acknowledged state, or CSG_STATE_NONE if the firmware is halted.
 */
export function panthor_fw_csg_request(gpu: panthor_gpu, csg_id: number, state: number): number {
  if (gpu.halted) return CSG_STATE_NONE;
  const slot = gpu.slots[csg_id];
  slot.state = state;
  if (state === CSG_STATE_START || state === CSG_STATE_RESUME) {
    slot.idle = slot_idle(slot);
    for (const cs of slot.cs) if (cs !== null) cs_kick(cs, 0);
  } else {
    for (const cs of slot.cs) if (cs !== null) cs_stop(cs);
    if (state === CSG_STATE_TERMINATE) {
      for (const cs of slot.cs) if (cs !== null) cs.faulted = true;
    }
  }
  return state;
}

/** CSG_ENDPOINT_CONFIG: the slot's FW priority. */
export function panthor_fw_csg_set_priority(gpu: panthor_gpu, csg_id: number, priority: number): void {
  gpu.slots[csg_id].priority = priority;
}

/** CSG_STATUS_UPDATE: whether the slot is idle (every CS ran dry; a hung CS is busy). */
export function panthor_fw_csg_status_idle(gpu: panthor_gpu, csg_id: number): boolean {
  const slot = gpu.slots[csg_id];
  slot.idle = slot_idle(slot);
  return slot.idle;
}

/** A CS's ring is empty (cs_slot_sync_queue_state_locked: UNBLOCKED and insert == extract). */
export function panthor_fw_cs_idle(cs: panthor_fw_cs): boolean {
  return cs_head(cs) === undefined;
}

/**
 * Read and acknowledge a slot's pending events. Returns the CSG event bits; `fatal` receives the
 * CS slots with a CS_FATAL and their exception types.
 */
export function panthor_fw_csg_events(gpu: panthor_gpu, csg_id: number, fatal: { mask: number; types: number[] }): number {
  const slot = gpu.slots[csg_id];
  const events = slot.events;
  slot.events = 0;
  fatal.mask = slot.cs_fatal;
  if (slot.cs_fatal !== 0) {
    for (let i = 0; i < slot.cs.length; i++) fatal.types[i] = slot.cs_fatal_type[i] ?? 0;
  }
  slot.cs_fatal = 0;
  return events;
}

/** CSF_DOORBELL(slot + 1): the firmware looks at the slot's rings again. */
export function panthor_fw_ring_doorbell(gpu: panthor_gpu, csg_id: number): void {
  if (gpu.halted) return;
  const slot = gpu.slots[csg_id];
  for (const cs of slot.cs) if (cs !== null) cs_kick(cs, gpu.doorbell_ns);
}

/* ------------------------------------------------------------------------------------------ */
/* Reset and halt                                                                               */

/**
 * GPU soft reset + MCU reboot: every slot is empty and idle again, pending events and the
 * interrupt are dropped. Rings and sync objects live in memory and survive; a stream that was
 * still running loses its progress state (the driver suspends every group first).
 */
export function panthor_fw_reset(gpu: panthor_gpu): void {
  for (const slot of gpu.slots) slot_clear(slot);
  gpu.irq_status = 0;
  gpu.irq_raised = false;
}

/** panthor_fw_unplug: the MCU is stopped and the interrupt disabled; nothing runs any more. */
export function panthor_fw_halt(gpu: panthor_gpu): void {
  gpu.halted = true;
  for (const cs of gpu.streams) cs_stop(cs);
  gpu.irq_status = 0;
}
