/**
 * Port of drivers/gpu/drm/scheduler/tests/tests_basic.c (@ 0755a4e3e809): every case with its
 * assertions and parameters, in virtual time, on either mock backend.
 */
import {
  INIT_WORK, MAX_SCHEDULE_TIMEOUT, WQ_UNBOUND, WQ_UNBOUND_MAX_ACTIVE, alloc_workqueue,
  complete_all, destroy_workqueue, flush_workqueue, init_completion, queue_work, usleep_range,
  wait_for_completion, type completion, type Sleepable, type workqueue_struct,
} from '@deplab/sim';
import {
  DRM_MOCK_SCHED_JOB_DONT_RESET, DRM_MOCK_SCHED_JOB_RESET_SKIPPED, DRM_MOCK_SCHED_JOB_TIMEDOUT,
} from '../hw.ts';
import type { MockEntity, MockJob, MockSched } from '../uapi.ts';
import type { KunitCase, kunit } from './kunit.ts';

export const DRM_SCHED_PRIORITY_KERNEL = 0;
export const DRM_SCHED_PRIORITY_HIGH = 1;
export const DRM_SCHED_PRIORITY_NORMAL = 2;
export const DRM_SCHED_PRIORITY_LOW = 3;
export const DRM_SCHED_PRIORITY_COUNT = 4;

/** MOCK_TIMEOUT = HZ / 5 */
function mock_timeout(test: kunit): number {
  return Math.floor(test.kernel.HZ / 5);
}

function basic_init(test: kunit): void {
  test.priv = test.backend.drm_mock_sched_new(test.kernel, MAX_SCHEDULE_TIMEOUT);
}

function timeout_init(test: kunit): void {
  test.priv = test.backend.drm_mock_sched_new(test.kernel, mock_timeout(test));
}

function basic_exit(test: kunit): void {
  if (test.priv !== null) test.backend.drm_mock_sched_fini(test.priv as MockSched);
}

const basic_submit: KunitCase = {
  suite: 'drm_sched_basic_tests', name: 'drm_sched_basic_submit', init: basic_init, exit: basic_exit,
  run(test) {
    const b = test.backend, k = test.kernel, sched = test.priv as MockSched;
    const entity = b.drm_mock_sched_entity_new(k, DRM_SCHED_PRIORITY_NORMAL, sched);
    const job = b.drm_mock_sched_job_new(k, entity);
    b.drm_mock_sched_job_submit(job);
    test.ASSERT_TRUE(b.drm_mock_sched_job_wait_scheduled(job, k.HZ), 'wait_scheduled(job, HZ)');
    test.ASSERT_FALSE(b.drm_mock_sched_job_wait_finished(job, k.HZ / 2), 'wait_finished(job, HZ / 2)');
    test.ASSERT_EQ(b.drm_mock_sched_advance(sched, 1), 1, 'advance(1)');
    test.ASSERT_TRUE(b.drm_mock_sched_job_wait_finished(job, k.HZ), 'wait_finished(job, HZ)');
    b.drm_mock_sched_entity_free(entity);
  },
};

interface BasicParams { queue_depth: number; num_entities: number; job_us: number; dep_chain: boolean }

const basic_params: { description: string; value: BasicParams }[] = [
  { description: 'A queue of jobs in a single entity', value: { queue_depth: 100, num_entities: 1, job_us: 1000, dep_chain: false } },
  { description: 'A chain of dependent jobs across multiple entities', value: { queue_depth: 100, num_entities: 1, job_us: 1000, dep_chain: true } },
  { description: 'Multiple independent job queues', value: { queue_depth: 100, num_entities: 4, job_us: 1000, dep_chain: false } },
  { description: 'Multiple inter-dependent job queues', value: { queue_depth: 100, num_entities: 4, job_us: 1000, dep_chain: true } },
];

