/**
 * panthor bound to drm_dep, as the RFC conversion ("[RFC PATCH 12/12] drm/panthor: Convert to
 * DRM dep queue", compile-tested only, body not public) most likely does it. Every choice below
 * is an inference [I] from the diffstat, the drm_dep API and panthor's needs; README.md
 * "Assumptions" lists them with what would change otherwise.
 *
 * Topology [I]: each queue's drm_gpu_scheduler + entity becomes one drm_dep_queue (credit_limit
 * ringbuf_size / 8, timeout MAX_SCHEDULE_TIMEOUT, submit_wq = the shared "panthor-csf-sched",
 * timeout_wq = ptdev->reset.wq, as the drm_sched init args); each VM's VM_BIND scheduler becomes one
 * drm_dep_queue (credit 1, no timeout) on "panthor-vm-bind". The three workqueues gain
 * WQ_MEM_WARN_ON_RECLAIM (drm_dep warns on a driver wq without it; "panthor_device.c small
 * changes" in the diffstat). Queue flags: none by default (the cover letter names no panthor
 * opt-in); the device option dep_flags sets them.
 *
 * What the conversion changes, in this file's order:
 *   - panthor_job's own kref becomes the drm_dep job kref; free_job becomes release_job, called
 *     at the last reference (no drm_sched_job_cleanup, no redundant cleanup in job_release).
 *   - The job timeout stays panthor's own per-queue work (csf.ts, as in 7.0); its expiry reaches
 *     drm_dep through drm_dep_queue_trigger_timeout() where drm_sched had drm_sched_fault():
 *     both run the queue's timeout handler at once, on the timeout workqueue.
 *   - queue_stop/queue_start become drm_dep_queue_stop/start: drm_dep never detaches the HW-fence
 *     callbacks and keeps the timed-out job pending, so there is no parent to re-attach and no
 *     bad job to re-insert (the reach into drm_sched's pending list disappears).
 *   - group_free_queue: drm_sched_entity_destroy + drm_sched_fini become drm_dep_queue_kill +
 *     the final drm_dep_queue_put; kfree(queue) moves to ops.free_queue, called when drm_dep's
 *     asynchronous teardown is done (the queue is embedded in panthor_queue). Same for the VM.
 *   - VM_BIND: run_job still runs the op synchronously and returns NULL; the deferred op-context
 *     cleanup moves from free_job to release_job.
 */
import {
  INIT_WORK, MAX_SCHEDULE_TIMEOUT, WQ_MEM_RECLAIM, WQ_MEM_WARN_ON_RECLAIM, dma_fence, kfree, queue_work,
  type Kernel, type Sleepable, type work_struct,
} from '@deplab/sim';
import {
  DRM_DEP_TIMEDOUT_RESET, drm_dep_device, drm_dep_job, drm_dep_job_add_dependency, drm_dep_job_arm,
  drm_dep_job_finished_fence, drm_dep_job_get, drm_dep_job_init, drm_dep_job_push, drm_dep_job_put, drm_dep_queue,
  drm_dep_queue_init, drm_dep_queue_kill, drm_dep_queue_put, drm_dep_queue_start, drm_dep_queue_stop,
  drm_dep_queue_trigger_timeout, type drm_dep_queue_ops, type drm_dep_timedout_stat,
} from '@deplab/drm-dep';
import {
  panthor_job_base, panthor_job_release, panthor_queue_timedout, panthor_vm_bind_job_base, panthor_vm_bind_job_release, panthor_vm_bind_run_job,
  panthor_vm_cleanup_op_ctx, queue_run_job, type PanthorBinding, type PanthorJob, type PanthorVmBindJob, type panthor_device,
  type panthor_queue, type panthor_vm,
} from './csf.ts';

/* ------------------------------------------------------------------------------------------ */
/* Objects                                                                                      */

/** The scheduler half of struct panthor_queue: one drm_dep_queue (embedded upstream). */
export class panthor_queue_dep extends drm_dep_queue {
  readonly queue: panthor_queue;

  constructor(k: Kernel, queue: panthor_queue) {
    super(k);
    this.queue = queue;
  }
}

/** struct panthor_job: a drm_dep_job; its kref is drm_dep's. */
export class panthor_job extends panthor_job_base(drm_dep_job) implements PanthorJob {
  readonly kernel: Kernel;
  credits = 0;

  constructor(k: Kernel) {
    super(k);
    this.kernel = k;
  }
}

