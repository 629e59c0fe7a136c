/**
 * The part of panthor that both bindings share unchanged: the group scheduler of
 * drivers/gpu/drm/panthor/panthor_sched.c (groups, CSG slots, the tick, FW event processing,
 * sync-object updates, group termination and release, the reset sequence) and the bits of
 * panthor_device.c (reset work), panthor_fw.c (JOB IRQ) and panthor_mmu.c (VMs, VM_BIND ops)
 * that do not touch the job scheduler, including the job timeout, which panthor owns per
 * queue since 6.19 (the v7.0 state is modelled; panthor_sched.c @f39b6c46 plus the commits
 * named at "The queue timeout"). Everything that does touch the job scheduler goes through
 * PanthorBinding, which on-sched.ts (drm_sched, as upstream) and on-dep.ts (drm_dep, the RFC
 * conversion as inferred) implement; the two files are therefore the conversion.
 *
 * Model deviations (README "Assumptions"):
 *   - tick_work and panthor_sched_suspend do not sleep on FW acknowledgements: the request is
 *     applied by hw.ts after the driver accounted the acknowledge latency on its own clock
 *     (kernel.spend). Upstream sleeps in panthor_fw_csg_wait_acks() with sched->lock held, and
 *     queue_run_job() takes sched->lock; neither scheduler model lets run_job sleep, so a tick
 *     sleeping with the lock would make run_job's mutex_lock a model error.
 *   - GPU-side sync waits (CS WAIT on a sync object) are not modelled: dependencies are all
 *     kernel-side, so blocked_queues stays 0 and the `waiting` list stays empty.
 *   - Runtime PM and devfreq are not modelled (the device is always powered).
 *   - panthor_group_create() does not take reset.lock (Device.create_queue cannot sleep); a
 *     group created while a reset is in progress goes to stopped_groups without queue_stop
 *     (its queues have no job yet).
 */
import {
  ECANCELED, EINVAL, ENODEV, ETIMEDOUT, GFP_KERNEL, INIT_DELAYED_WORK, INIT_WORK, MAX_SCHEDULE_TIMEOUT,
  WQ_MEM_RECLAIM, WQ_UNBOUND, alloc_ordered_workqueue, alloc_workqueue, cancel_delayed_work,
  cancel_delayed_work_sync, cancel_work_sync, delayed_work_timer_expires_ns, disable_delayed_work_sync, disable_work_sync, dma_fence,
  dma_fence_begin_signalling, dma_fence_end_signalling, dma_fence_get, dma_fence_init, dma_fence_put,
  dma_fence_set_error, dma_fence_signal_locked, enable_delayed_work, fsleep, kfree, kmalloc, kref, kref_get,
  kref_put, lockdep_assert_held, mod_delayed_work, mutex, mutex_lock, mutex_lock_sleepable, mutex_unlock,
  queue_work, spin_lock, spin_lock_init, spin_unlock,
  type Allocation, type Kernel, type Sleepable, type delayed_work, type dma_fence_ops, type spinlock_t,
  type work_struct, type workqueue_struct,
} from '@deplab/sim';
import { job_hw_start_trace, type JobHwStartTrace } from '@deplab/driver-api';
import {
  CSG_IDLE, CSG_STATE_RESUME, CSG_STATE_START, CSG_STATE_SUSPEND, CSG_STATE_TERMINATE, CSG_SYNC_UPDATE,
  DRM_PANTHOR_EXCEPTION_CS_UNRECOVERABLE, MAX_CSG_PRIO, panthor_fw_cs, panthor_fw_cs_create, panthor_fw_cs_destroy,
  panthor_fw_cs_idle, panthor_fw_cs_prog, panthor_fw_cs_ring_write, panthor_fw_cs_syncobj_write,
  panthor_fw_csg_events, panthor_fw_csg_request, panthor_fw_csg_set_priority, panthor_fw_csg_status_idle,
  panthor_fw_csg_unbind, panthor_fw_halt, panthor_fw_irq_ack, panthor_fw_reset, panthor_fw_ring_doorbell, panthor_fw_ring_entry,
  panthor_fw_set_irq, panthor_gpu,
} from './hw.ts';

/* ------------------------------------------------------------------------------------------ */
/* Constants                                                                                    */

/** JOB_TIMEOUT_MS (panthor_sched.c). */
export const JOB_TIMEOUT_MS = 5000;
/** enum panthor_csg_priority. */
export const PANTHOR_CSG_PRIORITY_LOW = 0;
export const PANTHOR_CSG_PRIORITY_MEDIUM = 1;
export const PANTHOR_CSG_PRIORITY_HIGH = 2;
export const PANTHOR_CSG_PRIORITY_RT = 3;
export const PANTHOR_CSG_PRIORITY_COUNT = 4;
/** enum panthor_group_state. */
export const PANTHOR_CS_GROUP_CREATED = 0;
export const PANTHOR_CS_GROUP_ACTIVE = 1;
export const PANTHOR_CS_GROUP_SUSPENDED = 2;
export const PANTHOR_CS_GROUP_TERMINATED = 3;
export const PANTHOR_CS_GROUP_UNKNOWN_STATE = 4;
/** PANTHOR_DEVICE_PROFILING_* (panthor_device.h). */
export const PANTHOR_DEVICE_PROFILING_CYCLES = 1 << 0;
export const PANTHOR_DEVICE_PROFILING_TIMESTAMP = 1 << 1;
/** NUM_INSTRS_PER_CACHE_LINE: the job sequence is padded to a 64-byte cache line. */
export const NUM_INSTRS_PER_CACHE_LINE = 8;
/** MAX_GROUPS_PER_POOL. */
export const MAX_GROUPS_PER_POOL = 128;
/** No tick scheduled (U64_MAX upstream). */
const U64_MAX = Number.MAX_SAFE_INTEGER;

/**
 * calc_job_credits(): the instructions prepare_job_instrs() emits, padded to a cache line.
 * 11 always (flush, CALL, SYNC_ADD64, ERROR_BARRIER, moves and waits), 4 more per profiling
 * kind (a MOV48 + STORE_STATE before and after the call): 11 -> 16, 15 -> 16, 19 -> 24.
 */
export function calc_job_credits(profile_mask: number): number {
  let count = 11;
  if ((profile_mask & PANTHOR_DEVICE_PROFILING_CYCLES) !== 0) count += 4;
  if ((profile_mask & PANTHOR_DEVICE_PROFILING_TIMESTAMP) !== 0) count += 4;
  return Math.ceil(count / NUM_INSTRS_PER_CACHE_LINE) * NUM_INSTRS_PER_CACHE_LINE;
}

/* ------------------------------------------------------------------------------------------ */
/* The binding interface                                                                        */

/** What csf.ts needs of a job (struct panthor_job without its scheduler base). */
export interface PanthorJob {
  readonly kernel: Kernel;
  group: panthor_group | null;
  queue_idx: number;
  /** call_info.size: 0 is an empty (sync-only) stream. */
  call_size: number;
  /** The ring entry the job becomes on the GPU. */
  readonly hw: panthor_fw_ring_entry;
  /** done_fence: allocated at create, initialised in run_job (or borrowed last_fence). */
  done_fence: dma_fence | null;
  /** The done_fence memory until dma_fence_init takes it over. */
  done_alloc: Allocation | null;
  /** On queue->fence_ctx.in_flight_jobs. */
  in_flight: boolean;
  /** The job's own memory (kzalloc in panthor_job_create). */
  alloc: Allocation | null;
  credits: number;
}

/** A VM_BIND job (struct panthor_vm_bind_job without its scheduler base). */
export interface PanthorVmBindJob {
  readonly kernel: Kernel;
  vm: panthor_vm | null;
  /** CPU time the page-table update takes (the op runs synchronously in run_job). */
  op_ns: number;
  alloc: Allocation | null;
  op_ctx: Allocation | null;
  cleanup_op_ctx_work: work_struct | null;
}

/**
 * The job classes' driver fields, added onto the binding's scheduler job class (drm_sched_job
 * or drm_dep_job, the C structs' `base`) as TypeScript mixins; the mixin idiom requires a
 * constructor type taking any[].
 */
type SchedulerJobClass = new (...args: any[]) => object;

/** struct panthor_job's own fields on a scheduler job class (PanthorJob minus kernel/credits). */
export function panthor_job_base<B extends SchedulerJobClass>(Base: B) {
  return class extends Base {
    group: panthor_group | null = null;
    queue_idx = 0;
    call_size = 0;
    readonly hw: panthor_fw_ring_entry = new panthor_fw_ring_entry(this);
    done_fence: dma_fence | null = null;
    done_alloc: Allocation | null = null;
    in_flight = false;
    alloc: Allocation | null = null;
  };
}

/** struct panthor_vm_bind_job's own fields on a scheduler job class. */
export function panthor_vm_bind_job_base<B extends SchedulerJobClass>(Base: B) {
  return class extends Base {
    vm: panthor_vm | null = null;
    op_ns = 0;
    alloc: Allocation | null = null;
    op_ctx: Allocation | null = null;
    cleanup_op_ctx_work: work_struct | null = null;
  };
}

/**
 * Everything panthor does with the job scheduler. on-sched.ts implements it on drm_sched (as
 * upstream), on-dep.ts on drm_dep (the RFC conversion, inferred).
 */
