/**
 * The drm_dep model's selectable assumptions (docs/assumptions.md "Selectable assumptions"):
 * for each value, a scenario whose outcome that value, and only it, produces.
 */
import { describe, expect, it } from 'vitest';
import {
  alloc_ordered_workqueue, dma_fence_put, EXACT_TIMING, INIT_WORK, Kernel, queue_work, spin_lock, spin_lock_init,
  spin_lock_irqsave, spin_unlock, spin_unlock_irqrestore, WQ_MEM_RECLAIM, WQ_MEM_WARN_ON_RECLAIM,
  type Sleepable,
} from '@deplab/sim';
import {
  drm_dep_assume_job_done_irq, drm_dep_assume_release, drm_dep_assume_tdr_rearm, drm_dep_assume_tdr_wq,
  drm_dep_job_done, drm_dep_job_put, drm_dep_queue_kill, drm_dep_queue_put, drm_dep_queue_release_done,
  drm_dep_queue_trigger_timeout, DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE, DRM_DEP_TIMEDOUT_NO_HANG,
} from './index.ts';
import {
  fake_gpu, fake_job, fake_job_create, fake_job_submit, fake_queue, fake_queue_complete, fake_queue_create,
} from './fake_gpu.testlib.ts';

const MS = 1_000_000;
const DEP_TYPES = ['drm_dep_queue', 'drm_dep_job', 'drm_dep_fence'];

function kernel(assume: Record<string, string>): Kernel {
  return new Kernel({ trace: 'record', ...EXACT_TIMING, assume: { ...EXACT_TIMING.assume, ...assume } });
}

function events(k: Kernel, name: string) {
  return k.trace.events.filter((e) => e.name === name);
}

/** Kill and put `q`, drain, and check that drm_dep left nothing behind. */
function finish(k: Kernel, q: fake_queue): void {
  drm_dep_queue_kill(q);
  drm_dep_queue_put(q);
  k.run_all();
  expect(k.lifetime.live(DEP_TYPES)).toEqual([]);
  expect(q.log.at(-1)).toBe('free');
}

describe('dep.release: when ops.release runs', () => {
  /**
   * An IRQ-put queue whose last reference goes with the last job's completion (hardirq). The
   * driver's release takes its message lock, which process context also takes: patch 07 of the
   * RFC ("Make scheduler message lock IRQ-safe") in miniature.
   */
  function release_after_irq_put(release: 'last-put' | 'work', irqsave: boolean) {
    const k = kernel({ [drm_dep_assume_release.id]: release });
    const gpu = new fake_gpu(k);
    const msg_lock = spin_lock_init(k, '&sched->msg_lock');
    const take = () => {
      if (irqsave) spin_unlock_irqrestore(msg_lock, spin_lock_irqsave(msg_lock));
      else { spin_lock(msg_lock); spin_unlock(msg_lock); }
    };
    const contexts: string[] = [];
    const q = fake_queue_create(gpu, {
      flags: DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE,
      ops: {
        release(queue) {
          contexts.push(k.current.name);
          take(); // queue the firmware CLEANUP message
          queue.log.push('release');
          drm_dep_queue_release_done(queue);
        },
      },
    });
    take(); // e.g. the exec ioctl adding a message, hardirqs on
    const job = fake_job_create(q, MS);
    const fence = fake_job_submit(job);
    drm_dep_job_put(job);
    drm_dep_queue_put(q); // fire and forget: the job's queue reference is the last one
    k.run_all();
    dma_fence_put(fence);
    expect(q.log).toEqual(['release', 'free']);
    expect(k.lifetime.live(DEP_TYPES)).toEqual([]);
    return { contexts, irq_reports: k.violations.list.filter((v) => v.kind.startsWith('lockdep_irq')).map((v) => v.kind) };
  }

  it('default last-put: ops.release runs in the last put\'s context, here the completion hardirq, so its locks must be IRQ-safe', () => {
    expect(drm_dep_assume_release.default).toBe('last-put');
    const plain = release_after_irq_put('last-put', false);
    expect(plain.contexts).toEqual(['irq/fake_gpu']);
    expect(plain.irq_reports).toContain('lockdep_irq_inconsistent');
    expect(release_after_irq_put('last-put', true)).toEqual({ contexts: ['irq/fake_gpu'], irq_reports: [] });
  });

  it('work: ops.release runs in the drm_dep teardown worker, and a plain spinlock there is fine', () => {
    expect(release_after_irq_put('work', false)).toEqual({ contexts: ['kworker/drm_dep_teardown/0'], irq_reports: [] });
  });
});

