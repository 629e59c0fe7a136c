/**
 * The xe driver's user-facing half, written once for both bindings: the ioctls (exec queue
 * create/destroy/set-property, exec, VM bind; xe_exec_queue.c, xe_exec.c, xe_vm.c), file close
 * and device removal (xe_device.c), preempt fences and the VM rebind worker of long-running
 * VMs (xe_preempt_fence.c, xe_vm.c), and the harness Device over them. Everything below the
 * XeBinding interface (xe_device.ts) is the binding's: drm_sched (on-sched.ts) or drm_dep
 * (on-dep.ts), over the GuC submission code both share (xe_guc_submit.ts).
 */
import {
  ECANCELED, EINVAL, ENODEV, ENOENT, GFP_KERNEL, INIT_WORK, dma_fence, dma_fence_array_create, dma_fence_begin_signalling,
  dma_fence_enable_sw_signaling, dma_fence_end_signalling, dma_fence_free, dma_fence_get, dma_fence_init, dma_fence_put,
  dma_fence_set_error, dma_fence_signal, dma_fence_wait, dma_resv_add_fence, dma_resv_lock, dma_resv_unlock, drain_workqueue,
  kfree, kmalloc, queue_work, spin_lock_init, DMA_RESV_USAGE_BOOKKEEP,
  type Allocation, type Kernel, type Sleepable, type dma_fence_ops, type work_struct,
} from '@deplab/sim';
import {
  OutFenceRefs,
  type Backend, type ClientHandle, type Device, type DeviceFactory, type DeviceOptions, type EngineClass, type Fault, type JobHandle, type JobSpec, type Priority,
  type QueueHandle, type QueueOptions, type QueueState,
} from '@deplab/driver-api';
import type { DriverOptionSchema } from '@deplab/driver-api';
import {
  XE_ENGINE_CLASS_COMPUTE, XE_ENGINE_CLASS_COPY, XE_ENGINE_CLASS_RENDER, XE_ENGINE_CLASS_VIDEO_DECODE,
  XE_ENGINE_CLASS_VIDEO_ENHANCE, xe_hw_complete_manual, xe_hw_context_reset, xe_hw_hang_job, xe_hw_job,
} from './hw.ts';
import {
  EXEC_QUEUE_FLAG_KERNEL, EXEC_QUEUE_FLAG_VM, XE_EXEC_QUEUE_PRIORITY_HIGH, XE_EXEC_QUEUE_PRIORITY_LOW,
  XE_EXEC_QUEUE_PRIORITY_NORMAL, XE_JOB_TIMEOUT_DEFAULT_MS, XE_JOB_TIMEOUT_MAX_MS, XE_JOB_TIMEOUT_MIN_MS,
  XE_PREEMPT_TIMEOUT_DEFAULT_US, XE_TIMESLICE_DEFAULT_US, xe_device, xe_vm, xe_vm_put,
  type XeBinding, type XeExecQueue,
} from './xe_device.ts';
import { xe_sched_binding } from './on-sched.ts';
import { xe_dep_binding } from './on-dep.ts';

/** Default CPU cost of the exec / VM-bind ioctl before the job is pushed (README). */
export const XE_EXEC_IOCTL_NS = 3_000;
/** Default CPU cost of the VM rebind worker after a preemption (README). */
export const XE_REBIND_NS = 50_000;
const EOPNOTSUPP = 95;

const ENGINE_CLASS: Readonly<Record<EngineClass, number>> = {
  render: XE_ENGINE_CLASS_RENDER, copy: XE_ENGINE_CLASS_COPY, video: XE_ENGINE_CLASS_VIDEO_DECODE,
  video_enhance: XE_ENGINE_CLASS_VIDEO_ENHANCE, compute: XE_ENGINE_CLASS_COMPUTE, bind: XE_ENGINE_CLASS_COPY,
};

/** xe has LOW/NORMAL/HIGH for users (HIGH needs CAP_SYS_NICE, granted here); no realtime. */
const PRIORITY: Readonly<Record<Priority, number>> = {
  low: XE_EXEC_QUEUE_PRIORITY_LOW, normal: XE_EXEC_QUEUE_PRIORITY_NORMAL, high: XE_EXEC_QUEUE_PRIORITY_HIGH,
  realtime: XE_EXEC_QUEUE_PRIORITY_HIGH,
};

