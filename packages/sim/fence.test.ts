import { describe, expect, it } from 'vitest';
import {
  DMA_FENCE_FLAG_TIMESTAMP_BIT, ECANCELED, EINVAL, EIO, ENOENT, ERESTARTSYS, ETIME, GFP_ATOMIC, GFP_KERNEL, INIT_WORK,
  Kernel, MAX_SCHEDULE_TIMEOUT, NSEC_PER_MSEC, alloc_workqueue, dma_fence, dma_fence_add_callback,
  dma_fence_allocate_private_stub, dma_fence_array_create, dma_fence_begin_signalling, dma_fence_cb,
  dma_fence_driver_name, dma_fence_end_signalling, dma_fence_free, dma_fence_get,
  dma_fence_get_rcu, dma_fence_get_status, dma_fence_get_stub, dma_fence_init, dma_fence_is_later,
  dma_fence_is_signaled, dma_fence_later, dma_fence_put, dma_fence_remove_callback, dma_fence_set_error,
  dma_fence_signal, dma_fence_signal_timestamp, dma_fence_timeline_name, dma_fence_wait, dma_fence_wait_timeout,
  kmalloc, queue_work, spin_lock_init, type Sleepable, type dma_fence_ops,
} from './index.ts';
import { CONSTANT_COSTS, type KernelOptions } from './index.ts';

/** Constant costs: the timings below are computed by hand from CONSTANT_COSTS. */
const CONSTANT: KernelOptions = { costs: { profile: 'constant' } };

const MS = NSEC_PER_MSEC;

const plain_ops: dma_fence_ops = { get_driver_name: () => 'test-driver', get_timeline_name: () => 'test-timeline' };

function new_fence(k: Kernel, seqno = 1, context = 1, ops: dma_fence_ops = plain_ops): dma_fence {
  const f = new dma_fence(k);
  dma_fence_init(f, ops, spin_lock_init(k, '&test->fence_lock'), context, seqno);
  return f;
}

/** Signal `fence` from an irq handler at `at_ns`, optionally setting an error first. */
function signal_from_irq(k: Kernel, fence: dma_fence, at_ns: number, error = 0): void {
  const line = k.request_irq(`irq-${fence.name}`, fence, (f) => {
    if (error !== 0) dma_fence_set_error(f, error);
    dma_fence_signal(f);
  });
  k.raise_irq_at(line, at_ns, 0);
}

