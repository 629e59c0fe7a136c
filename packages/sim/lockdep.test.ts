import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  INIT_WORK, Kernel, LOCKDEP_SITES_EAGER, LOCKDEP_SITE_FRAMES, alloc_workqueue, flush_work, lock_map_acquire_read, lock_map_release, lockdep_assert_held,
  lock_map_acquire, lockdep_assert_not_held, lockdep_map, might_lock, model_frame_of_stack, mutex_init, mutex_lock, mutex_unlock, queue_work, spin_lock,
  spin_lock_init, spin_lock_irq, spin_lock_irqsave, spin_unlock, spin_unlock_irq, spin_unlock_irqrestore,
  type Sleepable, type spinlock_t,
} from './index.ts';

/** Take a lock in a hardirq handler at `at_ns`. */
function lock_in_irq(k: Kernel, lock: spinlock_t, at_ns: number): void {
  const line = k.request_irq(`irq-${at_ns}`, lock, (l) => { spin_lock(l); spin_unlock(l); });
  k.raise_irq_at(line, at_ns, 0);
}

describe('lock order', () => {
  it('reports an AB-BA order across two kworkers, with every acquisition site', () => {
    const k = new Kernel();
    const a = spin_lock_init(k, '&dev->a_lock');
    const b = spin_lock_init(k, '&dev->b_lock');
    const wq = alloc_workqueue(k, 'test', 0, 0);
    const sites: Record<string, string> = {};
    // Each caller_site() sits on the line of the acquisition it names.
    queue_work(wq, INIT_WORK(k, () => {
      spin_lock(a); sites.w1_a = k.caller_site();
      spin_lock(b); sites.w1_b = k.caller_site();
      spin_unlock(b);
      spin_unlock(a);
    }, 'first'));
    queue_work(wq, INIT_WORK(k, () => {
      spin_lock(b); sites.w2_b = k.caller_site();
      spin_lock(a); sites.w2_a = k.caller_site();
      spin_unlock(a);
      spin_unlock(b);
    }, 'second'));
    k.run_all();
    const v = k.violations.list;
    expect(v.map((x) => x.kind)).toEqual(['lockdep_cycle']);
    expect(v[0].context).toBe('kworker/test/1');
    expect(v[0].message).toBe('possible circular locking dependency: &dev->b_lock -> &dev->a_lock closes a cycle');
    expect(v[0].site).toBe(sites.w2_a);
    expect(new Set(Object.values(sites)).size).toBe(4);
    for (const site of Object.values(sites)) expect(site).toMatch(/^(.* \()?packages\/sim\/lockdep\.test\.ts:\d+\)?$/);
    expect(v[0].detail).toEqual([
      `kworker/test/1: holding &dev->b_lock (acquired at ${sites.w2_b})`,
      `  then takes &dev->a_lock at ${sites.w2_a}`,
      'existing dependency chain:',
      `  &dev->a_lock -> &dev->b_lock: held at ${sites.w1_a}, taken at ${sites.w1_b} (kworker/test/0)`,
    ]);
  });

  it("lockdep_sites 'on-demand' captures the first sites of a run only; a report that prints a later one says so and asks for the run again", () => {
    const nest = (x: spinlock_t, y: spinlock_t) => { spin_lock(x); spin_lock(y); spin_unlock(y); spin_unlock(x); };
    // `early` edges before the A-B cycle, each a new edge with a site of its own.
    const run = (lockdep_sites: 'capture' | 'on-demand', early: number, cycle: boolean) => {
      const k = new Kernel({ lockdep_sites });
      const x = spin_lock_init(k, 'X');
      for (let i = 0; i < early; i++) nest(x, spin_lock_init(k, `C${i}`));
      const [a, b] = ['A', 'B'].map((n) => spin_lock_init(k, n));
      nest(a, b);
      if (cycle) nest(b, a);
      return k;
    };
    const cycle_of = (k: Kernel) => k.violations.of_kind('lockdep_cycle')[0];
    const file_site = /packages\/sim\/lockdep\.test\.ts:\d+/;
    // Within the eager budget: captured as with 'capture'.
    const early = run('on-demand', 0, true);
    expect(early.lockdep_sites_needed).toBe(false);
    expect(cycle_of(early).detail.join('\n')).toMatch(file_site);
    // Past it, and no report: nothing printed, nothing missing.
    expect(run('on-demand', LOCKDEP_SITES_EAGER, false).lockdep_sites_needed).toBe(false);
    // Past it, a cycle prints the sites of both edges: not captured, and the flag says so.
    const late = run('on-demand', LOCKDEP_SITES_EAGER, true);
    expect(late.lockdep_sites_needed).toBe(true);
    expect(cycle_of(late).site).toBe('(site not captured)');
    expect(cycle_of(late).detail.join('\n')).toContain('held at (site not captured), taken at (site not captured)');
    // With capture (the default), the same run names the test file.
    const captured = run('capture', LOCKDEP_SITES_EAGER, true);
    expect(captured.lockdep_sites_needed).toBe(false);
    expect(cycle_of(captured).site).toMatch(file_site);
  });

  it('a site is the first stack frame outside packages/sim; a stack of simulator frames only has none', () => {
    const frame = (fn: string, file: string) => `    at ${fn} (${file}:10:5)`;
    const sim = Array.from({ length: LOCKDEP_SITE_FRAMES }, (_, i) => frame(`f${i}`, `/r/packages/sim/lockdep.ts`));
    expect(model_frame_of_stack(['Error', ...sim].join('\n'))).toBeNull();
    expect(model_frame_of_stack(['Error', ...sim.slice(0, 4), frame('x', '/r/node_modules/y/z.js'), '    at Array.map (<anonymous>)',
      frame('drm_sched_job_begin', '/r/packages/drm-sched/sched_main.ts')].join('\n'))).toBe('drm_sched_job_begin (packages/drm-sched/sched_main.ts:10)');
    expect(model_frame_of_stack(['Error', frame('t', '/r/packages/sim/lockdep.test.ts')].join('\n'))).toBe('t (packages/sim/lockdep.test.ts:10)');
  });

  it('finds longer cycles and reports each one once', () => {
    const k = new Kernel();
    const [a, b, c] = ['A', 'B', 'C'].map((n) => spin_lock_init(k, n));
    const nest = (x: spinlock_t, y: spinlock_t) => { spin_lock(x); spin_lock(y); spin_unlock(y); spin_unlock(x); };
    nest(a, b);
    nest(b, c);
    expect(k.violations.count()).toBe(0);
    nest(c, a);
    nest(c, a);
    const v = k.violations.of_kind('lockdep_cycle');
    expect(v).toHaveLength(1);
    expect(v[0].detail.slice(3)).toEqual([
      expect.stringMatching(/^ {2}A -> B: /), expect.stringMatching(/^ {2}B -> C: /),
    ]);
  });

  it('one acquisition prints one cycle, naming the innermost held lock (check_prevs_add order)', () => {
    const k = new Kernel();
    const [a, b, n] = ['A', 'B', 'N'].map((x) => spin_lock_init(k, x));
    const nest = (x: spinlock_t, y: spinlock_t) => { spin_lock(x); spin_lock(y); spin_unlock(y); spin_unlock(x); };
    nest(n, a);
    nest(n, b);
    spin_lock(a); spin_lock(b); spin_lock(n);
    spin_unlock(n); spin_unlock(b); spin_unlock(a);
    // A -> N and B -> N both close a cycle; lockdep reports the one from B, the lock taken last.
    expect(k.violations.of_kind('lockdep_cycle').map((v) => v.message)).toEqual([
      'possible circular locking dependency: B -> N closes a cycle',
    ]);
  });

  it('flushing a work item under a lock that the item takes is a cycle', () => {
    const k = new Kernel();
    const m = mutex_init(k, '&dev->mutex');
    const wq = alloc_workqueue(k, 'test', 0, 0);
    let runs = 0;
    const work = INIT_WORK(k, () => {
      if (++runs > 1) return; // only the first run takes the mutex: no real deadlock here
      mutex_lock(m);
      mutex_unlock(m);
    }, 'takes_mutex');
    queue_work(wq, work);
    k.run_all();
    queue_work(wq, work);
    k.run_task((function* (): Sleepable {
      mutex_lock(m);
      yield* flush_work(work);
      mutex_unlock(m);
    })());
    const v = k.violations.of_kind('lockdep_cycle');
    expect(v).toHaveLength(1);
    expect(v[0].message).toMatch(/&dev->mutex -> \(work_completion\)\(takes_mutex\) closes a cycle/);
  });
});

