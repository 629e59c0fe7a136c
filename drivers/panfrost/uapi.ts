/**
 * panfrost's user-facing operations (panfrost_drv.c: open, SUBMIT, JM_CTX_CREATE,
 * JM_CTX_DESTROY, postclose, and the platform remove) written once against PanfrostBinding,
 * and the harness Device built on them. `panfrost_device_factory` picks the binding by backend
 * ('sched': on-sched.ts, 'dep-hw': on-dep-hw.ts); panfrost has no plain drm_dep binding.
 *
 * How the common device interface maps onto panfrost (README "Device mapping"):
 *   - open_client = open the DRM file: its default JM context (MEDIUM, handle 0) is created.
 *   - create_queue = JM_CTX_CREATE at the queue's priority (low/normal/high = LOW/MEDIUM/HIGH;
 *     realtime = HIGH, the highest JM priority), and the queue submits to one job slot of it:
 *     render = JS0 (fragment jobs, PANFROST_JD_REQ_FS), compute and copy = JS1 (vertex/tiler
 *     and compute jobs); options.driver.slot (0 or 1) overrides. Other engines: -EINVAL.
 *   - submit = SUBMIT of one job chain of that GPU time with in-fences (the harness's deps).
 *   - destroy_queue = JM_CTX_DESTROY of the queue's context.
 *   - close_client = postclose: every JM context of the file is destroyed.
 *   - faults: hang_job (the chain stops progressing: the 500 ms TDR resets the GPU),
 *     engine_reset (the queue's running chain faults: -EINVAL, JOB_BUS_FAULT with a reset when
 *     bus_fault_needs_reset), device_reset (a GPU reset requested outside a timeout, as the MMU
 *     fault path does); fw_error does not exist on a job-manager GPU (refused).
 */
import {
  dma_fence, dma_fence_get, EINVAL, ENODEV, ENOMEM, type Kernel, type Sleepable,
} from '@deplab/sim';
import {
  OutFenceRefs, job_hw_start_trace,
  type Backend, type ClientHandle, type Device, type DeviceFactory, type DeviceOptions, type DriverOptionSchema, type EngineClass, type Fault,
  type JobHandle, type JobSpec, type Priority, type QueueHandle, type QueueOptions, type QueueState,
} from '@deplab/driver-api';
import { DRM_DEP_HW_POLICY_FAIR, DRM_DEP_HW_POLICY_FIFO, DRM_DEP_HW_POLICY_RR } from '@deplab/drm-dep-hw';
import {
  DRM_PANFROST_EXCEPTION_JOB_BUS_FAULT, DRM_PANFROST_EXCEPTION_JOB_CONFIG_FAULT, panfrost_hw_chain_complete_manual,
  panfrost_hw_chain_create, panfrost_hw_chain_fault, panfrost_hw_chain_hang, type panfrost_chain,
} from './hw.ts';
import {
  PANFROST_JD_REQ_FS, PANFROST_JM_CTX_PRIORITY_HIGH, PANFROST_JM_CTX_PRIORITY_LOW, PANFROST_JM_CTX_PRIORITY_MEDIUM,
  panfrost_device, panfrost_device_schedule_reset, panfrost_file_priv, panfrost_jm_ctx_create, panfrost_jm_ctx_destroy,
  panfrost_jm_ctx_from_handle, panfrost_jm_ctx_get, panfrost_jm_ctx_put, panfrost_jm_fini, panfrost_jm_init, type PanfrostJob,
} from './jm.ts';
import { panfrost_sched_binding } from './on-sched.ts';
import { panfrost_dep_hw_binding } from './on-dep-hw.ts';

const EOPNOTSUPP = 95;

const PRIORITY: Record<Priority, number> = {
  low: PANFROST_JM_CTX_PRIORITY_LOW, normal: PANFROST_JM_CTX_PRIORITY_MEDIUM, high: PANFROST_JM_CTX_PRIORITY_HIGH,
  realtime: PANFROST_JM_CTX_PRIORITY_HIGH,
};

/** Device options (options.driver) and their defaults. */
export interface PanfrostDeviceOptions {
  /** HW_FEATURE_JOBCHAIN_DISAMBIGUATION: two jobs per slot (credit_limit 2); false: one. */
  readonly jobchain_disambiguation: boolean;
  /** HW_ISSUE_TTRX_3076: a job bus fault needs a GPU reset (engine_reset faults become bus faults). */
  readonly bus_fault_needs_reset: boolean;
  /** The opener may create HIGH priority contexts (CAP_SYS_NICE or DRM master); else -EACCES. */
  readonly high_priority_allowed: boolean;
  /** DRM_DEP_QUEUE_FLAGS_* of every queue (dep-hw binding only). */
  readonly dep_flags: number;
  /** The rings' policy within a priority level (dep-hw binding only): fifo (drm_sched's default), rr, fair. */
  readonly hw_policy: 'fifo' | 'rr' | 'fair';
}

