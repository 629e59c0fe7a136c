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

export { OutFenceRefs } from './out-fences.ts';