/** Submit `count` jobs round robin over `entities`, each `job_us` long, optionally chained. */
function submit_round_robin(test: kunit, entities: MockEntity[], count: number, job_us: number, dep_chain: boolean): MockJob[] {
  const b = test.backend, k = test.kernel;
  const jobs: MockJob[] = [];
  let prev: MockJob | null = null;
  for (let i = 0; i < count; i++) {
    const job = b.drm_mock_sched_job_new(k, entities[i % entities.length]);
    b.drm_mock_sched_job_set_duration_us(job, job_us);
    if (dep_chain && prev !== null) b.drm_mock_sched_job_add_dependency(job, b.drm_mock_sched_job_finished_fence(prev));
    b.drm_mock_sched_job_submit(job);
    jobs.push(job);
    prev = job;
  }
  return jobs;
}

function new_entities(test: kunit, count: number, priority: (i: number) => number, sched: (i: number) => MockSched): MockEntity[] {
  const out: MockEntity[] = [];
  for (let i = 0; i < count; i++) out.push(test.backend.drm_mock_sched_entity_new(test.kernel, priority(i), sched(i)));
  return out;
}

const basic_test: KunitCase = {
  suite: 'drm_sched_basic_tests', name: 'drm_sched_basic_test', params: basic_params, init: basic_init, exit: basic_exit,
  run(test) {
    const p = test.param as BasicParams;
    const b = test.backend, k = test.kernel, sched = test.priv as MockSched;
    const entities = new_entities(test, p.num_entities, () => DRM_SCHED_PRIORITY_NORMAL, () => sched);
    const jobs = submit_round_robin(test, entities, p.queue_depth, p.job_us, p.dep_chain);
    const start = k.now();
    test.ASSERT_TRUE(b.drm_mock_sched_job_wait_finished(jobs[jobs.length - 1], k.HZ), 'wait_finished(last job, HZ)');
    test.metrics.elapsed_us = Math.round((k.now() - start) / 1000);
    test.metrics.ideal_us = p.queue_depth * p.job_us;
    for (const e of entities) b.drm_mock_sched_entity_free(e);
  },
};

const basic_entity_cleanup: KunitCase = {
  suite: 'drm_sched_basic_tests', name: 'drm_sched_basic_entity_cleanup', init: basic_init, exit: basic_exit,
  run(test) {
    const b = test.backend, k = test.kernel, sched = test.priv as MockSched;
    const entities = new_entities(test, 4, () => DRM_SCHED_PRIORITY_NORMAL, () => sched);
    const jobs = submit_round_robin(test, entities, 100, 1000, true);
    const mid = jobs[50];
    test.ASSERT_TRUE(b.drm_mock_sched_job_wait_finished(mid, k.HZ), 'wait_finished(mid, HZ)');
    let pending = 0;
    for (const job of jobs) if (!b.drm_mock_sched_job_is_finished(job)) pending++;
    test.metrics.pending_at_cleanup = pending;
    for (const e of entities) b.drm_mock_sched_entity_free(e);
  },
};

/* drm_sched_concurrent_tests ---------------------------------------------------------------- */

interface ConcurrentCtx { wait_go: completion; sub_wq: workqueue_struct; sched: MockSched }

function concurrent_init(test: kunit): void {
  const k = test.kernel, b = test.backend;
  const sched = b.drm_mock_sched_new(k, MAX_SCHEDULE_TIMEOUT);
  test.add_action('drm_mock_sched_fini', () => b.drm_mock_sched_fini(sched));
  const ctx: ConcurrentCtx = {
    wait_go: init_completion(k),
    sub_wq: alloc_workqueue(k, 'drm-sched-submitters-wq', WQ_UNBOUND, WQ_UNBOUND_MAX_ACTIVE),
    sched,
  };
  test.add_action('complete_destroy_workqueue', () => {
    complete_all(ctx.wait_go);
    test.run(destroy_workqueue(ctx.sub_wq));
  });
  test.priv = ctx;
}

