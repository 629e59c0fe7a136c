/**
 * panthor bound to drm_sched, as upstream writes it: drivers/gpu/drm/panthor/panthor_sched.c
 * (the queue scheduler ops and the queue/job lifetime), panthor_mmu.c (the VM_BIND scheduler)
 * and panthor_drv.c (the submit helpers), at the RFC's base (v7.0): panthor_sched.c @f39b6c46
 * plus the 6.19/7.0 timeout rework (345c5b7cc0f8 "drm/panthor: Make the timeout per-queue
 * instead of per-job", ac5b392a8c35 "drm/panthor: fix queue_reset_timeout_locked").
 *
 * Topology: one drm_gpu_scheduler + one entity per queue (1:1), num_rqs 1, credit_limit =
 * ringbuf_size / 8 (instruction slots), timeout MAX_SCHEDULE_TIMEOUT (drm_sched never times a
 * job itself) with timeout_wq = ptdev->reset.wq, every queue submitting on the one shared
 * "panthor-csf-sched" workqueue that also runs the tick and the FW event works; one
 * drm_gpu_scheduler + entity per VM for VM_BIND (credit 1, no timeout) on "panthor-vm-bind".
 *
 * The job timeout is panthor's own per-queue delayed work (csf.ts); when it expires without
 * progress it calls drm_sched_fault(), which runs drm_sched's TDR at once and so
 * queue_timedout_job on the head of the pending list. Where upstream reaches into drm_sched
 * internals, so does this file: queue_start() re-attaches s_fence->parent for every job on the
 * pending list after drm_sched_stop().
 *
 * Deviation: job_release keeps the redundant drm_sched_job_cleanup() for jobs that were never
 * freed by the scheduler (the error path), as upstream before Tvrtko's 2026-05 RFC.
 */
import {
  INIT_WORK, MAX_SCHEDULE_TIMEOUT, dma_fence, dma_fence_get, kfree, kref, kref_get, kref_put, queue_work,
  type Kernel, type Sleepable, type work_struct,
} from '@deplab/sim';
import {
  DRM_GPU_SCHED_STAT_RESET, drm_gpu_scheduler, drm_sched_entity, drm_sched_entity_destroy, drm_sched_entity_init,
  drm_sched_entity_push_job, drm_sched_fault, drm_sched_fini, drm_sched_init, drm_sched_job, drm_sched_job_add_dependency,
  drm_sched_job_arm, drm_sched_job_cleanup, drm_sched_job_init, drm_sched_start, drm_sched_for_each_pending_job,
  drm_sched_stop, type drm_sched_backend_ops,
} from '@deplab/drm-sched';
import {
  panthor_job_base, panthor_job_release, panthor_queue_timedout, panthor_vm_bind_job_base, panthor_vm_bind_job_release, panthor_vm_bind_run_job,
  panthor_vm_cleanup_op_ctx, queue_run_job, type PanthorBinding, type PanthorJob, type PanthorVmBindJob, type panthor_device,
  type panthor_queue, type panthor_vm,
} from './csf.ts';

/* ------------------------------------------------------------------------------------------ */
/* Objects                                                                                      */

/** The scheduler half of struct panthor_queue: `scheduler` and `entity`. */
export class panthor_queue_sched {
  readonly scheduler: drm_gpu_scheduler;
  readonly entity: drm_sched_entity;
  /** drm_sched_init succeeded and drm_sched_fini has not run yet (the driver's own state). */
  scheduler_live = false;

  constructor(k: Kernel, queue: panthor_queue) {
    this.scheduler = new drm_gpu_scheduler(k);
    this.scheduler.owner = queue;
    this.entity = new drm_sched_entity(k);
    this.entity.owner = queue;
  }
}

/** struct panthor_job: a drm_sched_job with its own refcount. */
export class panthor_job extends panthor_job_base(drm_sched_job) implements PanthorJob {
  readonly refcount: kref;

  constructor(k: Kernel) {
    super(k);
    this.refcount = new kref(k, 'panthor_job');
  }
}

/** The scheduler half of struct panthor_vm: the VM_BIND scheduler and entity. */
export class panthor_vm_sched {
  readonly sched: drm_gpu_scheduler;
  readonly entity: drm_sched_entity;

  constructor(k: Kernel, vm: panthor_vm) {
    this.sched = new drm_gpu_scheduler(k);
    this.sched.owner = vm;
    this.entity = new drm_sched_entity(k);
    this.entity.owner = vm;
  }
}