/** The scheduler half of struct panthor_vm: the VM_BIND drm_dep_queue. */
export class panthor_vm_dep extends drm_dep_queue {
  readonly vm: panthor_vm;

  constructor(k: Kernel, vm: panthor_vm) {
    super(k);
    this.vm = vm;
  }
}

/** struct panthor_vm_bind_job. */
export class panthor_vm_bind_job extends panthor_vm_bind_job_base(drm_dep_job) implements PanthorVmBindJob {
  readonly kernel: Kernel;

  constructor(k: Kernel) {
    super(k);
    this.kernel = k;
  }
}

function to_panthor_job(dep_job: drm_dep_job): panthor_job {
  return dep_job as panthor_job;
}

function queue_dep(queue: panthor_queue): panthor_queue_dep {
  return queue.sched as panthor_queue_dep;
}

/* ------------------------------------------------------------------------------------------ */
/* Queue ops                                                                                    */

/** queue_run_job(): see csf.ts; the returned done fence's reference goes to drm_dep. */
function panthor_queue_run_job(dep_job: drm_dep_job): dma_fence | null | number {
  return queue_run_job(to_panthor_job(dep_job));
}

/**
 * The drm_dep half of queue_stop(): drm_dep_queue_stop() (submission and put paused; HW
 * callbacks stay, the timed-out job stays pending: no bad job to re-insert).
 */
function* queue_stop(queue: panthor_queue, _bad_job: PanthorJob | null): Sleepable {
  yield* drm_dep_queue_stop(queue_dep(queue));
}

/** The drm_dep half of queue_start(): drm_dep_queue_start(); no parent to re-attach. */
function queue_start(queue: panthor_queue): void {
  drm_dep_queue_start(queue_dep(queue));
}

/**
 * queue_timedout_job(), reached only through drm_dep_queue_trigger_timeout() from the queue
 * timeout work (the queue's own timeout is MAX_SCHEDULE_TIMEOUT): as on drm_sched, csf.ts
 * stops the queue, marks the group timed out and restarts it; the job stays pending in
 * drm_dep until the term work signals its done fence.
 */
function* panthor_queue_timedout_job(dep_job: drm_dep_job): Sleepable<drm_dep_timedout_stat> {
  yield* panthor_queue_timedout(to_panthor_job(dep_job));
  return DRM_DEP_TIMEDOUT_RESET;
}

/** release_job (was queue_free_job + job_release): the last job reference is gone. */
function panthor_queue_release_job(dep_job: drm_dep_job): void {
  panthor_job_release(to_panthor_job(dep_job));
}

/** free_queue: drm_dep's teardown is done; kfree(queue) (moved here from group_free_queue). */
function panthor_queue_free_queue(q: drm_dep_queue): void {
  const queue = (q as panthor_queue_dep).queue;
  kfree(queue.group.ptdev.kernel, queue.alloc);
  queue.alloc = null;
}

const panthor_queue_dep_ops: drm_dep_queue_ops<panthor_job, panthor_queue_dep> = {
  run_job: panthor_queue_run_job,
  timedout_job: panthor_queue_timedout_job,
  release_job: panthor_queue_release_job,
  free_queue: panthor_queue_free_queue,
};

/* ------------------------------------------------------------------------------------------ */
/* Queue lifetime                                                                               */

function dep_flags(ptdev: panthor_device): number {
  return (ptdev.dep_dev as panthor_dep_device).flags;
}

/** The drm_dep half of group_create_queue(). */
function panthor_queue_init(queue: panthor_queue, credit_limit: number): number {
  const ptdev = queue.group.ptdev;
  const k = ptdev.kernel;
  const q = new panthor_queue_dep(k, queue);
  const ret = drm_dep_queue_init(q, {
    ops: panthor_queue_dep_ops,
    name: 'panthor-queue',
    flags: dep_flags(ptdev),
    // The total number of instructions across all CS slots in the ring buffer.
    credit_limit,
    // panthor times its queues itself (queue->timeout) and reports expiry with trigger_timeout.
    timeout: MAX_SCHEDULE_TIMEOUT,
    submit_wq: ptdev.scheduler.wq,
    timeout_wq: ptdev.reset.wq,
    dev: (ptdev.dep_dev as panthor_dep_device).dev,
  });
  if (ret !== 0) return ret;
  queue.sched = q;
  return 0;
}