function add_entity_free_action(test: kunit, entity: MockEntity): void {
  test.add_action('drm_mock_sched_entity_free', () => test.backend.drm_mock_sched_entity_free(entity));
}

const parallel_submit: KunitCase = {
  suite: 'drm_sched_concurrent_tests', name: 'drm_sched_parallel_submit_test', suite_slow: true, init: concurrent_init,
  params: [{ description: 'Parallel submission of multiple jobs per worker', value: { num_jobs: 8, num_workers: 16 } }],
  run(test) {
    const { num_jobs, num_workers } = test.param as { num_jobs: number; num_workers: number };
    const b = test.backend, k = test.kernel, ctx = test.priv as ConcurrentCtx;
    test.ASSERT_TRUE(num_workers > 0, 'num_workers > 0');
    test.ASSERT_TRUE(num_jobs > 0, 'num_jobs > 0');
    const all_jobs: MockJob[] = [];
    for (let w = 0; w < num_workers; w++) {
      const entity = b.drm_mock_sched_entity_new(k, DRM_SCHED_PRIORITY_NORMAL, ctx.sched);
      add_entity_free_action(test, entity);
      const jobs: MockJob[] = [];
      for (let j = 0; j < num_jobs; j++) jobs.push(b.drm_mock_sched_job_new(k, entity));
      all_jobs.push(...jobs);
      const work = INIT_WORK(k, function* (): Sleepable {
        yield* wait_for_completion(ctx.wait_go);
        for (const job of jobs) b.drm_mock_sched_job_submit(job);
      }, `drm_sched_parallel_submit_worker/${w}`);
      queue_work(ctx.sub_wq, work);
    }
    complete_all(ctx.wait_go);
    test.run(flush_workqueue(ctx.sub_wq));
    all_jobs.forEach((job, i) => test.EXPECT_TRUE(b.drm_mock_sched_job_wait_scheduled(job, k.HZ), `wait_scheduled(job ${i}, HZ)`));
    test.EXPECT_EQ(b.drm_mock_sched_advance(ctx.sched, num_workers * num_jobs), num_workers * num_jobs, 'advance(num_workers * num_jobs)');
    all_jobs.forEach((job, i) => test.EXPECT_TRUE(b.drm_mock_sched_job_wait_finished(job, k.HZ), `wait_finished(job ${i}, HZ)`));
    test.metrics.hw_seqno_max = ctx.sched.gpu.hw_timeline.next_seqno;
  },
};

