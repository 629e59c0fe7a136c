/**
 * The mock GPU on drm_sched where it reproduces an upstream bug of mock_scheduler.c
 * (docs/findings.md 3), and where its device shapes reach drm_sched's teardown hazards
 * (docs/legacy-hazards.md 2).
 */
import { describe, expect, it } from 'vitest';
import {
  dma_fence, dma_fence_get, dma_fence_init, dma_fence_put, dma_fence_signal, ESRCH, Kernel, MAX_SCHEDULE_TIMEOUT,
  spin_lock_init, type Sleepable,
} from '@deplab/sim';
import { DRM_SCHED_PRIORITY_NORMAL } from '@deplab/drm-sched';
import type { DeviceOptions, JobHandle, QueueHandle } from '@deplab/driver-api';
import { MockDevice } from './device.ts';
import { mock_sched_backend } from './on-sched.ts';
import { run_case } from './kunit/kunit.ts';
import { tests_basic } from './kunit/tests_basic.ts';
import type { MockBackend, MockEntity, MockSched } from './uapi.ts';

describe('mock on drm_sched: free_job of a job that never ran (findings 3)', () => {
  it('puts the never-initialised hw fence: the refcount_t underflow upstream WARNs about, not a model error', () => {
    const k = new Kernel({ init_name: 'kunit_try_catch', trace: 'record' });
    const b = mock_sched_backend();
    const sched = b.drm_mock_sched_new(k, MAX_SCHEDULE_TIMEOUT);
    const blocker = new dma_fence(k);
    dma_fence_init(blocker, { get_driver_name: () => 'test', get_timeline_name: () => 'blocker' },
      spin_lock_init(k, '&test->lock'), k.dma_fence_context_alloc(1), 1);
    // A client pushes a job that waits for `blocker`, is SIGKILLed and closes: the entity is
    // killed with the job still queued, and drm_sched frees it without ever running it.
    k.spawn('client', (function* (): Sleepable {
      const entity = b.drm_mock_sched_entity_new(k, DRM_SCHED_PRIORITY_NORMAL, sched);
      const job = b.drm_mock_sched_job_new(k, entity);
      b.drm_mock_sched_job_add_dependency(job, dma_fence_get(blocker));
      b.drm_mock_sched_job_submit(job);
      k.current_task()!.sigkill_pending = true;
      yield* b.drm_mock_sched_entity_free_sleepable(entity);
    })());
    k.run_all();
    dma_fence_signal(blocker); // the killed job waited for its dependency; now it is freed
    k.run_all();
    dma_fence_put(blocker);
    const underflow = k.violations.of_kind('refcount_underflow');
    expect(underflow.map((v) => [v.site, v.message])).toEqual([
      ['dma_fence_put', 'refcount_t: underflow; use-after-free. (dma_fence_put on a never-initialised mock.hw_fence)'],
    ]);
    expect(k.violations.of_kind('model_error')).toEqual([]);
    b.drm_mock_sched_fini(sched);
    // Upstream's mock passes no score counter: drm_sched counts in its own, where the killed
    // job's unit is never given back (legacy hazard 8); drm_sched_fini reports what is left.
    expect(k.trace.events.filter((e) => e.name === 'drm_sched_score').map((e) => e.args))
      .toEqual([{ name: 'drm-mock-scheduler', score: 1 }]);
  });
});

/** A mock device on drm_sched with a hung job on queue `h` and two jobs queued behind it on queue `b` (one credit). */
function busy_device(driver: DeviceOptions['driver']) {
  const k = new Kernel({ init_name: 'test', trace: 'record' });
  const dev = new MockDevice(k, mock_sched_backend(), { driver: { credit_limit: 1, ...driver } });
  const ch = dev.open_client('h'), cb = dev.open_client('b');
  const qh = dev.create_queue(ch, { engine: 'render', priority: 'normal' }) as QueueHandle;
  const qb = dev.create_queue(cb, { engine: 'render', priority: 'normal' }) as QueueHandle;
  const queued = k.run_task((function* (): Sleepable<JobHandle[]> {
    yield* dev.submit(qh, { duration_ns: 100_000, deps: [], hang: true });
    const out: JobHandle[] = [];
    for (let i = 0; i < 2; i++) out.push((yield* dev.submit(qb, { duration_ns: 100_000, deps: [] })) as JobHandle);
    return out;
  })());
  k.run_all();
  return { k, dev, cb, qb, finished: queued.map((j) => dma_fence_get(j.out_fence)) };
}