/** The drm_dep half of group_free_queue(): kill (every job is gone: the group outlives them). */
function* panthor_queue_fini(queue: panthor_queue): Sleepable {
  drm_dep_queue_kill(queue_dep(queue));
}

/** The final drm_dep_queue_put(); kfree(queue) follows in ops.free_queue. */
function panthor_queue_free(queue: panthor_queue): void {
  drm_dep_queue_put(queue_dep(queue));
}

/** queue_timeout_work() found no progress: drm_dep runs the timeout handler now. */
function panthor_queue_fault(queue: panthor_queue): void {
  drm_dep_queue_trigger_timeout(queue_dep(queue));
}

/* ------------------------------------------------------------------------------------------ */
/* Jobs                                                                                         */

function panthor_job_alloc(ptdev: panthor_device): PanthorJob {
  return new panthor_job(ptdev.kernel);
}

/** drm_dep_job_init() on the queue (panthor_job_create). */
function panthor_job_init(job: PanthorJob, queue: panthor_queue, credits: number, client_id: number): number {
  return drm_dep_job_init(job as panthor_job, queue_dep(queue), credits, client_id);
}

/** A job drm_dep never initialised: only the driver's part to free. */
function panthor_job_free_uninit(job: PanthorJob): void {
  panthor_job_release(job);
}

function panthor_job_get(job: PanthorJob): void {
  drm_dep_job_get(job as panthor_job);
}

function panthor_job_put(job: PanthorJob): void {
  drm_dep_job_put(job as panthor_job);
}

/* ------------------------------------------------------------------------------------------ */
/* VM_BIND queue (panthor_mmu.c)                                                                */

function vm_dep(vm: panthor_vm): panthor_vm_dep {
  return vm.bind as panthor_vm_dep;
}

function panthor_vm_bind_job_run(dep_job: drm_dep_job): dma_fence | null | number {
  return panthor_vm_bind_run_job(dep_job as panthor_vm_bind_job);
}

/** panthor_vm_bind_timedout_job(): VM_BIND ops are synchronous, a timeout cannot happen. */
function panthor_vm_bind_timedout_job(dep_job: drm_dep_job): drm_dep_timedout_stat {
  (dep_job as panthor_vm_bind_job).kernel.violation('warn', 'panthor_vm_bind_timedout_job',
    'VM_BIND ops are synchronous for now, there should be no timeout!');
  return DRM_DEP_TIMEDOUT_RESET;
}

/** release_job (was panthor_vm_bind_job_free): the heavy cleanup goes to panthor_cleanup_wq. */
function panthor_vm_bind_job_free(dep_job: drm_dep_job): void {
  const job = dep_job as panthor_vm_bind_job;
  queue_work(job.vm!.ptdev.cleanup_wq, job.cleanup_op_ctx_work!);
}

/** free_queue: kfree(vm) (moved here from panthor_vm_free). */
function panthor_vm_free_queue(q: drm_dep_queue): void {
  const vm = (q as panthor_vm_dep).vm;
  kfree(vm.ptdev.kernel, vm.alloc);
  vm.alloc = null;
}

const panthor_vm_bind_ops: drm_dep_queue_ops<panthor_vm_bind_job, panthor_vm_dep> = {
  run_job: panthor_vm_bind_job_run,
  timedout_job: panthor_vm_bind_timedout_job,
  release_job: panthor_vm_bind_job_free,
  free_queue: panthor_vm_free_queue,
};

/** The VM_BIND half of panthor_vm_create(). */
function panthor_vm_init(vm: panthor_vm): number {
  const ptdev = vm.ptdev;
  const q = new panthor_vm_dep(ptdev.kernel, vm);
  const ret = drm_dep_queue_init(q, {
    ops: panthor_vm_bind_ops,
    name: 'panthor-vm-bind',
    flags: dep_flags(ptdev),
    credit_limit: 1,
    // Bind operations are synchronous for now, no timeout needed.
    timeout: MAX_SCHEDULE_TIMEOUT,
    submit_wq: ptdev.vm_bind_wq,
    dev: (ptdev.dep_dev as panthor_dep_device).dev,
  });
  if (ret !== 0) return ret;
  vm.bind = q;
  return 0;
}

/** The VM_BIND half of panthor_vm_free(): kill + final put; kfree(vm) in ops.free_queue. */
function* panthor_vm_fini(vm: panthor_vm): Sleepable {
  drm_dep_queue_kill(vm_dep(vm));
  drm_dep_queue_put(vm_dep(vm));
}