const interleaved_submit: KunitCase = {
  suite: 'drm_sched_concurrent_tests', name: 'drm_sched_interleaved_submit_test', suite_slow: true, init: concurrent_init,
  params: [{
    description: 'Interleaved submission of multiple jobs per worker',
    value: { test_duration_ms: 1000, job_base_duration_us: 100, num_workers: 16, num_in_flight_jobs: 8 },
  }],
  run(test) {
    const p = test.param as { test_duration_ms: number; job_base_duration_us: number; num_workers: number; num_in_flight_jobs: number };
    const b = test.backend, k = test.kernel, ctx = test.priv as ConcurrentCtx;
    test.ASSERT_TRUE(p.num_workers > 0, 'num_workers > 0');
    test.ASSERT_TRUE(p.job_base_duration_us > 0, 'job_base_duration_us > 0');
    const worker_share_us = Math.floor((p.test_duration_ms * 1000) / p.num_workers);
    const all_jobs: MockJob[] = [];
    for (let w = 0; w < p.num_workers; w++) {
      const duration_us = p.job_base_duration_us * (w + 1);
      const count = Math.max(1, Math.floor(worker_share_us / duration_us));
      const entity = b.drm_mock_sched_entity_new(k, DRM_SCHED_PRIORITY_NORMAL, ctx.sched);
      add_entity_free_action(test, entity);
      const jobs: MockJob[] = [];
      for (let j = 0; j < count; j++) {
        const job = b.drm_mock_sched_job_new(k, entity);
        b.drm_mock_sched_job_set_duration_us(job, duration_us);
        jobs.push(job);
      }
      all_jobs.push(...jobs);
      const work = INIT_WORK(k, function* (): Sleepable {
        yield* wait_for_completion(ctx.wait_go);
        const timeout = k.jiffies.msecs_to_jiffies(p.test_duration_ms * 2);
        for (let i = 0; i < Math.min(count, p.num_in_flight_jobs); i++) b.drm_mock_sched_job_submit(jobs[i]);
        for (let i = 0; i < count; i++) {
          if (!(yield* b.drm_mock_sched_job_wait_finished_sleepable(jobs[i], timeout))) test.info(`worker ${w}: job ${i} timed out`);
          if (i + p.num_in_flight_jobs < count) b.drm_mock_sched_job_submit(jobs[i + p.num_in_flight_jobs]);
        }
      }, `drm_sched_interleaved_submit_worker/${w}`);
      queue_work(ctx.sub_wq, work);
    }
    const start = k.now();
    complete_all(ctx.wait_go);
    test.run(flush_workqueue(ctx.sub_wq));
    test.metrics.elapsed_us = Math.round((k.now() - start) / 1000);
    all_jobs.forEach((job, i) => test.EXPECT_TRUE(b.drm_mock_sched_job_is_finished(job), `job ${i} finished`));
  },
};

/* drm_sched_basic_timeout_tests --------------------------------------------------------------- */

const basic_timeout: KunitCase = {
  suite: 'drm_sched_basic_timeout_tests', name: 'drm_sched_basic_timeout', init: timeout_init, exit: basic_exit,
  run(test) {
    const b = test.backend, k = test.kernel, sched = test.priv as MockSched;
    const MOCK_TIMEOUT = mock_timeout(test);
    const entity = b.drm_mock_sched_entity_new(k, DRM_SCHED_PRIORITY_NORMAL, sched);
    const job = b.drm_mock_sched_job_new(k, entity);
    b.drm_mock_sched_job_submit(job);
    test.ASSERT_TRUE(b.drm_mock_sched_job_wait_scheduled(job, k.HZ), 'wait_scheduled(job, HZ)');
    test.ASSERT_FALSE(b.drm_mock_sched_job_wait_finished(job, MOCK_TIMEOUT / 2), 'wait_finished(job, MOCK_TIMEOUT / 2)');
    test.ASSERT_EQ(job.hw.flags & DRM_MOCK_SCHED_JOB_TIMEDOUT, 0, 'job->flags & DRM_MOCK_SCHED_JOB_TIMEDOUT');
    test.ASSERT_FALSE(b.drm_mock_sched_job_wait_finished(job, MOCK_TIMEOUT), 'wait_finished(job, MOCK_TIMEOUT)');
    test.ASSERT_EQ(job.hw.flags & DRM_MOCK_SCHED_JOB_TIMEDOUT, DRM_MOCK_SCHED_JOB_TIMEDOUT, 'job->flags & DRM_MOCK_SCHED_JOB_TIMEDOUT');
    test.metrics.hw_fence_error = job.hw.hw_fence.error;
    b.drm_mock_sched_entity_free(entity);
  },
};

