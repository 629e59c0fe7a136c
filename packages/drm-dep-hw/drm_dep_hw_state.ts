/**
 * The private state of the HW-queue layer's three objects (ring, queue, job) and the constants
 * every file of the layer shares. Nothing here is exported from index.ts: drivers reach the
 * objects only through the drm_dep_hw_* functions, as they reach drm_dep's.
 */
import {
  Fifo, dma_fence, dma_fence_cb, rb_root_cached, MAX_SCHEDULE_TIMEOUT, wait_queue_head,
  type delayed_work, type Kernel, type Sleepable, type spinlock_t, type work_struct, type workqueue_struct,
} from '@deplab/sim';
import { drm_dep_job, drm_dep_queue, type drm_dep_timedout_stat } from '@deplab/drm-dep';

/** Selection policy within one priority level (values as drm_sched's DRM_SCHED_POLICY_*). */
export const DRM_DEP_HW_POLICY_RR = 0;
export const DRM_DEP_HW_POLICY_FIFO = 1;
export const DRM_DEP_HW_POLICY_FAIR = 2;

/** Queue priorities, highest first (values as enum drm_sched_priority). */
export const DRM_DEP_HW_PRIORITY_KERNEL = 0;
export const DRM_DEP_HW_PRIORITY_HIGH = 1;
export const DRM_DEP_HW_PRIORITY_NORMAL = 2;
export const DRM_DEP_HW_PRIORITY_LOW = 3;
export const DRM_DEP_HW_PRIORITY_COUNT = 4;

/** Jobs the ring worker hands to the hardware in one invocation before it re-queues itself. */
export const DRM_DEP_HW_RUN_BATCH_MAX = 32;

/**
 * CPU cost of the layer's bookkeeping on top of the substrate's (locks, fences, work
 * dispatch); overridable through the cost table ("drm_dep_hw.stage_ns", ...). Same order as
 * drm_dep's own entries: a few cache lines each.
 */
export const DRM_DEP_HW_COSTS = Object.freeze({
  stage_ns: 40,
  select_step_ns: 20,
  run_ns: 60,
  done_ns: 40,
  retire_ns: 30,
});

const COST_NAMES = Object.freeze(Object.fromEntries(
  Object.keys(DRM_DEP_HW_COSTS).map((key) => [key, `drm_dep_hw.${key}`]),
)) as Readonly<Record<keyof typeof DRM_DEP_HW_COSTS, string>>;

export function hw_cost(k: Kernel, key: keyof typeof DRM_DEP_HW_COSTS): number {
  return k.cost_of(COST_NAMES[key], DRM_DEP_HW_COSTS[key]);
}

/**
 * struct drm_dep_hw_ring_ops: what the driver does with one hardware ring.
 * J is the driver's job type (it extends drm_dep_hw_job), Q its queue type.
 */
export interface drm_dep_hw_ring_ops<J extends drm_dep_job = drm_dep_job, Q extends drm_dep_queue = drm_dep_queue> {
  /**
   * Write the job to the hardware ring. Ring worker (kworker), inside a dma-fence signalling
   * section: no GFP_KERNEL allocation, no fence wait. Returns the HW fence with a reference
   * for the layer, null if the job is already complete, or a negative errno (the job
   * completes with it). Also called again by drm_dep_hw_job_resubmit() on a stopped ring.
   */
  run_job(job: J): dma_fence | null | number;
  /**
   * The oldest job on the ring ran longer than the ring timeout, or drm_dep_hw_ring_fault()
   * was called. TDR workqueue, process context, may sleep (return a generator). The job
   * stays the ring's until its HW fence signals or the driver completes it
   * (drm_dep_hw_job_complete): RESET and NO_HANG re-arm the TDR, ENODEV does not.
   */
  timedout_job(job: J): drm_dep_timedout_stat | Sleepable<drm_dep_timedout_stat>;
  /** drm_dep's release_job, after the layer dropped its parts (see drm_dep_queue_ops). */
  release_job?(job: J): void;
  /** drm_dep's release: start the queue's asynchronous teardown, then drm_dep_queue_release_done(q). */
  release_queue?(q: Q): void;
  /** drm_dep's free_queue: the queue's memory may go (it has left its ring). */
  free_queue?(q: Q): void;
}