describe('recursion', () => {
  it('taking a lock twice in one context is reported with both sites', () => {
    const k = new Kernel();
    const a = spin_lock_init(k, '&a');
    spin_lock(a, 'first_site');
    spin_lock(a, 'second_site');
    const v = k.violations.list;
    expect(v.map((x) => x.kind)).toEqual(['lockdep_recursion']);
    expect(v[0].message).toBe('possible recursive locking detected: init acquires &a while holding it');
    expect(v[0].detail).toEqual(['first acquired at first_site', 'again at second_site']);
  });

  it('two instances of one class nest as recursion too (lockdep works on classes)', () => {
    const k = new Kernel();
    const x = spin_lock_init(k, '&ring->lock');
    const y = spin_lock_init(k, '&ring->lock');
    spin_lock(x);
    spin_lock(y);
    expect(k.violations.of_kind('lockdep_recursion')).toHaveLength(1);
  });

  it('recursive read acquisition of a lockdep map is fine; a write under a read is not', () => {
    const k = new Kernel();
    const map = new lockdep_map(k, 'test_map');
    lock_map_acquire_read(map);
    lock_map_acquire_read(map);
    expect(k.violations.count()).toBe(0);
    might_lock(map, 'writer');
    expect(k.violations.of_kind('lockdep_recursion')).toHaveLength(1);
    lock_map_release(map);
    lock_map_release(map);
    expect(k.current.held).toHaveLength(0);
  });
});

