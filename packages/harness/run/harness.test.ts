/**
 * The harness end to end on the mock GPU: determinism, common random numbers, equivalence of
 * the two backends where the spec says they must agree, and a planted regression the diff
 * must flag.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LOCKDEP_SITES_EAGER, TraceLimitExceeded, spin_lock, spin_lock_init, spin_unlock } from '@deplab/sim';
import { mock, planted_eio } from './planted.testlib.ts';
import { load_workload_json } from '../workload/load-json.ts';
import { import_wsim } from '../workload/wsim-import.ts';
import type { Workload } from '../workload/types.ts';
import { fault_workload, find_builtin, load_builtin } from '../builtin/index.ts';
import { aggregate, compare, compare_seed, compare_seed_group } from './compare.ts';
import { diff_seed } from './diff.ts';
import { decode_token, encode_token } from '../explore/token.ts';
import { run_case } from '../explore/execute.ts';
import { driver_names, find_driver } from '../drivers.ts';
import { run_workload } from './runner.ts';


function workload(obj: object): Workload {
  const r = load_workload_json(JSON.stringify({ name: 'test', ...obj }), 'test.json');
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.workload;
}

const random_two_queues = workload({
  clients: [
    { name: 'a', queues: [{ name: 'q', engine: 'render' }], program: { loops: 40, steps: [
      { batch: { queue: 'q', duration_us: [100, 900] } }, { delay: { us: { dist: 'exponential', mean_us: 300 } } }] } },
    { name: 'b', queues: [{ name: 'q', engine: 'render' }], program: { loops: 30, steps: [
      { batch: { queue: 'q', duration_us: [200, 400], deps: [{ client: 'a', queue: 'q', last: true }] } }, { sync: { step: -1 } }] } },
  ],
});

const retain = { monitor: { retain: true } };

describe('runner determinism', () => {
  it('the same seed gives identical job records, metrics and trace twice', () => {
    const one = run_workload(random_two_queues, mock, 'sched', { seed: 7, ...retain });
    const two = run_workload(random_two_queues, mock, 'sched', { seed: 7, ...retain });
    expect(JSON.stringify(one.observation)).toBe(JSON.stringify(two.observation));
    expect(one.kernel.trace.digest()).toBe(two.kernel.trace.digest());
    const other = run_workload(random_two_queues, mock, 'sched', { seed: 8 });
    expect(other.kernel.trace.digest()).not.toBe(one.kernel.trace.digest());
  });

  it('observing a run leaves its trace digest as a recorded run has it', () => {
    const observed = run_workload(random_two_queues, mock, 'dep', { seed: 7 });
    const recorded = run_workload(random_two_queues, mock, 'dep', { seed: 7, record: true });
    expect(observed.kernel.trace.digest()).toBe(recorded.kernel.trace.digest());
    expect(observed.kernel.trace.events).toEqual([]);
    expect(recorded.kernel.trace.events.length).toBeGreaterThan(0);
  });

  it('both backends draw the same workload numbers (common random numbers)', () => {
    const w = workload({ clients: [{ name: 'c', queues: [{ name: 'q', engine: 'render' }], program: { loops: 30, steps: [
      { batch: { queue: 'q', duration_us: [100, 900], wait: true } }, { delay: { us: { dist: 'exponential', mean_us: 300 } } }] } }] });
    // Constant costs: with drawn ones the interrupt entry before hw_done varies by microseconds.
    const costs = { profile: 'constant' } as const;
    const jobs = (backend: 'sched' | 'dep', seed: number) => run_workload(w, mock, backend, { seed, costs, ...retain }).observation.jobs!;
    // Each job runs alone on the mock hardware for its drawn duration (whole us; the backends
    // differ by their bookkeeping costs, tens of ns, between the tracepoint and the hardware).
    const durations = (list: ReturnType<typeof jobs>) => list.map((j) => Math.round((j.hw_done_ns - j.run_ns) / 1000));
    const a = durations(jobs('sched', 3));
    expect(a.length).toBe(30);
    expect(durations(jobs('dep', 3))).toEqual(a);
    expect(new Set(a).size).toBeGreaterThan(20);
    expect(durations(jobs('sched', 4))).not.toEqual(a);
  });
});

describe('run monitor', () => {
  it('keeps no record of a job once it is final, unless asked to', () => {
    const w = workload({ clients: [{ name: 'c', queues: [{ name: 'q', engine: 'render' }], program: { loops: 2000, steps: [
      { batch: { queue: 'q', duration_us: 50 } }, { queue_depth: { depth: 4 } }] } }] });
    const r = run_workload(w, mock, 'sched', { seed: 1 });
    expect(r.observation.jobs).toBeNull();
    expect(r.jobs).toBeNull();
    expect(r.observation.finished).toBe(2000);
    expect(r.observation.latency.submit_to_finished_us.summary.n).toBe(2000);
    // The queue depth and the job just pushed (5), plus completed jobs the scheduler has not
    // freed yet (its free work waits for a kworker wake-up): bounded, whatever the run's length.
    expect(r.observation.peak_jobs_alive).toBeGreaterThanOrEqual(5);
    expect(r.observation.peak_jobs_alive).toBeLessThanOrEqual(16);
    expect(r.monitor.live_jobs()).toBe(0);
  });

  it('keeps the objects of a finished job alive in no driver: the peak of live objects does not grow with the jobs', () => {
    const jobs = (n: number) => workload({ clients: [{ name: 'c', queues: [{ name: 'q', engine: 'render' }], program: { loops: n, steps: [
      { batch: { queue: 'q', duration_us: 50 } }, { queue_depth: { depth: 4 } }] } }] });
    for (const name of driver_names()) {
      const d = find_driver(name)!;
      for (const backend of d.backends ?? ['sched', 'dep'] as const) {
        const peak = (n: number) => {
          const r = run_workload(jobs(n), d.factory, backend, { seed: 1, device: d.defaults, settle_ms: 0 });
          expect(r.observation.finished).toBe(n);
          return { objects: r.kernel.lifetime.live_peak, teardown_ns: r.teardown[0].destroy_return_ns - r.teardown[0].destroy_call_ns };
        };
        const small = peak(1000), large = peak(3000);
        // Equal up to timing (the cost model draws per run): a job's objects kept would add thousands.
        expect(large.objects, `${name} ${backend}`).toBeLessThanOrEqual(small.objects + 5);
        // Closing the queue frees nothing of the jobs that finished before (freeing 2000 sched
        // fences would cost 120 µs): it costs the same, up to where the close falls among the
        // driver's periodic work (amdxdna's teardown varies by some 25 µs with that alone).
        expect(Math.abs(large.teardown_ns - small.teardown_ns), `${name} ${backend}`).toBeLessThan(50_000);
      }
    }
  });

  it('a run whose trace would overflow any record buffer still reports every job, and a recorded one fails loudly', () => {
    const w = workload({ clients: [{ name: 'c', queues: [{ name: 'q', engine: 'render' }], program: { loops: 500, steps: [
      { batch: { queue: 'q', duration_us: 20 } }, { queue_depth: { depth: 4 } }] } }] });
    // A recorder bound far below the run's event count: the observed run does not record, so it is not bound.
    const observed = run_workload(w, mock, 'dep', { seed: 1, kernel: { trace_limit: 100 } });
    expect(observed.kernel.trace.count).toBeGreaterThan(1000);
    expect(observed.observation.submitted).toBe(500);
    expect(observed.observation.finished).toBe(500);
    expect(observed.observation.guarantees.never_signalled?.broken).toBe(0);
    expect(() => run_workload(w, mock, 'dep', { seed: 1, kernel: { trace_limit: 100 }, record: true })).toThrow(TraceLimitExceeded);
  });

  it('sees what a job does inside its submit ioctl: queued, and with the submit bypass run and started', () => {
    // The push queues the job before the ioctl returns the fence that names it; with
    // DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS (2) run_job, and the start on an idle mock, happen there too.
    const w = workload({ clients: [{ name: 'c', queues: [{ name: 'q', engine: 'render' }], program: { loops: 20, steps: [
      { batch: { queue: 'q', duration_us: 100, wait: true } }] } }] });
    for (const [backend, dep_flags] of [['sched', 0], ['dep', 0], ['dep', 2]] as const) {
      const r = run_workload(w, mock, backend, { seed: 1, device: { driver: { dep_flags } }, ...retain });
      const jobs = r.observation.jobs!;
      expect(jobs.length).toBe(20);
      for (const j of jobs) {
        expect(j.queued_ns).toBeGreaterThanOrEqual(j.submitted_ns);
        expect(j.run_ns).toBeGreaterThanOrEqual(j.queued_ns);
        expect(j.hw_start_ns).toBeGreaterThanOrEqual(j.run_ns);
      }
      // One job in flight at a time; the previous one may not be freed yet.
      expect(r.observation.peak_jobs_alive).toBeGreaterThanOrEqual(1);
      expect(r.observation.peak_jobs_alive).toBeLessThanOrEqual(2);
      expect(r.observation.peak_jobs_on_hw).toBe(1);
      // Jobs without dependencies are ready when queued: ready→hw start is measured for each.
      expect(r.observation.latency.ready_to_hw_start_us.summary.n).toBe(20);
    }
    // With the bypass the job runs in the ioctl: before it returns.
    const bypass = run_workload(w, mock, 'dep', { seed: 1, device: { driver: { dep_flags: 2 } }, ...retain });
    const submits = new Map(bypass.jobs!.map((s) => [s.logical, s]));
    for (const j of bypass.observation.jobs!) expect(j.run_ns).toBeLessThanOrEqual(submits.get(j.logical)!.submit_return_ns);
  });

  it("counts run_job calls that follow one of the same queue while another queue's jobs wait (drm_dep's submit batches)", () => {
    // Four clients push eight jobs each at once: drm_sched's run-job work takes the oldest job
    // of any entity, one per work item; drm_dep's submit worker runs its queue's eight in one go.
    const w = workload({ clients: ['a', 'b', 'c', 'd'].map((name) => ({ name, queues: [{ name: 'q', engine: 'render' }], program: { loops: 8, steps: [
      { batch: { queue: 'q', duration_us: 100 } }] } })) });
    const b2b = (backend: 'sched' | 'dep', assume: Record<string, string> = {}) =>
      [1, 2, 3].reduce((n, seed) => n + run_workload(w, mock, backend, { seed, assume }).observation.back_to_back_runs, 0);
    expect(b2b('sched')).toBe(0);
    const drained = b2b('dep');
    expect(drained).toBeGreaterThanOrEqual(60);
    // One job per invocation, as drm_sched: the queues' workers mostly take turns.
    expect(b2b('dep', { 'dep.submit-batch': 'one' })).toBeLessThanOrEqual(drained / 5);
  });

  it('checks each job-level guarantee on every job it applies to', () => {
    const r = run_workload(random_two_queues, mock, 'dep', { seed: 2 });
    const g = r.observation.guarantees;
    expect(g.never_signalled?.checked).toBe(70);
    expect(g.job_result?.checked).toBe(70);
    expect(g.dependency_order?.checked).toBe(70);
    for (const t of Object.values(g)) expect(t?.broken).toBe(0);
    expect(r.observation.outcomes).toEqual({ undisturbed: { ok: 70 } });
  });
});

/** The third job's out-fence gets -EIO on drm_dep only: job_result breaks on drm_dep alone. */
const planted = planted_eio(3);

