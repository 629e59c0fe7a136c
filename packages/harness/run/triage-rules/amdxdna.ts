/**
 * Triage rules for amdxdna's violation groups (packages/harness/run/triage.ts; each names its
 * mechanism and where it is written up). The findings are drivers/amdxdna/README.md F1..F8,
 * upstream amdxdna of the era the model runs (7.0 unless the device option says 6.18).
 */
import type { TriageRule } from '../triage.ts';

const AMDXDNA = { drivers: ['amdxdna'] } as const;
/** Only when a remove (or a hwctx destroy) met work in flight: the campaign's faults, or a workload's unplug or destroy. */
const TEARDOWN = { ...AMDXDNA, under_fault: ['campaign', 'unplug', 'destroy'] } as const;

const F3 = 'drm_sched: hwctx_fini calls drm_sched_fini (which cancels the TDR synchronously) under dev_lock, and aie2_sched_job_timedout takes dev_lock (F3)';
const F8 = '7.0: amdxdna_remove (or DESTROY_HWCTX) holds dev_lock across synchronize_srcu, which waits for a submitter asleep on job_sem behind a hung command; ' +
  'only the timeout handler can free a slot and it needs dev_lock: the remove never returns, nor does the submitter, and nothing of the device is freed (F8)';

/**
 * Every object of the device that a remove which never returns leaves allocated (either binding).
 * kmalloc:struct: with upstream_gfp the records of the mailbox messages and channels (their type
 * names the allocation site; a channel's record is matched first, by the rule for orphaned channels).
 */
const DEVICE_OBJECTS = new RegExp('^(amdxdna_fence|kmalloc:amdxdna_(client|hwctx|hwctx_priv|sched_job)|kmalloc:dma_fence_chain|kmalloc:struct|' +
  'drm_gpu_scheduler|drm_sched_(entity|job|rq|fence\\.(finished|scheduled))|kmalloc:drm_sched_(entity_stats|fence)|drm_dep_(fence|job|queue)|kmalloc:(drm_dep_fence|xa_node))$');

export const AMDXDNA_RULES: readonly TriageRule[] = [
  {
    // The site names GFP_KERNEL: only the upstream allocation flags (upstream_gfp, the default) reach it.
    id: 'amdxdna-f1-gfp-kernel-in-run-job', kind: /^lockdep_cycle$/, ...AMDXDNA,
    site: /^kmalloc\(struct mailbox_msg in xdna_mailbox_send_msg\(\) of drivers\/accel\/amdxdna\/amdxdna_mailbox\.c, GFP_KERNEL\)$/,
    detail: /dma_fence_map -> fs_reclaim/, class: 'latent driver bug',
    cause: 'xdna_mailbox_send_msg allocates the message with GFP_KERNEL inside run_job, a dma-fence signalling section (annotated on drm_dep; F1)',
    doc: 'drivers/amdxdna/README.md#f1',
  },
  {
    id: 'amdxdna-f3-timeout-takes-dev-lock', kind: /^lockdep_cycle$/, site: /^aie2_sched_job_timedout: mutex_lock\(&xdna->dev_lock\)$/, ...AMDXDNA, backends: ['sched'],
    detail: /\(work_completion\)\(&\(&sched->work_tdr\)->work\) -> &xdna->dev_lock/, class: 'latent driver bug', cause: F3, doc: 'drivers/amdxdna/README.md#f3',
  },
  {
    id: 'amdxdna-f3-fini-cancels-timeout', kind: /^lockdep_cycle$/, site: /^cancel_work_sync$/, ...AMDXDNA, backends: ['sched'],
    detail: /&xdna->dev_lock -> \(work_completion\)\(&\(&sched->work_tdr\)->work\)/, class: 'latent driver bug', cause: F3, doc: 'drivers/amdxdna/README.md#f3',
  },
  {
    id: 'amdxdna-f4-reclaim-tdr-takes-dev-lock', kind: /^lockdep_cycle$/, site: /^aie2_sched_job_timedout: mutex_lock\(&xdna->dev_lock\)$/, ...AMDXDNA, backends: ['dep'],
    detail: /\(work_completion\)\(drm_dep_queue_tdr_work\) -> &xdna->dev_lock/, class: 'latent driver bug',
    cause: 'drm_dep runs the TDR on a reclaim-annotated workqueue; aie2_sched_job_timedout takes dev_lock, which is held around GFP_KERNEL allocations (F4)',
    doc: 'drivers/amdxdna/README.md#f4',
  },
  {
    id: 'amdxdna-orphan-fw-context', kind: /^leak$/, site: /^after unplug$/, root: /^(mailbox_channel|kmalloc:struct)$/, ...TEARDOWN,
    detail: /^(mailbox_channel |kmalloc:struct mailbox_channel in xdna_mailbox_create_channel\(\))/, class: 'latent driver bug',
    cause: 'a firmware context and its mailbox channel nobody destroys: recreated by a timeout handler that waited on dev_lock while hwctx_fini destroyed it ' +
      '(F6, 7.0 drm_sched), or left by a remove that never returned (F8)',
    doc: 'drivers/amdxdna/README.md#f6',
  },
  { id: 'amdxdna-f8-leak', kind: /^leak$/, site: /^after unplug$/, root: DEVICE_OBJECTS, ...TEARDOWN, class: 'latent driver bug', cause: F8, doc: 'drivers/amdxdna/README.md#f8' },
  {
    // The harness's end-of-run close waits for the submit ioctl too (a file's release waits for
    // the ioctls holding it), so it reports the same hang at teardown and in its last wait.
    id: 'amdxdna-f8-hang', kind: /^hang$/, site: /^(unplug|run_workload|teardown|Kernel\.run_task)$/, ...TEARDOWN, class: 'latent driver bug', cause: F8, doc: 'drivers/amdxdna/README.md#f8',
  },
  { id: 'amdxdna-f8-unsignalled', kind: /^never_signalled$/, site: /^finished fence after teardown$/, ...TEARDOWN, class: 'latent driver bug', cause: F8, doc: 'drivers/amdxdna/README.md#f8' },
];
