/**
 * The normalized workload: what every loader (JSON, IGT gem_wsim) compiles into and what the
 * runner interprets. It is plain data (no functions, maps or classes) so it can be written to
 * JSON, hashed, and sent to worker threads unchanged.
 *
 * The model is close to gem_wsim: each client runs one program, a list of steps executed in
 * order by one submitting thread, repeated for a number of loops (or for a duration). Steps
 * refer to earlier steps of the same program by absolute index; a reference means "the
 * instance of that step in the current loop iteration" (which always exists, since it is
 * earlier in the iteration).
 *
 * All times are integers in microseconds of virtual time unless a name says otherwise.
 * Randomness is described, never drawn here: a Distribution is sampled by draw() from a named
 * random stream, so both schedulers see the same numbers.
 */
import type { EngineClass, Priority } from '@deplab/driver-api';

export type { EngineClass, Priority };

/** Every engine class and priority, in the device interface's order (for validation). */
export const ENGINE_CLASSES: readonly EngineClass[] = ['render', 'copy', 'video', 'video_enhance', 'compute', 'bind'];
export const PRIORITIES: readonly Priority[] = ['low', 'normal', 'high', 'realtime'];

/**
 * A distribution of a time span in whole microseconds, sampled by draw().
 * - constant: always value_us; draws nothing from the stream.
 * - uniform: an integer in [min_us, max_us], both inclusive (gem_wsim's "min-max").
 * - exponential / normal: rounded to the nearest integer, then clamped to [min_us, max_us]
 *   (max_us null: unbounded above).
 */
export type Distribution =
  | { readonly kind: 'constant'; readonly value_us: number }
  | { readonly kind: 'uniform'; readonly min_us: number; readonly max_us: number }
  | {
    readonly kind: 'exponential';
    readonly mean_us: number;
    readonly min_us: number;
    readonly max_us: number | null;
  }
  | {
    readonly kind: 'normal';
    readonly mean_us: number;
    readonly stddev_us: number;
    readonly min_us: number;
    readonly max_us: number | null;
  };

/**
 * What a batch waits for before the scheduler may run it.
 *
 * On another step of the same program (`step_index` < this step's index, same iteration):
 * - 'data': wait until that batch has completed (its out-fence signalled). gem_wsim's "-N":
 *   an implicit dependency through a shared buffer on i915, an explicit syncobj on xe. The
 *   target is a batch.
 * - 'sync': wait on the target's out-fence passed explicitly as an in-fence (gem_wsim "f-N",
 *   a sync_file). The target is a batch (signalled at its completion) or a standalone fence
 *   step (signalled by a signal step, see FenceStep).
 * - 'submit': wait until the target batch has been handed to the hardware (the scheduler's
 *   run_job, i.e. its scheduled fence), not until it completes (gem_wsim "s-N", i915 submit
 *   fences): the two batches may then run concurrently. The target is a batch.
 *
 * On the last job of a queue ('last_job'): the job most recently submitted on that queue (any
 * client, any iteration) at the moment this batch is submitted; no dependency if that queue
 * has not submitted anything yet or was destroyed. kind 'data' waits for its completion,
 * 'submit' for it to reach the hardware.
 *
 * On an external fence ('external'): a fence declared in Workload.external_fences, signalled
 * at its signal_at_us or by a signal_fence event.
 */
export type Dependency =
  | { readonly on: 'step'; readonly step_index: number; readonly kind: 'data' | 'submit' | 'sync' }
  | { readonly on: 'last_job'; readonly client: string; readonly queue: string; readonly kind: 'data' | 'submit' }
  | { readonly on: 'external'; readonly fence: string };

