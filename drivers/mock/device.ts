/**
 * The mock GPU as a harness device (drivers/api Device), on either binding. It exposes what
 * the KUnit mock has: one hardware timeline shared by every queue (so every engine class a
 * workload names maps onto it), queues = entities (drm_sched) or queues (drm_dep), jobs of one
 * credit. Faults: a hung job (never completes; the TDR handles it when the device has a
 * timeout); firmware errors and engine resets do not exist on the mock and are refused.
 */
import { MAX_SCHEDULE_TIMEOUT, dma_fence_get, type Kernel, type Sleepable } from '@deplab/sim';
import {
  OutFenceRefs, job_hw_start_trace,
  type Backend, type ClientHandle, type Device, type DeviceOptions, type Fault, type JobHandle, type JobSpec, type Priority,
  type QueueHandle, type QueueOptions, type QueueState,
} from '@deplab/driver-api';
import { mock_gpu_hang, mock_hw_job_is_finished } from './hw.ts';
import type { MockBackend, MockEntity, MockJob, MockSched } from './uapi.ts';

const PRIORITY: Record<Priority, number> = { realtime: 0, high: 1, normal: 2, low: 3 };
const EOPNOTSUPP = 95;

interface MockQueue extends QueueHandle {
  entity: MockEntity | null;
  readonly out_fences: OutFenceRefs<MockJobHandle>;
  /** Set when destroy_queue has returned: the queue's jobs are out of reach of faults and manual completion. */
  destroyed: boolean;
}

interface MockJobHandle extends JobHandle {
  readonly job: MockJob;
}

/**
 * Device options (options.driver):
 * - timeout_ms: TDR period (default none); credit_limit;
 * - dep_flags: DRM_DEP_QUEUE_FLAGS_* of every queue (drm_dep binding);
 * - no_cancel_job, tdr ('role_model' | 'reset_leaves_job' | 'stop_no_hang'): driver shapes
 *   the legacy scheduler mishandles (drm_sched binding; MockSchedVariant in on-sched.ts);
 * - unplug_keeps_queues: unplug finalises the scheduler and leaves live queues to their
 *   files' close, as a hot-unplug with open files does (docs/legacy-hazards.md 2). Without it,
 *   unplug destroys every queue first, except one whose release is already in progress (it
 *   cannot be destroyed twice; docs/findings.md#release-races-unplug);
 * - close_as: who closes the file. 'close': a live process (default); 'exit': a process exiting
 *   after Ctrl-C (PF_EXITING: drm_sched's entity flush waits at most 1 s); 'sigkill': a thread
 *   with SIGKILL pending (the killable wait returns at once and entity fini kills what is
 *   queued); 'exit_sigkill': a process exiting after SIGKILL (waits at most 1 s, then kills).
 * The variants exist for exploration campaigns (deplab explore); none is the KUnit mock.
 */
export class MockDevice implements Device {
  readonly kernel: Kernel;
  readonly driver = 'mock';
  readonly backend: Backend;
  readonly engines = ['render'] as const;
  readonly reports_hw_start = true;
  readonly api: MockBackend;
  readonly sched: MockSched;
  private readonly queues: MockQueue[] = [];
  /** The same queues by client, so that a close does not walk every client's. */
  private readonly queues_of = new Map<ClientHandle, MockQueue[]>();
  private next_client = 0;
  private next_job = 0;
  private unplugged = false;
  private readonly unplug_keeps_queues: boolean;
  private readonly close_as: 'close' | 'exit' | 'sigkill' | 'exit_sigkill';

  constructor(kernel: Kernel, api: MockBackend, options: DeviceOptions = {}) {
    this.kernel = kernel;
    this.api = api.configure(options.driver ?? {}) ?? api;
    this.unplug_keeps_queues = options.driver?.unplug_keeps_queues === true;
    const close_as = options.driver?.close_as ?? 'close';
    if (close_as !== 'close' && close_as !== 'exit' && close_as !== 'sigkill' && close_as !== 'exit_sigkill') {
      throw new RangeError(`mock: close_as must be close, exit, sigkill or exit_sigkill, got ${String(close_as)}`);
    }
    this.close_as = close_as;
    this.backend = api.name === 'drm_sched' ? 'sched' : api.name === 'drm_dep' ? 'dep' : 'dep-hw';
    const timeout_ms = options.driver?.timeout_ms;
    const timeout = typeof timeout_ms === 'number' ? kernel.jiffies.msecs_to_jiffies(timeout_ms) : MAX_SCHEDULE_TIMEOUT;
    this.sched = this.api.drm_mock_sched_new(kernel, timeout);
    // deplab_job_hw_start, the same on both bindings: each records its jobs at arm.
    const hw_start = (this.sched.hw_start = job_hw_start_trace(kernel));
    if (hw_start !== null) this.sched.gpu.job_started = (job) => hw_start.started(job);
    const credit_limit = options.driver?.credit_limit;
    if (typeof credit_limit === 'number') this.api.set_credit_limit(this.sched, credit_limit);
  }