describe('behaviour diff by guarantee', () => {
  const one_queue = workload({ clients: [{ name: 'c', queues: [{ name: 'q', engine: 'render' }], program: { loops: 50, steps: [
    { batch: { queue: 'q', duration_us: [100, 500] } }, { queue_depth: { depth: 4 } }] } }] });

  it('finds no regression where the spec says the backends must agree (one queue, no faults)', () => {
    const out = compare_seed(one_queue, mock, 1, {});
    expect(out.diff.counts).toEqual({});
    expect(out.baseline.guarantees.job_result?.checked).toBe(50);
    expect(out.candidate.guarantees.job_result?.broken).toBe(0);
  });

  it('reports a planted regression with its guarantee, job and seed', () => {
    const out = compare_seed(one_queue, planted, 4, {});
    expect(out.diff.counts.job_result).toEqual({ regression: 1, improvement: 0, both: 0 });
    const e = out.diff.examples.find((x) => x.cls === 'regression')!;
    expect(e).toMatchObject({ guarantee: 'job_result', subject: 'c/q#2', baseline: 'held' });
    expect(e.candidate).toContain('-EIO');
    const r = aggregate(one_queue, 'mock', [out]);
    const g = r.guarantees.find((x) => x.id === 'job_result')!;
    expect(g.diff.regression).toBe(1);
    expect(g.regression_seeds).toEqual([4]);
    expect(g.examples[0]).toMatchObject({ seed: 4, subject: 'c/q#2' });
    expect(g.examples[0].token).toMatch(/^dl2\./);
  });

  it('a seed group reuses a side only where the variant changes nothing that side read, and its outputs are those of separate runs', () => {
    // The monitor checks tdr_late with the default slack, which depends on timer.wheel.
    const base = { device: { driver: { timeout_ms: 50 } }, monitor: { timeout_ms: 50 } };
    const variants: { assume?: Record<string, string>; costs?: { profile: 'constant' } }[] = [
      { assume: { 'dep.submit-batch': 'one' } }, // read by drm_dep at queue init: drm_sched's side reused
      { assume: { 'sched.fence-signalling-annotation': 'annotated' } }, // read by drm_sched's run work: drm_dep's side reused
      { assume: { 'dep-hw.tdr_arm': 'every_start' } }, // the HW-queue layer is not in either run: both reused
      { assume: { 'dep.tdr-rearm': 'requeue' } }, // read only where a triggered TDR meets a completion: none here, both reused
      // Both arm TDR timers, each re-armed or cancelled before it is due under either value,
      // and no silence is long enough for tdr_late under either slack: both reused.
      { assume: { 'timer.wheel': 'exact-jiffy' } },
      { costs: { profile: 'constant' } }, // other costs: both run again
    ];
    const { outputs, reused } = compare_seed_group(random_two_queues, mock, 5, base, variants);
    expect(reused).toBe(1 + 1 + 2 + 2 + 2 + 0);
    const separate = [{}, ...variants].map((v) => compare_seed(random_two_queues, mock, 5, { ...base, ...v }));
    expect(outputs).toEqual(separate);
    // The runs done again do differ from the base: reusing them would have been wrong.
    expect(separate[6].baseline.digest).not.toBe(separate[0].baseline.digest);
  });

  it('a run whose TDR fires reads timer.wheel, and differs under the other value', () => {
    const hang = fault_workload('hang');
    const base = { device: { driver: { timeout_ms: 50 } } };
    const { outputs, reused } = compare_seed_group(hang, mock, 2, base, [{ assume: { 'timer.wheel': 'exact-jiffy' } }]);
    expect(reused).toBe(0);
    expect(outputs[1]).toEqual(compare_seed(hang, mock, 2, { ...base, assume: { 'timer.wheel': 'exact-jiffy' } }));
    expect(outputs[1].baseline.digest).not.toBe(outputs[0].baseline.digest);
    expect(outputs[1].candidate.digest).not.toBe(outputs[0].candidate.digest);
  });

  it("lockdep_sites 'on-demand' gives the outcome of 'capture'; the run is made again only when a report printed a site it did not capture", () => {
    const amdxdna = find_driver('amdxdna')!;
    const w = workload({ clients: [{ name: 'a', queues: [{ name: 'q', engine: 'compute' }], program: { loops: 3, steps: [
      { batch: { queue: 'q', duration_us: 100 } }] } }] });
    // upstream_gfp: a GFP_KERNEL allocation in run_job closes a cycle with the boot-time reclaim
    // priming; the report names where run_job's signalling section began, a captured site.
    // `early` new lock edges at probe time use up the sites 'on-demand' captures.
    for (const [upstream_gfp, early, again] of [[true, 0, false], [true, LOCKDEP_SITES_EAGER, true], [false, LOCKDEP_SITES_EAGER, false]] as const) {
      const device = { driver: { ...amdxdna.defaults.driver, upstream_gfp } };
      let made = 0;
      const factory = (count: boolean): typeof amdxdna.factory => (k, b, o) => {
        if (count) made++;
        const x = spin_lock_init(k, 'X');
        for (let i = 0; i < early; i++) { const y = spin_lock_init(k, `Y${i}`); spin_lock(x); spin_lock(y); spin_unlock(y); spin_unlock(x); }
        return amdxdna.factory(k, b, o);
      };
      const on_demand = run_workload(w, factory(true), 'dep', { seed: 3, device, lockdep_sites: 'on-demand' });
      const captured = run_workload(w, factory(false), 'dep', { seed: 3, device });
      const cycles = captured.kernel.violations.of_kind('lockdep_cycle');
      expect(cycles.length > 0).toBe(upstream_gfp);
      if (upstream_gfp) expect(cycles[0].detail[0]).toMatch(/acquired at queue_run_job \(packages\/drm-dep\/drm_dep_queue\.ts:\d+\)/);
      expect(made).toBe(again ? 2 : 1);
      expect(JSON.stringify(on_demand.kernel.violations.list)).toBe(JSON.stringify(captured.kernel.violations.list));
      expect(on_demand.kernel.trace.digest()).toBe(captured.kernel.trace.digest());
      expect(JSON.stringify(on_demand.observation)).toBe(JSON.stringify(captured.observation));
    }
  });

  it("a regression's replay token reproduces the run that broke the guarantee, byte for byte", () => {
    const out = compare_seed(random_two_queues, mock, 5, { device: { driver: { timeout_ms: 50 } } });
    const r = aggregate(random_two_queues, 'mock', [out], { device: { driver: { timeout_ms: 50 } } });
    const token = encode_token({
      driver: 'mock', backend: 'dep', workload: random_two_queues, seed: 5, strategy: 'fifo', choices: [],
      options: { device: r.device, costs: {}, alloc_fail_probability: 0, pct_depth: 0, pct_horizon: 0, mode: 'compare' },
    });
    const replay = run_case(decode_token(token).case);
    expect(replay.kernel!.trace.digest()).toBe(out.candidate.digest);
  });

  it('does not pair jobs caught by an asynchronous kill: the xe Ctrl-C storm races in both directions and is compared as distributions', () => {
    const xe = find_driver('xe')!;
    const loaded = load_builtin(find_builtin('stress/teardown-storm')!, xe.engines);
    if (!loaded.ok) throw new Error('teardown-storm does not load');
    const r = compare(loaded.workload, 'xe', xe.factory, { seeds: [1, 2], device: xe.defaults });
    for (const g of r.guarantees) expect(g.diff.regression).toBe(0);
    const in_flight = r.distributions.filter((d) => d.situation === 'killed in flight');
    expect(in_flight.length).toBeGreaterThan(0);
    // Jobs complete with 0 after the kill on both backends: the race, per backend, not per job.
    const ok = in_flight.find((d) => d.outcome === 'ok')!;
    expect(ok.baseline.every((n) => n > 0)).toBe(true);
    expect(ok.candidate.every((n) => n > 0)).toBe(true);
    // Two seeds cannot make a difference significant.
    expect(ok.direction).toBeNull();
  });

  it('does not compare iterations only one side reached', () => {
    const w = workload({ clients: [{ name: 'c', queues: [{ name: 'q', engine: 'render' }], program: { duration_ms: 20, steps: [
      { batch: { queue: 'q', duration_us: 700, wait: true } }] } }] });
    const a = run_workload(w, mock, 'sched', { seed: 1, monitor: { pairing: true } });
    const b = run_workload(w, mock, 'sched', { seed: 1, monitor: { pairing: true } });
    const masks = new Map([...b.monitor.masks()].map(([k, m]) => [k, { ...m, count: m.count - 3 }]));
    const d = diff_seed(a.monitor.masks(), masks, a.observation, b.observation);
    expect(d.unmatched).toEqual({ baseline_only: 3, candidate_only: 0 });
    expect(d.counts).toEqual({});
  });
});

