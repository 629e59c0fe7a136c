/**
 * The main finding: derived from the comparison's data, in its order of precedence.
 */
import { describe, expect, it } from 'vitest';
import { compare, find_builtin, load_builtin, load_workload_json, paired_compare, type ComparisonResult, type MetricComparison, type Workload } from '@deplab/harness';
import { family_adjustment, headline_metrics, judged, main_finding, metric_change } from './finding.ts';
import { mock, planted_eio } from '../harness/run/planted.testlib.ts';

function workload(obj: object): Workload {
  const r = load_workload_json(JSON.stringify({ name: 'finding-test', ...obj }), 'finding-test.json');
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.workload;
}

const steady = workload({ clients: [{ name: 'c', queues: [{ name: 'q', engine: 'render' }], program: { loops: 20, steps: [
  { batch: { queue: 'q', duration_us: [100, 500] } }, { queue_depth: { depth: 4 } }] } }] });

describe('main finding', () => {
  it('a regression comes first, with its guarantee, count, seeds and first case', () => {
    const r = compare(steady, 'mock', planted_eio(3), { seeds: [1, 2] });
    expect(main_finding(r)).toMatch(/^drm_dep breaks `job_result` where drm_sched keeps it: 2 case\(s\) over seed\(s\) 1, 2 \(first: c\/q#2, seed 1: c\/q#2 finished with -EIO \(ran\)\)\.$/);
  });

  it('ping-pong: the pipelining mechanism the monitor measured, then the latency it costs', () => {
    // The pipelined shape (no credit limit); KUnit's own ping-pong runs at credit limit 1.
    const w = load_builtin(find_builtin('mock/ping-pong-pipelined')!, ['render']);
    if (!w.ok) throw new Error('ping-pong');
    const text = main_finding(compare(w.workload, 'mock', mock, { seeds: [1] }));
    expect(text).toMatch(/^drm_dep does not pipeline same-ring dependencies \(drm_sched ran \d+ job\(s\) before their same-ring dependency finished, drm_dep 0\): /);
    // The cost: the job waits for a kworker after its dependency finished, where drm_sched had it
    // on the hardware already (ready→hw start), or the end-to-end time it adds.
    expect(text).toMatch(/: drm_dep vs drm_sched: \+[\d.]+ (µs|ms) (ready→hw start|submit→finished) p\d\d/);
  });

  it('many clients on one credit pool: how many jobs each backend let onto the hardware, and why', () => {
    const w = load_builtin(find_builtin('kunit/many-clients-13')!, ['render']);
    if (!w.ok) throw new Error('many-clients');
    const text = main_finding(compare(w.workload, 'mock', mock, { seeds: [1, 2, 3], device: { driver: { credit_limit: 2 } } }));
    expect(text).toMatch(/^drm_dep lets up to (\d+) job\(s\) onto the hardware at once, drm_sched 2 \(credit_limit 2 applies per drm_gpu_scheduler, shared by its entities, and per drm_dep_queue\): /);
    expect(Number(/up to (\d+)/.exec(text)![1])).toBeGreaterThan(2);
    // With a limit no client reaches, both backends let every client's job through: no phrase.
    const alone = main_finding(compare(w.workload, 'mock', mock, { seeds: [1], device: { driver: { credit_limit: 64 } } }));
    expect(alone).not.toMatch(/onto the hardware at once/);
  });

  it("a close storm on the one mock timeline: drm_dep runs each queue's jobs back to back, its clients reach more iterations, and the latency difference goes with the batches", () => {
    // 24 clients keep 8 jobs each in flight on the mock's serial timeline and all close at 15 ms.
    const storm = workload({
      clients: Array.from({ length: 24 }, (_, i) => ({ name: `c${i}`, queues: [{ name: 'q', engine: 'render' }],
        program: { duration_ms: 100, steps: [{ batch: { queue: 'q', duration_us: [200, 2000] } }, { queue_depth: { depth: 8 } }] } })),
      events: Array.from({ length: 24 }, (_, i) => ({ at_us: 15_000, action: 'close_client', client: `c${i}` })),
    });
    const seeds = [1, 2, 3, 4, 5, 6];
    const text = main_finding(compare(storm, 'mock', mock, { seeds }));
    // drm_sched's run-job work takes the oldest job of any entity, so clients take turns.
    const b2b = /^drm_dep runs a queue's jobs back to back \((\d+) of (\d+) run_job calls followed one of the same queue while another queue had jobs waiting, drm_sched 0\): /.exec(text);
    expect(b2b).not.toBeNull();
    expect(Number(b2b![1])).toBeGreaterThan(Number(b2b![2]) / 2);
    // A client whose jobs ran back to back saw its completions early and submitted again before
    // the close; those jobs wait behind the whole backlog.
    expect(text).toMatch(/drm_dep vs drm_sched: \+[\d.]+ ms submit→(hw start|finished) p99 \(worse/);
    const population = /the sides ran different jobs: drm_dep ran (\d+) job\(s\) in program iterations drm_sched did not reach, drm_sched (\d+)\.$/.exec(text);
    expect(population).not.toBeNull();
    expect(Number(population![1])).toBeGreaterThan(Number(population![2]));
    // One job per submit-worker invocation, as drm_sched: no batches, and no latency difference.
    const one = main_finding(compare(storm, 'mock', mock, { seeds, assume: { 'dep.submit-batch': 'one' } }));
    expect(one).not.toMatch(/back to back|submit→|different jobs/);
  });

  it('judges a difference exact on every seed by the rule a tested one is judged by: negligible only below both thresholds', () => {
    const metric = (a: number[], b: number[]): MetricComparison => ({
      name: 'submit_to_hw_start_us.p50', lower_is_better: true, comparable: true, baseline: a, candidate: b,
      comparison: paired_compare(a, b, true, null, { rel: 0.01, abs: 10 }),
    });
    // +0.56 µs on 6.75 µs: under the 10 µs absolute threshold, but 8 % of the baseline.
    const small_base = metric([6.75, 6.75, 6.75], [7.31, 7.31, 7.31]);
    expect(small_base.comparison.verdict).toBe('deterministic');
    expect(judged(small_base)).toBe(true);
    // +0.5 µs on 1 ms: below both thresholds.
    expect(judged(metric([1000, 1000, 1000], [1000.5, 1000.5, 1000.5]))).toBe(false);
    // +20 µs on 10 ms: 0.2 %, but above the absolute threshold.
    expect(judged(metric([10_000, 10_000, 10_000], [10_020, 10_020, 10_020]))).toBe(true);
  });

  it('names the sensitivity families under which a headline verdict changes direction, and only those', () => {
    const w = load_builtin(find_builtin('mock/ping-pong-pipelined')!, ['render']);
    if (!w.ok) throw new Error('ping-pong');
    const r = compare(w.workload, 'mock', mock, { seeds: [1, 2] });
    const [first] = headline_metrics(r.metrics);
    const item = (robustness: 'holds' | 'depends') => ({ name: first.name, by_variant: [], robustness });
    const sens = (a: 'holds' | 'depends', b: 'holds' | 'depends') => ({ workload: 'w', driver: 'mock', seeds: [1], families: [
      { name: 'assumption sim.cpu-order', labels: ['fifo', 'kworker-first'], items: [item(a)] },
      { name: 'kworker_wakeup_ns', labels: ['2000 ns', '6000 ns'], items: [item(b)] },
    ] });
    expect(main_finding(r, sens('holds', 'holds'))).toBe(main_finding(r));
    expect(main_finding(r, sens('depends', 'holds'))).toContain('; depends on sim.cpu-order)');
    expect(main_finding(r, sens('depends', 'depends'))).toContain('; depends on sim.cpu-order, kworker_wakeup_ns)');
  });

  it('over comparisons shown together, Holm over all their tests: a headline the family does not prove says so', () => {
    const base = paired_compare([1000, 1010, 990, 1005], [1100, 1115, 1085, 1103], true, null, { rel: 0.01, abs: 0.05 });
    const m = (name: string, p: number, verdict: 'worse' | 'no difference proven' | 'deterministic'): MetricComparison =>
      ({ name, lower_is_better: true, comparable: true, baseline: [], candidate: [], comparison: { ...base, p, p_holm: p, verdict, method: verdict === 'deterministic' ? 'deterministic' : 'paired-t' } });
    const weak = m('submit_to_finished_us.p50', 0.004, 'worse'), strong = m('work_items_per_job', 1e-9, 'worse'), exact = m('peak_sched_bytes', 1, 'deterministic');
    const result = (metrics: MetricComparison[]) => ({ metrics, distributions: [] }) as unknown as ComparisonResult;
    const nulls = Array.from({ length: 20 }, (_, i) => result([m('throughput_jobs_per_s', 0.5 + i / 100, 'no difference proven')]));
    const family = family_adjustment([result([weak, strong, exact]), ...nulls]);
    // 22 tests (the exact difference is not one): 1e-9 x 22 holds; 0.004 x 21 = 0.084 does not.
    expect(family).toMatchObject({ comparisons: 21, tests: 22 });
    expect(family.p_holm.get(weak.comparison)).toBeCloseTo(0.084, 10);
    expect(metric_change(weak, [], family)).toBe('+99.50 µs submit→finished p50 (worse, p 0.0040 after Holm, n 4; not proven over the 21 comparisons: p 0.084 after Holm over 22 tests)');
    expect(metric_change(strong, [], family)).toBe(metric_change(strong));
    expect(metric_change(exact, [], family)).toBe(metric_change(exact));
    // main_finding passes the family to each headline metric.
    const w = load_builtin(find_builtin('mock/ping-pong-pipelined')!, ['render']);
    if (!w.ok) throw new Error('ping-pong');
    const r = compare(w.workload, 'mock', mock, { seeds: [1, 2, 3] });
    const tested = headline_metrics(r.metrics).filter((x) => x.comparison.method === 'paired-t');
    expect(tested.length).toBeGreaterThan(0);
    const fam = (p: number) => ({ comparisons: 28, tests: 300, p_holm: new Map(tested.map((x) => [x.comparison, p])) });
    expect(main_finding(r, null, fam(0.001))).toBe(main_finding(r));
    expect(main_finding(r, null, fam(0.3))).toContain('; not proven over the 28 comparisons: p 0.30 after Holm over 300 tests)');
  });

  it('headline metrics: what the user waits for before what the system pays, one per category', () => {
    const m = (name: string, a: number[], b: number[]): MetricComparison =>
      ({ name, lower_is_better: true, comparable: true, baseline: a, candidate: b, comparison: paired_compare(a, b, true, null, { rel: 0.01, abs: 0.05 }) });
    const picked = headline_metrics([
      m('work_items_per_job', [3, 3.1, 2.9, 3.05], [1, 1.1, 0.9, 1.02]),
      m('kworker_wakeups_per_job', [1, 1.1, 0.9, 1.05], [2, 2.2, 1.8, 2.1]),
      m('submit_to_finished_us.p50', [1000, 1010, 990, 1005], [1100, 1115, 1085, 1103]),
    ]);
    expect(picked.map((x) => x.name)).toEqual(['submit_to_finished_us.p50', 'kworker_wakeups_per_job']);
  });

  it('says so when nothing is proven and nothing regresses', () => {
    // The same backend on both sides: every run pair identical.
    const r = compare(steady, 'mock', mock, { seeds: [1, 2, 3], baseline: 'dep', candidate: 'dep' });
    expect(main_finding(r)).toBe('No guarantee regresses, and no performance difference is proven beyond the negligible thresholds (3 distinct runs).');
  });
});