/** struct panthor_vm_bind_job. */
export class panthor_vm_bind_job extends panthor_vm_bind_job_base(drm_sched_job) implements PanthorVmBindJob {
  readonly refcount: kref;

  constructor(k: Kernel) {
    super(k);
    this.refcount = new kref(k, 'panthor_vm_bind_job');
  }
}

function to_panthor_job(sched_job: drm_sched_job): panthor_job {
  return sched_job as panthor_job;
}

function queue_sched(queue: panthor_queue): panthor_queue_sched {
  return queue.sched as panthor_queue_sched;
}

/* ------------------------------------------------------------------------------------------ */
/* Queue scheduler ops                                                                          */

/** queue_run_job(): see csf.ts; the returned done fence's reference goes to drm_sched. */
function panthor_queue_run_job(sched_job: drm_sched_job): dma_fence | null | number {
  return queue_run_job(to_panthor_job(sched_job));
}

/**
 * The drm_sched half of queue_stop(): drm_sched_stop() with the bad job; the scheduler detaches
 * every pending job's HW-fence callback (and re-adds the bad job the TDR unlinked).
 */
function* queue_stop(queue: panthor_queue, bad_job: PanthorJob | null): Sleepable {
  yield* drm_sched_stop(queue_sched(queue).scheduler, bad_job as panthor_job | null);
}

/**
 * The drm_sched half of queue_start(): re-assign the parent fences (s_fence->parent =
 * done_fence for every pending job) and drm_sched_start(), which re-installs the callbacks and
 * completes at once the jobs whose done fence already signalled. Deviation: upstream walks
 * scheduler.pending_list directly; the model uses drm_sched_for_each_pending_job on the stopped
 * scheduler, the public iterator made for this, so the model reaches into no scheduler internals.
 */
function queue_start(queue: panthor_queue): void {
  const scheduler = queue_sched(queue).scheduler;
  for (const sched_job of drm_sched_for_each_pending_job(scheduler, null)) {
    const job = to_panthor_job(sched_job);
    sched_job.s_fence!.parent = dma_fence_get(job.done_fence);
  }
  drm_sched_start(scheduler, 0);
}

/**
 * queue_timedout_job(), reached only through drm_sched_fault() from the queue timeout work
 * (drm_sched's own timeout is MAX_SCHEDULE_TIMEOUT): csf.ts stops the queue, marks the group
 * timed out and restarts the queue. `sched_job` is the head of the pending list, which may be a
 * job already done but not yet freed: it only names the queue. The job stays on the pending
 * list (re-added by drm_sched_stop); the term work signals its done fence with -ETIMEDOUT.
 */
function* panthor_queue_timedout_job(sched_job: drm_sched_job): Sleepable<number> {
  yield* panthor_queue_timedout(to_panthor_job(sched_job));
  return DRM_GPU_SCHED_STAT_RESET;
}

/** queue_free_job(): the scheduler's part, then the scheduler's job reference. */
function panthor_queue_free_job(sched_job: drm_sched_job): void {
  drm_sched_job_cleanup(sched_job);
  panthor_job_put(to_panthor_job(sched_job));
}

const panthor_queue_sched_ops: drm_sched_backend_ops = {
  run_job: panthor_queue_run_job,
  timedout_job: panthor_queue_timedout_job,
  free_job: panthor_queue_free_job,
};

/* ------------------------------------------------------------------------------------------ */
/* Queue lifetime                                                                               */

/** The drm_sched half of group_create_queue(). */
function panthor_queue_init(queue: panthor_queue, credit_limit: number): number {
  const ptdev = queue.group.ptdev;
  const k = ptdev.kernel;
  const qs = new panthor_queue_sched(k, queue);
  const ret = drm_sched_init(qs.scheduler, {
    ops: panthor_queue_sched_ops,
    submit_wq: ptdev.scheduler.wq,
    num_rqs: 1,
    // The total number of instructions across all CS slots in the ring buffer.
    credit_limit,
    // panthor times its queues itself (queue->timeout) and reports expiry with drm_sched_fault().
    timeout: MAX_SCHEDULE_TIMEOUT,
    timeout_wq: ptdev.reset.wq,
    name: 'panthor-queue',
    dev: ptdev,
  });
  if (ret !== 0) return ret;
  qs.scheduler_live = true;
  queue.sched = qs;
  return drm_sched_entity_init(qs.entity, 0, [qs.scheduler], 1, null);
}

