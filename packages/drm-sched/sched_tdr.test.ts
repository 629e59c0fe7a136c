/**
 * The timeout handler and recovery: TDR firing and its postponement on every job start,
 * NO_HANG reinsertion, free_guilty, drm_sched_stop/start error codes, resubmit with a guilty
 * context (and the fence re-initialisation hazard), karma, fault, suspend/resume, ENODEV.
 */
import { describe, expect, it } from 'vitest';
import { ECANCELED, EIO, ETIMEDOUT, MAX_SCHEDULE_TIMEOUT, dma_fence_get, hrtimer_cancel, type Sleepable } from '@deplab/sim';
import {
  DRM_GPU_SCHED_STAT_ENODEV, DRM_GPU_SCHED_STAT_NO_HANG, DRM_GPU_SCHED_STAT_RESET, DRM_SCHED_PRIORITY_NORMAL,
  atomic_t, drm_sched_fault, drm_sched_for_each_pending_job, drm_sched_increase_karma, drm_sched_is_stopped,
  drm_sched_job_is_signaled, drm_sched_resubmit_jobs, drm_sched_resume_timeout, drm_sched_start, drm_sched_stop,
  drm_sched_suspend_timeout, drm_sched_tdr_queue_imm, drm_sched_entity_destroy, drm_sched_fini, type drm_gpu_sched_stat,
} from './index.ts';
import { events, fake_gpu, fake_gpu_advance, fake_gpu_signal, fake_job, make_entity, make_job, make_kernel, make_sched, submit, MS } from './fake_gpu.testlib.ts';

const TIMEOUT_JIFFIES = 200; // HZ = 1000: 200 ms

function timedout_times_ms(rig: { kernel: { trace: { events: readonly { name: string; t_ns: number }[] } } }): number[] {
  return rig.kernel.trace.events.filter((e) => e.name === 'drm_sched_job_timedout').map((e) => Math.round(e.t_ns / MS));
}

/** A HW reset: everything on the fake GPU is dropped (fences left unsignalled). */
function gpu_reset(gpu: fake_gpu): void {
  for (const j of gpu.job_list) hrtimer_cancel(j.timer);
  gpu.job_list.length = 0;
}

