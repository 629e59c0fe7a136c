/**
 * xe_tlb_inval_job.c, the part both bindings share: the TLB-invalidation job's fields (mixed
 * into each binding's dependency-scheduler job), its allocations, the invalidation it sends,
 * and its memory and VM reference at the end. How the job is initialised, armed, pushed and
 * released is the binding's (on-sched.ts: a drm_sched job on xe_dep_scheduler; on-dep.ts: a
 * drm_dep job on a thin drm_dep_queue). Upstream reference: xe_tlb_inval_job.c @24f171c7.
 */
import { GFP_KERNEL, dma_fence_put, kfree, kmalloc, type Allocation, type Kernel, type dma_fence } from '@deplab/sim';
import {
  xe_tlb_inval_fence_alloc, xe_tlb_inval_range, xe_vm_get, xe_vm_put,
  type XeTlbInvalJob, type xe_tlb_inval_fence, type xe_vm,
} from './xe_device.ts';
import type { StructBase, xe_exec_queue } from './xe_guc_submit.ts';

/** struct xe_tlb_inval_job as the shared code sees it. */
export interface xe_tlb_inval_job extends XeTlbInvalJob {
  readonly kernel: Kernel;
  /** The bind queue the job invalidates for (it holds a reference). */
  readonly q: xe_exec_queue;
  readonly vm: xe_vm;
  /** The invalidation fence (ifence), allocated at create and initialised at push. */
  readonly fence: xe_tlb_inval_fence;
  fence_armed: boolean;
  readonly alloc: Allocation;
}

export interface xe_tlb_inval_job_init_args {
  readonly q: xe_exec_queue;
  readonly fence: xe_tlb_inval_fence;
  readonly alloc: Allocation;
}

/** The fields of struct xe_tlb_inval_job, mixed into the binding's dependency-scheduler job. */
export function xe_tlb_inval_job_struct<T extends object>(Base: StructBase<T>): StructBase<T & xe_tlb_inval_job> {
  abstract class xe_tlb_inval_job_struct extends (Base as StructBase<object>) implements xe_tlb_inval_job {
    readonly tlb_inval_job = true as const;
    readonly kernel: Kernel;
    readonly q: xe_exec_queue;
    readonly vm: xe_vm;
    readonly fence: xe_tlb_inval_fence;
    fence_armed = false;
    readonly alloc: Allocation;

    constructor(...args: any[]) {
      const a = args[0] as xe_tlb_inval_job_init_args;
      super(a.q.kernel);
      this.kernel = a.q.kernel;
      this.q = a.q;
      this.vm = a.q.vm;
      this.fence = a.fence;
      this.alloc = a.alloc;
    }
  }
  return xe_tlb_inval_job_struct as unknown as StructBase<T & xe_tlb_inval_job>;
}

/**
 * xe_tlb_inval_job_create's allocations: the job (constructed by `ctor`, the binding's class),
 * its ifence, and a VM reference. Null on -ENOMEM. Process context (GFP_KERNEL).
 */
export function xe_tlb_inval_job_alloc<Q extends xe_exec_queue, J extends xe_tlb_inval_job>(q: Q,
  ctor: new (args: xe_tlb_inval_job_init_args & { q: Q }) => J): J | null {
  const k = q.kernel;
  const alloc = kmalloc(k, 128, GFP_KERNEL, 'xe_tlb_inval_job');
  if (alloc === null) return null;
  const fence = xe_tlb_inval_fence_alloc(k);
  if (fence === null) {
    kfree(k, alloc);
    return null;
  }
  const job = new ctor({ q, fence, alloc });
  xe_vm_get(job.vm);
  return job;
}

/** xe_tlb_inval_job_run's body: send the invalidation; TLB_INVALIDATION_DONE signals the fence. */
export function xe_tlb_inval_job_run(job: xe_tlb_inval_job): dma_fence {
  xe_tlb_inval_range(job.q.gt.tlb_inval, job.fence);
  return job.fence.base;
}

/** The end of xe_tlb_inval_job_destroy (and of a failed create): ifence, job memory, VM reference. */
export function xe_tlb_inval_job_free(job: xe_tlb_inval_job): void {
  const k = job.kernel;
  if (!job.fence_armed) kfree(k, job.fence.alloc);
  else dma_fence_put(job.fence.base);
  kfree(k, job.alloc);
  xe_vm_put(job.vm);
}