export const PANFROST_DEFAULTS: PanfrostDeviceOptions = Object.freeze({
  jobchain_disambiguation: true, bus_fault_needs_reset: false, high_priority_allowed: true, dep_flags: 0, hw_policy: 'fifo',
});

/** What the uapi accepts (checked before a workload or token runs): the options above, a queue's `slot`, its engines. */
export const PANFROST_OPTION_SCHEMA: DriverOptionSchema = {
  device: {
    jobchain_disambiguation: { type: 'bool' },
    bus_fault_needs_reset: { type: 'bool' },
    high_priority_allowed: { type: 'bool' },
    dep_flags: { type: 'int', min: 0, max: 3 },
    hw_policy: { type: 'enum', values: ['fifo', 'rr', 'fair'] },
  },
  // create_queue: options.driver.slot picks job slot 0 or 1 (anything else is -EINVAL).
  queue: { slot: { type: 'int', min: 0, max: 1 } },
  engines: ['render', 'compute', 'copy'],
};

/** The device options with defaults filled in; a bad key or value is a RangeError naming it. */
export function panfrost_options(options: DeviceOptions | undefined): PanfrostDeviceOptions {
  const given = options?.driver ?? {};
  const out: Record<string, unknown> = { ...PANFROST_DEFAULTS };
  for (const [key, value] of Object.entries(given)) {
    if (!(key in PANFROST_DEFAULTS)) throw new RangeError(`panfrost: unknown device option '${key}' (known: ${Object.keys(PANFROST_DEFAULTS).join(', ')})`);
    const expected = typeof (PANFROST_DEFAULTS as unknown as Record<string, unknown>)[key];
    if (typeof value !== expected) throw new RangeError(`panfrost: device option '${key}' must be a ${expected}, got ${JSON.stringify(value)}`);
    out[key] = value;
  }
  const policy = out.hw_policy;
  if (policy !== 'fifo' && policy !== 'rr' && policy !== 'fair') throw new RangeError(`panfrost: hw_policy must be fifo, rr or fair, got ${JSON.stringify(policy)}`);
  return out as unknown as PanfrostDeviceOptions;
}

interface PanfrostQueueHandle extends QueueHandle {
  readonly file: panfrost_file_priv;
  readonly ctx_handle: number;
  readonly slot: number;
  open: boolean;
  /** The device's out-fence references of the jobs in flight. */
  readonly out_fences: OutFenceRefs<PanfrostJobHandle>;
  /** Set when destroy_queue has returned: the queue's jobs are out of reach of faults and manual completion. */
  destroyed: boolean;
}

interface PanfrostJobHandle extends JobHandle {
  readonly chain: panfrost_chain;
}

/** The harness device: panfrost on one binding. */
export class PanfrostDevice implements Device {
  readonly kernel: Kernel;
  readonly driver = 'panfrost';
  readonly backend: Backend;
  readonly engines: readonly EngineClass[] = ['render', 'compute', 'copy'];
  readonly reports_hw_start = true;
  readonly pfdev: panfrost_device;
  readonly options: PanfrostDeviceOptions;
  private readonly files = new Map<number, panfrost_file_priv>();
  /** Queue handles made so far: the next one's id. */
  private handles_made = 0;
  /** The open files' queue handles, so that a close walks its own file's only. */
  private readonly handles_of = new Map<panfrost_file_priv, PanfrostQueueHandle[]>();
  private next_client = 0;
  private next_job = 0;
  /** The queue each submitted chain came from (an engine reset names the queue whose job runs). */
  private readonly chain_queue = new WeakMap<panfrost_chain, PanfrostQueueHandle>();

