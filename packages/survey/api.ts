/**
 * The drm_sched API a survey looks for, and what each piece becomes on drm_dep.
 *
 * Symbols and struct fields come from include/drm/gpu_scheduler.h when the surveyed tree has it
 * (parsed like any other file). Without it the built-in table below is used: the header at the
 * RFC's base (v7.0-rc3: drm_sched_init_args, credit-based flow control, DRM_GPU_SCHED_STAT_RESET
 * and _NO_HANG, drm_sched_job_is_signaled, drm_sched_is_stopped and the
 * drm_sched_for_each_pending_job iterator of the Dec-2025 xe layering series).
 *
 * Symbol equivalents are the readiness mapping (packages/report/readiness.ts API_MAPPING);
 * fields have none there, so FIELD_EQUIVALENTS says what replaces each read or write.
 */
import { INTERNAL_ALTERNATIVE, mapping_for } from '@deplab/report';

/** The five structures whose fields a survey follows. */
export const SCHED_STRUCTS = ['drm_gpu_scheduler', 'drm_sched_entity', 'drm_sched_job', 'drm_sched_fence', 'drm_sched_rq'] as const;
export type SchedStruct = typeof SCHED_STRUCTS[number];

export interface FieldType { readonly type: string; readonly ptr: number }

/** v7.0-rc3 struct members (name -> base type, pointer depth) of the five structures. */
export const BUILTIN_FIELDS: Readonly<Record<SchedStruct, Readonly<Record<string, FieldType>>>> = {
  drm_gpu_scheduler: {
    ops: { type: 'drm_sched_backend_ops', ptr: 1 }, credit_limit: { type: 'u32', ptr: 0 }, credit_count: { type: 'atomic_t', ptr: 0 },
    timeout: { type: 'long', ptr: 0 }, name: { type: 'char', ptr: 1 }, num_rqs: { type: 'u32', ptr: 0 }, sched_rq: { type: 'drm_sched_rq', ptr: 2 },
    job_scheduled: { type: 'wait_queue_head_t', ptr: 0 }, job_id_count: { type: 'atomic64_t', ptr: 0 }, submit_wq: { type: 'workqueue_struct', ptr: 1 },
    timeout_wq: { type: 'workqueue_struct', ptr: 1 }, work_run_job: { type: 'work_struct', ptr: 0 }, work_free_job: { type: 'work_struct', ptr: 0 },
    work_tdr: { type: 'delayed_work', ptr: 0 }, pending_list: { type: 'list_head', ptr: 0 }, job_list_lock: { type: 'spinlock_t', ptr: 0 },
    hang_limit: { type: 'int', ptr: 0 }, score: { type: 'atomic_t', ptr: 1 }, _score: { type: 'atomic_t', ptr: 0 }, ready: { type: 'bool', ptr: 0 },
    free_guilty: { type: 'bool', ptr: 0 }, pause_submit: { type: 'bool', ptr: 0 }, own_submit_wq: { type: 'bool', ptr: 0 }, dev: { type: 'device', ptr: 1 },
  },
  drm_sched_entity: {
    list: { type: 'list_head', ptr: 0 }, lock: { type: 'spinlock_t', ptr: 0 }, rq: { type: 'drm_sched_rq', ptr: 1 },
    sched_list: { type: 'drm_gpu_scheduler', ptr: 2 }, num_sched_list: { type: 'unsigned int', ptr: 0 }, priority: { type: 'drm_sched_priority', ptr: 0 },
    job_queue: { type: 'spsc_queue', ptr: 0 }, fence_seq: { type: 'atomic_t', ptr: 0 }, fence_context: { type: 'uint64_t', ptr: 0 },
    dependency: { type: 'dma_fence', ptr: 1 }, cb: { type: 'dma_fence_cb', ptr: 0 }, guilty: { type: 'atomic_t', ptr: 1 },
    last_scheduled: { type: 'dma_fence', ptr: 1 }, last_user: { type: 'task_struct', ptr: 1 }, stopped: { type: 'bool', ptr: 0 },
    entity_idle: { type: 'completion', ptr: 0 }, oldest_job_waiting: { type: 'ktime_t', ptr: 0 }, rb_tree_node: { type: 'rb_node', ptr: 0 },
  },
  drm_sched_rq: {
    sched: { type: 'drm_gpu_scheduler', ptr: 1 }, lock: { type: 'spinlock_t', ptr: 0 }, current_entity: { type: 'drm_sched_entity', ptr: 1 },
    entities: { type: 'list_head', ptr: 0 }, rb_tree_root: { type: 'rb_root_cached', ptr: 0 },
  },
  drm_sched_fence: {
    scheduled: { type: 'dma_fence', ptr: 0 }, finished: { type: 'dma_fence', ptr: 0 }, deadline: { type: 'ktime_t', ptr: 0 },
    parent: { type: 'dma_fence', ptr: 1 }, sched: { type: 'drm_gpu_scheduler', ptr: 1 }, lock: { type: 'spinlock_t', ptr: 0 },
    owner: { type: 'void', ptr: 1 }, drm_client_id: { type: 'uint64_t', ptr: 0 },
  },
  drm_sched_job: {
    submit_ts: { type: 'ktime_t', ptr: 0 }, sched: { type: 'drm_gpu_scheduler', ptr: 1 }, s_fence: { type: 'drm_sched_fence', ptr: 1 },
    entity: { type: 'drm_sched_entity', ptr: 1 }, s_priority: { type: 'drm_sched_priority', ptr: 0 }, credits: { type: 'u32', ptr: 0 },
    last_dependency: { type: 'unsigned int', ptr: 0 }, karma: { type: 'atomic_t', ptr: 0 }, queue_node: { type: 'spsc_node', ptr: 0 },
    list: { type: 'list_head', ptr: 0 }, finish_cb: { type: 'dma_fence_cb', ptr: 0 }, work: { type: 'work_struct', ptr: 0 },
    cb: { type: 'dma_fence_cb', ptr: 0 }, dependencies: { type: 'xarray', ptr: 0 },
  },
};