describe('signalling and callbacks', () => {
  it('callbacks run in the signaller\'s context, under the fence lock', () => {
    const k = new Kernel(CONSTANT);
    const seen: string[] = [];
    const f_irq = new_fence(k, 1);
    const f_work = new_fence(k, 2);
    const f_task = new_fence(k, 3);
    for (const f of [f_irq, f_work, f_task]) {
      expect(dma_fence_add_callback(f, new dma_fence_cb(), (fence) => {
        seen.push(`${fence.seqno}:${k.current.kind}:${k.current.holds(fence.lock!)}:${k.current.in_atomic}`);
      })).toBe(0);
    }
    signal_from_irq(k, f_irq, 1_000);
    queue_work(alloc_workqueue(k, 'test', 0, 0), INIT_WORK(k, () => { dma_fence_signal(f_work); }, 'w'));
    k.spawn('task', (function* () { dma_fence_signal(f_task); })());
    k.run_all();
    expect(seen.sort()).toEqual(['1:hardirq:true:true', '2:kworker:true:true', '3:process:true:true']);
    expect(k.violations.count()).toBe(0);
  });

  it('add_callback on a signalled fence returns -ENOENT and never calls it', () => {
    const k = new Kernel(CONSTANT);
    const f = new_fence(k);
    dma_fence_signal(f);
    let called = 0;
    const cb = new dma_fence_cb();
    expect(dma_fence_add_callback(f, cb, () => { called++; })).toBe(-ENOENT);
    expect(cb.linked).toBe(null);
    expect(called).toBe(0);
  });

  it('callbacks run once each, in the order they were added', () => {
    const k = new Kernel(CONSTANT);
    const f = new_fence(k);
    const order: number[] = [];
    for (let i = 0; i < 3; i++) dma_fence_add_callback(f, new dma_fence_cb(), () => order.push(i));
    dma_fence_signal(f);
    expect(order).toEqual([0, 1, 2]);
    expect(f.cb_list).toHaveLength(0);
  });

  it('remove_callback unlinks a pending callback, and reports whether it was pending', () => {
    const k = new Kernel(CONSTANT);
    const f = new_fence(k);
    let called = 0;
    const cb = new dma_fence_cb();
    const other = new dma_fence_cb();
    dma_fence_add_callback(f, cb, () => { called++; });
    dma_fence_add_callback(f, other, () => { called += 10; });
    expect(dma_fence_remove_callback(f, cb)).toBe(true);
    expect(dma_fence_remove_callback(f, cb)).toBe(false);
    dma_fence_signal(f);
    expect(called).toBe(10);
    expect(dma_fence_remove_callback(f, other)).toBe(false);
  });

  it('an error set before signalling is seen by callbacks and by get_status', () => {
    const k = new Kernel(CONSTANT);
    const ok = new_fence(k, 1);
    const bad = new_fence(k, 2);
    expect(dma_fence_get_status(bad)).toBe(0);
    let seen = 0;
    dma_fence_add_callback(bad, new dma_fence_cb(), (fence) => { seen = fence.error; });
    dma_fence_set_error(bad, -EIO);
    dma_fence_signal(bad);
    dma_fence_signal(ok);
    expect(seen).toBe(-EIO);
    expect(dma_fence_get_status(bad)).toBe(-EIO);
    expect(dma_fence_get_status(ok)).toBe(1);
    expect(k.violations.count()).toBe(0);
  });

  it('set_error after signalling is reported, and so is a non-negative error', () => {
    const k = new Kernel(CONSTANT);
    const f = new_fence(k);
    dma_fence_set_error(f, EIO);
    expect(k.violations.of_kind('warn')[0].message).toMatch(/invalid fence error 5/);
    dma_fence_set_error(f, -EIO);
    dma_fence_signal(f);
    dma_fence_set_error(f, -ECANCELED);
    const v = k.violations.of_kind('fence_error_after_signal');
    expect(v).toHaveLength(1);
    expect(v[0].message).toMatch(/-125/);
  });

  it('a second signal is reported, returns -EINVAL and does not run callbacks again', () => {
    const k = new Kernel(CONSTANT);
    const f = new_fence(k);
    let called = 0;
    dma_fence_add_callback(f, new dma_fence_cb(), () => { called++; });
    expect(dma_fence_signal(f)).toBe(0);
    const ts = f.timestamp_ns;
    k.run_for(1_000);
    expect(dma_fence_signal(f)).toBe(-EINVAL);
    expect(called).toBe(1);
    expect(f.timestamp_ns).toBe(ts);
    expect(k.violations.of_kind('fence_double_signal')).toHaveLength(1);
  });

  it('is_signaled asks ops->signaled and signals on its behalf', () => {
    const k = new Kernel(CONSTANT);
    let hw_done = false;
    const f = new_fence(k, 1, 1, { ...plain_ops, signaled: () => hw_done });
    let called = 0;
    dma_fence_add_callback(f, new dma_fence_cb(), () => { called++; });
    expect(dma_fence_is_signaled(f)).toBe(false);
    hw_done = true;
    expect(dma_fence_is_signaled(f)).toBe(true);
    expect(f.signaled).toBe(true);
    expect(called).toBe(1);
  });

  it('enable_signaling returning false signals at add_callback time', () => {
    const k = new Kernel(CONSTANT);
    const f = new_fence(k, 1, 1, { ...plain_ops, enable_signaling: () => false });
    let called = 0;
    expect(dma_fence_add_callback(f, new dma_fence_cb(), () => { called++; })).toBe(-ENOENT);
    expect(f.signaled).toBe(true);
    expect(called).toBe(0);
  });
});

