/**
 * Every kunit/* built-in runs its tests_scheduler.c case as KUnit runs it: checked against the
 * parameters transcribed below from drivers/gpu/drm/scheduler/tests/tests_scheduler.c at
 * torvalds/linux 637315cb400e, on the compiled workload (not on the generator's inputs).
 */
import { describe, expect, it } from 'vitest';
import { BUILTIN_WORKLOADS, load_builtin } from './index.ts';
import { KUNIT_WORKLOADS, type KunitBuiltin } from './kunit.ts';
import type { BatchStep, Workload } from '../workload/types.ts';

type Prio = 'low' | 'normal' | 'high';
interface ClientParams { priority: Prio; job_cnt: number; job_us: number; sync: boolean; wait_us: number }

/** tests_scheduler.c @ 637315cb400e. Suite -> the credit_limit its init function sets. */
const SUITE_CREDIT_LIMIT: Record<string, number> = {
  drm_sched_scheduler_overhead_tests: 1, // drm_sched_scheduler_init
  drm_sched_scheduler_two_clients_one_credit_tests: 1, // drm_sched_scheduler_init
  drm_sched_scheduler_two_clients_two_credits_tests: 2, // drm_sched_scheduler_init2
  drm_sched_scheduler_many_clients_tests: 2, // drm_sched_scheduler_init2
};
const p = (priority: Prio, job_cnt: number, job_us: number, sync: boolean, wait_us: number): ClientParams => ({ priority, job_cnt, job_us, sync, wait_us });
/** drm_sched_cases[] (two clients, client[i].duration = 1000 ms each). */
const TWO_CLIENT_CASES: Record<string, [ClientParams, ClientParams]> = {
  'Normal priority and normal priority': [p('normal', 1, 8000, false, 0), p('normal', 1, 8000, false, 0)],
  'Normal priority and low priority': [p('normal', 1, 8000, false, 0), p('low', 1, 8000, false, 0)],
  'High priority and normal priority': [p('high', 1, 8000, false, 0), p('normal', 1, 8000, false, 0)],
  'High priority and low priority': [p('high', 1, 8000, false, 0), p('low', 1, 8000, false, 0)],
  '50% and 50%': [p('normal', 1, 1500, true, 1500), p('normal', 1, 2500, true, 2500)],
  '50% and 50% low priority': [p('normal', 1, 1500, true, 1500), p('low', 1, 2500, true, 2500)],
  '50% high priority and 50%': [p('high', 1, 1500, true, 1500), p('normal', 1, 2500, true, 2500)],
  'Low priority hog and interactive client': [p('low', 3, 2500, false, 500), p('normal', 1, 500, true, 10000)],
  'Heavy rendering and interactive client': [p('normal', 3, 2500, true, 2500), p('normal', 1, 1000, true, 9000)],
  'Very heavy rendering and interactive client': [p('normal', 4, 50000, true, 1), p('normal', 1, 1000, true, 9000)],
};
/** drm_sched_many_cases[] (num_clients clients of client[0], duration 1000 / num_clients ms each). */
const MANY_CLIENT_CASES: Record<string, { num_clients: number; client: ClientParams }> = {
  '2 clients': { num_clients: 2, client: p('normal', 4, 1000, true, 0) },
  '3 clients': { num_clients: 3, client: p('normal', 4, 1000, true, 0) },
  '7 clients': { num_clients: 7, client: p('normal', 4, 1000, true, 0) },
  '13 clients': { num_clients: 13, client: p('normal', 4, 1000, true, 0) },
  '31 clients': { num_clients: 31, client: p('normal', 2, 1000, true, 0) },
};
/** The overhead tests: jobs = 1000 of job_us = 1000 after one extra first job that blocks the queue. */
const OVERHEAD_CASES: Record<string, { entities: number; chained: boolean }> = {
  drm_sched_scheduler_queue_overhead: { entities: 1, chained: false },
  drm_sched_scheduler_ping_pong: { entities: 2, chained: true }, // each job depends on the previous one's finished fence
};

function compiled(w: KunitBuiltin): Workload {
  const r = load_builtin(w, ['render']);
  if (!r.ok) throw new Error(`${w.name}: ${JSON.stringify(r.errors)}`);
  return r.workload;
}

/** A client's program as KUnit's client parameters, read back from the compiled steps. */
function client_params(w: Workload, client: number): ClientParams & { loops: number } {
  const c = w.clients[client];
  const steps = c.program.steps;
  const batches = steps.filter((s): s is BatchStep => s.kind === 'batch');
  const durations = new Set(batches.map((b) => (b.duration !== 'infinite' && b.duration.kind === 'constant' ? b.duration.value_us : -1)));
  expect(durations.size, `${w.name} client ${client}: one constant job duration`).toBe(1);
  const sync = steps.find((s) => s.kind === 'sync');
  if (sync !== undefined && sync.kind === 'sync') expect(steps[sync.step_index]).toBe(batches[batches.length - 1]);
  const delay = steps.find((s) => s.kind === 'delay');
  expect(steps.every((s) => s.kind === 'batch' || s.kind === 'sync' || s.kind === 'delay')).toBe(true);
  expect(batches.every((b) => b.deps.length === 0 && !b.wait && !b.hang)).toBe(true);
  expect(c.program.end.kind).toBe('loops');
  return {
    priority: c.queues[0].priority as Prio, job_cnt: batches.length, job_us: [...durations][0],
    sync: sync !== undefined, wait_us: delay !== undefined && delay.kind === 'delay' && delay.duration.kind === 'constant' ? delay.duration.value_us : 0,
    loops: c.program.end.kind === 'loops' ? c.program.end.loops : -1,
  };
}