export interface PanthorBinding {
  readonly name: 'drm_sched' | 'drm_dep';
  /** Flags added to panthor-csf-sched, panthor-reset-wq and panthor-vm-bind. */
  readonly wq_flags: number;
  device_init(ptdev: panthor_device): void;
  /** The scheduler half of group_create_queue(). */
  queue_init(queue: panthor_queue, credit_limit: number): number;
  /** The scheduler half of group_free_queue() (entity/scheduler teardown). */
  queue_fini(queue: panthor_queue): Sleepable;
  /** The kfree(queue) at the end of group_free_queue() (or the reference that ends in it). */
  queue_free(queue: panthor_queue): void;
  /**
   * The queue's timeout work saw no progress: report it to the job scheduler, whose timeout
   * handler then runs on ptdev->reset.wq (drm_sched_fault(), drm_dep_queue_trigger_timeout()).
   */
  queue_fault(queue: panthor_queue): void;
  /** The job-scheduler half of queue_stop(): stop submission (`bad_job` from the timeout handler). */
  queue_stop(queue: panthor_queue, bad_job: PanthorJob | null): Sleepable;
  /** The job-scheduler half of queue_start(). */
  queue_start(queue: panthor_queue): void;
  job_alloc(ptdev: panthor_device): PanthorJob;
  /** drm_sched_job_init / drm_dep_job_init on the queue. */
  job_init(job: PanthorJob, queue: panthor_queue, credits: number, client_id: number): number;
  /** The error path of panthor_job_create before init succeeded (no scheduler state yet). */
  job_free_uninit(job: PanthorJob): void;
  job_get(job: PanthorJob): void;
  job_put(job: PanthorJob): void;
  vm_init(vm: panthor_vm): number;
  vm_fini(vm: panthor_vm): Sleepable;
  vm_stop(vm: panthor_vm): Sleepable;
  vm_start(vm: panthor_vm): void;
  vm_job_alloc(ptdev: panthor_device): PanthorVmBindJob;
  vm_job_init(job: PanthorVmBindJob, vm: panthor_vm, client_id: number): number;
  vm_job_put(job: PanthorVmBindJob): Sleepable;
  /** Submit helpers, on either job kind (panthor_submit_ctx_* / the drm_exec part of GROUP_SUBMIT). */
  job_add_dependency(job: PanthorJob | PanthorVmBindJob, fence: dma_fence): number;
  job_arm(job: PanthorJob | PanthorVmBindJob): void;
  /** A new reference to the job's finished fence (after arm). */
  job_finished_fence(job: PanthorJob | PanthorVmBindJob): dma_fence;
  /** Push; the submit context's reference goes to the scheduler (or is dropped). */
  job_push(job: PanthorJob | PanthorVmBindJob): void;
  /** Give up an initialised, unarmed CS job (a dependency could not be added). */
  job_abort(job: PanthorJob): void;
}

/* ------------------------------------------------------------------------------------------ */
/* Objects                                                                                      */

export interface PanthorOptions {
  csg_slots: number;
  as_slots: number;
  ringbuf_size: number;
  profile_mask: number;
}

/** struct panthor_csg_slot. */
export class panthor_csg_slot {
  group: panthor_group | null = null;
  priority = 0;
  idle = false;
}

/** struct panthor_scheduler. */
export class panthor_scheduler {
  readonly ptdev: panthor_device;
  wq!: workqueue_struct;
  tick_work!: delayed_work;
  sync_upd_work!: work_struct;
  fw_events_work!: work_struct;
  fw_events = 0;
  /** When the next tick should occur, jiffies (U64_MAX: no tick). */
  resched_target = U64_MAX;
  last_tick = 0;
  tick_period = 0;
  readonly lock: mutex;
  readonly groups = {
    runnable: [[], [], [], []] as panthor_group[][],
    idle: [[], [], [], []] as panthor_group[][],
    waiting: [] as panthor_group[],
  };
  readonly csg_slots: panthor_csg_slot[] = [];
  csg_slot_count = 0;
  as_slot_count = 0;
  used_csg_slot_count = 0;
  might_have_idle_groups = false;
  readonly reset: { lock: mutex; in_progress: boolean; stopped_groups: panthor_group[] };
  /** Scratch for panthor_fw_csg_events (no allocation per IRQ). */
  readonly fatal_scratch = { mask: 0, types: [] as number[] };
  /** Model statistics. */
  ticks = 0;
  evictions = 0;

  constructor(ptdev: panthor_device) {
    this.ptdev = ptdev;
    this.lock = new mutex(ptdev.kernel, '&sched->lock');
    this.reset = { lock: new mutex(ptdev.kernel, '&sched->reset.lock'), in_progress: false, stopped_groups: [] };
  }
}

/** The fence context of a queue (queue->fence_ctx). */
export interface panthor_fence_ctx {
  lock: spinlock_t;
  id: number;
  seqno: number;
  last_fence: dma_fence | null;
  in_flight_jobs: PanthorJob[];
}

/** struct panthor_queue. `sched` is the binding's scheduler object (embedded upstream). */
export class panthor_queue {
  readonly group: panthor_group;
  readonly idx: number;
  sched: unknown = null;
  /**
   * queue->timeout: the driver's own timeout work (on ptdev->reset.wq) and, while it is
   * suspended, the jiffies it has left; MAX_SCHEDULE_TIMEOUT while it runs. `armed_jiffies`
   * (model only): jiffies when the driver last armed it (see queue_suspend_timeout_locked).
   */
  readonly timeout: { readonly work: delayed_work; remaining: number; armed_jiffies: number };
  doorbell_id = -1;
  readonly ringbuf_size: number;
  cs!: panthor_fw_cs;
  fence_ctx!: panthor_fence_ctx;
  alloc: Allocation | null = null;
  ringbuf: Allocation | null = null;

  constructor(group: panthor_group, idx: number, ringbuf_size: number) {
    const k = group.ptdev.kernel;
    this.group = group;
    this.idx = idx;
    this.ringbuf_size = ringbuf_size;
    this.timeout = {
      work: INIT_DELAYED_WORK(k, queue_timeout_work, '&(&queue->timeout.work)->work', this),
      remaining: k.jiffies.msecs_to_jiffies(JOB_TIMEOUT_MS),
      armed_jiffies: 0,
    };
  }
}

/** struct panthor_group. */
export class panthor_group {
  readonly refcount: kref;
  readonly ptdev: panthor_device;
  readonly name: string;
  vm: panthor_vm;
  priority: number;
  blocked_queues = 0;
  idle_queues = 0;
  fatal_queues = 0;
  queue_count = 0;
  readonly queues: panthor_queue[] = [];
  csg_id = -1;
  destroyed = false;
  timedout = false;
  innocent = false;
  state = PANTHOR_CS_GROUP_CREATED;
  sync_upd_work: work_struct;
  term_work: work_struct;
  release_work: work_struct;
  /** The list run_node is on (runnable[p], idle[p], a tick ctx list, stopped_groups) or null. */
  run_list: panthor_group[] | null = null;
  wait_linked = false;
  alloc: Allocation | null = null;
  suspend_buf: Allocation | null = null;
  syncobjs: Allocation | null = null;
  /** Model statistics: times the group was started or resumed on a slot. */
  residencies = 0;

  constructor(ptdev: panthor_device, name: string, vm: panthor_vm, priority: number) {
    this.ptdev = ptdev;
    this.name = name;
    this.vm = vm;
    this.priority = priority;
    this.refcount = new kref(ptdev.kernel, 'panthor_group');
    const k = ptdev.kernel;
    this.sync_upd_work = INIT_WORK(k, group_sync_upd_work, '&group->sync_upd_work', this);
    this.term_work = INIT_WORK(k, group_term_work, '&group->term_work', this);
    this.release_work = INIT_WORK(k, group_release_work, '&group->release_work', this);
  }
}

/** struct panthor_vm, reduced to what VM_BIND needs. `bind` is the binding's scheduler object. */
export class panthor_vm {
  readonly ptdev: panthor_device;
  readonly name: string;
  readonly refcount: kref;
  readonly op_lock: mutex;
  bind: unknown = null;
  destroyed = false;
  alloc: Allocation | null = null;

  constructor(ptdev: panthor_device, name: string) {
    this.ptdev = ptdev;
    this.name = name;
    this.refcount = new kref(ptdev.kernel, 'panthor_vm');
    this.op_lock = new mutex(ptdev.kernel, '&vm->op_lock');
  }
}

/** struct panthor_device, reduced. */
export class panthor_device {
  readonly kernel: Kernel;
  readonly binding: PanthorBinding;
  readonly gpu: panthor_gpu;
  readonly scheduler: panthor_scheduler;
  readonly reset: { wq: workqueue_struct; work: work_struct; pending: boolean };
  /** panthor_cleanup_wq (module-wide upstream). */
  readonly cleanup_wq: workqueue_struct;
  /** mmu->vm.wq ("panthor-vm-bind"), shared by every VM's bind queue. */
  readonly vm_bind_wq: workqueue_struct;
  readonly profile_mask: number;
  readonly ringbuf_size: number;
  readonly vms = new Set<panthor_vm>();
  unplugged = false;
  /** Binding-private device state (drm_dep's unload barrier). */
  dep_dev: unknown = null;
  readonly costs: {
    run_job_ns: number; irq_ns: number; tick_ns: number; fw_ack_ns: number; fw_suspend_ns: number;
    gpu_reset_ns: number; sync_upd_ns: number;
  };
  /** Model statistics. */
  resets = 0;
  /** deplab_job_hw_start bookkeeping while tracing (CS jobs are recorded at arm). */
  readonly hw_start: JobHwStartTrace<panthor_fw_ring_entry> | null;

  constructor(kernel: Kernel, binding: PanthorBinding, options: PanthorOptions) {
    this.kernel = kernel;
    this.binding = binding;
    this.profile_mask = options.profile_mask;
    this.ringbuf_size = options.ringbuf_size;
    this.costs = {
      run_job_ns: kernel.cost_of('panthor.run_job_ns', 1_500),
      irq_ns: kernel.cost_of('panthor.irq_ns', 300),
      tick_ns: kernel.cost_of('panthor.tick_ns', 2_000),
      fw_ack_ns: kernel.cost_of('panthor.fw_ack_ns', 10_000),
      fw_suspend_ns: kernel.cost_of('panthor.fw_suspend_ns', 100_000),
      gpu_reset_ns: kernel.cost_of('panthor.gpu_reset_ns', 2_000_000),
      sync_upd_ns: kernel.cost_of('panthor.sync_upd_ns', 200),
    };
    this.gpu = new panthor_gpu(kernel, options.csg_slots);
    // deplab_job_hw_start while tracing: a CS's first start of a job's ring entry, the job named
    // by the finished fence the submit ioctl recorded at arm (both bindings alike).
    const hw_start = (this.hw_start = job_hw_start_trace(kernel));
    if (hw_start !== null) this.gpu.entry_started = (entry) => hw_start.started(entry);
    // panthor_device_init: the reset wq is ordered (resets and TDRs are serialised).
    this.reset = {
      wq: alloc_ordered_workqueue(kernel, 'panthor-reset-wq', binding.wq_flags),
      work: INIT_WORK(kernel, panthor_device_reset_work, '&ptdev->reset.work', this),
      pending: false,
    };
    this.cleanup_wq = alloc_workqueue(kernel, 'panthor-cleanup', WQ_UNBOUND, 0);
    this.vm_bind_wq = alloc_workqueue(kernel, 'panthor-vm-bind', WQ_UNBOUND | binding.wq_flags, 0);
    this.scheduler = new panthor_scheduler(this);
    panthor_sched_init(this, options);
    const irq = kernel.request_irq('panthor-job', this, panthor_job_irq_handler);
    panthor_fw_set_irq(this.gpu, irq);
    binding.device_init(this);
  }
}