describe('TDR', () => {
  it('fires one timeout after job_begin; the mock-like driver signals -ETIMEDOUT and owns the job', () => {
    const rig = make_sched(make_kernel(), { timeout: TIMEOUT_JIFFIES });
    const j = make_job(rig, make_entity(rig, DRM_SCHED_PRIORITY_NORMAL), 'hung');
    submit(j);
    const finished = dma_fence_get(j.s_fence!.finished);
    rig.kernel.run_for(100 * MS);
    expect(timedout_times_ms(rig)).toEqual([]);
    rig.kernel.run_for(200 * MS);
    expect(timedout_times_ms(rig)).toEqual([200]);
    expect(events(rig.kernel, 'drm_sched_job_timedout')[0].args.status).toBe(DRM_GPU_SCHED_STAT_RESET);
    expect(finished.error).toBe(-ETIMEDOUT);
    expect(rig.gpu.free_log).toEqual([]); // unlinked by the TDR, never free_job'd by the scheduler
    expect(rig.sched.pending_list.to_array()).toEqual([]);
  });

  it('hazard: every job_begin pushes the TDR out, so a steady stream hides a hung head job', () => {
    const rig = make_sched(make_kernel(), { timeout: TIMEOUT_JIFFIES });
    const a = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL), b = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    submit(make_job(rig, a, 'hung')); // hangs from t = 0
    for (let i = 0; i < 10; i++) {
      rig.kernel.run_for(100 * MS);
      submit(make_job(rig, b, `s${i}`, 10)); // queued behind the hung job on the serial HW
    }
    rig.kernel.run_for(500 * MS);
    // The head has hung since 0 ms, but the first timeout fires 200 ms after the last job start.
    expect(timedout_times_ms(rig)[0]).toBe(1000 + 200);
  });

  it('NO_HANG: the job is re-inserted at the head, the timer re-armed, and freed normally later', () => {
    const rig = make_sched(make_kernel(), { timeout: TIMEOUT_JIFFIES });
    rig.gpu.on_timeout = () => DRM_GPU_SCHED_STAT_NO_HANG;
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const j = make_job(rig, e, 'slow'), k2 = make_job(rig, e, 'next');
    submit(j);
    submit(k2);
    rig.kernel.run_for(450 * MS);
    expect(timedout_times_ms(rig)).toEqual([200, 400]);
    expect(rig.sched.pending_list.to_array()).toEqual([j, k2]);
    fake_gpu_advance(rig.gpu, 2);
    rig.kernel.run_for(1 * MS);
    expect(rig.gpu.free_log).toEqual(['slow', 'next']);
  });

  it('ENODEV: the timer is not re-armed', () => {
    const rig = make_sched(make_kernel(), { timeout: TIMEOUT_JIFFIES });
    rig.gpu.on_timeout = () => DRM_GPU_SCHED_STAT_ENODEV;
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    submit(make_job(rig, e, 'a'));
    submit(make_job(rig, e, 'b'));
    rig.kernel.run_for(2000 * MS);
    expect(timedout_times_ms(rig)).toEqual([200]);
  });

  it('drm_sched_fault runs the TDR at once; tdr_queue_imm sets timeout = 0 for good', () => {
    const rig = make_sched(make_kernel(), { timeout: TIMEOUT_JIFFIES });
    rig.gpu.on_timeout = () => DRM_GPU_SCHED_STAT_NO_HANG;
    submit(make_job(rig, make_entity(rig, DRM_SCHED_PRIORITY_NORMAL), 'a'));
    rig.kernel.run_for(10 * MS);
    drm_sched_fault(rig.sched);
    rig.kernel.run_for(1 * MS);
    expect(timedout_times_ms(rig)).toEqual([10]);
    drm_sched_tdr_queue_imm(rig.sched);
    expect(rig.sched.timeout).toBe(0);
    rig.kernel.run_for(1 * MS);
    expect(timedout_times_ms(rig).length).toBeGreaterThan(20); // NO_HANG re-arms with timeout 0: a TDR storm
  });

  it('suspend parks the timer and returns the remainder; resume re-arms with it', () => {
    const rig = make_sched(make_kernel(), { timeout: TIMEOUT_JIFFIES });
    submit(make_job(rig, make_entity(rig, DRM_SCHED_PRIORITY_NORMAL), 'a'));
    rig.kernel.run_for(50 * MS);
    const remaining = drm_sched_suspend_timeout(rig.sched);
    expect(remaining).toBe(150);
    rig.kernel.run_for(1000 * MS);
    expect(timedout_times_ms(rig)).toEqual([]);
    drm_sched_resume_timeout(rig.sched, remaining);
    rig.kernel.run_for(200 * MS);
    expect(timedout_times_ms(rig)).toEqual([1050 + 150]);
  });

  it('suspend_timeout reads timer.expires: parked twice gives MAX, a timer that fired with its work still queued gives sched->timeout', () => {
    const rig = make_sched(make_kernel(), { timeout: TIMEOUT_JIFFIES });
    submit(make_job(rig, make_entity(rig, DRM_SCHED_PRIORITY_NORMAL), 'a'));
    rig.kernel.run_for(50 * MS);
    expect(drm_sched_suspend_timeout(rig.sched)).toBe(150);
    // Upstream: expires = jiffies + MAX_SCHEDULE_TIMEOUT is "after" now, so the difference comes back.
    expect(drm_sched_suspend_timeout(rig.sched)).toBe(MAX_SCHEDULE_TIMEOUT);
    drm_sched_resume_timeout(rig.sched, 10);
    // Run past the expiry (60 ms) but not past the kworker wake-up: the TDR work is queued, not run.
    rig.kernel.run_until(() => false, 60 * MS + 1);
    expect(timedout_times_ms(rig)).toEqual([]);
    expect(drm_sched_suspend_timeout(rig.sched)).toBe(TIMEOUT_JIFFIES);
    rig.kernel.run_for(1000 * MS);
    expect(timedout_times_ms(rig)).toEqual([]); // the queued TDR was pulled back and parked
  });
});

