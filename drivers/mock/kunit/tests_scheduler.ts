/**
 * Port of drivers/gpu/drm/scheduler/tests/tests_scheduler.c @ 637315cb400e:
 * the scheduling-quality tests. Besides the assertions they compute what the kernel prints
 * (elapsed vs ideal, cycle time and latency min/avg/max, cps progress, avg_max_min_delta) and
 * keep the figures in the result's metrics for reports.
 */
import {
  MAX_SCHEDULE_TIMEOUT, fsleep, msleep, type Sleepable, type Task,
} from '@deplab/sim';
import type { MockEntity, MockJob, MockSched } from '../uapi.ts';
import type { KunitCase, kunit } from './kunit.ts';
import {
  DRM_SCHED_PRIORITY_HIGH, DRM_SCHED_PRIORITY_LOW, DRM_SCHED_PRIORITY_NORMAL,
} from './tests_basic.ts';

function scheduler_init(test: kunit, credit_limit: number): void {
  const sched = test.backend.drm_mock_sched_new(test.kernel, MAX_SCHEDULE_TIMEOUT);
  test.backend.set_credit_limit(sched, credit_limit);
  test.priv = sched;
}

function scheduler_exit(test: kunit): void {
  if (test.priv !== null) test.backend.drm_mock_sched_fini(test.priv as MockSched);
}

/** queue_overhead and ping_pong: 1001 jobs, the first manual, the rest 1000 us; returns us elapsed. */
function overhead_run(test: kunit, num_entities: number, chained: boolean): void {
  const b = test.backend, k = test.kernel, sched = test.priv as MockSched;
  const job_us = 1000, jobs = 1000, total_us = jobs * job_us;
  test.ASSERT_EQ(b.credit_limit(sched), 1, 'sched->base.credit_limit');
  const entities: MockEntity[] = [];
  for (let i = 0; i < num_entities; i++) entities.push(b.drm_mock_sched_entity_new(k, DRM_SCHED_PRIORITY_NORMAL, sched));
  let first: MockJob | null = null, prev: MockJob | null = null, job: MockJob | null = null;
  for (let i = 0; i <= jobs; i++) {
    job = b.drm_mock_sched_job_new(k, entities[i % num_entities]);
    if (i === 0) first = job; // the extra first job blocks the queue
    else b.drm_mock_sched_job_set_duration_us(job, job_us);
    if (chained && prev !== null) b.drm_mock_sched_job_add_dependency(job, b.drm_mock_sched_job_finished_fence(prev));
    b.drm_mock_sched_job_submit(job);
    prev = job;
  }
  test.ASSERT_TRUE(b.drm_mock_sched_job_wait_scheduled(first!, k.HZ), 'wait_scheduled(first, HZ)');
  const start = k.ktime_get();
  test.ASSERT_EQ(b.drm_mock_sched_advance(sched, 1), 1, 'advance(1)');
  const done = b.drm_mock_sched_job_wait_finished(job!, k.jiffies.usecs_to_jiffies(total_us) * 5);
  const end = k.ktime_get();
  test.ASSERT_TRUE(done, 'wait_finished(last, usecs_to_jiffies(total_us) * 5)');
  const actual_us = Math.floor((end - start) / 1000);
  test.info(`Expected ${total_us}us, actual ${actual_us}us`);
  test.metrics.expected_us = total_us;
  test.metrics.actual_us = actual_us;
  for (const e of entities) b.drm_mock_sched_entity_free(e);
}

const queue_overhead: KunitCase = {
  suite: 'drm_sched_scheduler_overhead_tests', name: 'drm_sched_scheduler_queue_overhead', slow: true,
  init: (t) => scheduler_init(t, 1), exit: scheduler_exit,
  run: (test) => overhead_run(test, 1, false),
};

const ping_pong: KunitCase = {
  suite: 'drm_sched_scheduler_overhead_tests', name: 'drm_sched_scheduler_ping_pong', slow: true,
  init: (t) => scheduler_init(t, 1), exit: scheduler_exit,
  run: (test) => overhead_run(test, 2, true),
};

export interface ClientParams { priority: number; job_cnt: number; job_us: number; sync: boolean; wait_us: number }
interface Stats { min_us: number; max_us: number; tot_us: number }

class test_client {
  entity!: MockEntity;
  params!: ClientParams;
  id = 0;
  duration_ns = 0;
  ideal_duration_ns = 0;
  cycles = 0;
  cycle = 0;
  start = 0;
  end = 0;
  done = false;
  readonly cycle_time: Stats = { min_us: 0xffffffff, max_us: 0, tot_us: 0 };
  readonly latency_time: Stats = { min_us: 0xffffffff, max_us: 0, tot_us: 0 };
}

function update_stats(stats: Stats, us: number): void {
  if (us > stats.max_us) stats.max_us = us;
  if (us < stats.min_us) stats.min_us = us;
  stats.tot_us += us;
}