const skip_reset: KunitCase = {
  suite: 'drm_sched_basic_timeout_tests', name: 'drm_sched_skip_reset', init: timeout_init, exit: basic_exit,
  run(test) {
    const b = test.backend, k = test.kernel, sched = test.priv as MockSched;
    const MOCK_TIMEOUT = mock_timeout(test);
    const entity = b.drm_mock_sched_entity_new(k, DRM_SCHED_PRIORITY_NORMAL, sched);
    const job = b.drm_mock_sched_job_new(k, entity);
    job.hw.flags = DRM_MOCK_SCHED_JOB_DONT_RESET;
    b.drm_mock_sched_job_submit(job);
    test.ASSERT_TRUE(b.drm_mock_sched_job_wait_scheduled(job, k.HZ), 'wait_scheduled(job, HZ)');
    test.ASSERT_FALSE(b.drm_mock_sched_job_wait_finished(job, 2 * MOCK_TIMEOUT), 'wait_finished(job, 2 * MOCK_TIMEOUT)');
    test.ASSERT_EQ(job.hw.flags & DRM_MOCK_SCHED_JOB_RESET_SKIPPED, DRM_MOCK_SCHED_JOB_RESET_SKIPPED, 'job->flags & RESET_SKIPPED');
    test.ASSERT_EQ(b.drm_mock_sched_advance(sched, 1), 1, 'advance(1)');
    test.ASSERT_TRUE(b.drm_mock_sched_job_wait_finished(job, k.HZ), 'wait_finished(job, HZ)');
    b.drm_mock_sched_entity_free(entity);
  },
};

/* drm_sched_basic_cancel_tests ------------------------------------------------------------------ */

const basic_cancel: KunitCase = {
  suite: 'drm_sched_basic_cancel_tests', name: 'drm_sched_basic_cancel', init: basic_init, exit: basic_exit,
  run(test) {
    const b = test.backend, k = test.kernel;
    const sched = b.drm_mock_sched_new(k, MAX_SCHEDULE_TIMEOUT);
    const entity = b.drm_mock_sched_entity_new(k, DRM_SCHED_PRIORITY_NORMAL, sched);
    const job = b.drm_mock_sched_job_new(k, entity);
    b.drm_mock_sched_job_submit(job);
    test.ASSERT_TRUE(b.drm_mock_sched_job_wait_scheduled(job, k.HZ), 'wait_scheduled(job, HZ)');
    b.drm_mock_sched_entity_free(entity);
    b.drm_mock_sched_fini(sched);
    test.ASSERT_EQ(job.hw.hw_fence.error, -125, 'job->hw_fence.error == -ECANCELED');
  },
};

/* drm_sched_basic_priority_tests ---------------------------------------------------------------- */

const priorities: KunitCase = {
  suite: 'drm_sched_basic_priority_tests', name: 'drm_sched_priorities', init: basic_init, exit: basic_exit,
  policy_note: 'no ordering is asserted; which entity runs first depends on the policy (strict priority under FIFO/RR)',
  run(test) {
    const b = test.backend, k = test.kernel, sched = test.priv as MockSched;
    const entities = new_entities(test, DRM_SCHED_PRIORITY_COUNT, (i) => DRM_SCHED_PRIORITY_KERNEL + i, () => sched);
    const jobs = submit_round_robin(test, entities, 100, 1000, false);
    test.ASSERT_TRUE(b.drm_mock_sched_job_wait_finished(jobs[jobs.length - 1], k.HZ), 'wait_finished(last job, HZ)');
    for (const e of entities) b.drm_mock_sched_entity_free(e);
  },
};

const change_priority: KunitCase = {
  suite: 'drm_sched_basic_priority_tests', name: 'drm_sched_change_priority', slow: true, init: basic_init, exit: basic_exit,
  policy_note: 'set_priority never moves an entity between run queues in this version; the oracle is termination',
  run(test) {
    const b = test.backend, k = test.kernel, sched = test.priv as MockSched;
    const prio = [0, 1, 2, 3];
    const entities = new_entities(test, DRM_SCHED_PRIORITY_COUNT, (i) => prio[i], () => sched);
    const jobs = submit_round_robin(test, entities, 1000, 1000, false);
    const last = jobs[jobs.length - 1];
    let cur = 0, changes = 0;
    do {
      prio[cur] = (prio[cur] + 1) % DRM_SCHED_PRIORITY_COUNT;
      if (b.set_priority(entities[cur], prio[cur])) changes++;
      cur = (cur + 1) % entities.length;
      test.run(usleep_range(k, 200, 500));
    } while (!b.drm_mock_sched_job_is_finished(last));
    test.metrics.priority_changes = changes;
    for (const e of entities) b.drm_mock_sched_entity_free(e);
  },
};