describe('ordering and timestamps', () => {
  it('dma_fence_is_later compares seqnos within one context only', () => {
    const k = new Kernel(CONSTANT);
    const c1 = k.dma_fence_context_alloc(2);
    const c2 = c1 + 1;
    expect(k.dma_fence_context_alloc(1)).toBe(c1 + 2);
    const a1 = new_fence(k, 1, c1);
    const a2 = new_fence(k, 2, c1);
    const b5 = new_fence(k, 5, c2);
    expect(dma_fence_is_later(a2, a1)).toBe(true);
    expect(dma_fence_is_later(a1, a2)).toBe(false);
    expect(dma_fence_is_later(a1, a1)).toBe(false);
    expect(dma_fence_later(a1, a2)).toBe(a2);
    expect(dma_fence_later(a1, b5)).toBe(null);
    expect(k.violations.count()).toBe(0);
    expect(dma_fence_is_later(b5, a1)).toBe(false);
    expect(k.violations.of_kind('warn')[0].message).toMatch(/contexts/);
  });

  it('signal stamps the signalling time (the signaller\'s local clock); signal_timestamp uses the given one', () => {
    const k = new Kernel(CONSTANT);
    const f = new_fence(k, 1);
    const g = new_fence(k, 2);
    let before = -1;
    const line = k.request_irq('gpu', f, (fence) => { before = k.now(); dma_fence_signal(fence); });
    k.raise_irq_at(line, 2 * MS, 0);
    k.run_all();
    expect(before).toBe(2 * MS + CONSTANT_COSTS.hardirq_entry_ns);
    // The stamp is taken with the fence lock held, after the lock cost.
    expect(f.timestamp_ns).toBe(before + CONSTANT_COSTS.spin_lock_ns);
    expect((f.flags >> DMA_FENCE_FLAG_TIMESTAMP_BIT) & 1).toBe(1);
    expect(dma_fence_signal_timestamp(g, 12_345)).toBe(0);
    expect(g.timestamp_ns).toBe(12_345);
  });
});

describe('dma_fence_wait', () => {
  it('really waits in a process task until the fence signals', () => {
    const k = new Kernel(CONSTANT);
    const f = new_fence(k);
    let r = -1, at = -1;
    const task = k.spawn('waiter', (function* () { r = yield* dma_fence_wait(f, false); at = k.now(); })());
    signal_from_irq(k, f, 2 * MS);
    k.run_for(2 * MS);
    expect(task.done).toBe(false);
    k.run_all();
    expect(r).toBe(0);
    const c = CONSTANT_COSTS;
    expect(at).toBe(2 * MS + c.hardirq_entry_ns + c.spin_lock_ns + c.fence_signal_ns + c.fence_callback_ns + c.process_wakeup_ns);
    expect(k.violations.count()).toBe(0);
  });

  it('dma_fence_wait_timeout returns 0 on timeout when the timer wheel runs its timer, and leaves no callback behind', () => {
    const k = new Kernel(CONSTANT);
    const f = new_fence(k);
    let r = -1, at = -1;
    k.run_for(MS / 2);
    k.spawn('waiter', (function* () { r = yield* dma_fence_wait_timeout(f, false, 3); at = k.now(); })());
    k.run_all();
    expect(r).toBe(0);
    // Expiry jiffy 3 (level 0) runs at jiffy 4; then it unlinks its callback under the fence lock.
    expect(at).toBe(4 * MS + CONSTANT_COSTS.process_wakeup_ns + CONSTANT_COSTS.spin_lock_ns);
    expect(f.cb_list).toHaveLength(0);
  });

  it('dma_fence_wait_timeout returns the remaining jiffies when signalled in time', () => {
    const k = new Kernel(CONSTANT);
    const f = new_fence(k);
    let r = -1;
    k.spawn('waiter', (function* () { r = yield* dma_fence_wait_timeout(f, false, 10); })());
    signal_from_irq(k, f, 4.5 * MS);
    k.run_all();
    expect(r).toBe(10 - 4);
    let r2 = -1;
    k.spawn('again', (function* () { r2 = yield* dma_fence_wait_timeout(f, false, 7); })());
    k.run_all();
    expect(r2).toBe(7); // already signalled: the whole timeout is left
  });

  it('an interruptible wait returns -ERESTARTSYS on SIGKILL and unlinks its callback', () => {
    const k = new Kernel(CONSTANT);
    const f = new_fence(k);
    let r = 0;
    const task = k.spawn('victim', (function* () { r = yield* dma_fence_wait(f, true); })());
    k.run_for(MS);
    expect(f.cb_list).toHaveLength(1);
    k.send_sigkill(task);
    k.run_all();
    expect(r).toBe(-ERESTARTSYS);
    expect(f.cb_list).toHaveLength(0);
  });

  it('waiting from hardirq context is reported', () => {
    const k = new Kernel(CONSTANT);
    const f = new_fence(k);
    const line = k.request_irq('gpu', f, (fence) => { dma_fence_wait_timeout(fence, false, MAX_SCHEDULE_TIMEOUT).next(); });
    k.raise_irq_at(line, 100, 0);
    k.run_all();
    const v = k.violations.of_kind('sleep_in_atomic');
    expect(v[0].site).toBe('dma_fence_wait');
    expect(v[0].context).toBe('irq/gpu');
    expect(f.cb_list).toHaveLength(0);
  });
});