/** drm_sched_client_work: the simulated userspace client, run as a kthread worker. */
function* client_work(test: kunit, client: test_client): Sleepable {
  const b = test.backend, k = test.kernel;
  const p = client.params;
  const work_us = p.job_cnt * p.job_us;
  const period_us = work_us + p.wait_us;
  client.cycles = Math.ceil(Math.floor(client.duration_ns / 1000) / period_us);
  client.ideal_duration_ns = client.cycles * period_us * 1000;
  client.start = k.ktime_get();
  let job: MockJob | null = null;
  for (let cycle = 0; cycle < client.cycles; cycle++) {
    if (client.done) break;
    let cycle_time = k.ktime_get();
    for (let batch = 0; batch < p.job_cnt; batch++) {
      job = b.drm_mock_sched_job_new(k, client.entity);
      b.drm_mock_sched_job_set_duration_us(job, p.job_us);
      b.drm_mock_sched_job_submit(job);
    }
    if (p.sync) yield* b.drm_mock_sched_job_wait_finished_sleepable(job!, MAX_SCHEDULE_TIMEOUT);
    cycle_time = k.ktime_get() - cycle_time;
    let us = Math.floor(cycle_time / 1000);
    update_stats(client.cycle_time, us);
    if (Math.floor(cycle_time / 1000) >= work_us) us = Math.floor(cycle_time / 1000) - work_us;
    else if (k.WARN_ON_ONCE(p.sync, 'drm_sched_client_work', 'GPU job took less than expected')) us = 0;
    update_stats(client.latency_time, us);
    client.cycle = cycle;
    if (client.done) break;
    if (p.wait_us !== 0) yield* fsleep(k, p.wait_us);
  }
  client.done = yield* b.drm_mock_sched_job_wait_finished_sleepable(job!, MAX_SCHEDULE_TIMEOUT);
  client.end = k.ktime_get();
}

function start_clients(test: kunit, params: ClientParams[], duration_ms: number): { clients: test_client[]; tasks: Task[] } {
  const b = test.backend, k = test.kernel, sched = test.priv as MockSched;
  const clients = params.map((p, i) => {
    const c = new test_client();
    c.entity = b.drm_mock_sched_entity_new(k, p.priority, sched);
    c.id = i;
    c.params = p;
    c.duration_ns = duration_ms * 1_000_000;
    return c;
  });
  const tasks = clients.map((c) => k.spawn(`drm_sched_client_work-${c.id}`, client_work(test, c)));
  return { clients, tasks };
}

const prio_str = ['kernel', 'high', 'normal', 'low'];

interface TwoClientParams { description: string; client: [ClientParams, ClientParams] }

const c = (priority: number, job_cnt: number, job_us: number, sync: boolean, wait_us: number): ClientParams =>
  ({ priority, job_cnt, job_us, sync, wait_us });
const N = DRM_SCHED_PRIORITY_NORMAL, L = DRM_SCHED_PRIORITY_LOW, H = DRM_SCHED_PRIORITY_HIGH;

export const two_client_cases: readonly TwoClientParams[] = [
  { description: 'Normal priority and normal priority', client: [c(N, 1, 8000, false, 0), c(N, 1, 8000, false, 0)] },
  { description: 'Normal priority and low priority', client: [c(N, 1, 8000, false, 0), c(L, 1, 8000, false, 0)] },
  { description: 'High priority and normal priority', client: [c(H, 1, 8000, false, 0), c(N, 1, 8000, false, 0)] },
  { description: 'High priority and low priority', client: [c(H, 1, 8000, false, 0), c(L, 1, 8000, false, 0)] },
  { description: '50% and 50%', client: [c(N, 1, 1500, true, 1500), c(N, 1, 2500, true, 2500)] },
  { description: '50% and 50% low priority', client: [c(N, 1, 1500, true, 1500), c(L, 1, 2500, true, 2500)] },
  { description: '50% high priority and 50%', client: [c(H, 1, 1500, true, 1500), c(N, 1, 2500, true, 2500)] },
  { description: 'Low priority hog and interactive client', client: [c(L, 3, 2500, false, 500), c(N, 1, 500, true, 10000)] },
  { description: 'Heavy rendering and interactive client', client: [c(N, 3, 2500, true, 2500), c(N, 1, 1000, true, 9000)] },
  { description: 'Very heavy rendering and interactive client', client: [c(N, 4, 50000, true, 1), c(N, 1, 1000, true, 9000)] },
];

