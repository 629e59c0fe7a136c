/**
 * Exploration end to end on the mock GPU: tokens and choice strings round-trip, a seed replays
 * exactly from its token, a legacy campaign finds the drm_sched hazards of docs/legacy-hazards.md without
 * being told where to look, and a use-after-free planted in a test-only driver variant is
 * found, replayed and shrunk to a handful of jobs. The loaders' fuzzing (>= 10,000 malformed
 * inputs per loader) lives in ../workload/fuzz.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dma_fence_add_callback, dma_fence_cb, type Kernel, type Sleepable } from '@deplab/sim';
import type { ClientHandle, Device, DeviceOptions, Fault, JobHandle, JobSpec, Priority, QueueHandle, QueueOptions } from '@deplab/driver-api';
import { MockDevice, mock_dep_backend, mock_sched_backend } from '@deplab/driver-mock';
import { find_driver, register_driver } from '../drivers.ts';
import { run_workload } from '../run/runner.ts';
import { load_workload_json } from '../workload/load-json.ts';
import { explore_seed, shrink_task, summarize_campaign, type BackendSummary, type SeedReport } from './campaign.ts';
import { run_case } from './execute.ts';
import { generate_case } from './generate.ts';
import { decode_choices, decode_token, encode_choices, encode_token } from './token.ts';
import { FAULT_KINDS, finding_key } from './types.ts';

function keys_of(token: string): string[] {
  return run_case(decode_token(token).case, { replay: 'exact' }).findings.map(finding_key);
}

describe('replay tokens', () => {
  it('choice strings round-trip, runs of equal choices compressed', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 100 })), { maxLength: 200 }), (choices) => {
      expect(decode_choices(encode_choices(choices))).toEqual(choices);
    }), { seed: 7, numRuns: 300 });
    expect(encode_choices([0, 0, 0, 0, 0, 1, 37, 2, 2])).toBe('0*5.1(37)22');
  });

  it('a seed replays exactly from its token: same findings, same trace', () => {
    let report: SeedReport | null = null;
    for (let seed = 1; report === null; seed++) {
      const r = explore_seed({ driver: 'mock', backend: 'sched', seed, faults: FAULT_KINDS, strategy: 'random' });
      if (r.token !== null && r.findings.length > 0 && decode_token(r.token).case.choices!.some((x) => x !== 0)) report = r;
    }
    const c = decode_token(report.token!).case;
    const a = run_case(c, { replay: 'exact' });
    const b = run_case(c, { replay: 'exact' });
    expect(a.findings.map(finding_key)).toEqual(report.findings.map(finding_key));
    expect(a.kernel!.trace.digest()).toBe(b.kernel!.trace.digest());
    expect(encode_token({ ...c, choices: a.choices })).toBe(report.token);
  });

  it('rejects malformed tokens with a reason', () => {
    expect(() => decode_token('nonsense')).toThrow(/not a deplab replay token/);
    expect(() => decode_token('dl1.AAAA')).toThrow(RangeError);
  });

  it('carries a cost profile, a distribution entry and preemption (a sensitivity variant replays under its own costs)', () => {
    let token: string | null = null;
    for (let seed = 1; token === null; seed++) token = explore_seed({ driver: 'mock', backend: 'sched', seed, faults: FAULT_KINDS, strategy: 'random' }).token;
    const base = decode_token(token).case;
    const costs = { profile: 'busy', kworker_wakeup_ns: { dist: 'uniform', min_ns: 1000, max_ns: 9000 } };
    const c = { ...base, options: { ...base.options, costs, preempt: true } } as typeof base;
    const back = decode_token(encode_token(c)).case;
    expect(back.options.costs).toEqual(costs);
    expect(back.options.preempt).toBe(true);
    const bad = { ...base, options: { ...base.options, costs: { profile: 'laptop' } } } as unknown as typeof base;
    expect(() => decode_token(encode_token(bad))).toThrow(/replay token: o\.costs: unknown cost profile 'laptop'/);
  });
});

describe('a legacy campaign finds the legacy hazards unprompted', () => {
  // Seeds 1..120 on drm_sched with every fault; the driver variants are part of the search space.
  let summary: BackendSummary | null = null;
  const campaign = (): BackendSummary => (summary ??= summarize_campaign(
    Array.from({ length: 120 }, (_, i) => explore_seed({ driver: 'mock', backend: 'sched', seed: i + 1, faults: FAULT_KINDS, strategy: 'random' })))[0]);
  const first = (test: (key: string, variant: string) => boolean) => {
    for (const g of campaign().groups) for (const f of g.first) if (test(g.key, f.variant)) return { key: g.key, token: f.token };
    return null;
  };
  const hazards: [string, (key: string, variant: string) => boolean][] = [
    ['§7.1 teardown without cancel_job leaks pending jobs', (k, v) => v === 'no_cancel_job' && (k === 'warn @ drm_sched_fini' || k === 'leak @ after unplug: drm_sched_job')],
    ['§7.3/§7.4 RESET leaves the unlinked job to the driver', (k, v) => v === 'tdr=reset_leaves_job' && k === 'leak @ after unplug: drm_sched_job'],
    ['§7.4 free_guilty: stop + NO_HANG frees a job still used', (k, v) => v === 'tdr=stop_no_hang' && k.startsWith('use_after_free')],
    ["§7.8 killed jobs' score is never given back", (k) => k === 'score_leak @ drm_sched_score at teardown (killed jobs)'],
    ['§7.10 job starts postpone the TDR of a hung job', (k) => k === 'tdr_late @ timeout detection'],
    ['§7.2 an entity used after drm_sched_fini', (k) => k === 'use_after_free @ drm_sched_rq_remove_entity: rq'],
  ];
  for (const [name, test] of hazards) {
    it(`${name}, with a token that replays it`, () => {
      const hit = first(test);
      expect(hit, `not found in ${campaign().seeds_run} seeds: ${campaign().groups.map((g) => g.key).join('; ')}`).not.toBeNull();
      expect(keys_of(hit!.token)).toContain(hit!.key);
    });
  }

  it('reaches the interleavings it is meant to probe', () => {
    for (const counter of ['completion_during_teardown', 'kill_with_jobs_in_flight', 'kill_with_jobs_queued', 'close_right_after_submit', 'close_during_timeout', 'timeout_while_completing', 'unplug_with_queues_alive', 'irq_bursts', 'races_reordered']) {
      expect(campaign().coverage_runs[counter], counter).toBeGreaterThan(0);
    }
  });
});

/**
 * A test-only driver variant with a planted use-after-free: destroying a queue frees the
 * driver's queue context at once, while a completion callback of each job still touches it.
 * Any queue destroyed or client closed with a job in flight shows it.
 */