/* ------------------------------------------------------------------------------------------ */
/* List helpers (list_head run_node)                                                           */

function list_del_init(group: panthor_group): void {
  const list = group.run_list;
  if (list === null) return;
  const i = list.indexOf(group);
  if (i >= 0) list.splice(i, 1);
  group.run_list = null;
}

function list_move_tail(group: panthor_group, list: panthor_group[]): void {
  list_del_init(group);
  list.push(group);
  group.run_list = list;
}

function list_move(group: panthor_group, list: panthor_group[]): void {
  list_del_init(group);
  list.unshift(group);
  group.run_list = list;
}

function wait_del_init(sched: panthor_scheduler, group: panthor_group): void {
  if (!group.wait_linked) return;
  const i = sched.groups.waiting.indexOf(group);
  if (i >= 0) sched.groups.waiting.splice(i, 1);
  group.wait_linked = false;
}

/* ------------------------------------------------------------------------------------------ */
/* Init                                                                                         */

/**
 * panthor_sched_init: CSG slots = min(FW group_num, MAX_CSGS, MAX_CSG_PRIO + 1); one tick every
 * 10 ms while oversubscribed; the shared "panthor-csf-sched" workqueue (WQ_MEM_RECLAIM |
 * WQ_UNBOUND) used by the tick, FW events, sync updates, group works and every queue's job
 * scheduler.
 */