  constructor(kernel: Kernel, backend: Backend, options?: DeviceOptions) {
    if (backend === 'dep') throw new RangeError("panfrost: no drm_dep binding without the HW-queue layer (backends: sched, dep-hw)");
    this.kernel = kernel;
    this.backend = backend;
    this.options = panfrost_options(options);
    const o = this.options;
    const policy = o.hw_policy === 'fair' ? DRM_DEP_HW_POLICY_FAIR : o.hw_policy === 'rr' ? DRM_DEP_HW_POLICY_RR : DRM_DEP_HW_POLICY_FIFO;
    const binding = backend === 'sched' ? panfrost_sched_binding : panfrost_dep_hw_binding(o.dep_flags, policy);
    this.pfdev = new panfrost_device(kernel, binding, { jobchain_disambiguation: o.jobchain_disambiguation, bus_fault_needs_reset: o.bus_fault_needs_reset });
    // deplab_job_hw_start, the same on both bindings: a job starts when its slot makes its chain
    // the running one (hw.ts); each binding records the job's finished fence at arm.
    const hw_start = (this.pfdev.hw_start = job_hw_start_trace(kernel));
    if (hw_start !== null) this.pfdev.hw.chain_started = (chain) => hw_start.started(chain);
    const ret = panfrost_jm_init(this.pfdev);
    if (ret !== 0) throw new Error(`panfrost: panfrost_jm_init failed with ${ret}`);
  }

  /** panfrost_open: the file and its default JM context (handle 0, MEDIUM). */
  open_client(name: string): ClientHandle {
    const id = this.next_client++;
    const file = new panfrost_file_priv(this.pfdev, id);
    const handle = panfrost_jm_ctx_create(file, PANFROST_JM_CTX_PRIORITY_MEDIUM, this.options.high_priority_allowed);
    this.kernel.WARN_ON(handle !== 0, 'panfrost_jm_open', `default JM context got handle ${handle}`);
    this.files.set(id, file);
    return { id, name };
  }

  /** JM_CTX_CREATE at the queue's priority; the queue submits to the slot its engine maps to. */
  create_queue(client: ClientHandle, options: QueueOptions): QueueHandle | number {
    const file = this.files.get(client.id);
    if (file === undefined || this.pfdev.unplugged) return -ENODEV;
    const slot_option = options.driver?.slot;
    let slot: number;
    if (slot_option !== undefined) {
      if (slot_option !== 0 && slot_option !== 1) return -EINVAL;
      slot = slot_option;
    } else if (options.engine === 'render') slot = 0;
    else if (options.engine === 'compute' || options.engine === 'copy') slot = 1;
    else return -EINVAL;
    const ctx_handle = panfrost_jm_ctx_create(file, PRIORITY[options.priority], this.options.high_priority_allowed);
    if (ctx_handle < 0) return ctx_handle;
    const q: PanfrostQueueHandle = {
      id: this.handles_made, name: `${client.name}/q${this.handles_made}`, client, engine: options.engine,
      file, ctx_handle, slot, open: true, out_fences: new OutFenceRefs(), destroyed: false,
    };
    this.handles_made++;
    let mine = this.handles_of.get(file);
    if (mine === undefined) this.handles_of.set(file, (mine = []));
    mine.push(q);
    return q;
  }

  /** panfrost_ioctl_submit with one job chain; may sleep (allocations). */
  *submit(queue: QueueHandle, spec: JobSpec): Sleepable<JobHandle | number> {
    const q = queue as PanfrostQueueHandle;
    if (!q.open || this.pfdev.unplugged) return -ENODEV;
    const k = this.kernel;
    k.spend(k.cost_of('panfrost.job_create_ns', 1_500));
    const chain = panfrost_hw_chain_create(this.pfdev.hw, spec.duration_ns === 'manual' ? 0 : spec.duration_ns);
    chain.manual = spec.duration_ns === 'manual';
    chain.hang = spec.hang === true;
    const out = panfrost_submit(this.pfdev, q.file, q.ctx_handle, chain, q.slot === 0 ? PANFROST_JD_REQ_FS : 0, spec.deps);
    if (typeof out === 'number') return out;
    const handle: PanfrostJobHandle = { id: this.next_job++, queue, out_fence: out, fence_context: out.context, fence_seqno: out.seqno, chain };
    q.out_fences.add(handle);
    this.chain_queue.set(chain, q);
    return handle;
  }

  complete_manual(job: JobHandle): void {
    const chain = (job as PanfrostJobHandle).chain;
    if (!(job.queue as PanfrostQueueHandle).destroyed && chain.manual) panfrost_hw_chain_complete_manual(this.pfdev.hw, chain);
  }

  /** There is no priority ioctl: a JM context's priority is fixed at creation. */
  set_priority(_queue: QueueHandle, _priority: Priority): number {
    return -EOPNOTSUPP;
  }