describe('IGT gem_wsim descriptors on xe', () => {
  const dir = fileURLToPath(new URL('../../../workloads/wsim/', import.meta.url));
  const xe = find_driver('xe')!;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.wsim')).sort()) {
    it(`${file} imports for xe's engines and runs on both backends`, () => {
      const r = import_wsim(readFileSync(dir + file, 'utf8'), file, { engines: xe.engines, loops: 3 });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      const result = compare(r.workload, 'xe', xe.factory, { seeds: [1], device: xe.defaults });
      expect(result.per_seed[0].baseline.metrics.jobs_finished).toBeGreaterThan(0);
      expect(result.per_seed[0].baseline.metrics.jobs_never_finished).toBe(0);
      expect(result.per_seed[0].candidate.metrics.jobs_never_finished).toBe(0);
      expect(result.groups).toEqual([]);
    });
  }
});

describe('IGT gem_wsim descriptors', () => {
  const dir = fileURLToPath(new URL('../../../workloads/wsim/', import.meta.url));
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.wsim')).sort()) {
    it(`${file} imports and runs on the mock on both backends`, () => {
      const r = import_wsim(readFileSync(dir + file, 'utf8'), file, { engines: ['render'], loops: 2 });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      const result = compare(r.workload, 'mock', mock, { seeds: [1] });
      expect(result.per_seed[0].baseline.metrics.jobs_finished).toBeGreaterThan(0);
      expect(result.per_seed[0].baseline.metrics.jobs_never_finished).toBe(0);
      expect(result.per_seed[0].candidate.metrics.jobs_never_finished).toBe(0);
      expect(result.groups).toEqual([]);
    });
  }
});