/* ------------------------------------------------------------------------------------------ */
/* Preempt fences (xe_preempt_fence.c) and the rebind worker (xe_vm.c)                          */

/** struct xe_preempt_fence: signalled once its LR queue is suspended (off the hardware). */
export class xe_preempt_fence {
  readonly base: dma_fence;
  readonly q: XeExecQueue;
  readonly binding: XeBinding;
  readonly alloc: Allocation;
  error = 0;
  readonly preempt_work: work_struct;

  constructor(k: Kernel, q: XeExecQueue, binding: XeBinding, alloc: Allocation) {
    this.base = new dma_fence(k, 'xe_preempt_fence');
    this.base.owner = this;
    this.q = q;
    this.binding = binding;
    this.alloc = alloc;
    this.preempt_work = INIT_WORK(k, preempt_fence_work_func, 'preempt_work', this);
  }
}

/**
 * preempt_fence_work_func (xe->preempt_fence_wq): wait for the suspend, signal (with an error
 * if the queue was reset or the suspend failed), queue the VM rebind worker, drop the queue
 * reference. Kept inside a fence signalling section, as upstream.
 */
function* preempt_fence_work_func(work: work_struct): Sleepable {
  const pfence = work.owner as xe_preempt_fence;
  const q = pfence.q;
  const k = q.xe.kernel;
  const cookie = dma_fence_begin_signalling(k);
  if (pfence.error !== 0) {
    dma_fence_set_error(pfence.base, pfence.error);
  } else if (!q.ops.reset_status(q)) {
    const err = yield* q.ops.suspend_wait(q);
    if (err !== 0) dma_fence_set_error(pfence.base, err);
  } else {
    dma_fence_set_error(pfence.base, -ENOENT);
  }
  dma_fence_signal(pfence.base);
  xe_vm_queue_rebind_worker(q);
  pfence.binding.xe_exec_queue_put(q);
  dma_fence_end_signalling(k, cookie);
}

/** preempt_fence_enable_signaling: someone waits (eviction): suspend the queue. Fence lock held. */
function preempt_fence_enable_signaling(f: dma_fence): boolean {
  const pfence = f.owner as xe_preempt_fence;
  const q = pfence.q;
  pfence.error = q.ops.suspend(q);
  queue_work(q.xe.preempt_fence_wq, pfence.preempt_work);
  return true;
}

const preempt_fence_ops: dma_fence_ops = {
  get_driver_name: () => 'xe',
  get_timeline_name: () => 'preempt',
  enable_signaling: preempt_fence_enable_signaling,
  release(f: dma_fence): void {
    dma_fence_free(f);
    kfree(f.kernel, (f.owner as xe_preempt_fence).alloc);
  },
};

/**
 * xe_preempt_fence_create + arm, then installed in the VM's reservation object (which keeps a
 * reference until a later fence of the queue replaces it). Holds a queue reference.
 */
function xe_preempt_fence_create(binding: XeBinding, q: XeExecQueue): xe_preempt_fence | null {
  const k = q.xe.kernel;
  const alloc = kmalloc(k, 128, GFP_KERNEL, 'xe_preempt_fence');
  if (alloc === null) return null;
  const pfence = new xe_preempt_fence(k, q, binding, alloc);
  binding.xe_exec_queue_get(q);
  dma_fence_init(pfence.base, preempt_fence_ops, spin_lock_init(k, '&pfence->lock'), q.lr.context, ++q.lr.seqno);
  dma_resv_lock(q.vm.resv);
  dma_resv_add_fence(q.vm.resv, pfence.base, DMA_RESV_USAGE_BOOKKEEP);
  dma_resv_unlock(q.vm.resv);
  return pfence;
}

/** Per VM: its LR queues and the rebind work (vm->preempt). */
class xe_vm_preempt {
  readonly exec_queues: XeExecQueue[] = [];
  readonly rebind_work: work_struct;
  readonly binding: XeBinding;

  constructor(k: Kernel, vm: xe_vm, binding: XeBinding) {
    this.binding = binding;
    this.rebind_work = INIT_WORK(k, preempt_rebind_work_func, 'vm->preempt.rebind_work', vm);
  }
}

const vm_preempt = new WeakMap<xe_vm, xe_vm_preempt>();

function xe_vm_queue_rebind_worker(q: XeExecQueue): void {
  const p = vm_preempt.get(q.vm);
  if (p !== undefined) queue_work(q.xe.ordered_wq, p.rebind_work);
}