export type SymbolKind = 'function' | 'macro' | 'constant' | 'type';

/** v7.0-rc3 symbols: exported functions and inline helpers, macros, enum constants, types. */
export const BUILTIN_SYMBOLS: Readonly<Record<string, SymbolKind>> = Object.fromEntries([
  ...[
    'drm_sched_init', 'drm_sched_fini', 'drm_sched_job_init', 'drm_sched_job_arm', 'drm_sched_job_add_dependency',
    'drm_sched_job_add_syncobj_dependency', 'drm_sched_job_add_resv_dependencies', 'drm_sched_job_add_implicit_dependencies',
    'drm_sched_job_has_dependency', 'drm_sched_job_cleanup', 'drm_sched_entity_modify_sched', 'drm_sched_wakeup', 'drm_sched_stop',
    'drm_sched_start', 'drm_sched_resubmit_jobs', 'drm_sched_increase_karma', 'drm_sched_fault', 'drm_sched_wqueue_ready',
    'drm_sched_wqueue_stop', 'drm_sched_wqueue_start', 'drm_sched_suspend_timeout', 'drm_sched_resume_timeout', 'drm_sched_pick_best',
    'drm_sched_entity_init', 'drm_sched_entity_flush', 'drm_sched_entity_fini', 'drm_sched_entity_destroy', 'drm_sched_entity_push_job',
    'drm_sched_entity_set_priority', 'drm_sched_entity_error', 'drm_sched_invalidate_job', 'to_drm_sched_fence', 'drm_sched_tdr_queue_imm',
    'drm_sched_job_is_signaled', 'drm_sched_is_stopped',
  ].map((s) => [s, 'function' as const]),
  ...['drm_sched_for_each_pending_job', 'MAX_WAIT_SCHED_ENTITY_Q_EMPTY', 'DRM_SCHED_FENCE_DONT_PIPELINE', 'DRM_SCHED_FENCE_FLAG_HAS_DEADLINE_BIT',
    'DRM_SCHED_POLICY_RR', 'DRM_SCHED_POLICY_FIFO', 'drm_sched_policy'].map((s) => [s, 'macro' as const]),
  ...['DRM_SCHED_PRIORITY_KERNEL', 'DRM_SCHED_PRIORITY_HIGH', 'DRM_SCHED_PRIORITY_NORMAL', 'DRM_SCHED_PRIORITY_LOW', 'DRM_SCHED_PRIORITY_COUNT',
    'DRM_GPU_SCHED_STAT_NONE', 'DRM_GPU_SCHED_STAT_RESET', 'DRM_GPU_SCHED_STAT_ENODEV', 'DRM_GPU_SCHED_STAT_NO_HANG'].map((s) => [s, 'constant' as const]),
  ...['drm_gpu_scheduler', 'drm_sched_entity', 'drm_sched_job', 'drm_sched_fence', 'drm_sched_rq', 'drm_sched_backend_ops', 'drm_sched_init_args',
    'drm_gpu_sched_stat', 'drm_sched_priority'].map((s) => [s, 'type' as const]),
]);