describe('mock on drm_sched: a release that meets drm_sched_fini (legacy hazard 2)', () => {
  it('unplug_keeps_queues: a live close after fini reads the freed run queue and never returns; the queued jobs never signal', () => {
    const { k, dev, cb, finished } = busy_device({ unplug_keeps_queues: true });
    k.run_task(dev.unplug());
    const release = k.spawn('release', dev.close_client(cb));
    k.run_all();
    expect(release.done).toBe(false);
    expect(k.violations.of_kind('use_after_free').map((v) => v.site)).toEqual(['drm_sched_entity_flush: entity->rq']);
    expect(finished.map((f) => f.signaled)).toEqual([false, false]);
  });

  it('the plain mock: a live release still flushing at unplug is skipped by remove() and never returns after fini', () => {
    const { k, dev, qb, finished } = busy_device({});
    const release = k.spawn('release', dev.destroy_queue(qb));
    k.run_all();
    expect(release.done).toBe(false); // waiting for its jobs, behind the hung one
    k.run_task(dev.unplug());
    k.run_all();
    expect(release.done).toBe(false);
    expect(finished.map((f) => f.signaled)).toEqual([false, false]);
    // Its score units (the entity and two jobs) are still counted at fini.
    expect(k.trace.events.filter((e) => e.name === 'drm_sched_score').map((e) => e.args.score)).toEqual([3]);
  });

  it('the plain mock: an exiting process still flushing at unplug gives up after 1 s and kills its entity on the freed run queue', () => {
    const { k, dev, cb, finished } = busy_device({ close_as: 'exit_sigkill' });
    const release = k.spawn('release', dev.close_client(cb));
    k.run_for(10_000_000); // 10 ms into its (at most 1 s) flush
    k.run_task(dev.unplug());
    k.run_all();
    expect(release.done).toBe(true);
    expect(k.violations.of_kind('use_after_free').map((v) => v.site)).toEqual(['drm_sched_rq_remove_entity: rq']);
    expect(finished.map((f) => f.error)).toEqual([-ESRCH, -ESRCH]); // killed
    expect(k.violations.of_kind('refcount_underflow').length).toBe(2); // findings 3
  });
});

describe('KUnit port details that follow tests_basic.c @ 0755a4e3e809', () => {
  it('drm_sched_test_modify_sched: the first change goes to entity 0 (the submit loop leaves cur_ent at 1000 % 13 = 12) and scheduler 1', () => {
    const base = mock_sched_backend();
    const entities: MockEntity[] = [], scheds: MockSched[] = [];
    const calls: [number, number][] = [];
    const backend: MockBackend = {
      ...base,
      drm_mock_sched_new: (k, t) => { const s = base.drm_mock_sched_new(k, t); scheds.push(s); return s; },
      drm_mock_sched_entity_new: (k, p, s) => { const e = base.drm_mock_sched_entity_new(k, p, s); entities.push(e); return e; },
      modify_sched: (e, s) => { calls.push([entities.indexOf(e), scheds.indexOf(s)]); return base.modify_sched(e, s); },
    };
    const c = tests_basic.find((x) => x.name === 'drm_sched_test_modify_sched')!;
    expect(run_case(c, backend, null).failures).toEqual([]);
    expect(calls.slice(0, 3)).toEqual([[0, 1], [1, 2], [2, 0]]);
  });

  it('drm_sched_interleaved_submit_test: each worker waits test_duration_ms * 2 per job', () => {
    const base = mock_sched_backend();
    const timeouts = new Set<number>();
    const backend: MockBackend = {
      ...base,
      drm_mock_sched_job_wait_finished_sleepable: (job, timeout) => { timeouts.add(timeout); return base.drm_mock_sched_job_wait_finished_sleepable(job, timeout); },
    };
    const c = tests_basic.find((x) => x.name === 'drm_sched_interleaved_submit_test')!;
    // A shorter run than upstream's parameter, so that the timeout differs from a constant.
    const short = { ...c, params: [{ description: 'short', value: { ...(c.params![0].value as object), test_duration_ms: 100 } }] };
    const result = run_case(short, backend, 0);
    expect(result.failures).toEqual([]);
    expect([...timeouts]).toEqual([new Kernel().jiffies.msecs_to_jiffies(200)]);
  });
});
