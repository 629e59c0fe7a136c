/**
 * The memory of an allocating xarray (XA_FLAGS_ALLOC) whose entries fill from index 0, as the
 * job dependencies of drm_sched and drm_dep use it (include/linux/xarray.h, lib/xarray.c @
 * torvalds/linux 5f8f8574c7f5): a lone entry at index 0 lives in xa_head, the second needs a
 * node, and the node goes with xa_destroy or the erase of the last entry. Only the node is
 * modelled; the entries are the caller's (an array or a Map in index order).
 */
import { kmalloc, might_alloc, type Allocation } from './alloc.ts';
import { ENOMEM } from './errno.ts';
import type { Kernel } from './kernel.ts';

/** sizeof(struct xa_node) on 64-bit (XA_CHUNK_SHIFT 6). */
export const XA_NODE_SIZE_BYTES = 576;

/**
 * The allocation of xa_alloc for an array that holds `entries` entries: might_alloc(gfp)
 * always (xa_alloc makes the checks before it knows whether it needs memory), then a node if
 * this is the second entry or later and none is held. Returns the node to keep (`node`, a new
 * one, or null while none is needed), or -ENOMEM. Deviation: the node is allocated before the
 * caller takes the xa_lock; lib/xarray.c first tries GFP_NOWAIT under it, then `gfp` without it.
 */
export function xa_alloc_node(k: Kernel, node: Allocation | null, entries: number, gfp: number): Allocation | null | number {
  might_alloc(k, gfp, 'xa_node');
  if (node !== null || entries === 0) return node;
  return kmalloc(k, XA_NODE_SIZE_BYTES, gfp, 'xa_node') ?? -ENOMEM;
}