describe('dep.tdr-wq: the TDR workqueue of a queue given none', () => {
  /** A hung head job; the TDR sleeps 5 ms in timedout_job while a second job is pushed. */
  function sleeping_tdr(tdr_wq: 'separate' | 'submit') {
    const k = kernel({ [drm_dep_assume_tdr_wq.id]: tdr_wq });
    const gpu = new fake_gpu(k);
    let tdr_context = '';
    let tdr_end_ns = 0;
    const q = fake_queue_create(gpu, {
      name: 'q', timeout_ms: 10,
      ops: {
        *timedout_job(): Sleepable<typeof DRM_DEP_TIMEDOUT_NO_HANG> {
          tdr_context = k.current.name;
          yield* k.wait_until(null, () => false, k.now() + 5 * MS);
          tdr_end_ns = k.now();
          return DRM_DEP_TIMEDOUT_NO_HANG;
        },
      },
    });
    const hung = fake_job_create(q, Infinity);
    const fences = [fake_job_submit(hung)];
    drm_dep_job_put(hung);
    k.run_for(12 * MS); // the TDR fired at ~10 ms and sleeps
    expect(tdr_context).not.toBe('');
    const second: fake_job = fake_job_create(q, MS);
    fences.push(fake_job_submit(second));
    drm_dep_job_put(second);
    k.run_for(10 * MS);
    const run_ns = events(k, 'drm_dep_job_run').map((e) => e.t_ns);
    expect(run_ns).toHaveLength(2);
    fake_queue_complete(q, 2); // the hung job ends after all, and the second behind it
    k.run_all();
    for (const f of fences) dma_fence_put(f);
    finish(k, q);
    expect(k.violations.format()).toBe('');
    return { tdr_context, second_run_after_tdr: run_ns[1] >= tdr_end_ns };
  }

  it('default separate: the queue owns an ordered TDR workqueue, so a sleeping timedout_job does not hold up run_job', () => {
    expect(drm_dep_assume_tdr_wq.default).toBe('separate');
    expect(sleeping_tdr('separate')).toEqual({ tdr_context: 'kworker/q-tdr/0', second_run_after_tdr: false });
  });

  it('submit: the TDR runs on the ordered submit workqueue, and run_job waits for timedout_job to return', () => {
    expect(sleeping_tdr('submit')).toEqual({ tdr_context: 'kworker/q/0', second_run_after_tdr: true });
  });
});

describe('dep.job-done-irq: completions from hardirq on a queue without JOB_PUT_IRQ_SAFE', () => {
  function complete_in_irq(value: 'any-queue' | 'irq-safe-only', flags: number, driver_done: boolean) {
    const k = kernel({ [drm_dep_assume_job_done_irq.id]: value });
    const gpu = new fake_gpu(k);
    const q = fake_queue_create(gpu, { flags });
    const job = fake_job_create(q, driver_done ? Infinity : MS);
    const fence = fake_job_submit(job);
    if (driver_done) {
      // The driver completes the job from its own interrupt (e.g. a firmware error IRQ).
      k.raise_irq_at(k.request_irq('fw_error', job, (j: fake_job) => drm_dep_job_done(j, -5)), 2 * MS, 0);
    }
    k.run_all();
    const done = events(k, 'drm_dep_job_done');
    const result = { done_context: done[0].context, error: fence.error, warns: k.violations.of_kind('warn').map((v) => v.message) };
    drm_dep_job_put(job);
    dma_fence_put(fence);
    k.violations.list.length = 0;
    if (driver_done) job.hw_fence = null; // the hung HW fence is the fake's; drm_dep is done with it
    finish(k, q);
    return result;
  }

  it('default any-queue: drm_dep completes the job in the HW fence\'s hardirq on every queue', () => {
    expect(drm_dep_assume_job_done_irq.default).toBe('any-queue');
    expect(complete_in_irq('any-queue', 0, false)).toEqual({ done_context: 'irq/fake_gpu', error: 0, warns: [] });
    expect(complete_in_irq('any-queue', 0, true)).toEqual({ done_context: 'irq/fw_error', error: -5, warns: [] });
  });

  it('irq-safe-only: without the flag the completion moves to the done worker, and a driver done from hardirq WARNs', () => {
    expect(complete_in_irq('irq-safe-only', 0, false)).toEqual({ done_context: 'kworker/fake0/0', error: 0, warns: [] });
    const driver = complete_in_irq('irq-safe-only', 0, true);
    expect(driver.done_context).toBe('kworker/fake0/0');
    expect(driver.error).toBe(-5);
    expect(driver.warns).toEqual([expect.stringMatching(/drm_dep_job_done from hardirq on queue fake0 without DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE$/)]);
    // With the flag nothing changes.
    expect(complete_in_irq('irq-safe-only', DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE, false)).toEqual({ done_context: 'irq/fake_gpu', error: 0, warns: [] });
  });
});