/** cycles = DIV_ROUND_UP(duration_us, job_cnt * job_us + wait_us) (drm_sched_client_work). */
const cycles = (c: ClientParams, duration_ms: number) => Math.ceil((duration_ms * 1000) / (c.job_cnt * c.job_us + c.wait_us));

describe('kunit/* built-ins match tests_scheduler.c @ 637315cb400e', () => {
  it('every kunit/* built-in names an upstream case, and only the mock runs it', () => {
    const names = BUILTIN_WORKLOADS.filter((w) => w.name.startsWith('kunit/')).map((w) => w.name);
    expect(names).toEqual(KUNIT_WORKLOADS.map((w) => w.name));
    for (const w of KUNIT_WORKLOADS) {
      expect(SUITE_CREDIT_LIMIT[w.kunit.suite], w.name).toBeDefined();
      expect(w.drivers).toEqual(['mock']);
    }
  });

  it('each one sets its suite\'s credit limit on the mock scheduler', () => {
    for (const w of KUNIT_WORKLOADS) expect(w.device, w.name).toEqual({ credit_limit: SUITE_CREDIT_LIMIT[w.kunit.suite] });
  });

  it('two-client cases: priorities, job counts and durations, sync, wait and the 1000 ms test duration', () => {
    const cases = KUNIT_WORKLOADS.filter((w) => w.kunit.test === 'drm_sched_scheduler_two_clients_test');
    expect(cases.length).toBeGreaterThan(0);
    for (const w of cases) {
      const upstream = TWO_CLIENT_CASES[w.kunit.param!];
      expect(upstream, `${w.name}: unknown parameter ${w.kunit.param}`).toBeDefined();
      const wl = compiled(w);
      expect(wl.clients).toHaveLength(2);
      upstream.forEach((c, i) => expect(client_params(wl, i), `${w.name} client ${i}`).toEqual({ ...c, loops: cycles(c, 1000) }));
    }
  });

  it('many-client cases: the number of clients, their parameters and duration 1000 / clients ms', () => {
    const cases = KUNIT_WORKLOADS.filter((w) => w.kunit.test === 'drm_sched_scheduler_many_clients_test');
    expect(cases.length).toBeGreaterThan(0);
    for (const w of cases) {
      const upstream = MANY_CLIENT_CASES[w.kunit.param!];
      const wl = compiled(w);
      expect(wl.clients).toHaveLength(upstream.num_clients);
      const duration_ms = Math.floor(1000 / upstream.num_clients);
      wl.clients.forEach((_, i) => expect(client_params(wl, i)).toEqual({ ...upstream.client, loops: cycles(upstream.client, duration_ms) }));
    }
  });

  it('overhead cases: a blocking first job, then 1000 jobs of 1 ms on the entities in turn (chained in ping_pong), released afterwards', () => {
    const cases = KUNIT_WORKLOADS.filter((w) => w.kunit.suite === 'drm_sched_scheduler_overhead_tests');
    expect(cases.map((w) => w.kunit.test).sort()).toEqual(Object.keys(OVERHEAD_CASES).sort());
    for (const w of cases) {
      const upstream = OVERHEAD_CASES[w.kunit.test];
      const wl = compiled(w);
      expect(wl.clients).toHaveLength(1);
      const c = wl.clients[0];
      expect(c.queues.map((q) => q.priority)).toEqual(Array(upstream.entities).fill('normal'));
      expect(c.program.end).toEqual({ kind: 'loops', loops: 1 });
      const steps = c.program.steps;
      const batches = steps.filter((s): s is BatchStep => s.kind === 'batch');
      expect(batches).toHaveLength(1001);
      expect(steps.slice(0, 1001)).toEqual(batches); // every job is submitted before the release
      expect(batches[0].duration).toBe('infinite');
      batches.forEach((b, i) => {
        expect(b.queue, `job ${i}`).toBe(c.queues[i % upstream.entities].name); // entity[i & 1] in ping_pong
        if (i > 0) expect(b.duration).toEqual({ kind: 'constant', value_us: 1000 });
        const deps = upstream.chained && i > 0 ? [{ on: 'step', step_index: i - 1, kind: 'data' }] : [];
        expect(b.deps, `job ${i}`).toEqual(deps);
      });
      const rest = steps.slice(1001);
      expect(rest.map((s) => s.kind)).toEqual(['delay', 'terminate']);
      expect(rest[1]).toMatchObject({ kind: 'terminate', step_index: 0 });
    }
  });
});