describe('irq safety', () => {
  it('a lock used in hardirq and with hardirqs enabled is inconsistent (irq first)', () => {
    const k = new Kernel();
    const l = spin_lock_init(k, '&dev->irq_lock');
    lock_in_irq(k, l, 100);
    k.run_all();
    expect(k.violations.count()).toBe(0);
    spin_lock(l, 'process_site');
    spin_unlock(l);
    const v = k.violations.list;
    expect(v.map((x) => x.kind)).toEqual(['lockdep_irq_inconsistent']);
    expect(v[0].message).toBe('inconsistent lock state: &dev->irq_lock used in hardirq and with hardirqs enabled');
    expect(v[0].detail[0]).toMatch(/^IN-HARDIRQ at .*\(irq\/irq-100\)$/);
    expect(v[0].detail[1]).toBe('HARDIRQ-ON at process_site (init)');
  });

  it('a lock used in hardirq and with hardirqs enabled is inconsistent (process first)', () => {
    const k = new Kernel();
    const l = spin_lock_init(k, '&dev->irq_lock');
    spin_lock(l);
    spin_unlock(l);
    lock_in_irq(k, l, 100);
    k.run_all();
    expect(k.violations.list.map((x) => x.kind)).toEqual(['lockdep_irq_inconsistent']);
  });

  it('spin_lock_irqsave and spin_lock_irq do not mark a lock hardirq-on', () => {
    const k = new Kernel();
    const l = spin_lock_init(k, '&fence->lock');
    const flags = spin_lock_irqsave(l);
    spin_unlock_irqrestore(l, flags);
    spin_lock_irq(l);
    spin_unlock_irq(l);
    lock_in_irq(k, l, 100);
    k.run_all();
    expect(k.violations.count()).toBe(0);
    expect(k.current.irqs_off).toBe(0);
    expect(l.cls.hardirq_on_site).toBe(null);
    expect(l.cls.in_hardirq_site).not.toBe(null);
  });

  it('irqsave restores the previous state, so nested irqsave keeps irqs off', () => {
    const k = new Kernel();
    const outer = spin_lock_init(k, 'outer');
    const inner = spin_lock_init(k, 'inner');
    const f1 = spin_lock_irqsave(outer);
    const f2 = spin_lock_irqsave(inner);
    spin_unlock_irqrestore(inner, f2);
    expect(k.current.hardirqs_enabled).toBe(false);
    spin_unlock_irqrestore(outer, f1);
    expect(k.current.hardirqs_enabled).toBe(true);
  });

  it('a hardirq-safe lock taken before a hardirq-unsafe one is reported (edge found last)', () => {
    const k = new Kernel();
    const safe = spin_lock_init(k, '&safe');
    const unsafe = spin_lock_init(k, '&unsafe');
    spin_lock(unsafe);
    spin_unlock(unsafe);
    lock_in_irq(k, safe, 100);
    k.run_all();
    expect(k.violations.count()).toBe(0);
    const flags = spin_lock_irqsave(safe);
    spin_lock(unsafe, 'nested_site');
    spin_unlock(unsafe);
    spin_unlock_irqrestore(safe, flags);
    const v = k.violations.list;
    expect(v.map((x) => x.kind)).toEqual(['lockdep_irq_order']);
    expect(v[0].message).toBe('HARDIRQ-safe -> HARDIRQ-unsafe lock order: &safe -> ... -> &unsafe');
    expect(v[0].detail.at(-1)).toMatch(/^new dependency &safe -> &unsafe: held at .*, taken at nested_site$/);
  });

  it('a hardirq-safe lock taken before a hardirq-unsafe one is reported (irq usage found last)', () => {
    const k = new Kernel();
    const safe = spin_lock_init(k, '&safe');
    const unsafe = spin_lock_init(k, '&unsafe');
    const flags = spin_lock_irqsave(safe);
    spin_lock(unsafe);
    spin_unlock(unsafe);
    spin_unlock_irqrestore(safe, flags);
    spin_lock(unsafe); // HARDIRQ-ON
    spin_unlock(unsafe);
    expect(k.violations.count()).toBe(0);
    lock_in_irq(k, safe, 100); // now &safe is HARDIRQ-safe
    k.run_all();
    expect(k.violations.list.map((x) => x.kind)).toEqual(['lockdep_irq_order']);
  });

  it('a hardirq-safe lock reaching a hardirq-unsafe one through a pseudo-lock is reported, whichever is found last', () => {
    for (const irq_first of [true, false]) {
      const k = new Kernel();
      const safe = spin_lock_init(k, '&safe');
      const unsafe = spin_lock_init(k, '&unsafe');
      const map = new lockdep_map(k, 'map');
      if (irq_first) { lock_in_irq(k, safe, 100); k.run_all(); spin_lock(unsafe); spin_unlock(unsafe); }
      // &safe -> map, then map -> &unsafe: the order is found when the second edge is added.
      const flags = spin_lock_irqsave(safe);
      lock_map_acquire(map);
      lock_map_release(map);
      spin_unlock_irqrestore(safe, flags);
      expect(k.violations.count()).toBe(0);
      lock_map_acquire(map);
      const f2 = spin_lock_irqsave(unsafe);
      spin_unlock_irqrestore(unsafe, f2);
      lock_map_release(map);
      if (!irq_first) {
        expect(k.violations.count()).toBe(0);
        spin_lock(unsafe); spin_unlock(unsafe);
        expect(k.violations.count()).toBe(0);
        lock_in_irq(k, safe, 100);
        k.run_all();
      }
      expect(k.violations.list.map((x) => x.message)).toEqual(['HARDIRQ-safe -> HARDIRQ-unsafe lock order: &safe -> ... -> &unsafe']);
    }
  });

  it('each class knows whether a hardirq-safe class reaches it and whether it reaches a hardirq-unsafe one (random lock sequences)', () => {
    // Ops: a chain of distinct locks (indexes; 5 is a pseudo-lock) taken nested in process
    // context with irqs on, with irqs off, or in a hardirq handler.
    const op = fc.record({ mode: fc.constantFrom('on', 'off', 'irq'), chain: fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 4 }) });
    fc.assert(fc.property(fc.array(op, { maxLength: 25 }), (ops) => {
      const k = new Kernel();
      const locks = [0, 1, 2, 3, 4].map((i) => spin_lock_init(k, `L${i}`));
      const map = new lockdep_map(k, 'M');
      const outer = spin_lock_init(k, 'Loff'); // taken with spin_lock_irqsave around an 'off' chain
      const classes = [...locks.map((l) => l.cls), map.cls, outer.cls];
      const take = (chain: number[]) => {
        for (const i of chain) { if (i === 5) lock_map_acquire(map); else spin_lock(locks[i]); }
        for (const i of [...chain].reverse()) { if (i === 5) lock_map_release(map); else spin_unlock(locks[i]); }
      };
      let at = 100;
      for (const { mode, chain } of ops) {
        if (mode === 'irq') {
          k.raise_irq_at(k.request_irq(`irq${at}`, null, () => take(chain)), at, 0);
          at += 100;
          k.run_all();
        } else if (mode === 'off') {
          const flags = spin_lock_irqsave(outer);
          take(chain);
          spin_unlock_irqrestore(outer, flags);
        } else {
          take(chain);
        }
        // The flags against a search of the graph as it is now.
        const reach = (c: (typeof classes)[number], next: (x: (typeof classes)[number]) => Iterable<number>, pred: (x: (typeof classes)[number]) => boolean) => {
          const seen = new Set([c.id]);
          const stack = [c];
          while (stack.length > 0) {
            const x = stack.pop()!;
            if (!x.pseudo && pred(x)) return true;
            for (const id of next(x)) if (!seen.has(id)) { seen.add(id); stack.push(classes.find((y) => y.id === id)!); }
          }
          return false;
        };
        for (const c of classes) {
          expect(c.irq_safe_above).toBe(reach(c, (x) => x.before, (x) => x.in_hardirq_site !== null));
          expect(c.irq_unsafe_below).toBe(reach(c, (x) => x.after.keys(), (x) => x.hardirq_on_site !== null));
        }
      }
    }), { seed: 16, numRuns: 300 });
  });

  it('hardirq-safe to hardirq-safe order is fine', () => {
    const k = new Kernel();
    const outer = spin_lock_init(k, '&outer');
    const inner = spin_lock_init(k, '&inner');
    const line = k.request_irq('gpu', null, () => { spin_lock(outer); spin_lock(inner); spin_unlock(inner); spin_unlock(outer); });
    k.raise_irq_at(line, 100, 0);
    k.run_all();
    const flags = spin_lock_irqsave(outer);
    spin_lock(inner);
    spin_unlock(inner);
    spin_unlock_irqrestore(outer, flags);
    expect(k.violations.count()).toBe(0);
  });
});