/** Return types of API functions that type inference follows. */
export const API_RETURNS: Readonly<Record<string, FieldType>> = {
  to_drm_sched_fence: { type: 'drm_sched_fence', ptr: 1 },
  drm_sched_pick_best: { type: 'drm_gpu_scheduler', ptr: 1 },
};

/** The recovery helpers (reset, resubmit, timeout control, pending-job walks). */
export const RECOVERY_HELPERS: ReadonlySet<string> = new Set([
  'drm_sched_stop', 'drm_sched_start', 'drm_sched_resubmit_jobs', 'drm_sched_increase_karma', 'drm_sched_invalidate_job', 'drm_sched_fault',
  'drm_sched_tdr_queue_imm', 'drm_sched_suspend_timeout', 'drm_sched_resume_timeout', 'drm_sched_wqueue_stop', 'drm_sched_wqueue_start',
  'drm_sched_wqueue_ready', 'drm_sched_for_each_pending_job', 'drm_sched_job_is_signaled', 'drm_sched_is_stopped', 'drm_sched_entity_error',
]);

/**
 * Symbols that exist because several entities share a hardware ring (priorities, run queues,
 * load balancing): on a hardware-scheduled driver they belong to the HW-queue layer on top of
 * drm_dep, whatever drm_dep itself lacks.
 */
export const HW_LAYER_SYMBOLS: ReadonlySet<string> = new Set([
  'drm_sched_entity_set_priority', 'drm_sched_entity_modify_sched', 'drm_sched_pick_best', 'drm_sched_rq', 'drm_sched_priority',
  'DRM_SCHED_PRIORITY_KERNEL', 'DRM_SCHED_PRIORITY_HIGH', 'DRM_SCHED_PRIORITY_NORMAL', 'DRM_SCHED_PRIORITY_LOW', 'DRM_SCHED_PRIORITY_COUNT',
  'DRM_SCHED_POLICY_RR', 'DRM_SCHED_POLICY_FIFO', 'drm_sched_policy', 'drm_sched_resubmit_jobs', 'drm_sched_increase_karma',
  'drm_sched_invalidate_job',
]);

/**
 * What replaces a field access on drm_dep: `accessor` a drm_dep function, `driver` state the
 * driver keeps itself (no scheduler change needed), `hw` the HW-queue layer's business (several
 * entities per ring), `none` nothing: a blocker.
 */
export type FieldFate = 'accessor' | 'driver' | 'hw' | 'none';
export interface FieldEquivalent { readonly fate: FieldFate; readonly dep: readonly string[]; readonly note: string }

const acc = (dep: string, note = ''): FieldEquivalent => ({ fate: 'accessor', dep: [dep], note });
const drv = (note: string): FieldEquivalent => ({ fate: 'driver', dep: [], note });
const hw = (note: string): FieldEquivalent => ({ fate: 'hw', dep: [], note });
const none = (note: string): FieldEquivalent => ({ fate: 'none', dep: [], note });
const RUN_QUEUES = 'run queues and priorities: several entities per ring';