describe('signalling-section rules (lockdep)', () => {
  it('a GFP_KERNEL allocation in a fence callback closes a cycle with the fs_reclaim priming', () => {
    const k = new Kernel(CONSTANT);
    const f = new_fence(k);
    dma_fence_add_callback(f, new dma_fence_cb(), () => { kmalloc(k, 128, GFP_KERNEL, 'cb_alloc'); });
    k.spawn('signaller', (function* () { dma_fence_signal(f); })());
    k.run_all();
    // The callback runs under the fence lock inside the signalling section; lockdep names the
    // innermost held lock (the fence lock), and the chain goes through the boot-time priming.
    const cycles = k.violations.of_kind('lockdep_cycle');
    expect(cycles.map((v) => v.message)).toEqual(['possible circular locking dependency: &test->fence_lock -> fs_reclaim closes a cycle']);
    expect(cycles[0].context).toBe('signaller');
    expect(cycles[0].detail.slice(3)).toEqual([
      expect.stringMatching(/^ {2}fs_reclaim -> dma_fence_map: held at dma_resv_lockdep \(boot-time priming\)/),
      expect.stringMatching(/^ {2}dma_fence_map -> &test->fence_lock: /),
    ]);
    // The callback also runs under the fence spinlock, so the sleeping allocation is atomic too.
    expect(k.violations.of_kind('gfp_in_atomic')).toHaveLength(1);
  });

  it('a GFP_KERNEL allocation in a bare signalling section is the cycle alone; GFP_ATOMIC is fine', () => {
    const k = new Kernel(CONSTANT);
    k.spawn('signaller', (function* (): Sleepable {
      const cookie = dma_fence_begin_signalling(k);
      kmalloc(k, 64, GFP_ATOMIC, 'atomic_ok');
      expect(k.violations.count()).toBe(0);
      kmalloc(k, 64, GFP_KERNEL, 'bad');
      dma_fence_end_signalling(k, cookie);
    })());
    k.run_all();
    expect(k.violations.list.map((v) => v.kind)).toEqual(['lockdep_cycle']);
  });

  it('waiting on a fence inside a signalling section is reported', () => {
    const k = new Kernel(CONSTANT);
    const f = new_fence(k);
    k.spawn('signaller', (function* (): Sleepable {
      const cookie = dma_fence_begin_signalling(k);
      yield* dma_fence_wait(f, false);
      dma_fence_end_signalling(k, cookie);
    })());
    signal_from_irq(k, f, MS);
    k.run_all();
    const v = k.violations.of_kind('lockdep_recursion');
    expect(v).toHaveLength(1);
    expect(v[0].message).toMatch(/dma_fence_map/);
  });

  it('nested signalling sections are fine (the map is taken for read)', () => {
    const k = new Kernel(CONSTANT);
    const a = dma_fence_begin_signalling(k);
    const b = dma_fence_begin_signalling(k);
    dma_fence_end_signalling(k, b);
    dma_fence_end_signalling(k, a);
    expect(k.violations.count()).toBe(0);
    expect(k.current.held).toHaveLength(0);
  });
});