/**
 * preempt_rebind_work_func (xe->ordered_wq), reduced: revalidate and rebind (a cost), install
 * a new preempt fence for every queue whose fence signalled, and resume it.
 */
function preempt_rebind_work_func(work: work_struct): void {
  const vm = work.owner as xe_vm;
  const p = vm_preempt.get(vm)!;
  const k = vm.kernel;
  k.spend(k.cost_of('xe.rebind_ns', XE_REBIND_NS));
  for (const q of p.exec_queues) {
    const old = q.lr.pfence;
    if (old === null || !old.signaled || q.ops.reset_status(q)) continue;
    const pfence = xe_preempt_fence_create(p.binding, q);
    if (pfence === null) continue;
    q.lr.pfence = pfence.base;
    dma_fence_put(old);
    q.ops.resume(q);
  }
}

/** xe_vm_add_compute_exec_queue: an LR queue gets its first preempt fence. */
function xe_vm_add_compute_exec_queue(binding: XeBinding, vm: xe_vm, q: XeExecQueue): void {
  let p = vm_preempt.get(vm);
  if (p === undefined) {
    p = new xe_vm_preempt(vm.kernel, vm, binding);
    vm_preempt.set(vm, p);
  }
  const pfence = xe_preempt_fence_create(binding, q);
  if (pfence === null) return;
  q.lr.pfence = pfence.base;
  p.exec_queues.push(q);
}