describe('dep.tdr-rearm: a triggered TDR still queued when the head job completes', () => {
  /**
   * Two jobs on a queue whose TDR shares an ordered driver workqueue. At 1 ms a driver item
   * that sleeps 3 ms occupies the workqueue, the queue's TDR is triggered (queued behind it),
   * and another driver item is queued behind the TDR; at 2 ms the head job completes.
   * Returns the order in which the shared workqueue ran its items, and when the TDR ran.
   */
  function shared_wq_order(rearm: 'keep' | 'requeue' | 'full-timeout') {
    const k = kernel({ [drm_dep_assume_tdr_rearm.id]: rearm });
    const gpu = new fake_gpu(k);
    const wq = alloc_ordered_workqueue(k, 'shared', WQ_MEM_RECLAIM | WQ_MEM_WARN_ON_RECLAIM);
    const q = fake_queue_create(gpu, { timeout_ms: 20, timeout_wq: wq });
    const jobs = [fake_job_create(q, 2 * MS), fake_job_create(q, Infinity)];
    const fences = jobs.map(fake_job_submit);
    for (const j of jobs) drm_dep_job_put(j);
    k.run_for(MS);
    queue_work(wq, INIT_WORK(k, function* (): Sleepable { yield* k.wait_until(null, () => false, k.now() + 3 * MS); }, 'blocker'));
    drm_dep_queue_trigger_timeout(q);
    queue_work(wq, INIT_WORK(k, () => {}, 'other'));
    k.run_all();
    const runs = events(k, 'workqueue_execute_start').filter((e) => e.args.workqueue === 'shared');
    const tdr_ns = runs.find((e) => e.args.work === 'drm_dep_queue_tdr_work')!.t_ns;
    for (const f of fences) dma_fence_put(f);
    finish(k, q);
    expect(k.violations.format()).toBe('');
    expect(q.timeouts).toBe(1); // the second job, whichever way the TDR got to it
    return { order: runs.map((e) => e.args.work), tdr_ms: Math.floor(tdr_ns / MS) };
  }

  it('default keep: the TDR keeps its place on the workqueue', () => {
    expect(drm_dep_assume_tdr_rearm.default).toBe('keep');
    expect(shared_wq_order('keep')).toEqual({ order: ['blocker', 'drm_dep_queue_tdr_work', 'other'], tdr_ms: 4 });
  });

  it('requeue: mod_delayed_work(0) moves the TDR behind the item queued after it', () => {
    expect(shared_wq_order('requeue')).toEqual({ order: ['blocker', 'other', 'drm_dep_queue_tdr_work'], tdr_ms: 4 });
  });

  it('full-timeout: the head completion re-arms a full timeout and the trigger is lost', () => {
    expect(shared_wq_order('full-timeout')).toEqual({ order: ['blocker', 'other', 'drm_dep_queue_tdr_work'], tdr_ms: 22 });
  });
});