class PlantedUafDevice implements Device {
  readonly inner: MockDevice;
  readonly kernel: Kernel;
  readonly driver = 'mock-planted-uaf';
  readonly backend;
  readonly engines;
  private readonly context = new Map<QueueHandle, number>();

  constructor(kernel: Kernel, inner: MockDevice) {
    this.kernel = kernel;
    this.inner = inner;
    this.backend = inner.backend;
    this.engines = inner.engines;
  }

  open_client(name: string): ClientHandle { return this.inner.open_client(name); }

  create_queue(client: ClientHandle, options: QueueOptions): QueueHandle | number {
    const q = this.inner.create_queue(client, options);
    if (typeof q !== 'number') this.context.set(q, this.kernel.lifetime.track('planted_queue_ctx', q.name));
    return q;
  }

  *submit(queue: QueueHandle, spec: JobSpec): Sleepable<JobHandle | number> {
    const r = yield* this.inner.submit(queue, spec);
    const id = this.context.get(queue);
    if (typeof r !== 'number' && id !== undefined) {
      dma_fence_add_callback(r.out_fence, new dma_fence_cb(), () => { this.kernel.lifetime.use(id, 'planted: job completion touches its queue context'); });
    }
    return r;
  }

  complete_manual(job: JobHandle): void { this.inner.complete_manual(job); }
  set_priority(queue: QueueHandle, priority: Priority): number { return this.inner.set_priority(queue, priority); }