/** The drm_sched half of group_free_queue(): entity destroy, then scheduler fini. */
function* panthor_queue_fini(queue: panthor_queue): Sleepable {
  const qs = queue_sched(queue);
  yield* drm_sched_entity_destroy(qs.entity);
  if (qs.scheduler_live) {
    qs.scheduler_live = false;
    yield* drm_sched_fini(qs.scheduler);
  }
}

/** kfree(queue). */
function panthor_queue_free(queue: panthor_queue): void {
  kfree(queue.group.ptdev.kernel, queue.alloc);
  queue.alloc = null;
}

/** queue_timeout_work() found no progress: drm_sched_fault() runs the TDR now. */
function panthor_queue_fault(queue: panthor_queue): void {
  drm_sched_fault(queue_sched(queue).scheduler);
}

/* ------------------------------------------------------------------------------------------ */
/* Jobs                                                                                         */

function panthor_job_alloc(ptdev: panthor_device): PanthorJob {
  return new panthor_job(ptdev.kernel);
}

/** drm_sched_job_init() on the queue's entity, owner = the group (panthor_job_create). */
function panthor_job_init(job: PanthorJob, queue: panthor_queue, credits: number, client_id: number): number {
  return drm_sched_job_init(job as panthor_job, queue_sched(queue).entity, credits, job.group, client_id);
}

function panthor_job_get(job: PanthorJob): void {
  kref_get((job as panthor_job).refcount);
}

/** job_release(): drm_sched_job_cleanup if the scheduler never freed it, then the rest. */
function job_release(job: panthor_job): void {
  if (job.s_fence !== null) drm_sched_job_cleanup(job);
  panthor_job_release(job);
}

function panthor_job_put(job: PanthorJob): void {
  kref_put((job as panthor_job).refcount, () => job_release(job as panthor_job));
}

/* ------------------------------------------------------------------------------------------ */
/* VM_BIND scheduler (panthor_mmu.c)                                                            */

function vm_sched(vm: panthor_vm): panthor_vm_sched {
  return vm.bind as panthor_vm_sched;
}

function panthor_vm_bind_job_run(sched_job: drm_sched_job): dma_fence | null | number {
  return panthor_vm_bind_run_job(sched_job as panthor_vm_bind_job);
}

/** panthor_vm_bind_timedout_job(): VM_BIND ops are synchronous, a timeout cannot happen. */
function panthor_vm_bind_timedout_job(sched_job: drm_sched_job): number {
  sched_job.kernel.violation('warn', 'panthor_vm_bind_timedout_job', 'VM_BIND ops are synchronous for now, there should be no timeout!');
  return DRM_GPU_SCHED_STAT_RESET;
}

/**
 * panthor_vm_bind_job_free(): drm_sched's part now; the heavy cleanup (dma-resv locks) is
 * deferred to panthor_cleanup_wq, out of the signalling path.
 */
function panthor_vm_bind_job_free(sched_job: drm_sched_job): void {
  const job = sched_job as panthor_vm_bind_job;
  drm_sched_job_cleanup(sched_job);
  queue_work(job.vm!.ptdev.cleanup_wq, job.cleanup_op_ctx_work!);
}

const panthor_vm_bind_ops: drm_sched_backend_ops = {
  run_job: panthor_vm_bind_job_run,
  timedout_job: panthor_vm_bind_timedout_job,
  free_job: panthor_vm_bind_job_free,
};

/** The VM_BIND half of panthor_vm_create(). */
function panthor_vm_init(vm: panthor_vm): number {
  const ptdev = vm.ptdev;
  const vs = new panthor_vm_sched(ptdev.kernel, vm);
  const ret = drm_sched_init(vs.sched, {
    ops: panthor_vm_bind_ops,
    submit_wq: ptdev.vm_bind_wq,
    num_rqs: 1,
    credit_limit: 1,
    // Bind operations are synchronous for now, no timeout needed.
    timeout: MAX_SCHEDULE_TIMEOUT,
    hang_limit: 0,
    name: 'panthor-vm-bind',
    dev: ptdev,
  });
  if (ret !== 0) return ret;
  vm.bind = vs;
  return drm_sched_entity_init(vs.entity, 0, [vs.sched], 1, null);
}