/**
 * Submit one job on `queue` (a queue of this client), then continue with the next step at once
 * unless `wait` is set.
 * - duration: GPU execution time, drawn per submission; 'infinite' runs until a terminate step
 *   names it (the runner submits duration 'manual' and calls complete_manual).
 * - credits: passed to the driver where it lets userspace influence them; null: the driver's.
 * - reads / writes: buffers (Workload.buffers) accessed with implicit synchronisation, like
 *   dma_resv: a read waits for the last job that wrote the buffer; a write waits for the last
 *   writer and for every reader since. The runner turns these into dependencies at submit time.
 * - wait: after the submit returns, wait until this job completes (gem_wsim's wait flag).
 * - hang: the job hangs on the hardware (JobSpec.hang).
 */
export interface BatchStep {
  readonly kind: 'batch';
  readonly queue: string;
  readonly duration: Distribution | 'infinite';
  readonly credits: number | null;
  readonly deps: readonly Dependency[];
  readonly reads: readonly string[];
  readonly writes: readonly string[];
  readonly wait: boolean;
  readonly hang: boolean;
  readonly origin: string;
}

/** Sleep for a drawn time (gem_wsim "d"). */
export interface DelayStep {
  readonly kind: 'delay';
  readonly duration: Distribution;
  readonly origin: string;
}

/**
 * Sleep until period_us has passed since the current iteration started; if it has already
 * passed, continue at once and count a missed period (gem_wsim "p", e.g. 16667 for 60 fps).
 */
export interface PeriodStep {
  readonly kind: 'period';
  readonly period_us: number;
  readonly origin: string;
}

/** Wait until the batch at step_index (this iteration) has completed (gem_wsim "s.-N"). */
export interface SyncStep {
  readonly kind: 'sync';
  readonly step_index: number;
  readonly origin: string;
}

/**
 * From here on, before submitting a batch, wait until the batch this client submitted `depth`
 * batches earlier (in any iteration) has completed. 0 turns throttling off (gem_wsim "t").
 */
export interface ThrottleStep {
  readonly kind: 'throttle';
  readonly depth: number;
  readonly origin: string;
}

/**
 * From here on, after submitting a batch, while more than `depth` batches of this client on
 * that batch's queue are incomplete, wait for the oldest to complete. 0 turns it off
 * (gem_wsim "q").
 */
export interface QueueDepthStep {
  readonly kind: 'queue_depth';
  readonly depth: number;
  readonly origin: string;
}

/**
 * Set the priority of a queue of this client. The runner calls set_priority only when the
 * value differs from the queue's current priority (gem_wsim issues the ioctl only on change).
 */
export interface SetPriorityStep {
  readonly kind: 'set_priority';
  readonly queue: string;
  readonly priority: Priority;
  readonly origin: string;
}

/**
 * Create a standalone (software) fence for this iteration; batches use it through a 'sync'
 * dependency (gem_wsim "f"). Like gem_wsim's sw_sync timeline, a signal step signals the named
 * fence and every earlier unsignalled fence of this client, and every fence still unsignalled
 * at the end of the iteration is signalled then.
 */
export interface FenceStep {
  readonly kind: 'fence';
  readonly origin: string;
}

/** Signal the fence created by the fence step at step_index (gem_wsim "a.-N"). */
export interface SignalStep {
  readonly kind: 'signal';
  readonly step_index: number;
  readonly origin: string;
}

/** Complete the 'infinite' batch at step_index now (gem_wsim "T.-N"). */
export interface TerminateStep {
  readonly kind: 'terminate';
  readonly step_index: number;
  readonly origin: string;
}

export type Step =
  | BatchStep | DelayStep | PeriodStep | SyncStep | ThrottleStep | QueueDepthStep
  | SetPriorityStep | FenceStep | SignalStep | TerminateStep;

export type StepKind = Step['kind'];

/**
 * When a program stops: after `loops` iterations, or before starting an iteration once
 * duration_us of virtual time has passed since the program started.
 */
export type ProgramEnd =
  | { readonly kind: 'loops'; readonly loops: number }
  | { readonly kind: 'duration'; readonly duration_us: number };

export interface Program {
  readonly end: ProgramEnd;
  readonly steps: readonly Step[];
}