export const FIELD_EQUIVALENTS: Readonly<Record<string, FieldEquivalent>> = {
  'drm_gpu_scheduler.pending_list': acc('drm_dep_queue_for_each_pending_job', INTERNAL_ALTERNATIVE['drm_gpu_scheduler.pending_list']),
  'drm_gpu_scheduler.job_list_lock': none('the pending list and its lock are private; walk it only on a stopped queue'),
  'drm_gpu_scheduler.name': acc('drm_dep_queue_name'),
  'drm_gpu_scheduler.timeout': acc('drm_dep_queue_timeout'),
  'drm_gpu_scheduler.credit_count': acc('drm_dep_queue_credit_count'),
  'drm_gpu_scheduler.credit_limit': drv('the value the driver passed at init'),
  'drm_gpu_scheduler.ops': drv(INTERNAL_ALTERNATIVE['drm_gpu_scheduler.ops']),
  'drm_gpu_scheduler.submit_wq': drv(INTERNAL_ALTERNATIVE['drm_gpu_scheduler.submit_wq']),
  'drm_gpu_scheduler.timeout_wq': drv('pass the driver\'s own timeout workqueue and keep a pointer to it'),
  'drm_gpu_scheduler.work_tdr': acc('drm_dep_queue_trigger_timeout', INTERNAL_ALTERNATIVE['drm_gpu_scheduler.work_tdr']),
  'drm_gpu_scheduler.ready': drv('the driver\'s own "ring usable" flag'),
  'drm_gpu_scheduler.pause_submit': acc('drm_dep_queue_is_stopped'),
  'drm_gpu_scheduler.hang_limit': drv('karma is deprecated: the driver decides guilt in timedout_job'),
  'drm_gpu_scheduler.dev': drv('the driver\'s own device pointer'),
  'drm_gpu_scheduler.score': hw('load balancing across rings'),
  'drm_gpu_scheduler._score': hw('load balancing across rings'),
  'drm_gpu_scheduler.sched_rq': hw(RUN_QUEUES),
  'drm_gpu_scheduler.num_rqs': hw(RUN_QUEUES),
  'drm_gpu_scheduler.job_scheduled': none('scheduler-internal wait queue'),
  'drm_gpu_scheduler.job_id_count': none('scheduler-internal counter'),
  'drm_gpu_scheduler.work_run_job': none('scheduler-internal work item'),
  'drm_gpu_scheduler.work_free_job': none('scheduler-internal work item'),
  'drm_gpu_scheduler.free_guilty': none('no free_guilty: drm_dep owns the timed-out job'),
  'drm_gpu_scheduler.own_submit_wq': none('scheduler-internal flag'),
  'drm_sched_entity.rq': hw(RUN_QUEUES),
  'drm_sched_entity.sched_list': hw('the scheduler list of load balancing'),
  'drm_sched_entity.num_sched_list': hw('the scheduler list of load balancing'),
  'drm_sched_entity.priority': hw(RUN_QUEUES),
  'drm_sched_entity.list': hw(RUN_QUEUES),
  'drm_sched_entity.rb_tree_node': hw(RUN_QUEUES),
  'drm_sched_entity.oldest_job_waiting': hw(RUN_QUEUES),
  'drm_sched_entity.job_queue': drv(INTERNAL_ALTERNATIVE['drm_sched_entity.job_queue']),
  'drm_sched_entity.fence_context': acc('drm_dep_queue_fence_context'),
  'drm_sched_entity.stopped': acc('drm_dep_queue_is_killed'),
  'drm_sched_entity.guilty': drv('the driver\'s own context-guilty flag'),
  'drm_sched_entity.last_scheduled': drv('the driver keeps the finished fence of its last pushed job'),
  'drm_sched_entity.fence_seq': none('the queue\'s seqno counter is private'),
  'drm_sched_entity.dependency': none('dependency resolution is private'),
  'drm_sched_entity.cb': none('dependency resolution is private'),
  'drm_sched_entity.last_user': none('scheduler-internal'),
  'drm_sched_entity.lock': none('scheduler-internal lock'),
  'drm_sched_entity.entity_idle': none('scheduler-internal completion'),
  'drm_sched_rq.sched': hw(RUN_QUEUES),
  'drm_sched_rq.lock': hw(RUN_QUEUES),
  'drm_sched_rq.current_entity': hw(RUN_QUEUES),
  'drm_sched_rq.entities': hw(RUN_QUEUES),
  'drm_sched_rq.rb_tree_root': hw(RUN_QUEUES),
  'drm_sched_fence.finished': acc('drm_dep_job_finished_fence'),
  'drm_sched_fence.scheduled': none('drm_dep has no scheduled fence; a driver that needs one signals its own'),
  'drm_sched_fence.parent': drv('the driver keeps its own pointer to the hardware fence run_job returned'),
  'drm_sched_fence.sched': acc('drm_dep_job_queue'),
  'drm_sched_fence.owner': drv('the driver\'s own owner pointer'),
  'drm_sched_fence.lock': none('the fence is private'),
  'drm_sched_fence.deadline': none('the fence is private'),
  'drm_sched_fence.drm_client_id': none('the fence is private'),
  'drm_sched_job.s_fence': acc('drm_dep_job_finished_fence', 'only the finished fence is reachable'),
  'drm_sched_job.sched': acc('drm_dep_job_queue'),
  'drm_sched_job.entity': acc('drm_dep_job_queue'),
  'drm_sched_job.credits': acc('drm_dep_job_credits'),
  'drm_sched_job.karma': drv('karma is deprecated: the driver decides guilt in timedout_job'),
  'drm_sched_job.dependencies': drv(INTERNAL_ALTERNATIVE['drm_sched_job.dependencies']),
  'drm_sched_job.s_priority': hw(RUN_QUEUES),
  'drm_sched_job.list': none('the pending-list node is private; drm_dep_queue_for_each_pending_job walks the list'),
  'drm_sched_job.queue_node': none('scheduler-internal'),
  'drm_sched_job.last_dependency': none('scheduler-internal'),
  'drm_sched_job.finish_cb': none('scheduler-internal'),
  'drm_sched_job.cb': none('scheduler-internal'),
  'drm_sched_job.work': none('scheduler-internal'),
  'drm_sched_job.submit_ts': none('scheduler-internal'),
};