/** Arguments of drm_dep_hw_ring_init. */
export interface drm_dep_hw_ring_init_args {
  ops: drm_dep_hw_ring_ops<any, any>;
  /** Ring name: workqueue name, trace "ring". */
  name: string;
  /** Credits the hardware ring holds at once (>= 1); each job takes 1..credit_limit. */
  credit_limit: number;
  /** Ring timeout in jiffies; MAX_SCHEDULE_TIMEOUT disables the TDR timer. */
  timeout: number;
  /** DRM_DEP_HW_POLICY_*; default FIFO (drm_sched's default). */
  policy?: number;
  /**
   * Priority levels served in strict order, 1..DRM_DEP_HW_PRIORITY_COUNT. A queue of priority
   * p sits in level min(p, levels - 1). Default: DRM_DEP_HW_PRIORITY_COUNT, or 1 under FAIR
   * (drm_sched's FAIR keeps every entity in one run queue and weighs priorities by vruntime).
   */
  levels?: number;
  /** Driver-given ordered submit workqueue (run and retire works); default: the ring's own. */
  submit_wq?: workqueue_struct | null;
  /** Driver-given TDR workqueue (e.g. one ordered reset workqueue for every ring); default: submit_wq. */
  timeout_wq?: workqueue_struct | null;
  /**
   * The ring executes its jobs in order, so a job that depends on a job of another queue of
   * the same ring waits only until that job reached the ring (its scheduled fence), as
   * drm_sched's same-scheduler optimisation does; true turns this off (DRM_SCHED_FENCE_DONT_PIPELINE).
   */
  no_pipeline?: boolean;
}

/** DECLARE_EWMA(drm_sched_avgtime, 6, 4): new = (3 * old + sample) / 4, fixed point, first sample seeds it. */
export class ewma_avgtime {
  internal = 0;

  add(sample_us: number): void {
    const scaled = Math.max(0, Math.trunc(sample_us)) * 64;
    this.internal = this.internal === 0 ? scaled : Math.floor((this.internal * 3 + scaled) / 4);
  }

  read(): number {
    return Math.floor(this.internal / 64);
  }
}

export const RING_ZEROED = 0;
export const RING_LIVE = 1;
export const RING_DEAD = 2;

/** Everything inside struct drm_dep_hw_ring. */
export class RingState {
  readonly kernel: Kernel;
  readonly owner: object;
  id = -1;
  phase = RING_ZEROED;
  name = '';
  ops: drm_dep_hw_ring_ops | null = null;
  policy = DRM_DEP_HW_POLICY_FIFO;
  credit_limit = 0;
  /** Credits of the jobs on the hardware (handed to ops.run_job, not yet complete). */
  credit_count = 0;
  timeout_jiffies = MAX_SCHEDULE_TIMEOUT;
  /** Run queues, one per priority level, highest first. */
  levels: HwRunQueue[] = [];
  submit_wq: workqueue_struct | null = null;
  own_submit_wq = false;
  timeout_wq: workqueue_struct | null = null;
  work_run: work_struct | null = null;
  work_retire: work_struct | null = null;
  work_tdr: delayed_work | null = null;
  /** Protects the run queues, the queues' staged lists and FAIR statistics. Process context only. */
  rq_lock: spinlock_t | null = null;
  /** Protects pending, done_list, credit_count, on_ring counts and TDR arming. Hardirq-safe. */
  job_lock: spinlock_t | null = null;
  /** The lock of the ring fences the layer returns to drm_dep (their signalling). */
  fence_lock: spinlock_t | null = null;
  /**
   * The lock of the scheduled fences. Its own class: a scheduled fence is signalled from the
   * finished fence's callback (finished lock -> this), and drm_dep signals the finished fence
   * from the ring fence's callback (ring fence lock -> finished lock).
   */
  sched_fence_lock: spinlock_t | null = null;
  /** Jobs on the hardware, oldest first (the TDR times the head). */
  readonly pending = new Fifo<HwJobState>();
  /** Completed jobs whose layer reference the retire worker drops, in completion order. */
  readonly done_list: HwJobState[] = [];
  stopped = false;
  /** A killed queue may have staged jobs to cancel: the run worker looks. */
  reap_pending = false;
  /** drm_dep_hw_ring_fault(): the next TDR arm is immediate. */
  tdr_immediate = false;
  /** Queues initialised on this ring and not yet freed. */
  readonly queues = new Set<HwQueueState>();
  readonly idle = new wait_queue_head();
  /** FAIR: every retired job's GPU time, us (drm_sched's sched->avg_job_us). */
  readonly avg_job_us = new ewma_avgtime();
  /** Completion time of the last retired job: GPU time counts from max(start, this). */
  last_done_ns = 0;
  no_pipeline = false;
  /** The queues of this ring by their drm_dep finished-fence context (same-ring dependencies). */
  readonly by_finished_context = new Map<number, HwQueueState>();

