/**
 * The size of a conversion: the line diff between a driver's on-sched.ts and on-dep.ts (the
 * model's conversion patch), beside the diffstat of the real driver in the drm_dep RFC's cover
 * letter. Lines are compared with jsdiff's diffLines (Myers' algorithm); a run of removed lines
 * next to a run of added lines counts as changed lines up to the shorter run, as a reviewer
 * reads a replaced block.
 */
import { diffLines } from 'diff';

export interface LineDiff {
  /** Lines only in on-dep.ts (not replacing anything). */
  readonly added: number;
  /** Lines only in on-sched.ts (not replaced). */
  readonly removed: number;
  /** Lines replaced (paired removed/added lines). */
  readonly changed: number;
  /** git's view: every added line an insertion, every removed line a deletion. */
  readonly insertions: number;
  readonly deletions: number;
  readonly unchanged: number;
}

export function line_diff(before: string, after: string): LineDiff {
  let added = 0, removed = 0, changed = 0, insertions = 0, deletions = 0, unchanged = 0;
  let run_removed = 0, run_added = 0;
  const close_run = () => {
    const paired = Math.min(run_removed, run_added);
    changed += paired;
    added += run_added - paired;
    removed += run_removed - paired;
    run_removed = run_added = 0;
  };
  for (const part of diffLines(before, after)) {
    const n = part.count ?? 0;
    if (part.added) { insertions += n; run_added += n; } else if (part.removed) { deletions += n; run_removed += n; } else { close_run(); unchanged += n; }
  }
  close_run();
  return { added, removed, changed, insertions, deletions, unchanged };
}

/**
 * The diffstat of "[RFC PATCH 00/12] Introduce DRM dep queue" (Matthew Brost, 2026-03-16;
 * seeds/000_ac50a9749c619bc8.txt), verbatim. Each number is the lines the file changes
 * (insertions + deletions); the cover letter does not split them per file.
 */
export const RFC_DIFFSTAT = `
drivers/accel/amdxdna/Kconfig | 2 +-
drivers/accel/amdxdna/aie2_ctx.c | 144 +-
drivers/accel/amdxdna/aie2_pci.h | 4 +-
drivers/accel/amdxdna/amdxdna_ctx.c | 5 +-
drivers/accel/amdxdna/amdxdna_ctx.h | 4 +-
drivers/gpu/drm/Kconfig | 4 +
drivers/gpu/drm/Makefile | 1 +
drivers/gpu/drm/dep/Makefile | 5 +
drivers/gpu/drm/dep/drm_dep_fence.c | 406 +++++
drivers/gpu/drm/dep/drm_dep_fence.h | 25 +
drivers/gpu/drm/dep/drm_dep_job.c | 675 +++++++
drivers/gpu/drm/dep/drm_dep_job.h | 13 +
drivers/gpu/drm/dep/drm_dep_queue.c | 1647 ++++++++++++++++++
drivers/gpu/drm/dep/drm_dep_queue.h | 31 +
drivers/gpu/drm/panthor/Kconfig | 2 +-
drivers/gpu/drm/panthor/panthor_device.c | 5 +-
drivers/gpu/drm/panthor/panthor_device.h | 2 +-
drivers/gpu/drm/panthor/panthor_drv.c | 35 +-
drivers/gpu/drm/panthor/panthor_mmu.c | 160 +-
drivers/gpu/drm/panthor/panthor_mmu.h | 14 +-
drivers/gpu/drm/panthor/panthor_sched.c | 242 ++-
drivers/gpu/drm/panthor/panthor_sched.h | 12 +-
drivers/gpu/drm/xe/Kconfig | 2 +-
drivers/gpu/drm/xe/tests/xe_migrate.c | 10 +-
drivers/gpu/drm/xe/xe_dep_job_types.h | 8 +-
drivers/gpu/drm/xe/xe_dep_scheduler.c | 81 +-
drivers/gpu/drm/xe/xe_dep_scheduler.h | 7 +-
drivers/gpu/drm/xe/xe_device.c | 3 +-
drivers/gpu/drm/xe/xe_exec.c | 12 +-
drivers/gpu/drm/xe/xe_exec_queue.c | 96 +-
drivers/gpu/drm/xe/xe_exec_queue.h | 9 +-
drivers/gpu/drm/xe/xe_exec_queue_types.h | 10 +-
drivers/gpu/drm/xe/xe_execlist.c | 39 +-
drivers/gpu/drm/xe/xe_execlist_types.h | 4 -
drivers/gpu/drm/xe/xe_ggtt.c | 12 +-
drivers/gpu/drm/xe/xe_gpu_scheduler.c | 66 +-
drivers/gpu/drm/xe/xe_gpu_scheduler.h | 67 +-
drivers/gpu/drm/xe/xe_gpu_scheduler_types.h | 9 +-
drivers/gpu/drm/xe/xe_gsc.c | 5 +-
drivers/gpu/drm/xe/xe_gsc_submit.c | 5 +-
drivers/gpu/drm/xe/xe_gt.c | 8 +-
drivers/gpu/drm/xe/xe_guc_ct.c | 3 +-
drivers/gpu/drm/xe/xe_guc_exec_queue_types.h | 14 +-
drivers/gpu/drm/xe/xe_guc_submit.c | 360 ++--
drivers/gpu/drm/xe/xe_migrate.c | 27 +-
drivers/gpu/drm/xe/xe_oa.c | 5 +-
drivers/gpu/drm/xe/xe_pt.c | 2 +-
drivers/gpu/drm/xe/xe_pxp_submit.c | 10 +-
drivers/gpu/drm/xe/xe_sched_job.c | 59 +-
drivers/gpu/drm/xe/xe_sched_job.h | 9 +-
drivers/gpu/drm/xe/xe_sched_job_types.h | 8 +-
drivers/gpu/drm/xe/xe_sync.c | 2 +-
drivers/gpu/drm/xe/xe_tlb_inval.c | 3 +-
drivers/gpu/drm/xe/xe_tlb_inval_job.c | 86 +-
include/drm/drm_dep.h | 597 +++++++
include/linux/workqueue.h | 3 +
include/trace/events/amdxdna.h | 12 +-
kernel/workqueue.c | 41 +
`;

export interface DiffstatLine {
  readonly path: string;
  readonly lines: number;
}

/** Parse git diffstat lines ("path | N +-"); anything else is skipped. */
export function parse_diffstat(text: string): DiffstatLine[] {
  const out: DiffstatLine[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\S+)\s*\|\s*(\d+)\s*[+-]*\s*$/.exec(line);
    if (m !== null) out.push({ path: m[1], lines: Number(m[2]) });
  }
  return out;
}

/** Where each model driver's real counterpart lives in the kernel tree. */
export const KERNEL_DRIVER_DIR: Readonly<Record<string, string>> = {
  xe: 'drivers/gpu/drm/xe/',
  panthor: 'drivers/gpu/drm/panthor/',
  amdxdna: 'drivers/accel/amdxdna/',
};

/** The RFC's changes to a driver's directory (subdirectories included), or null if the RFC did not convert it. */
export function rfc_driver_stat(driver: string, diffstat: readonly DiffstatLine[] = parse_diffstat(RFC_DIFFSTAT)): { files: number; lines: number; dir: string } | null {
  const dir = KERNEL_DRIVER_DIR[driver];
  if (dir === undefined) return null;
  const mine = diffstat.filter((l) => l.path.startsWith(dir));
  return { files: mine.length, lines: mine.reduce((n, l) => n + l.lines, 0), dir };
}