/* drm_sched_basic_modify_sched_tests ------------------------------------------------------------ */

const modify_sched: KunitCase = {
  suite: 'drm_sched_basic_modify_sched_tests', name: 'drm_sched_test_modify_sched',
  run(test) {
    const b = test.backend, k = test.kernel;
    const scheds = [0, 1, 2].map(() => b.drm_mock_sched_new(k, MAX_SCHEDULE_TIMEOUT));
    const entities = new_entities(test, 13, () => DRM_SCHED_PRIORITY_NORMAL, (i) => scheds[i % scheds.length]);
    const jobs = submit_round_robin(test, entities, 1000, 1000, false);
    const last = jobs[jobs.length - 1];
    // Upstream reuses the submit loop's cursor: the first change goes to entity (qd + 1) % 13.
    let cur_ent = jobs.length % entities.length, cur_sched = 0, changes = 0;
    do {
      test.run(usleep_range(k, 200, 500));
      cur_ent = (cur_ent + 1) % entities.length;
      cur_sched = (cur_sched + 1) % scheds.length;
      if (b.modify_sched(entities[cur_ent], scheds[cur_sched])) changes++;
    } while (!b.drm_mock_sched_job_is_finished(last));
    test.metrics.modify_calls = changes;
    for (const e of entities) b.drm_mock_sched_entity_free(e);
    for (const s of scheds) b.drm_mock_sched_fini(s);
  },
};

/* drm_sched_basic_credits_tests ----------------------------------------------------------------- */

const credits: KunitCase = {
  suite: 'drm_sched_basic_credits_tests', name: 'drm_sched_test_credits', slow: true,
  run(test) {
    const b = test.backend, k = test.kernel;
    const sched = b.drm_mock_sched_new(k, MAX_SCHEDULE_TIMEOUT);
    b.set_credit_limit(sched, 1);
    const entity = b.drm_mock_sched_entity_new(k, DRM_SCHED_PRIORITY_NORMAL, sched);
    const job0 = b.drm_mock_sched_job_new(k, entity);
    const job1 = b.drm_mock_sched_job_new(k, entity);
    b.drm_mock_sched_job_submit(job0);
    b.drm_mock_sched_job_submit(job1);
    test.ASSERT_TRUE(b.drm_mock_sched_job_wait_scheduled(job0, k.HZ), 'wait_scheduled(job[0], HZ)');
    test.ASSERT_FALSE(b.drm_mock_sched_job_wait_scheduled(job1, k.HZ), 'wait_scheduled(job[1], HZ)');
    test.ASSERT_EQ(b.drm_mock_sched_advance(sched, 1), 1, 'advance(1)');
    test.ASSERT_TRUE(b.drm_mock_sched_job_wait_scheduled(job1, k.HZ), 'wait_scheduled(job[1], HZ)');
    test.ASSERT_EQ(b.drm_mock_sched_advance(sched, 1), 1, 'advance(1)');
    test.ASSERT_TRUE(b.drm_mock_sched_job_wait_finished(job1, k.HZ), 'wait_finished(job[1], HZ)');
    b.drm_mock_sched_entity_free(entity);
    b.drm_mock_sched_fini(sched);
  },
};

/** In kunit_test_suites order: basic, concurrent, timeout, cancel, priority, modify_sched, credits. */
export const tests_basic: readonly KunitCase[] = [
  basic_submit, basic_test, basic_entity_cleanup,
  parallel_submit, interleaved_submit,
  basic_timeout, skip_reset,
  basic_cancel,
  priorities, change_priority,
  modify_sched,
  credits,
];