/**
 * A queue the client creates before its program starts (Device.create_queue).
 * load_balanced is informational: the device interface places queues by engine class, and a
 * driver with several engines of the class decides placement itself (gem_wsim "B").
 */
export interface QueueDefinition {
  readonly name: string;
  readonly engine: EngineClass;
  readonly priority: Priority;
  readonly long_running: boolean;
  readonly driver: Readonly<Record<string, number | string | boolean>> | null;
  readonly load_balanced: boolean;
}

/** One DRM file: its queues and the program its submitting thread runs. */
export interface ClientDefinition {
  readonly name: string;
  readonly queues: readonly QueueDefinition[];
  readonly program: Program;
  readonly origin: string;
}

/** A buffer jobs read and write (implicit synchronisation); size is informational. */
export interface BufferDefinition {
  readonly name: string;
  readonly size_bytes: readonly [number, number] | null;
}

/** A fence outside any queue; null signal_at_us: signalled only by a signal_fence event. */
export interface ExternalFenceDefinition {
  readonly name: string;
  readonly signal_at_us: number | null;
}

/**
 * When an event fires: at an absolute virtual time, or right after a client has executed a
 * step (for a batch: after its submit returned) in a given iteration (0-based).
 */
export type EventTrigger =
  | { readonly kind: 'at'; readonly at_us: number }
  | { readonly kind: 'after'; readonly client: string; readonly step_index: number; readonly loop: number };

/**
 * What an event does. hang_job, fw_error and engine_reset act on the oldest incomplete job of
 * the queue (the one on the hardware); hang_job is a no-op if the queue has none.
 */
export type EventAction =
  | { readonly kind: 'set_priority'; readonly client: string; readonly queue: string; readonly priority: Priority }
  | { readonly kind: 'destroy_queue'; readonly client: string; readonly queue: string }
  | { readonly kind: 'close_client'; readonly client: string }
  | { readonly kind: 'hang_job'; readonly client: string; readonly queue: string }
  | { readonly kind: 'fw_error'; readonly client: string; readonly queue: string }
  | { readonly kind: 'engine_reset'; readonly client: string; readonly queue: string }
  | { readonly kind: 'device_reset' }
  | { readonly kind: 'unplug' }
  | { readonly kind: 'signal_fence'; readonly fence: string };

export interface WorkloadEvent {
  readonly trigger: EventTrigger;
  readonly action: EventAction;
  readonly origin: string;
}

/**
 * A message about a source text. Errors reject the input; notes accompany a workload and say
 * what a loader mapped, approximated or ignored. line and column are 1-based (column counts
 * UTF-16 code units); path is a field path like `clients[1].program.steps[3]`.
 */
export interface Diagnostic {
  readonly source: string;
  readonly line: number | null;
  readonly column: number | null;
  readonly path: string | null;
  readonly message: string;
}

export type NoteKind = 'mapped' | 'approximated' | 'ignored';

export interface Note extends Diagnostic {
  readonly kind: NoteKind;
}

export interface Workload {
  readonly name: string;
  readonly description: string;
  /** The source_name it was loaded from. */
  readonly source: string;
  readonly clients: readonly ClientDefinition[];
  readonly buffers: readonly BufferDefinition[];
  readonly external_fences: readonly ExternalFenceDefinition[];
  readonly events: readonly WorkloadEvent[];
  readonly notes: readonly Note[];
}

export type LoadResult =
  | { readonly ok: true; readonly workload: Workload }
  | { readonly ok: false; readonly errors: readonly Diagnostic[] };

/** Bounds on every collection and number: exceeding one is an error, never a hang. */
export const LIMITS = {
  text_chars: 4 * 1024 * 1024,
  json_depth: 64,
  errors: 50,
  clients: 1024,
  queues_per_client: 64,
  steps_per_program: 65536,
  deps_per_batch: 256,
  buffers: 65536,
  events: 65536,
  loops: 1_000_000_000,
  /** One hour: bounds every time in microseconds. */
  time_us: 3_600_000_000,
  credits: 1_000_000,
  name_chars: 128,
} as const;
