/**
 * The mock GPU on drm_sched where it reproduces an upstream bug of mock_scheduler.c
 * (docs/findings.md 3).
 */
import { describe, expect, it } from 'vitest';
import {
  dma_fence, dma_fence_get, dma_fence_init, dma_fence_put, dma_fence_signal, Kernel, MAX_SCHEDULE_TIMEOUT,
  spin_lock_init, type Sleepable,
} from '@deplab/sim';
import { DRM_SCHED_PRIORITY_NORMAL } from '@deplab/drm-sched';
import { mock_sched_backend } from './on-sched.ts';

describe('mock on drm_sched: free_job of a job that never ran (findings 3)', () => {
  it('puts the never-initialised hw fence: the refcount_t underflow upstream WARNs about, not a model error', () => {
    const k = new Kernel({ init_name: 'kunit_try_catch' });
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
  });
});