  /** JM_CTX_DESTROY of the queue's context; returns at once (in-flight jobs are hard-stopped). */
  *destroy_queue(queue: QueueHandle): Sleepable<number> {
    const q = queue as PanfrostQueueHandle;
    if (!q.open) return -EINVAL;
    q.open = false;
    const ret = yield* panfrost_jm_ctx_destroy(q.file, q.ctx_handle);
    q.out_fences.release_all();
    q.destroyed = true;
    return ret;
  }

  /** postclose: panfrost_jm_close destroys every JM context of the file. */
  *close_client(client: ClientHandle): Sleepable {
    const file = this.files.get(client.id);
    if (file === undefined) return;
    for (const q of this.handles_of.get(file) ?? []) if (q.open) yield* this.destroy_queue(q);
    for (const handle of [...file.jm_ctxs.keys()]) yield* panfrost_jm_ctx_destroy(file, handle);
    this.files.delete(client.id);
    this.handles_of.delete(file);
  }

  inject_fault(fault: Fault): void {
    const hw = this.pfdev.hw;
    if (this.pfdev.unplugged) {
      this.kernel.tp('panfrost_fault_after_unplug', { kind: fault.kind });
      return;
    }
    if (fault.kind === 'hang_job') {
      const chain = (fault.job as PanfrostJobHandle).chain;
      if (!(fault.job.queue as PanfrostQueueHandle).destroyed && !chain.done) panfrost_hw_chain_hang(hw, chain);
    } else if (fault.kind === 'engine_reset') {
      const q = fault.queue as PanfrostQueueHandle;
      const running = hw.slots[q.slot].current;
      if (running === null || q.destroyed || this.chain_queue.get(running) !== q) {
        this.kernel.tp('panfrost_fault_nothing_running', { queue: q.name });
        return;
      }
      panfrost_hw_chain_fault(hw, running, this.options.bus_fault_needs_reset ? DRM_PANFROST_EXCEPTION_JOB_BUS_FAULT : DRM_PANFROST_EXCEPTION_JOB_CONFIG_FAULT);
    } else if (fault.kind === 'device_reset') {
      panfrost_device_schedule_reset(this.pfdev);
    } else {
      this.kernel.tp('panfrost_fault_unsupported', { kind: fault.kind });
    }
  }

  /** panfrost_remove: panfrost_jm_fini (the interrupt masked, the schedulers torn down). */
  *unplug(): Sleepable {
    if (this.pfdev.unplugged) return;
    this.pfdev.unplugged = true;
    yield* panfrost_jm_fini(this.pfdev);
  }

  queue_state(queue: QueueHandle): QueueState {
    const q = queue as PanfrostQueueHandle;
    return { alive: q.open, banned: false, jobs_in_flight: q.out_fences.unsignalled(), detail: { slot: q.slot, jm_ctx: q.ctx_handle } };
  }
}

/**
 * panfrost_ioctl_submit for one chain: look the context up, allocate and initialise the job,
 * add the in-fences (references borrowed), push. Returns a new reference to the out-fence, or
 * a negative errno.
 */
export function panfrost_submit(pfdev: panfrost_device, file: panfrost_file_priv, ctx_handle: number, chain: panfrost_chain,
  requirements: number, deps: readonly dma_fence[]): dma_fence | number {
  const b = pfdev.binding;
  const ctx = panfrost_jm_ctx_from_handle(file, ctx_handle);
  if (ctx === null) return -EINVAL;
  const job: PanfrostJob | null = b.job_alloc(pfdev, chain, requirements);
  if (job === null) {
    panfrost_jm_ctx_put(ctx);
    return -ENOMEM;
  }
  job.ctx = panfrost_jm_ctx_get(ctx);
  const slot = (requirements & PANFROST_JD_REQ_FS) !== 0 ? 0 : 1;
  let ret = b.job_init(job, ctx, slot, file.client_id);
  let out: dma_fence | null = null;
  if (ret === 0) {
    for (const dep of deps) {
      ret = b.job_add_dependency(job, dma_fence_get(dep));
      if (ret !== 0) break;
    }
    if (ret === 0) ret = b.job_push(job);
    if (ret === 0) out = dma_fence_get(job.render_done_fence!);
    else b.job_cleanup(job);
  }
  b.job_put(job);
  panfrost_jm_ctx_put(ctx);
  return out ?? ret;
}

export const panfrost_device_factory: DeviceFactory = (kernel, backend, options) => new PanfrostDevice(kernel, backend, options);