  *destroy_queue(queue: QueueHandle): Sleepable<number> {
    const r = yield* this.inner.destroy_queue(queue);
    this.free(queue);
    return r;
  }

  *close_client(client: ClientHandle): Sleepable {
    yield* this.inner.close_client(client);
    for (const q of [...this.context.keys()]) if (q.client === client) this.free(q);
  }

  inject_fault(fault: Fault): void { this.inner.inject_fault(fault); }

  *unplug(): Sleepable {
    yield* this.inner.unplug();
    for (const q of [...this.context.keys()]) this.free(q);
  }

  queue_state(queue: QueueHandle) { return this.inner.queue_state(queue); }

  private free(queue: QueueHandle): void {
    const id = this.context.get(queue);
    if (id === undefined) return;
    this.context.delete(queue);
    this.kernel.lifetime.free(id, 'planted: destroy frees the queue context with jobs in flight');
  }
}

describe('a planted use-after-free', () => {
  if (find_driver('mock-planted-uaf') === undefined) {
    register_driver({
      name: 'mock-planted-uaf', description: 'test only: the mock with a planted use-after-free', engines: ['render'], defaults: {}, faults: ['hang', 'ctrl-c', 'destroy', 'unplug'],
      factory: (k, backend, options?: DeviceOptions) => new PlantedUafDevice(k, new MockDevice(k, backend === 'sched' ? mock_sched_backend() : mock_dep_backend(), options)),
    });
  }

  for (const backend of ['sched', 'dep'] as const) {
    it(`is found by a campaign on ${backend}, replayed from its token and shrunk to a handful of jobs`, () => {
      const key = 'use_after_free @ planted: job completion touches its queue context';
      let hit: SeedReport | undefined;
      for (let seed = 1; seed <= 60 && hit === undefined; seed++) {
        const r = explore_seed({ driver: 'mock-planted-uaf', backend, seed, faults: FAULT_KINDS, strategy: 'random' });
        if (r.findings.some((f) => finding_key(f) === key)) hit = r;
      }
      expect(hit).toBeDefined();
      expect(keys_of(hit!.token!)).toContain(key);
      const shrunk = shrink_task({ token: hit!.token!, key });
      expect(shrunk.reproduced).toBe(true);
      expect(shrunk.after!.jobs).toBeLessThanOrEqual(4);
      expect(shrunk.after!.jobs).toBeLessThanOrEqual(shrunk.before!.jobs);
      expect(shrunk.after!.clients).toBe(1);
      expect(shrunk.after!.events).toBeLessThanOrEqual(1);
      expect(keys_of(shrunk.token!)).toContain(key);
      expect(shrunk.timeline).toContain('violation');
    });
  }
});

describe('the run budget of an exploration case', () => {
  it('covers the TDR the driver runs with when the case sets none: xe\'s 5 s default, panfrost\'s 500 ms per hung job', () => {
    const hung = (loops: number) => {
      const r = load_workload_json(JSON.stringify({ name: 'hung', clients: [{ name: 'c', queues: [{ name: 'q', engine: 'render' }], program: { loops, steps: [
        { batch: { queue: 'q', duration_us: 100, hang: true, wait: true } }] } }] }), 'hung.json');
      if (!r.ok) throw new Error(r.errors[0].message);
      return r.workload;
    };
    const options = { device: {}, costs: {}, alloc_fail_probability: 0, pct_depth: 3, pct_horizon: 1 };
    // xe: one hung job, recovered by the 5 s TDR; panfrost: ten in a row, about 0.53 s each.
    for (const [driver, backend, loops] of [['xe', 'sched', 1], ['xe', 'dep', 1], ['panfrost', 'sched', 10], ['panfrost', 'dep-hw', 10]] as const) {
      const r = run_case({ driver, backend, seed: 1, strategy: 'fifo', choices: null, options, workload: hung(loops) });
      expect(r.findings.map(finding_key), `${driver} ${backend}`).not.toContain('hang @ run_workload');
      expect(r.observation!.jobs![0].error, `${driver} ${backend}`).toBeLessThan(0);
      expect(r.outcome!.programs_completed, `${driver} ${backend}`).toBe(1);
    }
  });
});