/** panthor_vm_stop()/panthor_vm_start() around a reset. */
function* panthor_vm_stop(vm: panthor_vm): Sleepable {
  yield* drm_dep_queue_stop(vm_dep(vm));
}

function panthor_vm_start(vm: panthor_vm): void {
  drm_dep_queue_start(vm_dep(vm));
}

/** panthor_vm_bind_job_cleanup_op_ctx_work(): the op context, the VM reference, the job. */
function* panthor_vm_bind_job_cleanup_op_ctx_work(work: work_struct): Sleepable {
  const job = work.owner as panthor_vm_bind_job;
  panthor_vm_cleanup_op_ctx(job);
  yield* panthor_vm_bind_job_release(job);
}

function panthor_vm_job_alloc(ptdev: panthor_device): PanthorVmBindJob {
  const job = new panthor_vm_bind_job(ptdev.kernel);
  job.cleanup_op_ctx_work = INIT_WORK(ptdev.kernel, panthor_vm_bind_job_cleanup_op_ctx_work, '&job->cleanup_op_ctx_work', job);
  return job;
}

function panthor_vm_job_init(job: PanthorVmBindJob, vm: panthor_vm, client_id: number): number {
  return drm_dep_job_init(job as panthor_vm_bind_job, vm_dep(vm), 1, client_id);
}

/** panthor_vm_bind_job_put(): drm_dep's reference; the last one queues the cleanup work. */
function* panthor_vm_bind_job_put(job: PanthorVmBindJob): Sleepable {
  drm_dep_job_put(job as panthor_vm_bind_job);
}

/* ------------------------------------------------------------------------------------------ */
/* Submit helpers (panthor_drv.c)                                                               */

function panthor_job_add_dependency(job: PanthorJob | PanthorVmBindJob, fence: dma_fence): number {
  return drm_dep_job_add_dependency(job as unknown as drm_dep_job, fence);
}

function panthor_job_arm(job: PanthorJob | PanthorVmBindJob): void {
  drm_dep_job_arm(job as unknown as drm_dep_job);
}

function panthor_job_finished_fence(job: PanthorJob | PanthorVmBindJob): dma_fence {
  return drm_dep_job_finished_fence(job as unknown as drm_dep_job)!;
}

/** drm_dep_job_push() takes the queue's own reference; the submit context drops its one. */
function panthor_job_push(job: PanthorJob | PanthorVmBindJob): void {
  drm_dep_job_push(job as unknown as drm_dep_job);
  drm_dep_job_put(job as unknown as drm_dep_job);
}

/** panthor_submit_ctx_cleanup() for a job never armed: the last put releases it. */
function panthor_job_abort(job: PanthorJob): void {
  panthor_job_put(job);
}

/** The drm_dep device state: the unload barrier and the queue flags of this device. */
export class panthor_dep_device {
  readonly dev: drm_dep_device;
  readonly flags: number;

  constructor(k: Kernel, flags: number) {
    this.dev = new drm_dep_device(k, 'panthor');
    this.flags = flags;
  }
}

/** The binding; `flags` are the DRM_DEP_QUEUE_FLAGS_* of every queue (default none). */
export function panthor_dep_binding(flags = 0): PanthorBinding {
  return {
    name: 'drm_dep',
    wq_flags: WQ_MEM_RECLAIM | WQ_MEM_WARN_ON_RECLAIM,
    device_init: (ptdev) => { ptdev.dep_dev = new panthor_dep_device(ptdev.kernel, flags); },
    // The slots of PanthorBinding, one line per object: queue, job, VM_BIND, submit helpers.
    queue_init: panthor_queue_init, queue_fini: panthor_queue_fini, queue_free: panthor_queue_free, queue_fault: panthor_queue_fault, queue_stop, queue_start,
    job_alloc: panthor_job_alloc, job_init: panthor_job_init, job_free_uninit: panthor_job_free_uninit, job_get: panthor_job_get, job_put: panthor_job_put,
    vm_init: panthor_vm_init, vm_fini: panthor_vm_fini, vm_stop: panthor_vm_stop, vm_start: panthor_vm_start, vm_job_alloc: panthor_vm_job_alloc, vm_job_init: panthor_vm_job_init, vm_job_put: panthor_vm_bind_job_put,
    job_add_dependency: panthor_job_add_dependency, job_arm: panthor_job_arm, job_finished_fence: panthor_job_finished_fence, job_push: panthor_job_push, job_abort: panthor_job_abort,
  };
}