/** The VM_BIND half of panthor_vm_free(): entity destroy, scheduler fini, kfree(vm). */
function* panthor_vm_fini(vm: panthor_vm): Sleepable {
  const vs = vm_sched(vm);
  yield* drm_sched_entity_destroy(vs.entity);
  yield* drm_sched_fini(vs.sched);
  kfree(vm.ptdev.kernel, vm.alloc);
  vm.alloc = null;
}

/** panthor_vm_stop()/panthor_vm_start() around a reset. */
function* panthor_vm_stop(vm: panthor_vm): Sleepable {
  yield* drm_sched_stop(vm_sched(vm).sched, null);
}

function panthor_vm_start(vm: panthor_vm): void {
  drm_sched_start(vm_sched(vm).sched, 0);
}

/** panthor_vm_bind_job_cleanup_op_ctx_work(): the op context, then the work's job reference. */
function* panthor_vm_bind_job_cleanup_op_ctx_work(work: work_struct): Sleepable {
  const job = work.owner as panthor_vm_bind_job;
  panthor_vm_cleanup_op_ctx(job);
  yield* panthor_vm_bind_job_put(job);
}

function panthor_vm_job_alloc(ptdev: panthor_device): PanthorVmBindJob {
  const job = new panthor_vm_bind_job(ptdev.kernel);
  job.cleanup_op_ctx_work = INIT_WORK(ptdev.kernel, panthor_vm_bind_job_cleanup_op_ctx_work, '&job->cleanup_op_ctx_work', job);
  return job;
}

function panthor_vm_job_init(job: PanthorVmBindJob, vm: panthor_vm, client_id: number): number {
  return drm_sched_job_init(job as panthor_vm_bind_job, vm_sched(vm).entity, 1, vm, client_id);
}

/** panthor_vm_bind_job_put(): the last reference releases the VM reference and the job. */
function* panthor_vm_bind_job_put(job: PanthorVmBindJob): Sleepable {
  const sjob = job as panthor_vm_bind_job;
  if (!kref_put(sjob.refcount, () => {})) return;
  if (sjob.s_fence !== null) drm_sched_job_cleanup(sjob);
  yield* panthor_vm_bind_job_release(job);
}

/* ------------------------------------------------------------------------------------------ */
/* Submit helpers (panthor_drv.c)                                                               */

function panthor_job_add_dependency(job: PanthorJob | PanthorVmBindJob, fence: dma_fence): number {
  return drm_sched_job_add_dependency(job as unknown as drm_sched_job, fence);
}

function panthor_job_arm(job: PanthorJob | PanthorVmBindJob): void {
  drm_sched_job_arm(job as unknown as drm_sched_job);
}

function panthor_job_finished_fence(job: PanthorJob | PanthorVmBindJob): dma_fence {
  return dma_fence_get((job as unknown as drm_sched_job).s_fence!.finished);
}

/** drm_sched_entity_push_job(): the job is owned by the scheduler now (its creation reference). */
function panthor_job_push(job: PanthorJob | PanthorVmBindJob): void {
  drm_sched_entity_push_job(job as unknown as drm_sched_job);
}

/** panthor_submit_ctx_cleanup() for a job never pushed: panthor_job_put (cleans the unarmed job). */
function panthor_job_abort(job: PanthorJob): void {
  panthor_job_put(job);
}

export const panthor_sched_binding: PanthorBinding = {
  name: 'drm_sched',
  wq_flags: 0,
  device_init: () => {},
  // The slots of PanthorBinding, one line per object: queue, job, VM_BIND, submit helpers.
  queue_init: panthor_queue_init, queue_fini: panthor_queue_fini, queue_free: panthor_queue_free, queue_fault: panthor_queue_fault, queue_stop, queue_start,
  job_alloc: panthor_job_alloc, job_init: panthor_job_init, job_free_uninit: panthor_job_put, job_get: panthor_job_get, job_put: panthor_job_put,
  vm_init: panthor_vm_init, vm_fini: panthor_vm_fini, vm_stop: panthor_vm_stop, vm_start: panthor_vm_start, vm_job_alloc: panthor_vm_job_alloc, vm_job_init: panthor_vm_job_init, vm_job_put: panthor_vm_bind_job_put,
  job_add_dependency: panthor_job_add_dependency, job_arm: panthor_job_arm, job_finished_fence: panthor_job_finished_fence, job_push: panthor_job_push, job_abort: panthor_job_abort,
};