function two_clients_run(test: kunit): void {
  const b = test.backend, k = test.kernel;
  const params = test.param as TwoClientParams;
  const { clients, tasks } = start_clients(test, [...params.client], 1000);
  const period_ms = 100, frequency = 1000 / period_ms;
  const prev_cycle = [0, 0];
  const start = k.ktime_get();
  const progress: string[] = [];
  while (!clients[0].done || !clients[1].done) {
    const row = clients.map((cl, i) => {
      const qd = b.queue_depth(cl.entity);
      const cycle = cl.cycle;
      const cps = Math.ceil((100 * frequency * (cycle - prev_cycle[i])) / 100);
      const pct = cl.cycles !== 0 ? Math.ceil((100 * (1 + cycle)) / cl.cycles) : 0;
      prev_cycle[i] = cycle;
      return cl.done ? '' : `${pct} ${cps} ${qd}`;
    });
    progress.push(`+${Math.floor((k.ktime_get() - start) / 1e6)}ms: ${row.join('; ')}`);
    test.run(msleep(k, period_ms));
  }
  for (const t of tasks) test.flush_task(t);
  for (let i = 0; i < 2; i++) test.ASSERT_TRUE(clients[i].done, `client[${i}].done`);
  clients.forEach((cl, i) => {
    const line = `${i}: prio=${prio_str[cl.params.priority]} sync=${cl.params.sync ? 1 : 0} ` +
      `elapsed_ms=${Math.floor((cl.end - cl.start) / 1e6)}ms (ideal_ms=${Math.floor(cl.ideal_duration_ns / 1e6)}ms) ` +
      `cycle_time(min,avg,max)=${cl.cycle_time.min_us},${Math.floor(cl.cycle_time.tot_us / cl.cycles)},${cl.cycle_time.max_us} us ` +
      `latency_time(min,avg,max)=${cl.latency_time.min_us},${Math.floor(cl.latency_time.tot_us / cl.cycles)},${cl.latency_time.max_us} us`;
    test.info(line);
    test.metrics[`client${i}_elapsed_ms`] = Math.floor((cl.end - cl.start) / 1e6);
    test.metrics[`client${i}_ideal_ms`] = Math.floor(cl.ideal_duration_ns / 1e6);
    test.metrics[`client${i}_cycle_avg_us`] = Math.floor(cl.cycle_time.tot_us / cl.cycles);
    test.metrics[`client${i}_latency_avg_us`] = Math.floor(cl.latency_time.tot_us / cl.cycles);
    test.metrics[`client${i}_latency_max_us`] = cl.latency_time.max_us;
    b.drm_mock_sched_entity_free(cl.entity);
  });
  for (const line of progress) test.info(line);
}

const two_clients_params = two_client_cases.map((p) => ({ description: p.description, value: p }));

const two_clients_one_credit: KunitCase = {
  suite: 'drm_sched_scheduler_two_clients_one_credit_tests', name: 'drm_sched_scheduler_two_clients_test', slow: true,
  params: two_clients_params, init: (t) => scheduler_init(t, 1), exit: scheduler_exit, run: two_clients_run,
  policy_note: 'completion is asserted under every policy; the share each client gets (metrics) depends on it',
};

const two_clients_two_credits: KunitCase = {
  ...two_clients_one_credit,
  suite: 'drm_sched_scheduler_two_clients_two_credits_tests',
  init: (t) => scheduler_init(t, 2),
};

interface ManyClientParams { num_clients: number; client: ClientParams }

const many_params: { description: string; value: ManyClientParams }[] = [
  { description: '2 clients', value: { num_clients: 2, client: c(N, 4, 1000, true, 0) } },
  { description: '3 clients', value: { num_clients: 3, client: c(N, 4, 1000, true, 0) } },
  { description: '7 clients', value: { num_clients: 7, client: c(N, 4, 1000, true, 0) } },
  { description: '13 clients', value: { num_clients: 13, client: c(N, 4, 1000, true, 0) } },
  { description: '31 clients', value: { num_clients: 31, client: c(N, 2, 1000, true, 0) } },
];

const many_clients: KunitCase = {
  suite: 'drm_sched_scheduler_many_clients_tests', name: 'drm_sched_scheduler_many_clients_test', slow: true,
  params: many_params, init: (t) => scheduler_init(t, 2), exit: scheduler_exit,
  policy_note: 'no assertion upstream; avg_max_min_delta measures the fairness spread',
  run(test) {
    const b = test.backend, k = test.kernel;
    const p = test.param as ManyClientParams;
    const params = Array.from({ length: p.num_clients }, () => p.client);
    const { clients, tasks } = start_clients(test, params, Math.floor(1000 / p.num_clients));
    let delta_total = 0, loops = 0;
    for (;;) {
      let min = 0xffffffff, max = 0, done = true;
      for (const cl of clients) {
        if (cl.cycle < min) min = cl.cycle;
        if (cl.cycle > max) max = cl.cycle;
        if (min === 0 || cl.cycle + 1 < cl.cycles) done = false;
      }
      loops++;
      delta_total += max - min;
      if (done) break;
      test.run(msleep(k, 100));
    }
    const avg = loops !== 0 ? Math.ceil((delta_total * 100) / loops) : 0;
    test.info(`avg_max_min_delta(x100)=${avg}`);
    test.metrics.avg_max_min_delta_x100 = avg;
    test.metrics.loops = loops;
    for (const t of tasks) test.flush_task(t);
    for (const cl of clients) b.drm_mock_sched_entity_free(cl.entity);
  },
};

/** In kunit_test_suites order: overhead, two_clients1, two_clients2, many_clients. */
export const tests_scheduler: readonly KunitCase[] = [
  queue_overhead, ping_pong, two_clients_one_credit, two_clients_two_credits, many_clients,
];