  constructor(kernel: Kernel, owner: object) {
    this.kernel = kernel;
    this.owner = owner;
  }
}


function queue_key(qs: HwQueueState): number {
  return qs.key;
}

/** One priority level: the queues with staged jobs, ordered by key (stable for equal keys). */
export class HwRunQueue {
  /** The queues with staged jobs, by `key`. */
  readonly tree = new rb_root_cached<HwQueueState>(queue_key);
  /** Priority of the tree head (FAIR's head_prio), -1 when empty. */
  head_prio = -1;
  /** RR: the level's fake timestamp (drm_sched's rq->rr_ts). */
  rr_ts = 0;
}

/** The layer's part of struct drm_dep_hw_queue. */
export class HwQueueState {
  readonly kernel: Kernel;
  readonly owner: drm_dep_queue;
  ring: RingState | null = null;
  /** The driver ops, kept here: the queue outlives nothing of its ring but must not read it once freed. */
  ops: drm_dep_hw_ring_ops | null = null;
  name = '';
  priority = DRM_DEP_HW_PRIORITY_NORMAL;
  /** Jobs drm_dep handed over (dependencies met), not yet on the hardware, oldest first. */
  readonly staged = new Fifo<HwJobState>();
  /** Jobs of this queue on the hardware (under job_lock). */
  on_ring = 0;
  in_tree = false;
  /** The tree key: head submit time (FIFO), fake timestamp (RR), virtual runtime (FAIR). */
  key = 0;
  /** Insertion stamp in the level's tree (rb_root_cached). */
  rb_seq = 0;
  /** RR position of the queue (drm_sched's entity->rr_ts). */
  rr_ts = 0;
  /** FAIR statistics (drm_sched_entity_stats): GPU time, its value at the last re-key, vruntime. */
  runtime_ns = 0;
  prev_runtime_ns = 0;
  vruntime = 0;
  readonly avg_job_us = new ewma_avgtime();
  /** Fence context of the ring fences of this queue's jobs, and its last seqno. */
  fence_context = 0;
  fence_seqno = 0;
  /** Fence context of the scheduled fences of this queue's jobs (seqnos: the finished ones'). */
  sched_context = 0;
  /** Jobs pushed whose scheduled fence has not signalled, oldest first (under job_lock). */
  readonly unscheduled = new Fifo<HwJobState>();
  /** Finished-fence seqno of the last job pushed (arm and push are serialised per queue). */
  pushed_seqno = 0;
  initialised = false;

  constructor(kernel: Kernel, owner: drm_dep_queue) {
    this.kernel = kernel;
    this.owner = owner;
  }
}

export const HW_JOB_NEW = 0;
export const HW_JOB_INIT = 1;
/** drm_dep_hw_job_push() called. */
export const HW_JOB_PUSHED = 2;
/** drm_dep handed it over (run_job op): waiting in its queue's staged list. */
export const HW_JOB_STAGED = 3;
/** On the hardware ring. */
export const HW_JOB_RUNNING = 4;
/** Completed (or cancelled); its ring fence signalled. */
export const HW_JOB_DONE = 5;