describe('recovery', () => {
  it('free_guilty: a bad job whose HW fence already signalled is freed by the TDR, once; stop/start cancel the rest', () => {
    const rig = make_sched(make_kernel(), { timeout: TIMEOUT_JIFFIES });
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const bad = make_job(rig, e, 'bad'), other = make_job(rig, e, 'other');
    submit(bad);
    submit(other);
    const other_finished = dma_fence_get(other.s_fence!.finished);
    rig.gpu.on_timeout = function* (job: fake_job): Sleepable<drm_gpu_sched_stat> {
      fake_gpu_signal(job, -ETIMEDOUT); // the callback runs: job_done, finished signalled
      yield* drm_sched_stop(rig.sched, job);
      expect(rig.sched.free_guilty).toBe(true);
      expect(drm_sched_for_each_pending_job(rig.sched, null)).toEqual([other]);
      expect(drm_sched_job_is_signaled(other)).toBe(false);
      gpu_reset(rig.gpu);
      drm_sched_start(rig.sched, 0);
      return DRM_GPU_SCHED_STAT_RESET;
    };
    rig.kernel.run_for(300 * MS);
    // The TDR frees `bad` right after timedout_job returns, before the restarted free work frees `other`.
    expect(rig.gpu.free_log).toEqual(['bad', 'other']);
    const frees = rig.kernel.trace.events.filter((ev) => ev.name === 'drm_sched_job_free');
    expect(frees[0].context).toBe(rig.kernel.trace.events.find((ev) => ev.name === 'drm_sched_job_timedout')!.context);
    expect(rig.sched.free_guilty).toBe(false);
    expect(other_finished.error).toBe(-ECANCELED); // no parent after stop, start(0) -> -ECANCELED
    expect(rig.kernel.violations.list).toEqual([]);
  });

  it('increase_karma after drm_sched_fini (a driver TDR running on a finalised scheduler) dereferences the cleared sched_rq: a bug, not a crash of the model', () => {
    const k = make_kernel();
    // No cancel_job (panfrost): fini leaves the job pending, as the driver's TDR finds it.
    const rig = make_sched(k, { timeout: TIMEOUT_JIFFIES, cancel_job: false });
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const job = make_job(rig, e, 'late', 300_000);
    submit(job);
    k.run_for(1 * MS);
    k.run_task(drm_sched_fini(rig.sched));
    expect(() => drm_sched_increase_karma(job)).not.toThrow();
    expect(k.violations.of_kind('bug').map((v) => [v.site, v.message])).toEqual([['drm_sched_increase_karma', 'NULL pointer dereference: sched->sched_rq (after drm_sched_fini)']]);
  });

  it('hazard: RESET on a false timeout without disposing of the job leaks it (why NO_HANG exists)', () => {
    const k = make_kernel();
    const rig = make_sched(k, { timeout: TIMEOUT_JIFFIES });
    rig.gpu.on_timeout = () => DRM_GPU_SCHED_STAT_RESET; // "the GPU was not hung after all"
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    submit(make_job(rig, e, 'slow', 300_000)); // 300 ms: longer than the timeout, not hung
    k.run_all();
    expect(rig.gpu.free_log).toEqual([]); // it finished at 300 ms, but was unlinked at 200 ms
    k.run_task((function* () {
      yield* drm_sched_entity_destroy(e);
      yield* drm_sched_fini(rig.sched);
    })());
    k.lifetime.check_leaks('teardown', ['drm_sched_job']);
    expect(k.violations.of_kind('leak').length).toBe(1);
    expect(k.violations.of_kind('warn')).toEqual([]); // pending_list was empty: no fini warning either
  });

  it('hazard: drm_sched_stop + NO_HANG re-inserts the job the TDR just freed (free_guilty)', () => {
    const k = make_kernel();
    const rig = make_sched(k, { timeout: TIMEOUT_JIFFIES });
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    submit(make_job(rig, e, 'bad'));
    rig.gpu.on_timeout = function* (job: fake_job): Sleepable<drm_gpu_sched_stat> {
      fake_gpu_signal(job, -ETIMEDOUT);
      yield* drm_sched_stop(rig.sched, job);
      drm_sched_start(rig.sched, 0);
      return DRM_GPU_SCHED_STAT_NO_HANG; // the documented misuse
    };
    k.run_for(300 * MS);
    expect(rig.gpu.free_log[0]).toBe('bad');
    expect(k.violations.of_kind('use_after_free').length).toBeGreaterThan(0);
  });

  it('drm_sched_start(errno) completes parent-less jobs with errno', () => {
    const rig = make_sched(make_kernel());
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const a = make_job(rig, e, 'a'), b = make_job(rig, e, 'b');
    submit(a);
    submit(b);
    rig.kernel.run_all();
    const fa = dma_fence_get(a.s_fence!.finished), fb = dma_fence_get(b.s_fence!.finished);
    rig.kernel.run_task(drm_sched_stop(rig.sched, null));
    expect(drm_sched_is_stopped(rig.sched)).toBe(true);
    expect(rig.sched.credit_count.counter).toBe(0);
    gpu_reset(rig.gpu);
    drm_sched_start(rig.sched, -EIO);
    rig.kernel.run_all();
    expect([fa.error, fb.error]).toEqual([-EIO, -EIO]);
    expect(rig.gpu.free_log).toEqual(['a', 'b']);
    expect(rig.sched.credit_count.counter).toBe(0);
  });

  it('iterating pending jobs WARNs on a running scheduler; the entity filter never matches (job->entity is NULL)', () => {
    const rig = make_sched(make_kernel());
    const e = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    submit(make_job(rig, e, 'a'));
    rig.kernel.run_all();
    expect(drm_sched_for_each_pending_job(rig.sched, null).length).toBe(1);
    expect(rig.kernel.violations.of_kind('warn').length).toBe(1);
    rig.kernel.run_task(drm_sched_stop(rig.sched, null));
    expect(drm_sched_for_each_pending_job(rig.sched, e)).toEqual([]);
  });

  it('resubmit: karma > hang_limit marks the bad context guilty (-ECANCELED) and re-runs run_job, re-initialising live HW fences', () => {
    const k = make_kernel();
    const rig = make_sched(k, { timeout: TIMEOUT_JIFFIES, hang_limit: 0 });
    const guilty = new atomic_t(0);
    const ea = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL, guilty), eb = make_entity(rig, DRM_SCHED_PRIORITY_NORMAL);
    const a1 = make_job(rig, ea, 'a1'), a2 = make_job(rig, ea, 'a2'), b1 = make_job(rig, eb, 'b1');
    for (const j of [a1, a2, b1]) submit(j);
    const fences = [a1, a2, b1].map((j) => dma_fence_get(j.s_fence!.finished));
    rig.gpu.on_timeout = function* (job: fake_job): Sleepable<drm_gpu_sched_stat> {
      yield* drm_sched_stop(rig.sched, job);
      drm_sched_increase_karma(job);
      gpu_reset(rig.gpu);
      drm_sched_resubmit_jobs(rig.sched);
      drm_sched_start(rig.sched, 0);
      return DRM_GPU_SCHED_STAT_RESET;
    };
    k.run_for(250 * MS);
    expect(a1.karma.counter).toBe(1);
    expect(guilty.counter).toBe(1);
    // FIFO in push order (submit_ts strictly increasing); the resubmission keeps pending order.
    expect(rig.gpu.run_log).toEqual(['a1', 'a2', 'b1', 'a1', 'a2', 'b1']);
    expect([a1, a2, b1].map((j) => j.hw_fence.init_count)).toEqual([2, 2, 2]); // the hazard
    fake_gpu_advance(rig.gpu, 3);
    k.run_for(1 * MS);
    expect(fences.map((f) => f.error)).toEqual([-ECANCELED, -ECANCELED, 0]);
    // The guilty flag makes later pops from the entity fail their jobs, which still run.
    const a3 = make_job(rig, ea, 'a3', 10);
    submit(a3);
    const f3 = dma_fence_get(a3.s_fence!.finished);
    k.run_for(5 * MS);
    expect(rig.gpu.run_log.at(-1)).toBe('a3');
    expect(f3.error).toBe(-ECANCELED);
  });
});