function panthor_sched_init(ptdev: panthor_device, options: PanthorOptions): void {
  const k = ptdev.kernel;
  const sched = ptdev.scheduler;
  sched.csg_slot_count = Math.min(options.csg_slots, MAX_CSG_PRIO + 1);
  sched.as_slot_count = options.as_slots;
  for (let i = 0; i < sched.csg_slot_count; i++) sched.csg_slots.push(new panthor_csg_slot());
  sched.last_tick = 0;
  sched.resched_target = U64_MAX;
  sched.tick_period = k.jiffies.msecs_to_jiffies(10);
  sched.tick_work = INIT_DELAYED_WORK(k, tick_work, '&(&sched->tick_work)->work', sched);
  sched.sync_upd_work = INIT_WORK(k, sync_upd_work, '&sched->sync_upd_work', sched);
  sched.fw_events_work = INIT_WORK(k, process_fw_events_work, '&sched->fw_events_work', sched);
  sched.wq = alloc_workqueue(k, 'panthor-csf-sched', WQ_MEM_RECLAIM | WQ_UNBOUND | ptdev.binding.wq_flags, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* Work helpers                                                                                 */

export function panthor_device_reset_is_pending(ptdev: panthor_device): boolean {
  return ptdev.reset.pending;
}

/** sched_queue_work(): queue unless a reset is pending or in progress. */
function sched_queue_work(sched: panthor_scheduler, work: work_struct): void {
  if (!sched.reset.in_progress && !panthor_device_reset_is_pending(sched.ptdev)) queue_work(sched.wq, work);
}

/** sched_queue_delayed_work(sched, tick, delay). */
export function sched_queue_tick(sched: panthor_scheduler, delay_jiffies: number): void {
  if (!sched.reset.in_progress && !panthor_device_reset_is_pending(sched.ptdev)) {
    mod_delayed_work(sched.wq, sched.tick_work, delay_jiffies);
  }
}

export function group_get(group: panthor_group): panthor_group {
  kref_get(group.refcount);
  return group;
}

/** group_release(): the last reference; the release work runs on panthor_cleanup_wq. */
export function group_put(group: panthor_group): void {
  kref_put(group.refcount, () => {
    const k = group.ptdev.kernel;
    k.WARN_ON(group.csg_id >= 0, 'group_release', `${group.name} released while on CSG ${group.csg_id}`);
    k.WARN_ON(group.run_list !== null, 'group_release', `${group.name} released while on a run list`);
    k.WARN_ON(group.wait_linked, 'group_release', `${group.name} released while waiting`);
    queue_work(group.ptdev.cleanup_wq, group.release_work);
  });
}

/** group_queue_work(): a reference travels with the work item. */
function group_queue_work(group: panthor_group, work: work_struct): void {
  group_get(group);
  if (!queue_work(group.ptdev.scheduler.wq, work)) group_put(group);
}

/** panthor_device_schedule_reset(). */
export function panthor_device_schedule_reset(ptdev: panthor_device): void {
  if (ptdev.reset.pending || ptdev.unplugged) return;
  ptdev.reset.pending = true;
  queue_work(ptdev.reset.wq, ptdev.reset.work);
}

/* ------------------------------------------------------------------------------------------ */
/* Group state                                                                                  */

export function group_can_run(group: panthor_group): boolean {
  return group.state !== PANTHOR_CS_GROUP_TERMINATED && group.state !== PANTHOR_CS_GROUP_UNKNOWN_STATE &&
    !group.destroyed && group.fatal_queues === 0 && !group.timedout;
}

function group_is_idle(group: panthor_group): boolean {
  if (group.csg_id >= 0) return group.ptdev.scheduler.csg_slots[group.csg_id].idle;
  const inactive = group.idle_queues | group.blocked_queues;
  return popcount(inactive) === group.queue_count;
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v !== 0; v &= v - 1) n++;
  return n;
}

function all_queues_mask(group: panthor_group): number {
  return group.queue_count >= 32 ? -1 : (1 << group.queue_count) - 1;
}

/** group_bind_locked(). */
function group_bind_locked(group: panthor_group, csg_id: number): void {
  const sched = group.ptdev.scheduler;
  lockdep_assert_held(sched.lock, 'group_bind_locked');
  if (group.ptdev.kernel.WARN_ON(group.csg_id !== -1 || sched.csg_slots[csg_id].group !== null, 'group_bind_locked')) return;
  group_get(group);
  group.csg_id = csg_id;
  for (const queue of group.queues) queue.doorbell_id = csg_id + 1;
  sched.csg_slots[csg_id].group = group;
}

/** group_unbind_locked(). */
function group_unbind_locked(group: panthor_group): void {
  const ptdev = group.ptdev;
  const sched = ptdev.scheduler;
  lockdep_assert_held(sched.lock, 'group_unbind_locked');
  if (ptdev.kernel.WARN_ON(group.csg_id < 0 || group.state === PANTHOR_CS_GROUP_ACTIVE, 'group_unbind_locked')) return;
  const slot = sched.csg_slots[group.csg_id];
  panthor_fw_csg_unbind(ptdev.gpu, group.csg_id);
  group.csg_id = -1;
  for (const queue of group.queues) queue.doorbell_id = -1;
  slot.group = null;
  group_put(group);
}

/* ------------------------------------------------------------------------------------------ */
/* The queue timeout                                                                            */
/*
 * Per queue and driver-owned since 6.19 ("drm/panthor: Make the timeout per-queue instead of
 * per-job", 345c5b7cc0f8; "drm/panthor: fix queue_reset_timeout_locked", ac5b392a8c35, in 7.0).
 * The timer runs while the queue has work on a CSG slot, is suspended (the time left saved)
 * when the queue leaves its slot or runs dry, restarts a full period on every completion, and
 * on expiry without progress reports a fault to the job scheduler (PanthorBinding.queue_fault).
 */

/** queue_timeout_is_suspended(): a running timer keeps remaining at MAX_SCHEDULE_TIMEOUT. */
function queue_timeout_is_suspended(queue: panthor_queue): boolean {
  return queue.timeout.remaining !== MAX_SCHEDULE_TIMEOUT;
}

/** queue_reset_timeout_locked(): progress was made; a running timer restarts a full period. */
function queue_reset_timeout_locked(queue: panthor_queue): void {
  const ptdev = queue.group.ptdev;
  lockdep_assert_held(queue.fence_ctx.lock, 'queue_reset_timeout_locked');
  if (!queue_timeout_is_suspended(queue)) {
    mod_delayed_work(ptdev.reset.wq, queue.timeout.work, ptdev.kernel.jiffies.msecs_to_jiffies(JOB_TIMEOUT_MS));
    queue.timeout.armed_jiffies = ptdev.kernel.jiffies_now;
  }
}

/**
 * queue_suspend_timeout_locked(): cancel the timer and save the jiffies left (a full period if
 * it was not armed or nothing is in flight, 0 if it already expired). A blocked queue of an
 * idle group keeps its timer (the unblocking must come from outside: timebox it); the model
 * has no GPU-side waits, so that case does not arise. Deviation: `now` is no earlier than the
 * jiffy the timer was last armed at. Jiffies never go back in the kernel, but a body's local
 * clock may be behind one that ran before it (README "Body causality"), which made upstream's
 * WARN_ON_ONCE(remaining > timeout) fire on the model's clock skew (a reset work suspending a
 * timer that a long tick body had armed "later").
 */
function queue_suspend_timeout_locked(queue: panthor_queue): void {
  const k = queue.group.ptdev.kernel;
  const full = k.jiffies.msecs_to_jiffies(JOB_TIMEOUT_MS);
  lockdep_assert_held(queue.fence_ctx.lock, 'queue_suspend_timeout_locked');
  if (queue_timeout_is_suspended(queue)) return;
  const job = queue.fence_ctx.in_flight_jobs[0] ?? null;
  const group = job?.group ?? null;
  if (group !== null && group_can_run(group) && (group.blocked_queues & (1 << job!.queue_idx)) !== 0 && group_is_idle(group)) return;
  const now = Math.max(k.jiffies_now, queue.timeout.armed_jiffies);
  const expires_ns = delayed_work_timer_expires_ns(queue.timeout.work);
  const qtimeout = expires_ns >= 0 && expires_ns !== Infinity ? k.jiffies.at(expires_ns) : 0;
  const timer_was_active = cancel_delayed_work(queue.timeout.work);
  if (!timer_was_active || job === null) queue.timeout.remaining = full;
  else if (qtimeout > now) queue.timeout.remaining = qtimeout - now;
  else queue.timeout.remaining = 0;
  if (k.WARN_ON_ONCE(queue.timeout.remaining > full, 'queue_suspend_timeout_locked')) queue.timeout.remaining = full;
}

function queue_suspend_timeout(queue: panthor_queue): void {
  spin_lock(queue.fence_ctx.lock);
  queue_suspend_timeout_locked(queue);
  spin_unlock(queue.fence_ctx.lock);
}

/** queue_resume_timeout(): a suspended timer runs again for the time it had left. */
function queue_resume_timeout(queue: panthor_queue): void {
  spin_lock(queue.fence_ctx.lock);
  if (queue_timeout_is_suspended(queue)) {
    mod_delayed_work(queue.group.ptdev.reset.wq, queue.timeout.work, queue.timeout.remaining);
    queue.timeout.armed_jiffies = queue.group.ptdev.kernel.jiffies_now;
    queue.timeout.remaining = MAX_SCHEDULE_TIMEOUT;
  }
  spin_unlock(queue.fence_ctx.lock);
}

/** cs_slot_prog_locked(): program the CS; resume the queue timeout if the ring holds work. */
function cs_slot_prog_locked(ptdev: panthor_device, csg_id: number, cs_id: number): void {
  const queue = ptdev.scheduler.csg_slots[csg_id].group!.queues[cs_id];
  panthor_fw_cs_prog(ptdev.gpu, csg_id, cs_id, queue.cs);
  if (queue.cs.insert !== queue.cs.extract) queue_resume_timeout(queue);
}

/** cs_slot_reset_locked(): the queue leaves its slot; its timeout is suspended. */
function cs_slot_reset_locked(_ptdev: panthor_device, group: panthor_group, cs_id: number): void {
  queue_suspend_timeout(group.queues[cs_id]);
}

/** csg_slot_sync_queues_state_locked(): which queues ran dry (no blocked queue here). */
function csg_slot_sync_queues_state_locked(group: panthor_group): void {
  group.idle_queues = 0;
  group.blocked_queues = 0;
  for (let i = 0; i < group.queue_count; i++) {
    if (panthor_fw_cs_idle(group.queues[i].cs)) group.idle_queues |= 1 << i;
  }
}

/** csg_slot_sync_state_locked(): reflect the acknowledged CSG state on the group. */
function csg_slot_sync_state_locked(ptdev: panthor_device, group: panthor_group, acked: number): void {
  const old_state = group.state;
  let new_state: number;
  switch (acked) {
    case CSG_STATE_START:
    case CSG_STATE_RESUME: new_state = PANTHOR_CS_GROUP_ACTIVE; break;
    case CSG_STATE_TERMINATE: new_state = PANTHOR_CS_GROUP_TERMINATED; break;
    case CSG_STATE_SUSPEND: new_state = PANTHOR_CS_GROUP_SUSPENDED; break;
    default: new_state = PANTHOR_CS_GROUP_UNKNOWN_STATE; break;
  }
  if (old_state === new_state) return;
  if (new_state === PANTHOR_CS_GROUP_UNKNOWN_STATE) panthor_device_schedule_reset(ptdev);
  if (new_state === PANTHOR_CS_GROUP_SUSPENDED) csg_slot_sync_queues_state_locked(group);
  if (old_state === PANTHOR_CS_GROUP_ACTIVE) {
    for (let i = 0; i < group.queue_count; i++) cs_slot_reset_locked(ptdev, group, i);
  }
  group.state = new_state;
}

/* ------------------------------------------------------------------------------------------ */
/* CSG slot update contexts (csgs_upd_ctx_*)                                                    */

const REQ_STATUS = 1;
const REQ_ENDPOINT = 2;

/** struct panthor_csg_slots_upd_ctx: per slot a state request and/or status/priority updates. */
class csgs_upd_ctx {
  readonly state: number[];
  readonly flags: number[];
  readonly priority: number[];
  update_mask = 0;

  constructor(n: number) {
    this.state = new Array<number>(n).fill(-1);
    this.flags = new Array<number>(n).fill(0);
    this.priority = new Array<number>(n).fill(0);
  }
}

/**
 * csgs_upd_ctx_apply_locked(): ring the CSG doorbells and wait for the acknowledgements. The
 * wait is accounted as the firmware latency on the tick's own clock (see the file comment); a
 * SUSPEND takes panthor.fw_suspend_ns (state save), anything else panthor.fw_ack_ns. The
 * acknowledged state, priority and status are then synced as upstream does.
 */
function csgs_upd_ctx_apply_locked(ptdev: panthor_device, ctx: csgs_upd_ctx): void {
  const sched = ptdev.scheduler;
  const k = ptdev.kernel;
  lockdep_assert_held(sched.lock, 'csgs_upd_ctx_apply_locked');
  if (ctx.update_mask === 0) return;
  let wait_ns = ptdev.costs.fw_ack_ns;
  for (let i = 0; i < sched.csg_slot_count; i++) {
    if (ctx.state[i] === CSG_STATE_SUSPEND) wait_ns = Math.max(wait_ns, ptdev.costs.fw_suspend_ns);
  }
  k.spend(wait_ns);
  for (let csg_id = 0; csg_id < sched.csg_slot_count; csg_id++) {
    if ((ctx.update_mask & (1 << csg_id)) === 0) continue;
    const group = sched.csg_slots[csg_id].group;
    if ((ctx.flags[csg_id] & REQ_ENDPOINT) !== 0) {
      panthor_fw_csg_set_priority(ptdev.gpu, csg_id, ctx.priority[csg_id]);
      sched.csg_slots[csg_id].priority = ctx.priority[csg_id]; // csg_slot_sync_priority_locked
    }
    if (ctx.state[csg_id] >= 0) {
      const acked = panthor_fw_csg_request(ptdev.gpu, csg_id, ctx.state[csg_id]);
      if (group !== null) csg_slot_sync_state_locked(ptdev, group, acked);
    }
    if ((ctx.flags[csg_id] & REQ_STATUS) !== 0 && group !== null) {
      csg_slot_sync_queues_state_locked(group);
      sched.csg_slots[csg_id].idle = panthor_fw_csg_status_idle(ptdev.gpu, csg_id);
    }
  }
}

/* ------------------------------------------------------------------------------------------ */
/* FW events                                                                                    */

/** The JOB interrupt handler (panthor_job_irq_handler, threaded upstream; hardirq here). */
function panthor_job_irq_handler(ptdev: panthor_device): void {
  const k = ptdev.kernel;
  const status = panthor_fw_irq_ack(ptdev.gpu);
  k.spend(ptdev.costs.irq_ns);
  if (status === 0) return;
  panthor_sched_report_fw_events(ptdev, status);
}

/** panthor_sched_report_fw_events(). Any context. */
function panthor_sched_report_fw_events(ptdev: panthor_device, events: number): void {
  const sched = ptdev.scheduler;
  sched.fw_events |= events;
  sched_queue_work(sched, sched.fw_events_work);
}

/** process_fw_events_work(): process every CSG with pending events under sched->lock. */
function process_fw_events_work(work: work_struct): void {
  const sched = work.owner as panthor_scheduler;
  const ptdev = sched.ptdev;
  let events = sched.fw_events;
  sched.fw_events = 0;
  mutex_lock(sched.lock);
  events &= ~(1 << 31);
  while (events !== 0) {
    const csg_id = 31 - Math.clz32(events & -events);
    sched_process_csg_irq_locked(ptdev, csg_id);
    events &= ~(1 << csg_id);
  }
  mutex_unlock(sched.lock);
}

/** sched_process_csg_irq_locked(). */
function sched_process_csg_irq_locked(ptdev: panthor_device, csg_id: number): void {
  const sched = ptdev.scheduler;
  lockdep_assert_held(sched.lock, 'sched_process_csg_irq_locked');
  if (csg_id >= sched.csg_slot_count) return;
  const fatal = sched.fatal_scratch;
  const events = panthor_fw_csg_events(ptdev.gpu, csg_id, fatal);
  if ((events & CSG_IDLE) !== 0) {
    // csg_slot_process_idle_event_locked
    sched.might_have_idle_groups = true;
    sched_queue_tick(sched, 0);
  }
  for (let cs_id = 0; fatal.mask !== 0 && cs_id < 32; cs_id++) {
    if ((fatal.mask & (1 << cs_id)) === 0) continue;
    cs_slot_process_fatal_event_locked(ptdev, csg_id, cs_id, fatal.types[cs_id]);
    fatal.mask &= ~(1 << cs_id);
  }
  if ((events & CSG_SYNC_UPDATE) !== 0) csg_slot_sync_update_locked(ptdev, csg_id);
}

/** cs_slot_process_fatal_event_locked(). */
function cs_slot_process_fatal_event_locked(ptdev: panthor_device, csg_id: number, cs_id: number, type: number): void {
  const sched = ptdev.scheduler;
  const group = sched.csg_slots[csg_id].group;
  if (group !== null) group.fatal_queues |= 1 << cs_id;
  ptdev.kernel.tp('panthor_cs_fatal', { csg: csg_id, cs: cs_id, exception: type, group: group?.name ?? null });
  if (type === DRM_PANTHOR_EXCEPTION_CS_UNRECOVERABLE) {
    panthor_device_schedule_reset(ptdev);
    cancel_delayed_work(sched.tick_work);
  } else {
    sched_queue_tick(sched, 0);
  }
}

/** csg_slot_sync_update_locked(). */
function csg_slot_sync_update_locked(ptdev: panthor_device, csg_id: number): void {
  const sched = ptdev.scheduler;
  const group = sched.csg_slots[csg_id].group;
  if (group !== null) group_queue_work(group, group.sync_upd_work);
  sched_queue_work(sched, sched.sync_upd_work);
}

/** sync_upd_work(): re-evaluate groups blocked on sync objects (none: not modelled). */
function sync_upd_work(work: work_struct): void {
  const sched = work.owner as panthor_scheduler;
  mutex_lock(sched.lock);
  // Each waiting group's blocked queues would be re-evaluated here: the list stays empty, as
  // GPU-side sync waits are not modelled.
  mutex_unlock(sched.lock);
}

/**
 * queue_check_job_completion(): signal, in order and inside a signalling section, every
 * in-flight done fence whose seqno the queue's sync object reached, then drop those jobs. An
 * empty queue suspends its timeout (resetting the time left); a retirement restarts it. Returns
 * whether there was progress (an empty queue counts: the timeout raced the completion).
 */
function queue_check_job_completion(queue: panthor_queue): boolean {
  const ptdev = queue.group.ptdev;
  const k = ptdev.kernel;
  const list = queue.fence_ctx.in_flight_jobs;
  let progress = false;
  let retired = 0;
  const cookie = dma_fence_begin_signalling(k);
  spin_lock(queue.fence_ctx.lock);
  const seqno = queue.cs.syncobj_seqno;
  while (retired < list.length && seqno >= list[retired].done_fence!.seqno) {
    k.spend(ptdev.costs.sync_upd_ns);
    dma_fence_signal_locked(list[retired].done_fence!);
    retired++;
  }
  const done_jobs = retired > 0 ? list.splice(0, retired) : null;
  if (list.length === 0) {
    queue_suspend_timeout_locked(queue);
    progress = true;
  } else if (done_jobs !== null) {
    queue_reset_timeout_locked(queue);
    progress = true;
  }
  spin_unlock(queue.fence_ctx.lock);
  dma_fence_end_signalling(k, cookie);
  if (done_jobs !== null) {
    for (const job of done_jobs) {
      job.in_flight = false;
      ptdev.binding.job_put(job);
    }
  }
  return progress;
}

/** group_sync_upd_work(): check every queue of the group for completed jobs. */
function group_sync_upd_work(work: work_struct): void {
  const group = work.owner as panthor_group;
  const k = group.ptdev.kernel;
  k.lifetime.use(group.alloc!.id, 'group_sync_upd_work');
  const cookie = dma_fence_begin_signalling(k);
  for (const queue of group.queues) queue_check_job_completion(queue);
  dma_fence_end_signalling(k, cookie);
  group_put(group);
}

/**
 * queue_timeout_work() on ptdev->reset.wq: the queue timed out. A last completion check; with
 * no progress the job scheduler is told, and its timeout handler (panthor_queue_timedout) kills
 * the group.
 */
function queue_timeout_work(work: work_struct): void {
  const queue = work.owner as panthor_queue;
  const ptdev = queue.group.ptdev;
  if (queue_check_job_completion(queue)) return;
  ptdev.kernel.tp('panthor_queue_timeout', { group: queue.group.name, queue: queue.idx });
  ptdev.binding.queue_fault(queue);
}

/* ------------------------------------------------------------------------------------------ */
/* Termination and release                                                                      */

/**
 * group_term_post_processing(): every in-flight done fence of every queue is signalled with
 * -EINVAL (fatal queue), -ETIMEDOUT (group timed out) or -ECANCELED, and the sync objects are
 * written by hand (seqno = last, status = ~0).
 */
function group_term_post_processing(group: panthor_group): void {
  const ptdev = group.ptdev;
  const k = ptdev.kernel;
  if (k.WARN_ON(group_can_run(group), 'group_term_post_processing', `${group.name} terminated while it can run`)) return;
  const faulty: PanthorJob[] = [];
  const cookie = dma_fence_begin_signalling(k);
  for (let i = 0; i < group.queue_count; i++) {
    const queue = group.queues[i];
    const err = (group.fatal_queues & (1 << i)) !== 0 ? -EINVAL : group.timedout ? -ETIMEDOUT : -ECANCELED;
    spin_lock(queue.fence_ctx.lock);
    for (const job of queue.fence_ctx.in_flight_jobs) {
      faulty.push(job);
      dma_fence_set_error(job.done_fence!, err);
      dma_fence_signal_locked(job.done_fence!);
    }
    queue.fence_ctx.in_flight_jobs.length = 0;
    spin_unlock(queue.fence_ctx.lock);
    panthor_fw_cs_syncobj_write(queue.cs, queue.fence_ctx.seqno, 0xffffffff);
    sched_queue_work(ptdev.scheduler, ptdev.scheduler.sync_upd_work);
  }
  dma_fence_end_signalling(k, cookie);
  k.tp('panthor_group_term', { group: group.name, timedout: group.timedout, fatal_queues: group.fatal_queues, jobs: faulty.length });
  for (const job of faulty) {
    job.in_flight = false;
    ptdev.binding.job_put(job);
  }
}

function group_term_work(work: work_struct): void {
  const group = work.owner as panthor_group;
  group.ptdev.kernel.lifetime.use(group.alloc!.id, 'group_term_work');
  group_term_post_processing(group);
  group_put(group);
}

/**
 * group_free_queue(): disable the timeout work (a completion may have re-armed it after the
 * group died: no WARN since "drm/panthor: Drop a WARN_ON() in group_free_queue()", 12/2025),
 * the scheduler half, then the BOs and the last fence.
 */
function* group_free_queue(group: panthor_group, queue: panthor_queue): Sleepable {
  const ptdev = group.ptdev;
  yield* disable_delayed_work_sync(queue.timeout.work);
  yield* ptdev.binding.queue_fini(queue);
  panthor_fw_cs_destroy(queue.cs);
  kfree(ptdev.kernel, queue.ringbuf);
  queue.ringbuf = null;
  dma_fence_put(queue.fence_ctx.last_fence);
  queue.fence_ctx.last_fence = null;
  ptdev.binding.queue_free(queue);
}

/** group_release_work() on panthor_cleanup_wq: free the queues, the buffers, put the VM. */
function* group_release_work(work: work_struct): Sleepable {
  const group = work.owner as panthor_group;
  const k = group.ptdev.kernel;
  k.lifetime.use(group.alloc!.id, 'group_release_work');
  for (const queue of group.queues) yield* group_free_queue(group, queue);
  kfree(k, group.suspend_buf);
  kfree(k, group.syncobjs);
  yield* panthor_vm_put(group.vm);
  k.tp('panthor_group_release', { group: group.name });
  kfree(k, group.alloc);
}

/* ------------------------------------------------------------------------------------------ */
/* The tick                                                                                     */

/** struct panthor_sched_tick_ctx. */
class tick_ctx {
  readonly old_groups: panthor_group[][] = [[], [], [], []];
  readonly groups: panthor_group[][] = [[], [], [], []];
  idle_group_count = 0;
  group_count = 0;
  min_priority = PANTHOR_CSG_PRIORITY_COUNT;
  readonly vms: panthor_vm[] = [];
  immediate_tick = false;
}

function tick_ctx_is_full(sched: panthor_scheduler, ctx: tick_ctx): boolean {
  return ctx.group_count === sched.csg_slot_count;
}

/** tick_ctx_pick_groups_from_list(). */
function tick_ctx_pick_groups_from_list(sched: panthor_scheduler, ctx: tick_ctx, list: panthor_group[],
  skip_idle_groups: boolean, owned_by_tick_ctx: boolean): void {
  if (tick_ctx_is_full(sched, ctx)) return;
  // list_for_each_entry_safe: each group of the list as it was, once; a picked group leaves it.
  // (Walked in place: a copy of the list per tick cost O(groups) when a few fill the slots.)
  let at = 0;
  for (let n = list.length; n > 0; n--) {
    const group = list[at];
    if (tick_ctx_pick_group(sched, ctx, group, skip_idle_groups, owned_by_tick_ctx)) return;
    if (list[at] === group) at++;
  }
}

/** The loop body of tick_ctx_pick_groups_from_list(); true once the tick context is full. */
function tick_ctx_pick_group(sched: panthor_scheduler, ctx: tick_ctx, group: panthor_group, skip_idle_groups: boolean, owned_by_tick_ctx: boolean): boolean {
  if (!group_can_run(group)) return false;
  if (skip_idle_groups && group_is_idle(group)) return false;
  let i = ctx.vms.indexOf(group.vm);
  if (i < 0 && ctx.vms.length === sched.as_slot_count) return false;
  if (!owned_by_tick_ctx) group_get(group);
  list_move_tail(group, ctx.groups[group.priority]);
  ctx.group_count++;
  if (group_is_idle(group)) ctx.idle_group_count++;
  if (i < 0) { ctx.vms.push(group.vm); i = ctx.vms.length - 1; }
  if (ctx.min_priority > group.priority) ctx.min_priority = group.priority;
  return tick_ctx_is_full(sched, ctx);
}

/**
 * tick_ctx_insert_old_group(): on a full tick, order the old groups of one priority by their
 * CSG slot priority, lowest first, so they are picked first and get a higher slot priority
 * next time (groups of equal priority cannot starve each other).
 */
function tick_ctx_insert_old_group(sched: panthor_scheduler, ctx: tick_ctx, group: panthor_group, full_tick: boolean): void {
  const list = ctx.old_groups[group.priority];
  if (full_tick) {
    const prio = sched.csg_slots[group.csg_id].priority;
    for (let i = 0; i < list.length; i++) {
      if (sched.csg_slots[list[i].csg_id].priority > prio) {
        list_del_init(group);
        list.splice(i, 0, group);
        group.run_list = list;
        return;
      }
    }
  }
  list_move_tail(group, list);
}

/** tick_ctx_init(): every resident group becomes an old group; sample their status. */
function tick_ctx_init(sched: panthor_scheduler, ctx: tick_ctx, full_tick: boolean): void {
  const ptdev = sched.ptdev;
  const upd = new csgs_upd_ctx(sched.csg_slot_count);
  for (let i = 0; i < sched.csg_slot_count; i++) {
    const group = sched.csg_slots[i].group;
    if (group === null) continue;
    group_get(group);
    tick_ctx_insert_old_group(sched, ctx, group, full_tick);
    upd.flags[i] |= REQ_STATUS;
    upd.update_mask |= 1 << i;
  }
  csgs_upd_ctx_apply_locked(ptdev, upd);
}

/** tick_ctx_apply(): suspend/terminate the evicted groups, then start/resume the picked ones. */
function tick_ctx_apply(sched: panthor_scheduler, ctx: tick_ctx): void {
  const ptdev = sched.ptdev;
  let new_csg_prio = MAX_CSG_PRIO;
  let upd = new csgs_upd_ctx(sched.csg_slot_count);
  for (let prio = PANTHOR_CSG_PRIORITY_COUNT - 1; prio >= 0; prio--) {
    for (const group of ctx.old_groups[prio]) {
      const csg_id = group.csg_id;
      if (ptdev.kernel.WARN_ON(csg_id < 0, 'tick_ctx_apply')) continue;
      upd.state[csg_id] = group_can_run(group) ? CSG_STATE_SUSPEND : CSG_STATE_TERMINATE;
      upd.update_mask |= 1 << csg_id;
    }
    for (const group of ctx.groups[prio]) {
      const csg_id = group.csg_id;
      if (csg_id < 0) { new_csg_prio--; continue; }
      if (sched.csg_slots[csg_id].priority !== new_csg_prio) {
        upd.flags[csg_id] |= REQ_ENDPOINT;
        upd.priority[csg_id] = new_csg_prio;
        upd.update_mask |= 1 << csg_id;
      }
      new_csg_prio--;
    }
  }
  csgs_upd_ctx_apply_locked(ptdev, upd);

  // Unbind evicted groups: process their pending interrupts first.
  for (let prio = PANTHOR_CSG_PRIORITY_COUNT - 1; prio >= 0; prio--) {
    for (const group of ctx.old_groups[prio]) {
      if (group.csg_id >= 0) sched_process_csg_irq_locked(ptdev, group.csg_id);
      sched.evictions++;
      group_unbind_locked(group);
    }
  }

  let free_csg_slots = 0;
  for (let i = 0; i < sched.csg_slot_count; i++) if (sched.csg_slots[i].group === null) free_csg_slots |= 1 << i;
  upd = new csgs_upd_ctx(sched.csg_slot_count);
  new_csg_prio = MAX_CSG_PRIO;
  for (let prio = PANTHOR_CSG_PRIORITY_COUNT - 1; prio >= 0; prio--) {
    for (const group of ctx.groups[prio]) {
      if (group.csg_id >= 0) { new_csg_prio--; continue; }
      if (ptdev.kernel.WARN_ON(free_csg_slots === 0, 'tick_ctx_apply', 'no free CSG slot')) break;
      const csg_id = 31 - Math.clz32(free_csg_slots & -free_csg_slots);
      group_bind_locked(group, csg_id);
      csg_slot_prog_locked(ptdev, csg_id, new_csg_prio--);
      upd.state[csg_id] = group.state === PANTHOR_CS_GROUP_SUSPENDED ? CSG_STATE_RESUME : CSG_STATE_START;
      upd.flags[csg_id] |= REQ_ENDPOINT;
      upd.priority[csg_id] = new_csg_prio + 1;
      upd.update_mask |= 1 << csg_id;
      free_csg_slots &= ~(1 << csg_id);
      group.residencies++;
    }
  }
  csgs_upd_ctx_apply_locked(ptdev, upd);

  for (let prio = PANTHOR_CSG_PRIORITY_COUNT - 1; prio >= 0; prio--) {
    for (const group of ctx.groups[prio].slice()) {
      list_del_init(group);
      if (group.destroyed) ctx.immediate_tick = true;
      group_put(group);
    }
    // Evicted groups go back to the idle or run queues; the dead ones are handled in cleanup.
    for (const group of ctx.old_groups[prio].slice()) {
      if (!group_can_run(group)) continue;
      list_move_tail(group, group_is_idle(group) ? sched.groups.idle[prio] : sched.groups.runnable[prio]);
      group_put(group);
    }
  }
  sched.used_csg_slot_count = ctx.group_count;
  sched.might_have_idle_groups = ctx.idle_group_count > 0;
}

/** csg_slot_prog_locked(): program every queue of the group bound to `csg_id`. */
function csg_slot_prog_locked(ptdev: panthor_device, csg_id: number, priority: number): void {
  const group = ptdev.scheduler.csg_slots[csg_id].group;
  if (group === null || group.state === PANTHOR_CS_GROUP_ACTIVE) return;
  for (let i = 0; i < group.queue_count; i++) cs_slot_prog_locked(ptdev, csg_id, i);
  ptdev.scheduler.csg_slots[csg_id].priority = priority;
}

/** tick_ctx_cleanup(): dead old groups go to their term work; leftovers back to the lists. */
function tick_ctx_cleanup(sched: panthor_scheduler, ctx: tick_ctx): void {
  for (let i = 0; i < PANTHOR_CSG_PRIORITY_COUNT; i++) {
    for (const group of ctx.old_groups[i].slice()) {
      if (!group_can_run(group)) {
        list_del_init(group);
        wait_del_init(sched, group);
        group_queue_work(group, group.term_work);
      } else if (group.csg_id >= 0) {
        list_del_init(group);
      } else {
        list_move(group, group_is_idle(group) ? sched.groups.idle[group.priority] : sched.groups.runnable[group.priority]);
      }
      group_put(group);
    }
  }
  for (let i = 0; i < PANTHOR_CSG_PRIORITY_COUNT; i++) {
    for (const group of ctx.groups[i].slice()) {
      if (group.csg_id >= 0) list_del_init(group);
      else list_move(group, group_is_idle(group) ? sched.groups.idle[group.priority] : sched.groups.runnable[group.priority]);
      group_put(group);
    }
  }
}

/** tick_ctx_update_resched_target(): tick again only while groups of min_priority wait. */
function tick_ctx_update_resched_target(sched: panthor_scheduler, ctx: tick_ctx): number {
  if (!tick_ctx_is_full(sched, ctx) || ctx.idle_group_count > 0 || ctx.min_priority >= PANTHOR_CSG_PRIORITY_COUNT) {
    sched.resched_target = U64_MAX;
    return U64_MAX;
  }
  if (sched.groups.runnable[ctx.min_priority].length > 0) {
    const resched_target = sched.last_tick + sched.tick_period;
    // Upstream compares with time_before64(resched_target, last_tick): a tick running in the
    // jiffy it was due keeps resched_target == last_tick and re-ticks at once. The spec says the
    // tick re-arms at +10 ms; the model treats a reached target as expired (README, [I]).
    if (sched.resched_target <= sched.last_tick || resched_target < sched.resched_target) sched.resched_target = resched_target;
    return sched.resched_target - sched.last_tick;
  }
  sched.resched_target = U64_MAX;
  return U64_MAX;
}

/**
 * tick_work(): sample the resident groups, pick the groups to run (highest priority first,
 * non-idle first; mid-period only RT groups may preempt), evict and start, and re-arm the tick
 * while groups of the lowest scheduled priority still wait.
 */
function tick_work(work: work_struct): void {
  const sched = work.owner as panthor_scheduler;
  const ptdev = sched.ptdev;
  const k = ptdev.kernel;
  if (ptdev.unplugged) return; // drm_dev_enter() failed
  const now = k.jiffies_now;
  const remaining_jiffies = now < sched.resched_target ? sched.resched_target - now : 0;
  mutex_lock(sched.lock);
  if (panthor_device_reset_is_pending(ptdev)) {
    mutex_unlock(sched.lock);
    return;
  }
  sched.ticks++;
  k.spend(ptdev.costs.tick_ns);
  const ctx = new tick_ctx();
  // full_tick = no time left in the period (the @f39b6c46 snapshot passes the inverse; fixed by
  // "drm/panthor: Fix the full_tick check", 2025-11, before the RFC's base).
  tick_ctx_init(sched, ctx, remaining_jiffies === 0);
  if (remaining_jiffies !== 0) {
    for (let prio = PANTHOR_CSG_PRIORITY_COUNT - 1; prio >= 0 && !tick_ctx_is_full(sched, ctx); prio--) {
      tick_ctx_pick_groups_from_list(sched, ctx, ctx.old_groups[prio], true, true);
      if (prio === PANTHOR_CSG_PRIORITY_RT) tick_ctx_pick_groups_from_list(sched, ctx, sched.groups.runnable[prio], true, false);
    }
  }
  for (let prio = PANTHOR_CSG_PRIORITY_COUNT - 1; prio >= 0 && !tick_ctx_is_full(sched, ctx); prio--) {
    tick_ctx_pick_groups_from_list(sched, ctx, sched.groups.runnable[prio], true, false);
    tick_ctx_pick_groups_from_list(sched, ctx, ctx.old_groups[prio], true, true);
  }
  for (let prio = PANTHOR_CSG_PRIORITY_COUNT - 1; prio >= 0 && !tick_ctx_is_full(sched, ctx); prio--) {
    tick_ctx_pick_groups_from_list(sched, ctx, ctx.old_groups[prio], false, true);
    tick_ctx_pick_groups_from_list(sched, ctx, sched.groups.idle[prio], false, false);
  }
  tick_ctx_apply(sched, ctx);
  sched.last_tick = now;
  let resched_delay = tick_ctx_update_resched_target(sched, ctx);
  if (ctx.immediate_tick) resched_delay = 0;
  if (resched_delay !== U64_MAX) sched_queue_tick(sched, resched_delay);
  if (k.trace.enabled) {
    k.tp('panthor_tick', { resident: ctx.group_count, idle: ctx.idle_group_count, next: resched_delay === U64_MAX ? -1 : resched_delay });
  }
  tick_ctx_cleanup(sched, ctx);
  mutex_unlock(sched.lock);
}

/**
 * group_schedule_locked(): a queue of `group` got work while the group has no slot: move it to
 * the runnable list and get a tick (now for RT, when idle groups may be evicted or slots are
 * free; else at the next tick period).
 */
function group_schedule_locked(group: panthor_group, queue_mask: number): void {
  const ptdev = group.ptdev;
  const sched = ptdev.scheduler;
  const k = ptdev.kernel;
  if (!group_can_run(group)) return;
  if ((queue_mask & group.blocked_queues) === queue_mask) return;
  const was_idle = group_is_idle(group);
  group.idle_queues &= ~queue_mask;
  if (sched.reset.in_progress) return;
  if (was_idle && !group_is_idle(group)) list_move_tail(group, sched.groups.runnable[group.priority]);
  if (group.priority === PANTHOR_CSG_PRIORITY_RT) { sched_queue_tick(sched, 0); return; }
  if (sched.might_have_idle_groups) { sched_queue_tick(sched, 0); return; }
  if (sched.resched_target !== U64_MAX) {
    if (sched.used_csg_slot_count < sched.csg_slot_count) sched_queue_tick(sched, 0);
    return;
  }
  const now = k.jiffies_now;
  let delay_jiffies = 0;
  sched.resched_target = sched.last_tick + sched.tick_period;
  if (sched.used_csg_slot_count === sched.csg_slot_count && now < sched.resched_target) delay_jiffies = sched.resched_target - now;
  sched_queue_tick(sched, delay_jiffies);
}

/* ------------------------------------------------------------------------------------------ */
/* run_job and timeout: the parts shared by both bindings                                       */

const panthor_queue_fence_ops: dma_fence_ops = {
  get_driver_name: () => 'panthor',
  get_timeline_name: () => 'queue-fence',
};

/**
 * The body of queue_run_job() (panthor_sched.c). Runs in the scheduler's submit worker, inside
 * its dma-fence signalling section. An empty stream borrows the queue's last fence. Otherwise,
 * under sched->lock: a group that cannot run gets -ECANCELED; else the done fence is
 * initialised, the job goes on the ring and the in-flight list, and either the doorbell rings
 * and the queue timeout runs (resident group), or the group is scheduled (its queue timeout
 * starts when it gets a slot).
 * Returns the done fence (a new reference), null, or a negative errno.
 */
export function queue_run_job(job: PanthorJob): dma_fence | null | number {
  const group = job.group!;
  const queue = group.queues[job.queue_idx];
  const ptdev = group.ptdev;
  const sched = ptdev.scheduler;
  const k = ptdev.kernel;
  k.lifetime.use(group.alloc!.id, 'queue_run_job');
  if (job.call_size === 0) {
    job.done_fence = dma_fence_get(queue.fence_ctx.last_fence);
    return dma_fence_get(job.done_fence);
  }
  k.spend(ptdev.costs.run_job_ns);
  mutex_lock(sched.lock);
  if (!group_can_run(group)) {
    mutex_unlock(sched.lock);
    return -ECANCELED;
  }
  const fence = job.done_fence!;
  kfree(k, job.done_alloc); // the memory becomes the initialised fence (lifetime follows it)
  job.done_alloc = null;
  dma_fence_init(fence, panthor_queue_fence_ops, queue.fence_ctx.lock, queue.fence_ctx.id, ++queue.fence_ctx.seqno);
  panthor_fw_cs_ring_write(queue.cs, job.hw, job.credits);
  ptdev.binding.job_get(job);
  spin_lock(queue.fence_ctx.lock);
  queue.fence_ctx.in_flight_jobs.push(job);
  job.in_flight = true;
  spin_unlock(queue.fence_ctx.lock);
  if (group.csg_id < 0) {
    group_schedule_locked(group, 1 << job.queue_idx);
  } else {
    panthor_fw_ring_doorbell(ptdev.gpu, group.csg_id);
    queue_resume_timeout(queue);
  }
  dma_fence_put(queue.fence_ctx.last_fence);
  queue.fence_ctx.last_fence = dma_fence_get(fence);
  const done = dma_fence_get(fence);
  mutex_unlock(sched.lock);
  return done;
}

/** queue_stop(): disable the queue timeout work (waiting for it), then stop the job scheduler. */
export function* queue_stop(queue: panthor_queue, bad_job: PanthorJob | null): Sleepable {
  yield* disable_delayed_work_sync(queue.timeout.work);
  yield* queue.group.ptdev.binding.queue_stop(queue, bad_job);
}

/**
 * queue_start(): enable the timeout work again (it stays unarmed until the next resume or
 * completion), restart the job scheduler. Upstream enables it between the parent re-attach
 * and drm_sched_start(); the two steps do not interact.
 */
export function queue_start(queue: panthor_queue): void {
  enable_delayed_work(queue.timeout.work);
  queue.group.ptdev.binding.queue_start(queue);
}

/**
 * queue_timedout_job() as both bindings run it from their timeout handler: stop the queue,
 * mark the group timed out (a resident group is terminated by an immediate tick, another one
 * goes straight to its term work), restart the queue. A job timeout never resets the GPU. The
 * 6.19 patch also set scheduler.timeout = MAX_SCHEDULE_TIMEOUT here, a no-op (it already is).
 */
export function* panthor_queue_timedout(job: PanthorJob): Sleepable {
  const group = job.group!;
  const queue = group.queues[job.queue_idx];
  const ptdev = group.ptdev;
  const sched = ptdev.scheduler;
  ptdev.kernel.tp('panthor_job_timeout', { group: group.name, queue: job.queue_idx, seqno: job.done_fence?.seqno ?? -1, resident: group.csg_id >= 0 });
  ptdev.kernel.WARN_ON(sched.reset.in_progress, 'queue_timedout_job', 'timeout during a reset');
  yield* queue_stop(queue, job);
  mutex_lock(sched.lock);
  group.timedout = true;
  if (group.csg_id >= 0) {
    sched_queue_tick(sched, 0);
  } else {
    list_del_init(group);
    wait_del_init(sched, group);
    group_queue_work(group, group.term_work);
  }
  mutex_unlock(sched.lock);
  queue_start(queue);
}

/**
 * job_release() minus the scheduler cleanup: the done fence (put if initialised, freed if not),
 * the group reference, the job memory.
 */
export function panthor_job_release(job: PanthorJob): void {
  const k = job.kernel;
  k.WARN_ON(job.in_flight, 'job_release', 'job released while in flight');
  if (job.done_fence !== null && job.done_alloc === null) dma_fence_put(job.done_fence);
  kfree(k, job.done_alloc);
  job.done_alloc = null;
  job.done_fence = null;
  if (job.group !== null) group_put(job.group);
  job.group = null;
  kfree(k, job.alloc);
  job.alloc = null;
}

/* ------------------------------------------------------------------------------------------ */
/* Group create / destroy (GROUP_CREATE, GROUP_DESTROY)                                         */

/** group_create_queue(): the ring, the fence context, the CS interface, the scheduler. */
function group_create_queue(group: panthor_group, idx: number, ringbuf_size: number): panthor_queue | number {
  const ptdev = group.ptdev;
  const k = ptdev.kernel;
  if (ringbuf_size < 4096 || ringbuf_size > 65536 || (ringbuf_size & (ringbuf_size - 1)) !== 0) return -EINVAL;
  const queue = new panthor_queue(group, idx, ringbuf_size);
  queue.alloc = kmalloc(k, 256, GFP_KERNEL, 'panthor_queue');
  queue.fence_ctx = {
    lock: spin_lock_init(k, '&queue->fence_ctx.lock'), id: k.dma_fence_context_alloc(1), seqno: 0,
    last_fence: null, in_flight_jobs: [],
  };
  queue.ringbuf = kmalloc(k, ringbuf_size, GFP_KERNEL, 'panthor_kernel_bo');
  queue.cs = panthor_fw_cs_create(ptdev.gpu, `${group.name}/q${idx}`, ringbuf_size);
  const ret = ptdev.binding.queue_init(queue, ringbuf_size / 8);
  if (ret !== 0) {
    panthor_fw_cs_destroy(queue.cs);
    kfree(k, queue.ringbuf);
    kfree(k, queue.alloc);
    return ret;
  }
  return queue;
}

/**
 * panthor_group_create(): a group of `queue_count` queues on `vm`, added to the idle list of its
 * priority. Returns the group, or a negative errno. Process context.
 */
export function panthor_group_create(ptdev: panthor_device, name: string, vm: panthor_vm, priority: number,
  queue_count: number, ringbuf_size: number): panthor_group | number {
  const k = ptdev.kernel;
  const sched = ptdev.scheduler;
  if (ptdev.unplugged) return -ENODEV;
  if (priority < 0 || priority >= PANTHOR_CSG_PRIORITY_COUNT || queue_count < 1 || queue_count > 32) return -EINVAL;
  const group = new panthor_group(ptdev, name, vm, priority);
  group.alloc = kmalloc(k, 512, GFP_KERNEL, 'panthor_group');
  panthor_vm_get(vm);
  group.suspend_buf = kmalloc(k, 16384, GFP_KERNEL, 'panthor_kernel_bo');
  group.syncobjs = kmalloc(k, queue_count * 16, GFP_KERNEL, 'panthor_kernel_bo');
  for (let i = 0; i < queue_count; i++) {
    const queue = group_create_queue(group, i, ringbuf_size);
    if (typeof queue === 'number') {
      // err_put_group: the release work frees what exists.
      k.WARN_ON(true, 'panthor_group_create', `queue ${i} creation failed (${queue})`);
      group_put(group);
      return queue;
    }
    group.queues.push(queue);
    group.queue_count++;
  }
  group.idle_queues = all_queues_mask(group);
  if (sched.reset.in_progress) {
    // Model deviation: reset.lock is not taken (see the file comment).
    group_get(group);
    list_move_tail(group, sched.reset.stopped_groups);
  } else {
    mutex_lock(sched.lock);
    list_move_tail(group, sched.groups.idle[group.priority]);
    mutex_unlock(sched.lock);
  }
  k.tp('panthor_group_create', { group: name, priority, queues: queue_count });
  return group;
}

/**
 * panthor_group_destroy(): mark destroyed; a resident group is terminated by an immediate tick,
 * another one goes to its term work at once (unless a reset holds it). Drops the creation
 * reference; the group is released once every job is gone. Returns at once.
 */
export function* panthor_group_destroy(group: panthor_group): Sleepable {
  const sched = group.ptdev.scheduler;
  yield* mutex_lock_sleepable(sched.reset.lock);
  mutex_lock(sched.lock);
  group.destroyed = true;
  if (group.csg_id >= 0) {
    sched_queue_tick(sched, 0);
  } else if (!sched.reset.in_progress) {
    list_del_init(group);
    wait_del_init(sched, group);
    group_queue_work(group, group.term_work);
  }
  mutex_unlock(sched.lock);
  mutex_unlock(sched.reset.lock);
  group_put(group);
}

/* ------------------------------------------------------------------------------------------ */
/* VMs and VM_BIND                                                                              */

/** panthor_vm_create(): one VM with its bind queue. */
export function panthor_vm_create(ptdev: panthor_device, name: string): panthor_vm | number {
  const k = ptdev.kernel;
  if (ptdev.unplugged) return -ENODEV;
  const vm = new panthor_vm(ptdev, name);
  vm.alloc = kmalloc(k, 1024, GFP_KERNEL, 'panthor_vm');
  const ret = ptdev.binding.vm_init(vm);
  if (ret !== 0) {
    kfree(k, vm.alloc);
    return ret;
  }
  ptdev.vms.add(vm);
  return vm;
}

export function panthor_vm_get(vm: panthor_vm): panthor_vm {
  kref_get(vm.refcount);
  return vm;
}

/**
 * panthor_vm_put(): the last reference runs panthor_vm_free(), which tears the bind queue down
 * (sleeps). Called from process context and cleanup works only.
 */
export function* panthor_vm_put(vm: panthor_vm): Sleepable {
  if (!kref_put(vm.refcount, () => {})) return;
  const ptdev = vm.ptdev;
  ptdev.vms.delete(vm);
  yield* ptdev.binding.vm_fini(vm);
}

/**
 * panthor_vm_bind_run_job(): the map/unmap runs synchronously under vm->op_lock (the page-table
 * walk costs the op's time on this CPU). Returns null: the job is complete at once.
 */
export function panthor_vm_bind_run_job(job: PanthorVmBindJob): null | number {
  const vm = job.vm!;
  const k = job.kernel;
  mutex_lock(vm.op_lock);
  k.spend(job.op_ns);
  mutex_unlock(vm.op_lock);
  return null;
}

/** panthor_vm_cleanup_op_ctx(): the op context of a finished bind job (cleanup wq). */
export function panthor_vm_cleanup_op_ctx(job: PanthorVmBindJob): void {
  kfree(job.kernel, job.op_ctx);
  job.op_ctx = null;
}

/** The driver half of panthor_vm_bind_job_release(): the VM reference and the job memory. */
export function* panthor_vm_bind_job_release(job: PanthorVmBindJob): Sleepable {
  const vm = job.vm;
  job.vm = null;
  if (vm !== null) yield* panthor_vm_put(vm);
  kfree(job.kernel, job.alloc);
  job.alloc = null;
}

/* ------------------------------------------------------------------------------------------ */
/* Reset (panthor_device_reset_work + panthor_sched_pre/post_reset)                             */

/**
 * panthor_sched_suspend(): SUSPEND every resident group (TERMINATE the dead ones), unbind them,
 * put the live ones on the idle lists and queue term work for the others.
 */
function panthor_sched_suspend(ptdev: panthor_device): void {
  const sched = ptdev.scheduler;
  mutex_lock(sched.lock);
  const upd = new csgs_upd_ctx(sched.csg_slot_count);
  for (let i = 0; i < sched.csg_slot_count; i++) {
    const group = sched.csg_slots[i].group;
    if (group === null) continue;
    upd.state[i] = group_can_run(group) ? CSG_STATE_SUSPEND : CSG_STATE_TERMINATE;
    upd.update_mask |= 1 << i;
  }
  csgs_upd_ctx_apply_locked(ptdev, upd);
  for (let i = 0; i < sched.csg_slot_count; i++) {
    if ((upd.update_mask & (1 << i)) !== 0) csg_slot_sync_update_locked(ptdev, i);
  }
  for (let i = 0; i < sched.csg_slot_count; i++) {
    const group = sched.csg_slots[i].group;
    if (group === null) continue;
    group_get(group);
    sched_process_csg_irq_locked(ptdev, group.csg_id);
    group_unbind_locked(group);
    if (group_can_run(group)) {
      list_move(group, sched.groups.idle[group.priority]);
    } else {
      wait_del_init(sched, group);
      group_queue_work(group, group.term_work);
    }
    group_put(group);
  }
  sched.used_csg_slot_count = 0;
  mutex_unlock(sched.lock);
}

/** panthor_group_stop(): stop every queue's job scheduler, park the group on stopped_groups. */
function* panthor_group_stop(group: panthor_group): Sleepable {
  const ptdev = group.ptdev;
  lockdep_assert_held(ptdev.scheduler.reset.lock, 'panthor_group_stop');
  for (const queue of group.queues) yield* queue_stop(queue, null);
  group_get(group);
  list_move_tail(group, ptdev.scheduler.reset.stopped_groups);
}

/** panthor_group_start(): restart the queues (no resubmission), back to the lists or to term. */
function panthor_group_start(group: panthor_group): void {
  const ptdev = group.ptdev;
  const sched = ptdev.scheduler;
  lockdep_assert_held(sched.reset.lock, 'panthor_group_start');
  for (const queue of group.queues) queue_start(queue);
  if (group_can_run(group)) {
    list_move_tail(group, group_is_idle(group) ? sched.groups.idle[group.priority] : sched.groups.runnable[group.priority]);
  } else {
    list_del_init(group);
    wait_del_init(sched, group);
    group_queue_work(group, group.term_work);
  }
  group_put(group);
}

function* panthor_sched_pre_reset(ptdev: panthor_device): Sleepable {
  const sched = ptdev.scheduler;
  yield* mutex_lock_sleepable(sched.reset.lock);
  sched.reset.in_progress = true;
  yield* cancel_work_sync(sched.sync_upd_work);
  yield* cancel_delayed_work_sync(sched.tick_work);
  panthor_sched_suspend(ptdev);
  // Groups waiting for a CSG slot are still runnable here: the @f39b6c46 snapshot WARNs on
  // them, "drm/panthor: Relax a check in panthor_sched_pre_reset()" (2025-11, in 7.0) dropped it.
  for (let i = 0; i < PANTHOR_CSG_PRIORITY_COUNT; i++) {
    for (const group of sched.groups.runnable[i].slice()) yield* panthor_group_stop(group);
  }
  for (let i = 0; i < PANTHOR_CSG_PRIORITY_COUNT; i++) {
    for (const group of sched.groups.idle[i].slice()) yield* panthor_group_stop(group);
  }
  mutex_unlock(sched.reset.lock);
}

function* panthor_sched_post_reset(ptdev: panthor_device, reset_failed: boolean): Sleepable {
  const sched = ptdev.scheduler;
  yield* mutex_lock_sleepable(sched.reset.lock);
  for (const group of sched.reset.stopped_groups.slice()) {
    if (reset_failed) group.state = PANTHOR_CS_GROUP_TERMINATED;
    panthor_group_start(group);
  }
  sched.reset.in_progress = false;
  mutex_unlock(sched.reset.lock);
  if (!reset_failed) {
    sched_queue_tick(sched, 0);
    sched_queue_work(sched, sched.sync_upd_work);
  }
}

/**
 * panthor_device_reset_work() on panthor-reset-wq: stop everything, soft-reset the GPU (the MCU
 * reboots), start everything again. No job is resubmitted: the rings survive in memory and the
 * groups resume from their suspend buffers.
 */
function* panthor_device_reset_work(work: work_struct): Sleepable {
  const ptdev = work.owner as panthor_device;
  const k = ptdev.kernel;
  if (ptdev.unplugged) return;
  k.tp('panthor_reset', { phase: 'start' });
  yield* panthor_sched_pre_reset(ptdev);
  for (const vm of [...ptdev.vms]) yield* ptdev.binding.vm_stop(vm);
  yield* fsleep(k, Math.max(1, Math.round(ptdev.costs.gpu_reset_ns / 1000)));
  panthor_fw_reset(ptdev.gpu);
  for (const vm of [...ptdev.vms]) ptdev.binding.vm_start(vm);
  ptdev.reset.pending = false;
  ptdev.resets++;
  yield* panthor_sched_post_reset(ptdev, false);
  k.tp('panthor_reset', { phase: 'done' });
}

/* ------------------------------------------------------------------------------------------ */
/* Unplug                                                                                       */

/**
 * panthor_device_unplug(): drm_dev_unplug (ioctls, the tick and the reset work are fenced off),
 * panthor_sched_unplug (v7.0: disable the tick, the FW-event work and the sync-update work, so
 * FW events raised before the unplug are never processed), stop the MCU. Groups still resident
 * keep their slot in the driver's bookkeeping and nothing will ever terminate them.
 * Deviation: drm_dev_unplug does not wait for drm_dev_enter sections (a reset work running).
 */
export function* panthor_device_unplug(ptdev: panthor_device): Sleepable {
  if (ptdev.unplugged) return;
  ptdev.unplugged = true;
  const sched = ptdev.scheduler;
  yield* disable_delayed_work_sync(sched.tick_work);
  yield* disable_work_sync(sched.fw_events_work);
  yield* disable_work_sync(sched.sync_upd_work);
  panthor_fw_halt(ptdev.gpu);
  ptdev.kernel.tp('panthor_unplug', { resident: ptdev.scheduler.csg_slots.filter((s) => s.group !== null).length });
}