describe('assertions and misuse', () => {
  it('lockdep_assert_held warns unless the current context holds the lock', () => {
    const k = new Kernel();
    const l = spin_lock_init(k, '&sched->job_list_lock');
    expect(lockdep_assert_held(l, 'check')).toBe(false);
    const v = k.violations.list;
    expect(v.map((x) => x.kind)).toEqual(['warn']);
    expect(v[0].message).toBe('lockdep_assert_held(&sched->job_list_lock) failed in init');
    spin_lock(l);
    expect(lockdep_assert_held(l)).toBe(true);
    expect(lockdep_assert_not_held(l, 'check2')).toBe(false);
    spin_unlock(l);
    expect(lockdep_assert_not_held(l)).toBe(true);
    expect(k.violations.count()).toBe(2);
  });

  it('held by another context does not count as held', () => {
    const k = new Kernel();
    const l = spin_lock_init(k, '&lock');
    spin_lock(l); // held by init, outside any body
    let ok: boolean | null = null;
    const line = k.request_irq('gpu', l, (lock) => { ok = lockdep_assert_held(lock, 'in_irq'); });
    k.raise_irq_at(line, 10, 0);
    k.run_all();
    expect(ok).toBe(false);
  });

  it('unlocking a lock that is not held is reported', () => {
    const k = new Kernel();
    const l = spin_lock_init(k, '&lock');
    spin_unlock(l);
    expect(k.violations.list.map((x) => x.kind)).toEqual(['lockdep_unlock']);
  });

  it('a body that returns with a lock held is reported and cleaned up', () => {
    const k = new Kernel();
    const l = spin_lock_init(k, '&leaky');
    const line = k.request_irq('gpu', l, (lock) => { spin_lock(lock, 'irq_lock_site'); });
    k.raise_irq_at(line, 10, 0);
    k.run_all();
    const v = k.violations.of_kind('lock_held_at_exit');
    expect(v).toHaveLength(1);
    expect(v[0].message).toBe('irq handler gpu returned with &leaky (acquired at irq_lock_site) held');
    expect(line.ctx.held).toHaveLength(0);
    expect(line.ctx.atomic).toBe(0);
  });

  it('mutex_lock in atomic context is a sleep in atomic', () => {
    const k = new Kernel();
    const m = mutex_init(k, '&m');
    const line = k.request_irq('gpu', m, (mx) => { mutex_lock(mx, 'irq_mutex'); mutex_unlock(mx); });
    k.raise_irq_at(line, 10, 0);
    k.run_all();
    expect(k.violations.of_kind('sleep_in_atomic')[0].site).toBe('irq_mutex');
  });
});