describe('an injected device fault is handled asynchronously', () => {
  it('jobs submitted after it, before the device completes a job again, are not undisturbed (panfrost seed 219: its reset work cancels them)', () => {
    const r = run_case(generate_case({ driver: 'panfrost', backend: 'sched', seed: 219, faults: [...FAULT_KINDS], strategy: 'random' }), { trace_detail: 'full' });
    const ev = r.kernel!.trace.events;
    const injected = ev.find((e) => e.name === 'harness_event' && e.args.action === 'device_reset')!;
    const job = r.observation!.jobs!.find((j) => j.logical === 'c0/q0#1')!;
    // The scenario: submitted after the injected reset, cancelled by panfrost's reset work.
    expect(job.submitted_ns).toBeGreaterThan(injected.t_ns);
    expect(ev.some((e) => e.name === 'workqueue_execute_start' && e.args.function === 'panfrost_reset_work' && e.t_ns > job.submitted_ns)).toBe(true);
    expect(job).toMatchObject({ error: -125, situation: 'device event' });
    expect(r.findings.map(finding_key)).not.toContain('job_result @ undisturbed job');
  });
});

describe('tdr_late: a device recovery is not a late timeout', () => {
  // xe seed 0 on drm_dep: a 1 ms TDR period and a 20 ms GT reset with jobs in flight (the
  // schedulers are stopped inside it); on drm_sched, job starts postpone a hung job's TDR past
  // its period (docs/legacy-hazards.md#tdr-pushed-out), which must still be reported.
  const xe_case = (backend: 'sched' | 'dep', seed: number) => generate_case({ driver: 'xe', backend, seed, faults: [...FAULT_KINDS], strategy: 'random' });

  it('a GT reset longer than the TDR period with jobs in flight is not reported', () => {
    const c = xe_case('dep', 0);
    const r = run_case(c, { trace_detail: 'full' });
    const ev = r.kernel!.trace.events;
    const start = ev.find((e) => e.name === 'xe_gt_reset' && e.args.phase === 'start')!;
    const done = ev.find((e) => e.name === 'xe_gt_reset' && e.args.phase === 'done')!;
    const period_ns = Number(c.options.device.job_timeout_ms) * 1e6;
    expect(done.t_ns - start.t_ns).toBeGreaterThan(10 * period_ns); // the scenario is still there
    expect(r.findings.map(finding_key)).not.toContain('tdr_late @ timeout detection');
  });

  it('job starts postponing a hung job\'s TDR still are (drm_sched; drm_dep times the oldest job)', () => {
    // A hung job, then a job every 10 ms on the same exec queue: each run_job re-arms drm_sched's TDR.
    const steps: object[] = [{ batch: { queue: 'q', duration_us: 100, hang: true } }];
    for (let i = 0; i < 8; i++) steps.push({ delay: { us: 10_000 } }, { batch: { queue: 'q', duration_us: 100 } });
    const loaded = load_workload_json(JSON.stringify({ name: 'pushed-tdr', clients: [{ name: 'c', queues: [{ name: 'q', engine: 'render' }], program: { loops: 1, steps } }] }), 'pushed-tdr.json');
    if (!loaded.ok) throw new Error(loaded.errors[0].message);
    const xe = find_driver('xe')!;
    const late = (backend: 'sched' | 'dep') => run_workload(loaded.workload, xe.factory, backend, {
      seed: 1, device: { driver: { ...xe.defaults.driver, job_timeout_ms: 31 } }, monitor: { timeout_ms: 31 },
    }).observation.guarantees.tdr_late;
    expect(late('sched')).toMatchObject({ checked: 1, broken: 1 });
    expect(late('sched')!.examples[0].message).toMatch(/no completion and no timeout for 4\d\.\d ms with jobs in flight \(TDR period 31 ms/);
    expect(late('dep')).toMatchObject({ checked: 1, broken: 0 });
  });
});
