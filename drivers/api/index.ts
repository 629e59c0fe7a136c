/**
 * The common device interface: what the harness (layer 4) may do to a model driver (layer 3).
 * Every driver implements it once per binding (drm_sched and drm_dep); the harness never sees
 * a scheduler object. Operations that may sleep in the real driver (an ioctl blocking on a
 * semaphore, a synchronous teardown) are generators run in the submitting process's context.
 */
import type { Kernel, Sleepable, dma_fence } from '@deplab/sim';

/** drm_sched, drm_dep, or drm_dep with the HW-queue layer (@deplab/drm-dep-hw). */
export type Backend = 'sched' | 'dep' | 'dep-hw';

/** Engine classes a workload may name; each driver maps them onto what it has. */
export type EngineClass = 'render' | 'copy' | 'video' | 'video_enhance' | 'compute' | 'bind';

export type Priority = 'low' | 'normal' | 'high' | 'realtime';

export interface ClientHandle {
  readonly id: number;
  readonly name: string;
}

export interface QueueOptions {
  readonly engine: EngineClass;
  readonly priority: Priority;
  /** Long-running (compute/preempt-fence) mode where the driver has one (xe). */
  readonly long_running?: boolean;
  /** Driver-specific knobs (documented in each driver's README). */
  readonly driver?: Readonly<Record<string, number | string | boolean>>;
}

export interface QueueHandle {
  readonly id: number;
  readonly name: string;
  readonly client: ClientHandle;
  readonly engine: EngineClass;
}

export interface JobSpec {
  /** GPU execution time in ns, or 'manual' to complete only through complete_manual(). */
  readonly duration_ns: number | 'manual';
  /** Credits where the driver lets userspace influence them; otherwise the driver computes them. */
  readonly credits?: number;
  /** Fences the job waits for: other jobs' out-fences (any queue) or external fences. References are borrowed. */
  readonly deps: readonly dma_fence[];
  /** Make the job hang on the hardware (never completes by itself). */
  readonly hang?: boolean;
}

export interface JobHandle {
  readonly id: number;
  readonly queue: QueueHandle;
  /** The out-fence userspace gets (the scheduler's finished fence); a borrowed reference. */
  readonly out_fence: dma_fence;
  /** Finished fence context and seqno: the key trace events use for this job. */
  readonly fence_context: number;
  readonly fence_seqno: number;
}

export type Fault =
  | { readonly kind: 'hang_job'; readonly job: JobHandle }
  | { readonly kind: 'fw_error'; readonly queue: QueueHandle }
  | { readonly kind: 'engine_reset'; readonly queue: QueueHandle }
  | { readonly kind: 'device_reset' };

export interface QueueState {
  readonly alive: boolean;
  /** Banned / killed / dead for good after a timeout or a fault. */
  readonly banned: boolean;
  /** Jobs pushed and not yet freed by the scheduler. */
  readonly jobs_in_flight: number;
  readonly detail: Readonly<Record<string, number | string | boolean>>;
}

export interface Device {
  readonly kernel: Kernel;
  readonly driver: string;
  readonly backend: Backend;
  /** Engine classes this device has, for mapping workloads (wsim engines) onto it. */
  readonly engines: readonly EngineClass[];
  /**
   * The driver emits deplab_job_hw_start for every job that starts on its hardware
   * (JobHwStartTrace): the harness then checks what reached the hardware, not what run_job
   * was called for.
   */
  readonly reports_hw_start?: boolean;
  open_client(name: string): ClientHandle;
  create_queue(client: ClientHandle, options: QueueOptions): QueueHandle | number;
  /** The submit ioctl: returns the job, or a negative errno. May sleep (back-pressure). */
  submit(queue: QueueHandle, spec: JobSpec): Sleepable<JobHandle | number>;
  /** Complete a 'manual' job now. */
  complete_manual(job: JobHandle): void;
  set_priority(queue: QueueHandle, priority: Priority): number;
  /** Destroy a queue (ioctl); returns when the driver's ioctl would return. */
  destroy_queue(queue: QueueHandle): Sleepable<number>;
  /** Close the DRM file (Ctrl-C: jobs may be in flight). */
  close_client(client: ClientHandle): Sleepable;
  inject_fault(fault: Fault): void;
  /** Device unplug / driver unload: returns when the driver's remove() would return. */
  unplug(): Sleepable;
  queue_state(queue: QueueHandle): QueueState;
}

export interface DeviceOptions {
  /** Driver-specific device knobs (e.g. panthor CSG slot count). */
  readonly driver?: Readonly<Record<string, number | string | boolean>>;
}