export function field_equivalent(struct: string, field: string): FieldEquivalent {
  return FIELD_EQUIVALENTS[`${struct}.${field}`] ?? none('not in the survey\'s field table');
}

export type SymbolFate = 'equivalent' | 'driver' | 'hw' | 'none';

/** A symbol's fate on drm_dep, from the readiness mapping; `hw` only for hardware-scheduled drivers. */
export function symbol_fate(symbol: string, hardware_scheduled: boolean): { fate: SymbolFate; dep: readonly string[]; note: string } {
  if (hardware_scheduled && HW_LAYER_SYMBOLS.has(symbol)) return { fate: 'hw', dep: [], note: 'several entities per ring: the HW-queue layer' };
  const m = mapping_for(symbol);
  if (m === undefined) return { fate: 'none', dep: [], note: 'not in the readiness mapping (API_MAPPING)' };
  return { fate: m.dep.length > 0 ? 'equivalent' : 'driver', dep: m.dep, note: m.note };
}

/**
 * Field names that belong to one of the five structures and are distinctive enough to type an
 * access whose object could not be typed (`x->s_fence`, `q->sched.base.pending_list` through an
 * untyped wrapper). Used only when no struct of the driver has a member of that name.
 */
export const DISTINCTIVE_FIELDS: Readonly<Record<string, SchedStruct>> = {
  s_fence: 'drm_sched_job', pending_list: 'drm_gpu_scheduler', job_list_lock: 'drm_gpu_scheduler', sched_rq: 'drm_gpu_scheduler',
  num_rqs: 'drm_gpu_scheduler', credit_limit: 'drm_gpu_scheduler', credit_count: 'drm_gpu_scheduler', hang_limit: 'drm_gpu_scheduler',
  work_tdr: 'drm_gpu_scheduler', timeout_wq: 'drm_gpu_scheduler', submit_wq: 'drm_gpu_scheduler', pause_submit: 'drm_gpu_scheduler',
  own_submit_wq: 'drm_gpu_scheduler', free_guilty: 'drm_gpu_scheduler', job_scheduled: 'drm_gpu_scheduler', job_id_count: 'drm_gpu_scheduler',
  work_run_job: 'drm_gpu_scheduler', work_free_job: 'drm_gpu_scheduler', sched_list: 'drm_sched_entity', num_sched_list: 'drm_sched_entity',
  job_queue: 'drm_sched_entity', fence_seq: 'drm_sched_entity', last_scheduled: 'drm_sched_entity', entity_idle: 'drm_sched_entity',
  oldest_job_waiting: 'drm_sched_entity', s_priority: 'drm_sched_job', last_dependency: 'drm_sched_job',
};