  open_client(name: string): ClientHandle {
    return { id: this.next_client++, name };
  }

  create_queue(client: ClientHandle, options: QueueOptions): QueueHandle | number {
    if (this.unplugged) return -19; // -ENODEV
    const entity = this.api.drm_mock_sched_entity_new(this.kernel, PRIORITY[options.priority], this.sched);
    const q: MockQueue = {
      id: this.queues.length, name: `${client.name}/q${this.queues.length}`, client, engine: options.engine, entity, out_fences: new OutFenceRefs(), destroyed: false,
    };
    this.queues.push(q);
    let mine = this.queues_of.get(client);
    if (mine === undefined) this.queues_of.set(client, (mine = []));
    mine.push(q);
    return q;
  }

  *submit(queue: QueueHandle, spec: JobSpec): Sleepable<JobHandle | number> {
    const q = queue as MockQueue;
    if (q.entity === null || this.unplugged) return -19;
    const api = this.api;
    const job = api.drm_mock_sched_job_new(this.kernel, q.entity);
    if (spec.duration_ns !== 'manual' && spec.hang !== true) {
      api.drm_mock_sched_job_set_duration_us(job, Math.max(1, Math.round(spec.duration_ns / 1000)));
    }
    for (const dep of spec.deps) api.drm_mock_sched_job_add_dependency(job, dma_fence_get(dep));
    api.drm_mock_sched_job_submit(job);
    const out = api.drm_mock_sched_job_finished_fence(job);
    // The device keeps this reference while the job is in flight (OutFenceRefs).
    const handle: MockJobHandle = { id: this.next_job++, queue, out_fence: out, fence_context: out.context, fence_seqno: out.seqno, job };
    q.out_fences.add(handle);
    return handle;
  }

  complete_manual(job: JobHandle): void {
    if ((job.queue as MockQueue).destroyed) return;
    const hw = (job as MockJobHandle).job.hw;
    // The mock timeline completes in order: advance until this job is done.
    while (!mock_hw_job_is_finished(hw) && this.api.drm_mock_sched_advance(this.sched, 1) > 0) { /* advance */ }
  }

  set_priority(queue: QueueHandle, priority: Priority): number {
    const q = queue as MockQueue;
    if (q.entity === null) return -22;
    return this.api.set_priority(q.entity, PRIORITY[priority]) ? 0 : -EOPNOTSUPP;
  }

  *destroy_queue(queue: QueueHandle): Sleepable<number> {
    const q = queue as MockQueue;
    if (q.entity === null) return -22;
    const entity = q.entity;
    q.entity = null;
    yield* this.api.drm_mock_sched_entity_free_sleepable(entity);
    q.out_fences.release_all();
    q.destroyed = true;
    return 0;
  }

  *close_client(client: ClientHandle): Sleepable {
    // The file release runs in the closing task; its exit state is restored afterwards because
    // the harness may close files from a thread that lives on.
    const task = this.kernel.current_task();
    const saved = task === null ? null : { exiting: task.exiting, sigkill: task.sigkill_pending };
    if (task !== null && this.close_as !== 'close') {
      task.exiting = this.close_as === 'exit' || this.close_as === 'exit_sigkill';
      task.sigkill_pending = this.close_as === 'sigkill' || this.close_as === 'exit_sigkill';
    }
    try {
      for (const q of this.queues_of.get(client) ?? []) if (q.entity !== null) yield* this.destroy_queue(q);
    } finally {
      if (task !== null && saved !== null) {
        task.exiting = saved.exiting;
        task.sigkill_pending = saved.sigkill;
      }
    }
  }

  inject_fault(fault: Fault): void {
    if (fault.kind === 'hang_job') {
      const hw = (fault.job as MockJobHandle).job.hw;
      if (!(fault.job.queue as MockQueue).destroyed && !mock_hw_job_is_finished(hw)) mock_gpu_hang(hw);
      return;
    }
    this.kernel.tp('mock_fault_unsupported', { kind: fault.kind });
  }

  *unplug(): Sleepable {
    if (this.unplugged) return;
    if (!this.unplug_keeps_queues) for (const q of this.queues) if (q.entity !== null) yield* this.destroy_queue(q);
    this.unplugged = true;
    yield* this.api.drm_mock_sched_fini_sleepable(this.sched);
  }

  queue_state(queue: QueueHandle): QueueState {
    const q = queue as MockQueue;
    return { alive: q.entity !== null, banned: false, jobs_in_flight: q.out_fences.unsignalled(), detail: {} };
  }
}