export type DeviceFactory = (kernel: Kernel, backend: Backend, options?: DeviceOptions) => Device;

/**
 * deplab_job_hw_start: the hardware (or its firmware) began executing a job. A deplab-only
 * event (no upstream tracepoint), keyed like the scheduler job events by the job's finished
 * fence (drm_sched's s_fence->finished, drm_dep's finished fence), so that the harness can
 * measure and check what the hardware did on either scheduler alike.
 *
 * One per device, created only while tracing (`kernel.trace.enabled`), so an untraced run pays
 * nothing. The driver records the finished fence of each hardware job handle when it arms the
 * job (before the push: drm_dep may run the job from inside it); the hardware model reports
 * "handle started" through its own hook; the event is emitted once per job, at the first start
 * (a job the hardware executes again after a reset is not reported again). Keys are kept as
 * numbers, so a report does not depend on the scheduler job still being alive.
 */
export class JobHwStartTrace<H extends object> {
  private readonly kernel: Kernel;
  /** Armed handles not yet reported (weak: a job that never starts leaves nothing behind). */
  private readonly pending = new WeakMap<H, { readonly context: number; readonly seqno: number }>();

  constructor(kernel: Kernel) {
    this.kernel = kernel;
  }

  /** The job behind `handle` was armed: `finished` is its finished fence. */
  armed(handle: H, finished: dma_fence): void {
    this.pending.set(handle, { context: finished.context, seqno: finished.seqno });
  }

  /** The hardware started executing `handle`: emit deplab_job_hw_start, the first time only. */
  started(handle: H): void {
    const key = this.pending.get(handle);
    if (key === undefined) return;
    this.pending.delete(handle);
    this.kernel.tp('deplab_job_hw_start', { fence_context: key.context, fence_seqno: key.seqno });
  }
}

/** A device's JobHwStartTrace while the kernel traces, null otherwise. */
export function job_hw_start_trace<H extends object>(kernel: Kernel): JobHwStartTrace<H> | null {
  return kernel.trace.enabled ? new JobHwStartTrace<H>(kernel) : null;
}

/* ------------------------------------------------------------------------------------------ */
/* What a driver accepts                                                                        */

/** One key a driver reads from DeviceOptions.driver or QueueOptions.driver: its type and range. */
export type OptionSpec =
  | { readonly type: 'int'; readonly min: number; readonly max: number; readonly power_of_two?: boolean }
  | { readonly type: 'bool' }
  | { readonly type: 'enum'; readonly values: readonly string[] };

/**
 * What a driver's uapi accepts, so a workload or a replay token is checked before it runs
 * instead of failing inside the model: its device options, its per-queue knobs, and the engine
 * classes its create_queue takes.
 */
export interface DriverOptionSchema {
  readonly device: Readonly<Record<string, OptionSpec>>;
  readonly queue: Readonly<Record<string, OptionSpec>>;
  readonly engines: readonly EngineClass[];
}

function describe_spec(s: OptionSpec): string {
  switch (s.type) {
    case 'int': return `an integer in ${s.min}..${s.max}${s.power_of_two === true ? ', a power of two' : ''}`;
    case 'bool': return 'true or false';
    case 'enum': return `one of ${s.values.map((v) => JSON.stringify(v)).join(', ')}`;
  }
}

function fits(s: OptionSpec, v: unknown): boolean {
  switch (s.type) {
    case 'int': return typeof v === 'number' && Number.isSafeInteger(v) && v >= s.min && v <= s.max && (s.power_of_two !== true || (v > 0 && (v & (v - 1)) === 0));
    case 'bool': return typeof v === 'boolean';
    case 'enum': return typeof v === 'string' && s.values.includes(v);
  }
}

/**
 * Every problem of `values` against `specs`, one message per key naming it ("job_timeout_ms:
 * expected an integer in 1..10000, got 0"); empty when they fit. `what` names the set in the
 * messages ("xe device option", "xe queue knob").
 */
export function check_options(specs: Readonly<Record<string, OptionSpec>>, values: Readonly<Record<string, unknown>> | null | undefined, what: string): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(values ?? {})) {
    const spec = Object.hasOwn(specs, key) ? specs[key] : undefined;
    if (spec === undefined) {
      const known = Object.keys(specs);
      problems.push(`${JSON.stringify(key)} is not a ${what} (${known.length === 0 ? 'it takes none' : `known: ${known.join(', ')}`})`);
    } else if (!fits(spec, value)) {
      problems.push(`${key}: expected ${describe_spec(spec)}, got ${JSON.stringify(value) ?? String(value)}`);
    }
  }
  return problems;
}

export { OutFenceRefs } from './out-fences.ts';