describe('fence arrays', () => {
  it('signals once every member has, with the first error, from hardirq context', () => {
    const k = new Kernel(CONSTANT);
    const ctx = k.dma_fence_context_alloc(1);
    const members = [new_fence(k, 1, ctx), new_fence(k, 2, ctx), new_fence(k, 3, ctx)];
    const array = dma_fence_array_create(k, members, k.dma_fence_context_alloc(1), 1, false);
    let seen = '';
    dma_fence_add_callback(array.base, new dma_fence_cb(), (f) => { seen = `${f.error}@${k.current.name}`; });
    signal_from_irq(k, members[1], 1 * MS, -EIO);
    signal_from_irq(k, members[0], 2 * MS, -ETIME);
    signal_from_irq(k, members[2], 3 * MS);
    k.run_for(3 * MS - 1);
    expect(array.base.signaled).toBe(false);
    k.run_all();
    expect(array.base.signaled).toBe(true);
    expect(seen).toBe(`${-EIO}@hardirq/hrtimer`);
    expect(array.base.timestamp_ns).toBeGreaterThanOrEqual(3 * MS);
    // The array holds the member references: its last put frees everything.
    expect(k.lifetime.live_of_type('dma_fence')).toBe(3);
    dma_fence_put(array.base);
    expect(k.lifetime.live_of_type('dma_fence')).toBe(0);
    expect(k.lifetime.live_of_type('dma_fence_array')).toBe(0);
    expect(k.violations.count()).toBe(0);
  });

  it('signal_on_any signals with the first member', () => {
    const k = new Kernel(CONSTANT);
    const members = [new_fence(k, 1), new_fence(k, 2)];
    const array = dma_fence_array_create(k, members, 9, 1, true);
    signal_from_irq(k, members[1], MS, -ECANCELED);
    k.run_for(MS + 10_000);
    expect(array.base.signaled).toBe(true);
    expect(array.base.error).toBe(-ECANCELED);
    signal_from_irq(k, members[0], 2 * MS, -EIO);
    k.run_all();
    expect(array.base.error).toBe(-ECANCELED);
    dma_fence_put(array.base);
    expect(k.lifetime.live_count).toBe(0);
    expect(k.violations.count()).toBe(0);
  });

  it('members already signalled count at once; an empty array signals at once', () => {
    const k = new Kernel(CONSTANT);
    const done = new_fence(k, 1);
    dma_fence_set_error(done, -ECANCELED);
    dma_fence_signal(done);
    const pending = new_fence(k, 2);
    const array = dma_fence_array_create(k, [done, pending], 9, 1, false);
    k.run_all();
    expect(array.base.signaled).toBe(false);
    dma_fence_signal(pending);
    k.run_all();
    expect(array.base.error).toBe(-ECANCELED);
    const empty = dma_fence_array_create(k, [], 9, 2, false);
    k.run_all();
    expect(empty.base.signaled).toBe(true);
    expect(empty.base.error).toBe(0);
  });
});

