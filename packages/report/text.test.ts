/**
 * The plain-text report (`deplab compare --format text`) and the sensitivity sweep: the
 * ministat verdict lines, the robot table's fixed columns, determinism, and which verdicts
 * a sweep calls robust.
 */
import { describe, expect, it } from 'vitest';
import type { DeviceFactory } from '@deplab/driver-api';
import { MockDevice, mock_dep_backend, mock_sched_backend } from '@deplab/driver-mock';
import { compare, load_workload_json, paired_compare, type MetricComparison, type Workload } from '@deplab/harness';
import { command_lines, comparison_text, g, ministat_block, wrap } from './text.ts';
import { cost_entry_family, robustness, run_sensitivity, sensitivity_markdown, sensitivity_tasks, sensitivity_text, type SweptVerdict } from './sensitivity.ts';
import { planted_eio, planted_slow_wakeup } from '../harness/run/planted.testlib.ts';

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

function metric(name: string, a: number[], b: number[], keys: string[] | null = null): MetricComparison {
  return { name, lower_is_better: true, comparable: true, baseline: a, candidate: b, comparison: paired_compare(a, b, true, keys) };
}

describe('comparison_text', () => {
  it('ministat block: "No difference proven" when the test does not reject', () => {
    const lines = ministat_block(metric('noise_us', [10, 12, 11, 13], [11, 11, 12, 12]));
    expect(lines.some((l) => l.startsWith('No difference proven at 95.0% confidence'))).toBe(true);
    expect(lines[3]).toBe('      N          Min          Max       Median          Avg       Stddev');
    expect(lines[4]).toMatch(/^x {3}4 +10 +13 +11\.5 +11\.5 +1\.29099$/);
  });

  it('ministat block: the difference with its half-interval, absolute and relative', () => {
    const lines = ministat_block(metric('slower_us', [10, 11, 12, 13], [12, 13.2, 13.9, 15.1]));
    expect(lines).toContain('Difference at 95.0% confidence');
    expect(lines.join('\n')).toMatch(/\n {8}2\.05 \+\/- \d/);
    expect(lines.join('\n')).toContain('; worse)');
  });

  it('ministat block: identical runs are deterministic, with the single delta and no interval', () => {
    const lines = ministat_block(metric('same_us', [5, 5, 5], [7, 7, 7], ['x', 'x', 'x']));
    expect(lines.join('\n')).toContain('Deterministic: the same difference on every seed (1 distinct run pair(s)):');
    expect(lines.join('\n')).not.toMatch(/confidence|\+\/-/);
  });

  it('the whole text report: header, main finding, behaviour, robot table; identical for the same result; within 80 columns', () => {
    const r = compare(sync_client, 'mock', mock, { seeds: [1, 2, 3] });
    const text = comparison_text(r, { command: 'npx deplab compare t --driver mock --format text', version: '0.2.0' });
    expect(text).toBe(comparison_text(r, { command: 'npx deplab compare t --driver mock --format text', version: '0.2.0' }));
    expect(text).toContain('         %stddev     %change         %stddev');
    expect(text).toMatch(/^Main finding: /m);
    expect(text).toMatch(/^behaviour: 0 regression\(s\), 0 improvement\(s\), 0 broken on both/m);
    const row = text.split('\n').find((l) => l.includes('  kworker_wakeups_per_job'))!;
    // Fixed columns: the base mean is right-aligned in the first ten.
    expect(row.slice(0, 10).trim()).toBe(g(r.metrics.find((m) => m.name === 'kworker_wakeups_per_job')!.comparison.mean_a));
    expect(row[10]).toBe(' ');
    for (const line of text.split('\n')) {
      expect(line).not.toMatch(/NaN|undefined/);
      expect(line.length).toBeLessThanOrEqual(80);
    }
  });

  it('stays within 80 columns when a regression with its replay command and violation groups are listed: wrapped, every word kept', () => {
    const warn: DeviceFactory = (k, backend, options) => {
      const dev = planted_eio(3)(k, backend, options);
      if (backend === 'dep') k.WARN_ON(true, 'a_rather_long_planted_site_name_in_a_test_only_device_binding', 'a planted warning with a long message that has to wrap');
      return dev;
    };
    const r = compare(sync_client, 'mock', warn, { seeds: [1, 2] });
    const text = comparison_text(r, { command: `npx deplab compare ${'workloads/a/rather/long/path/'.repeat(3)}x.json --driver mock --seeds 2 --format text`, version: '0.2.0' });
    const lines = text.split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(80);
    const words = text.split(/\s+/).join(' ');
    expect(words).toContain('regression of job_result: a/q#2, seed 1');
    expect(words).toContain('warn at a_rather_long_planted_site_name_in_a_test_only_device_binding (candidate only): unclassified');
    const token = r.guarantees.find((g) => g.id === 'job_result')!.examples[0].token;
    expect(text.replace(/ \\\n\s*/g, '')).toContain(token);
  });

  it('wrap keeps lines within the width at word boundaries, keeps the indentation, and splits a word longer than a line', () => {
    expect(wrap('aaa bbb ccc ddd', 8, '  ')).toEqual(['aaa bbb', '  ccc', '  ddd']);
    expect(wrap('    x y', 80, '      ')).toEqual(['    x y']);
    expect(wrap('a ' + 'z'.repeat(20), 10, '  ').every((l) => l.length <= 10)).toBe(true);
  });

  it('command_lines splits a long token over backslash-continued lines within 80 columns', () => {
    const token = 'dl2.' + 'A'.repeat(300) + '.0123456789abcdef';
    const lines = command_lines(`npx deplab replay ${token}`, '    ');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    expect(lines.slice(0, -1).every((l) => l.endsWith(' \\'))).toBe(true);
    // What a shell passes: the pieces, which deplab replay joins.
    const joined = lines.map((l) => l.replace(/ \\$/, '').trim()).join(' ').split(' ').slice(3).join('');
    expect(joined).toBe(token);
  });
});

