/**
 * The plain-text report (`deplab compare --format text`) and the sensitivity sweep: the
 * ministat verdict lines, the robot table's fixed columns, determinism, and which verdicts
 * a sweep calls robust.
 */
import { describe, expect, it } from 'vitest';
import type { DeviceFactory } from '@deplab/driver-api';
import { MockDevice, mock_dep_backend, mock_sched_backend } from '@deplab/driver-mock';
import { compare, load_workload_json, paired_compare, type MetricComparison, type Workload } from '@deplab/harness';
import { comparison_text, g, ministat_block, wrap } from './text.ts';
import { robustness, run_sensitivity, sensitivity_markdown, sensitivity_tasks, sensitivity_text } from './sensitivity.ts';

const mock: DeviceFactory = (k, backend, options) => new MockDevice(k, backend === 'sched' ? mock_sched_backend() : mock_dep_backend(), options);

function workload(obj: object): Workload {
  const r = load_workload_json(JSON.stringify({ name: 'text-test', ...obj }), 'text-test.json');
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.workload;
}

// Sync submissions: every job waits for the previous one, so wake-up latencies show.
const sync_client = workload({
  clients: [{ name: 'a', queues: [{ name: 'q', engine: 'render' }], program: { loops: 20, steps: [
    { batch: { queue: 'q', duration_us: [100, 300] } }, { sync: { step: -1 } }, { delay: { us: [50, 150] } }] } }],
});

function metric(name: string, a: number[], b: number[]): MetricComparison {
  return { name, lower_is_better: true, sched: a, dep: b, comparison: paired_compare(a, b, true) };
}

describe('comparison_text', () => {
  it('ministat block: "No difference proven" when the interval spans zero', () => {
    const lines = ministat_block(metric('noise_us', [10, 12, 11, 13], [11, 11, 12, 12]));
    expect(lines).toContain('No difference proven at 95.0% confidence');
    expect(lines[3]).toBe('      N           Min           Max        Median           Avg        Stddev');
    expect(lines[4]).toMatch(/^x {3}4 +10 +13 +11\.5 +11\.5 +1\.29099$/);
  });

  it('ministat block: the difference with its half-interval, absolute and relative', () => {
    const lines = ministat_block(metric('slower_us', [10, 11, 12, 13], [12, 13.2, 13.9, 15.1]));
    expect(lines).toContain('Difference at 95.0% confidence');
    expect(lines.join('\n')).toMatch(/\n {8}2\.05 \+\/- \d/);
    expect(lines.join('\n')).toContain('verdict: worse');
  });

  it('the whole text report: header, robot table, behaviour, blocks; identical for the same result', () => {
    const r = compare(sync_client, 'mock', mock, { seeds: [1, 2, 3] });
    const text = comparison_text(r, { command: 'npx deplab compare t --driver mock --format text', version: '0.1.0' });
    expect(text).toBe(comparison_text(r, { command: 'npx deplab compare t --driver mock --format text', version: '0.1.0' }));
    expect(text).toContain('         %stddev     %change         %stddev');
    expect(text).toMatch(/^behaviour: \d+ equivalent, 0 expected differences, 0 regressions$/m);
    const row = text.split('\n').find((l) => l.includes('  kworker_wakeups_per_job'))!;
    // Fixed columns: the base mean is right-aligned in the first ten.
    expect(row.slice(0, 10).trim()).toBe(g(r.metrics.find((m) => m.name === 'kworker_wakeups_per_job')!.comparison.mean_a));
    expect(row[10]).toBe(' ');
    for (const line of text.split('\n')) expect(line).not.toMatch(/NaN|undefined/);
  });

  it('stays within 80 columns when regressions and violations are listed: wrapped, every word kept', () => {
    const r = compare(sync_client, 'mock', mock, { seeds: [1, 2] });
    const reason = 'drm_dep signalled the finished fence before the hardware fence of a job whose dependency on another queue was pending';
    const listed = {
      ...r,
      diff_examples: [{ seed: 2, diff: { logical: 'a-client-with-a-long-name/render-queue#123', cls: 'regression' as const, reason, doc: null, sched: null, dep: null } }],
      violations: { sched: { lockdep_cycle: 3, sleep_in_atomic: 1 }, dep: { use_after_free: 2, never_signalled_fence_after_teardown: 5 } },
    };
    const text = comparison_text(listed, { command: `npx deplab compare ${'workloads/a/rather/long/path/'.repeat(3)}x.json --driver mock --seeds 2 --format text`, version: '0.1.0' });
    const lines = text.split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(80);
    const words = text.split(/\s+/).join(' ');
    expect(words).toContain(`regression: ${reason}, job a-client-with-a-long-name/render-queue#123, seed 2`);
    expect(words).toContain('never_signalled_fence_after_teardown 0 (drm_sched) / 5 (drm_dep)');
  });

  it('wrap keeps lines within the width at word boundaries', () => {
    expect(wrap('aaa bbb ccc ddd', 8, '  ')).toEqual(['aaa bbb', '  ccc', '  ddd']);
  });
});

describe('sensitivity', () => {
  it('robustness: same verdict holds; same direction holds; otherwise depends', () => {
    expect(robustness(['better', 'better'])).toBe('holds');
    expect(robustness(['negligible', 'no difference proven', 'identical'])).toBe('direction holds');
    expect(robustness(['better', 'negligible'])).toBe('depends');
  });

  it('tasks: every value of every entry on every seed, over the comparison\'s own overrides', () => {
    const tasks = sensitivity_tasks({ fence_signal_ns: 100 }, [{ key: 'kworker_wakeup_ns', values: [2000, 100000] }], [1, 2]);
    expect(tasks.map((t) => `${t.value}/${t.seed}`)).toEqual(['2000/1', '2000/2', '100000/1', '100000/2']);
    expect(tasks[0].costs).toEqual({ fence_signal_ns: 100, kworker_wakeup_ns: 2000 });
    expect(() => sensitivity_tasks({}, [{ key: 'kworker_wakeup', values: [1, 2] }], [1])).toThrow(/unknown cost entry/);
  });

  it('a kworker wake-up sweep on the mock: one verdict per metric and value, and a Markdown table per entry', () => {
    const s = run_sensitivity(sync_client, 'mock', mock, { sweep: [{ key: 'kworker_wakeup_ns', values: [2000, 100000] }], seeds: [1, 2] });
    expect(s.entries).toHaveLength(1);
    const e = s.entries[0];
    expect(e.values).toEqual([2000, 100000]);
    for (const m of e.metrics) expect(m.by_value.map((v) => v.value)).toEqual([2000, 100000]);
    const md = sensitivity_markdown(s);
    expect(md).toContain('### kworker_wakeup_ns = 2000, 100000 ns');
    expect(md).toMatch(/\| metric +\| +2000 \| +100000 \| verdict over the range \|/);
    expect(sensitivity_text(s)).toContain('kworker_wakeup_ns = 2000, 100000 ns');
    expect(md).toBe(sensitivity_markdown(run_sensitivity(sync_client, 'mock', mock, { sweep: [{ key: 'kworker_wakeup_ns', values: [2000, 100000] }], seeds: [1, 2] })));
  });
});