/** xe_vm_remove_compute_exec_queue (kill): trigger and drop the queue's preempt fence. */
function xe_vm_remove_compute_exec_queue(vm: xe_vm, q: XeExecQueue): void {
  const p = vm_preempt.get(vm);
  if (p === undefined) return;
  const i = p.exec_queues.indexOf(q);
  if (i < 0) return;
  p.exec_queues.splice(i, 1);
  const pfence = q.lr.pfence;
  q.lr.pfence = null;
  if (pfence !== null) {
    dma_fence_enable_sw_signaling(pfence);
    dma_fence_put(pfence);
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Files, queues, jobs                                                                          */

interface XeJobHandle extends JobHandle {
  readonly hw: xe_hw_job;
}

interface XeQueueHandle extends QueueHandle {
  /** Null once destroyed: its jobs are then out of reach of faults and manual completion. */
  q: XeExecQueue | null;
  readonly out_fences: OutFenceRefs<XeJobHandle>;
}

/** struct xe_file: the DRM file of one client. */
interface xe_file extends ClientHandle {
  readonly vm: xe_vm;
  lr_vm: xe_vm | null;
  readonly queues: XeQueueHandle[];
  closed: boolean;
}

/** Device options (options.driver), README "Device options". */
function option_number(o: Readonly<Record<string, number | string | boolean>> | undefined, key: string, fallback: number): number {
  const v = o?.[key];
  return typeof v === 'number' ? v : fallback;
}

function option_bool(o: Readonly<Record<string, number | string | boolean>> | undefined, key: string, fallback: boolean): boolean {
  const v = o?.[key];
  return typeof v === 'boolean' ? v : fallback;
}

/**
 * The xe device as the harness sees it. One GT; queues on the five engine classes and VM-bind
 * queues ('bind'). See README for the option keys and what each operation maps to.
 */
export class XeDevice implements Device {
  readonly kernel: Kernel;
  readonly driver = 'xe';
  readonly backend: Backend;
  readonly engines: readonly EngineClass[] = ['render', 'copy', 'video', 'video_enhance', 'compute', 'bind'];
  readonly reports_hw_start = true;
  readonly binding: XeBinding;
  readonly xe: xe_device;
  private readonly files: xe_file[] = [];
  private readonly job_timeout_ms: number;
  private readonly min_run_period_ms: number;
  private readonly hang_survives_reset: boolean;
  private next_job = 0;
  private next_queue = 0;
  unplugged = false;

  constructor(kernel: Kernel, binding: XeBinding, options: DeviceOptions = {}) {
    const o = options.driver;
    this.kernel = kernel;
    this.binding = binding;
    this.backend = binding.name === 'drm_sched' ? 'sched' : 'dep';
    this.job_timeout_ms = option_number(o, 'job_timeout_ms', XE_JOB_TIMEOUT_DEFAULT_MS);
    this.min_run_period_ms = option_number(o, 'min_run_period_ms', 10);
    this.hang_survives_reset = option_bool(o, 'hang_survives_reset', false);
    this.xe = new xe_device(kernel, { wq_reclaim_flags: binding.wq_reclaim_flags, hang_survives_reset: this.hang_survives_reset });
    this.xe.hw.log_enabled = option_bool(o, 'fw_log', false);
    binding.xe_guc_submit_init(this.xe, o ?? {});
  }

  open_client(name: string): ClientHandle {
    const file: xe_file = {
      id: this.files.length, name, vm: new xe_vm(this.xe, false, `${name}/vm`), lr_vm: null, queues: [], closed: false,
    };
    this.files.push(file);
    return file;
  }

  /**
   * DRM_IOCTL_XE_EXEC_QUEUE_CREATE (one engine class, width 1), or a VM-bind queue for 'bind'.
   * options.driver: kernel (EXEC_QUEUE_FLAG_KERNEL, for tests of the kernel-queue timeout),
   * job_timeout_ms (1..10000).
   */
  create_queue(client: ClientHandle, options: QueueOptions): QueueHandle | number {
    const file = client as xe_file;
    if (this.unplugged) return -ENODEV;
    if (file.closed) return -ENOENT;
    const timeout_ms = option_number(options.driver, 'job_timeout_ms', this.job_timeout_ms);
    if (timeout_ms < XE_JOB_TIMEOUT_MIN_MS || timeout_ms > XE_JOB_TIMEOUT_MAX_MS) return -EINVAL;
    let flags = options.engine === 'bind' ? EXEC_QUEUE_FLAG_VM : 0;
    if (option_bool(options.driver, 'kernel', false)) flags |= EXEC_QUEUE_FLAG_KERNEL;
    let vm = file.vm;
    if (options.long_running === true) {
      file.lr_vm ??= new xe_vm(this.xe, true, `${file.name}/lr_vm`);
      vm = file.lr_vm;
    }
    vm.min_run_period_ms = this.min_run_period_ms;
    const props = {
      priority: PRIORITY[options.priority], timeslice_us: XE_TIMESLICE_DEFAULT_US,
      preempt_timeout_us: XE_PREEMPT_TIMEOUT_DEFAULT_US, job_timeout_ms: timeout_ms,
    };
    const q = this.binding.xe_exec_queue_create(this.xe, vm, ENGINE_CLASS[options.engine], flags, props, file.id);
    if (typeof q === 'number') return q;
    if (vm.lr_mode && (flags & EXEC_QUEUE_FLAG_VM) === 0) xe_vm_add_compute_exec_queue(this.binding, vm, q);
    const handle: XeQueueHandle = {
      id: this.next_queue++, name: `${file.name}/${q.name}`, client, engine: options.engine, q, out_fences: new OutFenceRefs(),
    };
    file.queues.push(handle);
    return handle;
  }

  /** DRM_IOCTL_XE_EXEC (or DRM_IOCTL_XE_VM_BIND on a bind queue). Never blocks: credits queue in the scheduler. */
  *submit(queue: QueueHandle, spec: JobSpec): Sleepable<JobHandle | number> {
    const h = queue as XeQueueHandle;
    const q = h.q;
    if (this.unplugged) return -ENODEV;
    if (q === null) return -ENOENT;
    if (q.ops.reset_status(q)) return -ECANCELED;
    const k = this.kernel;
    k.spend(k.cost_of('xe.exec_ioctl_ns', XE_EXEC_IOCTL_NS));
    const hw = new xe_hw_job(spec.duration_ns, spec.hang === true);
    hw.hang_survives_reset = this.hang_survives_reset;
    const r = (q.flags & EXEC_QUEUE_FLAG_VM) !== 0 ? this.vm_bind(q, hw, spec) : this.exec(q, hw, spec);
    if (typeof r === 'number') return r;
    const handle: XeJobHandle = { id: this.next_job++, queue, out_fence: r.out, fence_context: r.key.context, fence_seqno: r.key.seqno, hw };
    h.out_fences.add(handle);
    return handle;
  }

  /** xe_exec_ioctl: create, add the in-fences, arm, push. */
  private exec(q: XeExecQueue, hw: xe_hw_job, spec: JobSpec): { out: dma_fence; key: dma_fence } | number {
    const b = this.binding;
    const job = b.xe_sched_job_create(q, hw, q.client_id);
    if (typeof job === 'number') return job;
    for (const dep of spec.deps) {
      const err = b.xe_sched_job_add_dependency(job, dma_fence_get(dep));
      if (err !== 0) {
        b.xe_sched_job_abort(job);
        return err;
      }
    }
    const out = b.xe_sched_job_arm(job);
    this.xe.hw_start?.armed(hw, out);
    b.xe_sched_job_push(job);
    return { out, key: out };
  }

  /**
   * xe_vm_bind_ioctl, reduced to one page-table update: a bind job on the bind queue (its
   * duration is the copy-engine work) and a TLB-invalidation job on the queue's dependency
   * scheduler that waits for it. The out-fence is the composite of both (dma_fence_array on
   * the VM's composite context); the job key is the bind job's finished fence.
   */
  private vm_bind(q: XeExecQueue, hw: xe_hw_job, spec: JobSpec): { out: dma_fence; key: dma_fence } | number {
    const b = this.binding;
    const client_id = q.client_id;
    const ijob = b.xe_tlb_inval_job_create(q, client_id);
    if (typeof ijob === 'number') return ijob;
    let err = b.xe_tlb_inval_job_alloc_dep(ijob);
    const job = err === 0 ? b.xe_sched_job_create(q, hw, client_id) : err;
    if (typeof job === 'number') {
      b.xe_tlb_inval_job_put(ijob);
      return job;
    }
    for (const dep of spec.deps) {
      err = b.xe_sched_job_add_dependency(job, dma_fence_get(dep));
      if (err !== 0) {
        b.xe_sched_job_abort(job);
        b.xe_tlb_inval_job_put(ijob);
        return err;
      }
    }
    const bind_fence = b.xe_sched_job_arm(job);
    this.xe.hw_start?.armed(hw, bind_fence);
    b.xe_sched_job_push(job);
    const ifence = b.xe_tlb_inval_job_push(ijob, bind_fence);
    b.xe_tlb_inval_job_put(ijob);
    const vm = q.vm;
    // The array takes over both references; the bind fence stays alive through it.
    const cf = dma_fence_array_create(this.kernel, [bind_fence, ifence], vm.composite_fence_ctx, ++vm.composite_fence_seqno, false);
    return { out: cf.base, key: bind_fence };
  }

  complete_manual(job: JobHandle): void {
    if ((job.queue as XeQueueHandle).q !== null) xe_hw_complete_manual(this.xe.hw, (job as XeJobHandle).hw);
  }

  /** DRM_XE_EXEC_QUEUE_SET_PROPERTY_PRIORITY: the SET_SCHED_PROPS message. */
  set_priority(queue: QueueHandle, priority: Priority): number {
    const q = (queue as XeQueueHandle).q;
    if (q === null) return -ENOENT;
    if ((q.flags & EXEC_QUEUE_FLAG_VM) !== 0) return -EOPNOTSUPP;
    return q.ops.set_priority(q, PRIORITY[priority]);
  }

  /** DRM_IOCTL_XE_EXEC_QUEUE_DESTROY: kill and put; returns at once (asynchronous destruction). */
  *destroy_queue(queue: QueueHandle): Sleepable<number> {
    const h = queue as XeQueueHandle;
    const q = h.q;
    if (q === null) return -ENOENT;
    h.q = null;
    this.xe_exec_queue_kill_and_put(q);
    h.out_fences.release_all();
    return 0;
  }

  /**
   * xe_exec_queue_kill (ops->kill, then the LR preempt fence) + the file's reference. A kernel
   * queue (test stand-in) is never killed upstream, only put: its jobs drain first.
   */
  private xe_exec_queue_kill_and_put(q: XeExecQueue): void {
    if ((q.flags & EXEC_QUEUE_FLAG_KERNEL) === 0) this.binding.xe_exec_queue_kill(q);
    xe_vm_remove_compute_exec_queue(q.vm, q);
    this.binding.xe_exec_queue_put(q);
  }

  /** xe_file_close: kill and put every queue, then the VMs. Returns at once. */
  *close_client(client: ClientHandle): Sleepable {
    const file = client as xe_file;
    if (file.closed) return;
    file.closed = true;
    for (const h of file.queues) if (h.q !== null) yield* this.destroy_queue(h);
    xe_vm_put(file.vm);
    if (file.lr_vm !== null) xe_vm_put(file.lr_vm);
  }

  inject_fault(fault: Fault): void {
    const hw = this.xe.hw;
    switch (fault.kind) {
      case 'hang_job': {
        if ((fault.job.queue as XeQueueHandle).q !== null) xe_hw_hang_job(hw, (fault.job as XeJobHandle).hw);
        return;
      }
      case 'engine_reset':
      case 'fw_error': {
        const q = (fault.queue as XeQueueHandle).q;
        if (q === null || !xe_hw_context_reset(hw, this.binding.guc_id(q), fault.kind === 'fw_error')) {
          this.kernel.tp('xe_fault_ignored', { kind: fault.kind, queue: fault.queue.name });
        }
        return;
      }
      case 'device_reset':
        this.binding.xe_gt_reset_async(this.xe.gt);
        return;
    }
  }

  /**
   * Device removal: the open files are closed (their queues killed and put), then
   * guc_submit_fini's barrier waits for every exec queue to be destroyed (drm_sched: up to
   * 5 s, then a WARN; drm_dep: drm_dep_device_wait_idle), and the device workqueues drain.
   */
  *unplug(): Sleepable {
    if (this.unplugged) return;
    this.unplugged = true;
    for (const file of this.files) if (!file.closed) yield* this.close_client(file);
    yield* this.binding.xe_guc_submit_fini(this.xe);
    const xe = this.xe;
    for (const wq of [xe.preempt_fence_wq, xe.ordered_wq, xe.gt.ordered_wq, xe.gt.guc.g2h_wq, xe.gt.tlb_inval.job_wq, xe.destroy_wq]) {
      yield* drain_workqueue(wq);
    }
  }

  queue_state(queue: QueueHandle): QueueState {
    const h = queue as XeQueueHandle;
    const q = h.q;
    return {
      alive: q !== null, banned: q !== null && q.ops.reset_status(q), jobs_in_flight: h.out_fences.unsignalled(),
      detail: q !== null ? this.binding.queue_detail(q) : {},
    };
  }

  /* Driver-specific operations the common Device interface has no verb for (README). */

  /**
   * What TTM eviction does to a long-running queue: wait on its preempt fence, which suspends
   * the queue (SUSPEND message, GuC disable); the VM rebind worker then resumes it with a new
   * preempt fence (RESUME message). Returns the preempt fence's error (0 when suspended).
   */
  *preempt(queue: QueueHandle): Sleepable<number> {
    const q = (queue as XeQueueHandle).q;
    if (q === null || q.lr.pfence === null) return -ENOENT;
    const pfence = dma_fence_get(q.lr.pfence);
    dma_fence_enable_sw_signaling(pfence);
    yield* dma_fence_wait(pfence, false);
    const err = pfence.error;
    dma_fence_put(pfence);
    return err;
  }

  /** The exec queue behind a handle (tests; null once destroyed). */
  exec_queue(queue: QueueHandle): XeExecQueue | null {
    return (queue as XeQueueHandle).q;
  }
}

/** The harness factory: the xe device on drm_sched ('sched') or drm_dep ('dep'). */
export const xe_device_factory: DeviceFactory = (kernel, backend, options) =>
  new XeDevice(kernel, backend === 'sched' ? xe_sched_binding : xe_dep_binding, options);

/** What the xe device accepts (README "Device options"), checked by the harness before a run. */
export const XE_OPTION_SCHEMA: DriverOptionSchema = {
  device: {
    job_timeout_ms: { type: 'int', min: XE_JOB_TIMEOUT_MIN_MS, max: XE_JOB_TIMEOUT_MAX_MS },
    min_run_period_ms: { type: 'int', min: 0, max: 10_000 },
    hang_survives_reset: { type: 'bool' },
    dep_irq_put: { type: 'bool' },
    dep_submit_bypass: { type: 'bool' },
    dep_flags: { type: 'int', min: 0, max: 3 },
    fw_log: { type: 'bool' },
  },
  // create_queue: EXEC_QUEUE_FLAG_KERNEL, and a job timeout create_queue refuses outside 1..10000 (-EINVAL).
  queue: { kernel: { type: 'bool' }, job_timeout_ms: { type: 'int', min: XE_JOB_TIMEOUT_MIN_MS, max: XE_JOB_TIMEOUT_MAX_MS } },
  engines: Object.keys(ENGINE_CLASS) as EngineClass[],
};
