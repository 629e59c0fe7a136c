import { describe, expect, it } from 'vitest';
import {
  GFP_ATOMIC, GFP_KERNEL, GFP_NOFS, GFP_NOWAIT, Kernel, dma_fence_begin_signalling, dma_fence_end_signalling, gfp_name, gfpflags_allow_blocking, kfree, kmalloc,
  kmem_cache_alloc, kmem_cache_create, kmem_cache_free, spin_lock, spin_lock_init, spin_unlock, type Allocation,
} from './index.ts';
import { CONSTANT_COSTS, type KernelOptions } from './index.ts';

/** Constant costs: the timings below are computed by hand from CONSTANT_COSTS. */
const CONSTANT: KernelOptions = { costs: { profile: 'constant' } };

describe('GFP rules', () => {
  it('GFP_KERNEL in hardirq context is reported as gfp_in_atomic', () => {
    const k = new Kernel(CONSTANT);
    let a: Allocation | null = null;
    const line = k.request_irq('gpu', null, () => { a = kmalloc(k, 64, GFP_KERNEL, 'irq_obj'); });
    k.raise_irq_at(line, 100, 0);
    k.run_all();
    const v = k.violations.of_kind('gfp_in_atomic');
    expect(v).toHaveLength(1);
    expect(v[0].message).toBe('GFP_KERNEL allocation of irq_obj in atomic context (irq/gpu)');
    expect(v[0].context).toBe('irq/gpu');
    expect(a).not.toBe(null); // reported, not failed: the model carries on
  });

  it('GFP_KERNEL under a spinlock is reported too; in plain process context it is fine', () => {
    const k = new Kernel(CONSTANT);
    kfree(k, kmalloc(k, 64, GFP_KERNEL, 'ok'));
    expect(k.violations.count()).toBe(0);
    const lock = spin_lock_init(k, '&lock');
    spin_lock(lock);
    kmalloc(k, 64, GFP_KERNEL, 'under_lock');
    spin_unlock(lock);
    expect(k.violations.of_kind('gfp_in_atomic')).toHaveLength(1);
  });

  it('GFP_ATOMIC never sleeps: no report in hardirq, under a lock, or in a signalling section', () => {
    const k = new Kernel(CONSTANT);
    const line = k.request_irq('gpu', null, () => { kmalloc(k, 64, GFP_ATOMIC, 'a'); kmalloc(k, 64, GFP_NOWAIT, 'b'); });
    k.raise_irq_at(line, 100, 0);
    k.run_all();
    const lock = spin_lock_init(k, '&lock');
    spin_lock(lock);
    const cookie = dma_fence_begin_signalling(k);
    kmalloc(k, 64, GFP_ATOMIC, 'c');
    dma_fence_end_signalling(k, cookie);
    spin_unlock(lock);
    const section = dma_fence_begin_signalling(k);
    kmalloc(k, 64, GFP_ATOMIC, 'd');
    dma_fence_end_signalling(k, section);
    expect(k.violations.count()).toBe(0);
    expect(gfpflags_allow_blocking(GFP_ATOMIC)).toBe(false);
    expect(gfpflags_allow_blocking(GFP_KERNEL)).toBe(true);
    expect(gfp_name(GFP_NOFS)).toBe('GFP_NOFS');
  });

  it('fault injection fails non-sleeping allocations only', () => {
    const k = new Kernel(CONSTANT);
    k.faults.alloc_fail_probability = 1;
    expect(kmalloc(k, 64, GFP_ATOMIC, 'x')).toBe(null);
    expect(kmalloc(k, 64, GFP_NOWAIT, 'x')).toBe(null);
    expect(kmalloc(k, 64, GFP_KERNEL, 'x')).not.toBe(null); // may sleep: reclaim makes it succeed
    expect(k.alloc.failed_allocations).toBe(2);
    expect(k.alloc.total_allocations).toBe(1);
    expect(k.alloc.live_objects).toBe(1);
  });

  it('fault injection can be limited to tags, and draws from its own seeded stream', () => {
    const run = (seed: number) => {
      const k = new Kernel({ ...CONSTANT, seed });
      k.faults.alloc_fail_probability = 0.5;
      k.faults.alloc_fail_tags = ['job'];
      const out: boolean[] = [];
      for (let i = 0; i < 64; i++) {
        out.push(kmalloc(k, 8, GFP_ATOMIC, 'job') === null);
        expect(kmalloc(k, 8, GFP_ATOMIC, 'fence')).not.toBe(null);
      }
      return out;
    };
    const a = run(1);
    expect(a).toEqual(run(1));
    expect(a).not.toEqual(run(2));
    expect(a.filter(Boolean).length).toBeGreaterThan(16);
    expect(a.filter(Boolean).length).toBeLessThan(48);
  });
});

describe('accounting', () => {
  it('tracks live and peak objects and bytes, and charges the cost table', () => {
    const k = new Kernel(CONSTANT);
    const line = k.request_irq('gpu', null, () => {
      const t0 = k.now();
      const a = kmalloc(k, 100, GFP_ATOMIC, 'a');
      const b = kmalloc(k, 300, GFP_ATOMIC, 'b');
      kfree(k, a);
      const c = kmalloc(k, 50, GFP_ATOMIC, 'c');
      expect(k.now() - t0).toBe(3 * CONSTANT_COSTS.kmalloc_ns + CONSTANT_COSTS.kfree_ns);
      kfree(k, b);
      kfree(k, c);
    });
    k.raise_irq_at(line, 0, 0);
    k.run_all();
    expect(k.alloc).toMatchObject({ live_objects: 0, live_bytes: 0, peak_objects: 2, peak_bytes: 400, total_allocations: 3 });
    expect(k.lifetime.check_leaks('teardown')).toBe(0);
  });

  it('kfree of freed memory is a double free and does not change the counts; kfree(NULL) is a no-op', () => {
    const k = new Kernel(CONSTANT);
    const a = kmalloc(k, 64, GFP_KERNEL, 'obj');
    kmalloc(k, 32, GFP_KERNEL, 'keep');
    kfree(k, a);
    kfree(k, a);
    kfree(k, null);
    const v = k.violations.of_kind('double_free');
    expect(v).toHaveLength(1);
    expect(v[0].site).toBe('kfree(obj)');
    expect(k.alloc.live_objects).toBe(1);
    expect(k.alloc.live_bytes).toBe(32);
  });

  it('kmem caches allocate their object size under their name; a leak is reported', () => {
    const k = new Kernel(CONSTANT);
    const cache = kmem_cache_create(k, 'drm_sched_fence', 120);
    const a = kmem_cache_alloc(cache, GFP_KERNEL)!;
    kmem_cache_alloc(cache, GFP_KERNEL);
    expect(a.size).toBe(120);
    expect(a.tag).toBe('drm_sched_fence');
    kmem_cache_free(cache, a);
    expect(k.lifetime.check_leaks('teardown')).toBe(1);
    expect(k.violations.of_kind('leak')[0].message).toMatch(/kmalloc:drm_sched_fence/);
  });
});