describe('sensitivity', () => {
  it('robustness: same verdict holds; same direction holds; otherwise depends', () => {
    const p = (verdict: SweptVerdict['verdict'], stance: SweptVerdict['stance']) => ({ verdict, stance });
    expect(robustness([p('better', 'better'), p('better', 'better')])).toBe('holds');
    expect(robustness([p('negligible', 'none'), p('no difference proven', 'none'), p('identical', 'none')])).toBe('direction holds');
    expect(robustness([p('deterministic', 'worse'), p('worse', 'worse')])).toBe('direction holds');
    expect(robustness([p('better', 'better'), p('negligible', 'none')])).toBe('depends');
    expect(robustness([p('regression', 'regression'), p('no regression', 'none')])).toBe('depends');
  });

  it("tasks: every variant of every family on every seed, over the comparison's own overrides", () => {
    const tasks = sensitivity_tasks({ costs: { fence_signal_ns: 100 } }, [cost_entry_family('kworker_wakeup_ns', [2000, 100000])], [1, 2]);
    expect(tasks.map((t) => `${t.label}/${t.seed}`)).toEqual(['2000 ns/1', '2000 ns/2', '100000 ns/1', '100000 ns/2']);
    expect(tasks[0].costs).toEqual({ fence_signal_ns: 100, kworker_wakeup_ns: 2000 });
    expect(() => cost_entry_family('kworker_wakeup', [1, 2])).toThrow(/unknown cost entry/);
  });

  it('a verdict that flips with the cost table is reported as "depends on" it', () => {
    // A test-only drm_dep binding that breaks job_result only when kworker wake-ups are slow.
    const families = [cost_entry_family('kworker_wakeup_ns', [2000, 6000, 100000])];
    const s = run_sensitivity(sync_client, 'mock', planted_slow_wakeup, { families, seeds: [1, 2] });
    const f = s.families[0];
    expect(f.labels).toEqual(['2000 ns', '6000 ns', '100000 ns']);
    const g = f.items.find((m) => m.name === 'guarantee job_result')!;
    expect(g.by_variant.map((v) => v.verdict)).toEqual(['no regression', 'no regression', 'regression']);
    expect(g.robustness).toBe('depends');
    const md = sensitivity_markdown(s);
    expect(md).toContain('### kworker_wakeup_ns');
    expect(md).toContain('guarantee job_result (no regression at 2000 ns..6000 ns, regression at 100000 ns)');
    expect(sensitivity_text(s)).toContain('kworker_wakeup_ns: 2000 ns, 6000 ns, 100000 ns');
    expect(md).toBe(sensitivity_markdown(run_sensitivity(sync_client, 'mock', planted_slow_wakeup, { families, seeds: [1, 2] })));
  });
});
