/**
 * The allocation model (mm/slab_common.c, include/linux/gfp_types.h, much reduced).
 *
 * A sleeping allocation (__GFP_DIRECT_RECLAIM, e.g. GFP_KERNEL) may enter direct reclaim:
 * it calls might_sleep() and, with __GFP_FS, takes the fs_reclaim pseudo-lock, so lockdep sees
 * "allocation inside a dma-fence signalling section" (a cycle with the boot-time priming) and
 * "allocation inside an item of a reclaim-annotated workqueue" (a cycle with the priming of
 * WQ_MEM_WARN_ON_RECLAIM, workqueue.ts). Non-sleeping allocations
 * (GFP_ATOMIC, GFP_NOWAIT) never sleep and fail when fault injection says so. Live objects and
 * bytes are counted, with their peaks.
 */
import type { Kernel } from './kernel.ts';
import { lock_map_acquire, lock_map_release } from './lockdep.ts';

export const __GFP_HIGH = 0x20;
export const __GFP_IO = 0x40;
export const __GFP_FS = 0x80;
export const __GFP_NOWARN = 0x2000;
export const __GFP_DIRECT_RECLAIM = 0x400;
export const __GFP_KSWAPD_RECLAIM = 0x800;
export const __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;
export const __GFP_ZERO = 0x100;

export const GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM;
export const GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS;
export const GFP_NOWAIT = __GFP_KSWAPD_RECLAIM | __GFP_NOWARN;
export const GFP_NOIO = __GFP_RECLAIM;
export const GFP_NOFS = __GFP_RECLAIM | __GFP_IO;

export function gfp_name(gfp: number): string {
  if (gfp === GFP_KERNEL) return 'GFP_KERNEL';
  if (gfp === GFP_ATOMIC) return 'GFP_ATOMIC';
  if (gfp === GFP_NOWAIT) return 'GFP_NOWAIT';
  if (gfp === GFP_NOFS) return 'GFP_NOFS';
  if (gfp === GFP_NOIO) return 'GFP_NOIO';
  return `0x${gfp.toString(16)}`;
}

export function gfpflags_allow_blocking(gfp: number): boolean {
  return (gfp & __GFP_DIRECT_RECLAIM) !== 0;
}

export interface FaultInjection {
  /** Probability that a non-sleeping allocation fails (stream "fault/alloc"). */
  alloc_fail_probability: number;
  /** If set, only allocations with one of these tags may fail. */
  alloc_fail_tags: readonly string[] | null;
}

export class AllocStats {
  live_objects = 0;
  live_bytes = 0;
  peak_objects = 0;
  peak_bytes = 0;
  total_allocations = 0;
  failed_allocations = 0;
}

/** A block of simulated memory; models embed it or keep it beside the object it backs. */
export class Allocation {
  readonly id: number;
  readonly size: number;
  readonly tag: string;

  constructor(id: number, size: number, tag: string) {
    this.id = id;
    this.size = size;
    this.tag = tag;
  }
}

/**
 * kmalloc(size, gfp): returns the allocation, or null when a non-sleeping allocation is failed
 * by fault injection. `tag` names what is allocated (the slab cache or the C type).
 */
export function kmalloc(k: Kernel, size: number, gfp: number, tag: string): Allocation | null {
  const names = tag_names(tag);
  if (gfpflags_allow_blocking(gfp)) {
    if (k.current.in_atomic) {
      k.violation_once(`gfp:${tag}:${k.current.name}`, 'gfp_in_atomic', tag,
        `${gfp_name(gfp)} allocation of ${tag} in atomic context (${k.current.name})`);
    } else {
      k.might_sleep(names.might_sleep_site);
    }
    if ((gfp & __GFP_FS) !== 0) {
      // fs_reclaim_acquire/release: lockdep learns "may enter reclaim here".
      lock_map_acquire(k.fs_reclaim, gfp === GFP_KERNEL ? names.reclaim_site_kernel : `kmalloc(${tag}, ${gfp_name(gfp)})`);
      lock_map_release(k.fs_reclaim);
    }
  } else if (should_fail(k, tag)) {
    k.alloc.failed_allocations++;
    k.tp('kmalloc_failed', { tag, gfp: gfp_name(gfp) });
    return null;
  }
  k.spend(k.cost.kmalloc_ns.draw());
  const stats = k.alloc;
  stats.total_allocations++;
  stats.live_objects++;
  stats.live_bytes += size;
  if (stats.live_objects > stats.peak_objects) stats.peak_objects = stats.live_objects;
  if (stats.live_bytes > stats.peak_bytes) stats.peak_bytes = stats.live_bytes;
  return new Allocation(k.lifetime.track(names.type, tag), size, tag);
}

/** kfree(ptr); kfree(NULL) is a no-op. Double free is a violation. */
export function kfree(k: Kernel, a: Allocation | null): void {
  if (a === null) return;
  const site = tag_names(a.tag).kfree_site;
  if (!k.lifetime.is_live(a.id)) {
    k.lifetime.free(a.id, site); // records the double free
    return;
  }
  k.lifetime.free(a.id, site);
  k.spend(k.cost.kfree_ns.draw());
  k.alloc.live_objects--;
  k.alloc.live_bytes -= a.size;
}

/** The strings kmalloc and kfree derive from a tag, built once per tag rather than per call. */
interface TagNames {
  readonly type: string;
  readonly might_sleep_site: string;
  readonly reclaim_site_kernel: string;
  readonly kfree_site: string;
}

const tag_names_cache = new Map<string, TagNames>();

function tag_names(tag: string): TagNames {
  let names = tag_names_cache.get(tag);
  if (names === undefined) {
    names = {
      type: `kmalloc:${tag}`, might_sleep_site: `kmalloc(${tag})`,
      reclaim_site_kernel: `kmalloc(${tag}, ${gfp_name(GFP_KERNEL)})`, kfree_site: `kfree(${tag})`,
    };
    // Tags are type names from the models: a bound keeps a model that makes them up from leaking.
    if (tag_names_cache.size < 10_000) tag_names_cache.set(tag, names);
  }
  return names;
}

function should_fail(k: Kernel, tag: string): boolean {
  const f = k.faults;
  if (f.alloc_fail_probability <= 0) return false;
  if (f.alloc_fail_tags !== null && !f.alloc_fail_tags.includes(tag)) return false;
  return k.random.stream('fault/alloc').chance(f.alloc_fail_probability);
}

/** struct kmem_cache: a named slab of fixed-size objects. */
export class kmem_cache {
  readonly kernel: Kernel;
  readonly name: string;
  readonly size: number;

  constructor(kernel: Kernel, name: string, size: number) {
    this.kernel = kernel;
    this.name = name;
    this.size = size;
  }
}

export function kmem_cache_create(k: Kernel, name: string, size: number): kmem_cache {
  return new kmem_cache(k, name, size);
}

export function kmem_cache_alloc(cache: kmem_cache, gfp: number): Allocation | null {
  return kmalloc(cache.kernel, cache.size, gfp, cache.name);
}

export function kmem_cache_free(cache: kmem_cache, a: Allocation): void {
  kfree(cache.kernel, a);
}