/** The layer's part of struct drm_dep_hw_job. */
export class HwJobState {
  readonly kernel: Kernel;
  readonly owner: drm_dep_job;
  qs: HwQueueState | null = null;
  state = HW_JOB_NEW;
  credits = 0;
  client_id = 0;
  /** Push time (FIFO key), ns; -1 until drm_dep_hw_job_push. */
  submit_ns = -1;
  /** Handed to the hardware, and completed, ns (FAIR accounting, traces). */
  start_ns = -1;
  done_ns = -1;
  /** The finished fence's identity (what every job tracepoint is keyed by). */
  fence_context = 0;
  fence_seqno = 0;
  /**
   * The fence the layer returns to drm_dep from run_job and signals when the hardware is done:
   * embedded, so staging (inside drm_dep's signalling section) allocates nothing.
   */
  readonly ring_fence: dma_fence;
  /** The driver's HW fence (the layer's reference) and the layer's callback on it. */
  hw_fence: dma_fence | null = null;
  readonly hw_cb: dma_fence_cb;
  /**
   * Signalled when the job reaches the hardware (or ends without reaching it): what a job of
   * another queue of the ring waits for instead of the finished fence. Initialised at push.
   */
  readonly sched_fence: dma_fence;
  /** The layer's reference to the finished fence and its callback on it (push to release). */
  finished: dma_fence | null = null;
  readonly finished_cb: dma_fence_cb;

  constructor(kernel: Kernel, owner: drm_dep_job) {
    this.kernel = kernel;
    this.owner = owner;
    this.ring_fence = new dma_fence(kernel, 'drm_dep_hw.ring_fence');
    this.ring_fence.owner = this;
    this.hw_cb = new dma_fence_cb(this);
    this.sched_fence = new dma_fence(kernel, 'drm_dep_hw.scheduled');
    this.sched_fence.owner = this;
    this.finished_cb = new dma_fence_cb(this);
  }
}

/* ------------------------------------------------------------------------------------------ */
/* The public objects: opaque, their state private (as drm_dep's)                               */

let ring_state_of: (ring: drm_dep_hw_ring) => RingState;
let queue_state_of: (q: drm_dep_hw_queue) => HwQueueState;
let job_state_of: (job: drm_dep_hw_job) => HwJobState;

/**
 * struct drm_dep_hw_ring: one hardware ring (a job slot, an engine's ring buffer) that the
 * layer feeds from many drm_dep queues. Driver-owned, zeroed until drm_dep_hw_ring_init().
 */
export class drm_dep_hw_ring {
  readonly #state: RingState;

  constructor(kernel: Kernel) {
    this.#state = new RingState(kernel, this);
  }

  static {
    ring_state_of = (ring) => ring.#state;
  }
}

/**
 * struct drm_dep_hw_queue: a drm_dep_queue that feeds a ring. Drivers embed it by extending
 * this class; every drm_dep_queue_* function applies to it.
 */
export class drm_dep_hw_queue extends drm_dep_queue {
  readonly #hw: HwQueueState;

  constructor(kernel: Kernel) {
    super(kernel);
    this.#hw = new HwQueueState(kernel, this);
  }

  static {
    queue_state_of = (q) => q.#hw;
  }
}

/** struct drm_dep_hw_job: a drm_dep_job of a drm_dep_hw_queue. Drivers embed it by extending this class. */
export class drm_dep_hw_job extends drm_dep_job {
  readonly #hw: HwJobState;

  constructor(kernel: Kernel) {
    super(kernel);
    this.#hw = new HwJobState(kernel, this);
  }

  static {
    job_state_of = (job) => job.#hw;
  }
}

export function hw_ring_state(ring: drm_dep_hw_ring): RingState {
  return ring_state_of(ring);
}

export function hw_queue_state(q: drm_dep_hw_queue): HwQueueState {
  return queue_state_of(q);
}

export function hw_job_state(job: drm_dep_hw_job): HwJobState {
  return job_state_of(job);
}