describe('stub fences', () => {
  it('the stub is one always-signalled fence that is never freed, and is not a leak', () => {
    const k = new Kernel(CONSTANT);
    const stub = dma_fence_get_stub(k);
    expect(dma_fence_get_stub(k)).toBe(stub);
    expect(stub.signaled).toBe(true);
    expect(dma_fence_add_callback(stub, new dma_fence_cb(), () => {})).toBe(-ENOENT);
    dma_fence_put(stub);
    dma_fence_put(stub);
    expect(dma_fence_get_status(stub)).toBe(1);
    expect(k.run_task(dma_fence_wait(stub, false))).toBe(0);
    expect(k.lifetime.check_leaks('teardown')).toBe(0);
    expect(k.violations.count()).toBe(0);
  });

  it('a private stub is signalled with the given timestamp and freed at its last put', () => {
    const k = new Kernel(CONSTANT);
    const f = dma_fence_allocate_private_stub(k, 777);
    expect(f.signaled).toBe(true);
    expect(f.timestamp_ns).toBe(777);
    dma_fence_put(f);
    expect(k.lifetime.check_leaks('teardown')).toBe(0);
  });
});

describe('lifetime and ops', () => {
  it('use after the last put is reported and changes nothing', () => {
    const k = new Kernel(CONSTANT);
    const f = new_fence(k);
    dma_fence_get(f);
    dma_fence_put(f);
    expect(k.lifetime.is_live(f.id)).toBe(true);
    dma_fence_put(f);
    expect(k.lifetime.is_live(f.id)).toBe(false);
    expect(k.violations.count()).toBe(0);
    dma_fence_get(f);
    dma_fence_put(f);
    expect(dma_fence_signal(f)).toBe(-EINVAL);
    expect(dma_fence_add_callback(f, new dma_fence_cb(), () => {})).toBe(-EINVAL);
    expect(dma_fence_get_rcu(f)).toBe(null);
    expect(k.violations.list.map((v) => `${v.kind}@${v.site}`)).toEqual([
      'use_after_free@dma_fence_get', 'use_after_free@dma_fence_put', 'use_after_free@dma_fence_signal',
      'use_after_free@dma_fence_add_callback',
    ]);
    expect(f.refcount.refcount).toBe(0);
  });

  it('releasing a fence with callbacks still pending warns', () => {
    const k = new Kernel(CONSTANT);
    const f = new_fence(k);
    dma_fence_add_callback(f, new dma_fence_cb(), () => {});
    dma_fence_put(f);
    expect(k.violations.of_kind('warn')[0].message).toMatch(/released with callbacks pending/);
  });

  it('ops are detached at signal when the fence has neither .wait nor .release', () => {
    const k = new Kernel(CONSTANT);
    const plain = new_fence(k, 1);
    let released = 0;
    const with_release = new_fence(k, 2, 1, { ...plain_ops, release: (fence) => { released++; dma_fence_free(fence); } });
    const with_wait = new_fence(k, 3, 1, { ...plain_ops, wait: true });
    expect(dma_fence_driver_name(plain)).toBe('test-driver');
    expect(dma_fence_timeline_name(plain)).toBe('test-timeline');
    for (const f of [plain, with_release, with_wait]) dma_fence_signal(f);
    expect(plain.ops).toBe(null);
    expect(dma_fence_driver_name(plain)).toBe('detached-driver');
    expect(dma_fence_timeline_name(plain)).toBe('signaled-timeline');
    expect(dma_fence_driver_name(with_release)).toBe('test-driver');
    expect(dma_fence_driver_name(with_wait)).toBe('test-driver');
    // A detached fence is freed by the default path; the one with .release by its release.
    dma_fence_put(plain);
    dma_fence_put(with_release);
    expect(released).toBe(1);
    expect(k.lifetime.is_live(plain.id)).toBe(false);
    expect(k.lifetime.is_live(with_release.id)).toBe(false);
  });

  it('operations on an uninitialised fence are reported, not thrown', () => {
    const k = new Kernel(CONSTANT);
    const f = new dma_fence(k);
    expect(dma_fence_signal(f)).toBe(-EINVAL);
    expect(dma_fence_add_callback(f, new dma_fence_cb(), () => {})).toBe(-EINVAL);
    expect(dma_fence_remove_callback(f, new dma_fence_cb())).toBe(false);
    expect(k.violations.of_kind('model_error').length).toBeGreaterThanOrEqual(3);
  });
});
