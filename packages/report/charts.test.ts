/**
 * The chart layer: the numbers behind the charts, byte-stable SVG for the same comparison, and
 * one chart rendered to PNG (resvg) to check it shows what it says: the declared size, ink on
 * the canvas, and both backends' colours where the legend says they are.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import type { DeviceFactory } from '@deplab/driver-api';
import { MockDevice, mock_dep_backend, mock_sched_backend } from '@deplab/driver-mock';
import { compare, compare_seed, load_workload_json, type JobRecord, type Workload } from '@deplab/harness';
import { cdf_points, natural_compare, spread, step_peaks, timeline_window, type ChartRun } from './chart-data.ts';
import { CHARTS, chart_data, latency_cdf_svg, write_comparison_charts } from './charts.ts';
import { comparison_markdown } from './markdown.ts';
import { COLOUR, linear_scale, log_scale, num } from './svg.ts';

const mock: DeviceFactory = (k, backend, options) => new MockDevice(k, backend === 'sched' ? mock_sched_backend() : mock_dep_backend(), options);

function workload(obj: object): Workload {
  const r = load_workload_json(JSON.stringify({ name: 'charts-test', ...obj }), 'charts-test.json');
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.workload;
}

const two_queues = workload({
  clients: [
    { name: 'a', queues: [{ name: 'q', engine: 'render' }], program: { loops: 30, steps: [
      { batch: { queue: 'q', duration_us: [100, 900] } }, { delay: { us: { dist: 'exponential', mean_us: 300 } } }] } },
    { name: 'b', queues: [{ name: 'q', engine: 'render' }], program: { loops: 20, steps: [
      { batch: { queue: 'q', duration_us: [200, 400], deps: [{ client: 'a', queue: 'q', last: true }] } }, { sync: { step: -1 } }] } },
  ],
});

const result = compare(two_queues, 'mock', mock, { seeds: [1, 2, 3] });

function job(partial: Partial<JobRecord>): JobRecord {
  return {
    logical: 'c/q#0', client: 'c', queue: 'q', iteration: 0, submit_error: 0, submitted_ns: 0, queued_ns: 0, deps_resolved_ns: 0,
    run_ns: -1, hw_start_ns: -1, hw_done_ns: -1, finished_ns: -1, error: null, freed_ns: -1, timedout: false, deps: [], ring: null,
    situation: 'undisturbed', outcome: 'ok', ...partial,
  };
}

describe('chart numbers', () => {
  it('num() gives one decimal, no -0, and refuses non-finite coordinates', () => {
    expect([num(1), num(1.04), num(1.05), num(-0.01), num(1234.56)]).toEqual(['1', '1', '1.1', '0', '1234.6']);
    expect(() => num(NaN)).toThrow(RangeError);
  });

  it('scales: round ticks covering the data, exact time axes, log decades', () => {
    const s = linear_scale(0, 87, 0, 100);
    expect(s.ticks).toEqual([0, 20, 40, 60, 80, 100]);
    expect(s.map(100)).toBe(100);
    const t = linear_scale(3.2, 9.7, 0, 100, 6, true);
    expect([t.d0, t.d1]).toEqual([3.2, 9.7]);
    expect(t.ticks.every((x) => x >= 3.2 && x <= 9.7)).toBe(true);
    expect(log_scale(7, 2400, 0, 300).ticks.filter((x) => Math.log10(x) % 1 === 0)).toEqual([1, 10, 100, 1000, 10000]);
  });

  it('step_peaks: the peak count of overlapping intervals per column, ends before starts at equal times', () => {
    expect(step_peaks([[0, 10], [5, 15], [10, 20]], 0, 20, 4)).toEqual([1, 2, 2, 1]);
    // Back to back intervals never overlap.
    expect(step_peaks([[0, 10], [10, 20]], 0, 20, 1)).toEqual([1]);
    expect(step_peaks([], 0, 20, 2)).toEqual([0, 0]);
  });

  it('cdf_points: a fixed number of points from the minimum to the maximum', () => {
    const pts = cdf_points([5, 1, 3, 2, 4], 5);
    expect(pts).toEqual([[1, 0], [2, 0.25], [3, 0.5], [4, 0.75], [5, 1]]);
    expect(cdf_points([])).toEqual([]);
  });

  it('timeline_window ends when both backends have completed the given number of jobs', () => {
    const run = (ends: number[]): ChartRun => ({ jobs: ends.map((e, i) => job({ logical: `c/q#${i}`, submitted_ns: 100, run_ns: e - 10, hw_done_ns: e })), queues: [] });
    const w = timeline_window({ baseline: run([200, 300, 400, 500]), candidate: run([250, 350, 450, 550]) }, 2);
    expect(w).toEqual({ start_ns: 100, end_ns: 350, clipped: true });
  });

  it('natural order and even spreads', () => {
    expect(['c10', 'c2', 'c1'].sort(natural_compare)).toEqual(['c1', 'c2', 'c10']);
    expect(spread(3, 5)).toEqual([0, 1, 2]);
    expect(spread(100, 3)).toEqual([0, 50, 99]);
  });
});

describe('comparison charts', () => {
  it('are byte-identical for the same comparison, and every chart is a complete SVG document', () => {
    const a = chart_data(result, two_queues, mock), b = chart_data(result, two_queues, mock);
    for (const c of CHARTS) {
      const svg = c.render(a);
      expect(svg).toBe(c.render(b));
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      expect(svg).not.toMatch(/NaN|undefined|Infinity|id="/);
    }
  });

  it('the re-run seed reproduces the comparison: the kworker bars carry the per-seed metric and the records match seed 1', () => {
    const data = chart_data(result, two_queues, mock);
    expect(data.seed).toBe(1);
    expect(data.kworker?.baseline).toEqual(result.metrics.find((m) => m.name === 'kworker_wakeups_per_job')!.baseline);
    const seed1 = compare_seed(two_queues, mock, 1, {});
    expect(data.latency_n.baseline).toBe(seed1.baseline.sketch.count);
    expect(data.latency_n.candidate).toBe(seed1.candidate.sketch.count);
    // The re-run seed's exact CDF ends at the run's maximum.
    expect(data.latency_cdf.candidate.at(-1)![0]).toBe(seed1.candidate.sketch.max);
  });

  it('write_comparison_charts writes one SVG per chart and returns Markdown that links each', () => {
    const dir = mkdtempSync(join(tmpdir(), 'deplab-charts-'));
    const md = write_comparison_charts(result, two_queues, mock, dir, 'charts-test');
    const files = readdirSync(dir).sort();
    expect(files).toEqual(CHARTS.map((c) => `charts-test.${c.key}.svg`).sort());
    for (const f of files) expect(md).toContain(`](${f})`);
  });

  it('renders to a PNG of the declared size showing both backends in their legend colours', () => {
    const svg = latency_cdf_svg(chart_data(result, two_queues, mock));
    const image = new Resvg(svg, { fitTo: { mode: 'original' }, font: { loadSystemFonts: false } }).render();
    expect([image.width, image.height]).toEqual([760, 340]);
    const px = image.pixels; // RGBA
    const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    const count = (hex: string) => {
      const [r, g, b] = rgb(hex);
      let n = 0;
      for (let i = 0; i < px.length; i += 4) if (Math.abs(px[i] - r) < 8 && Math.abs(px[i + 1] - g) < 8 && Math.abs(px[i + 2] - b) < 8) n++;
      return n;
    };
    let ink = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i] < 250 || px[i + 1] < 250 || px[i + 2] < 250) ink++;
    expect(ink / (px.length / 4)).toBeGreaterThan(0.01);
    // Each backend's CDF line (and its legend swatch) is drawn in its colour.
    expect(count(COLOUR.sched)).toBeGreaterThan(200);
    expect(count(COLOUR.dep)).toBeGreaterThan(100);
  });

  it('comparison_markdown adds the Charts section only when given, after Performance', () => {
    const ctx = { command: 'npx deplab compare test', version: '0.1.0' };
    const plain = comparison_markdown(result, ctx);
    expect(plain).not.toContain('## Charts');
    const with_charts = comparison_markdown(result, { ...ctx, charts: '![x](x.svg)\n' });
    expect(with_charts.indexOf('## Charts')).toBeGreaterThan(with_charts.indexOf('## Performance'));
    expect(with_charts.indexOf('## Charts')).toBeLessThan(with_charts.indexOf('## Runs'));
    expect(with_charts.replace('## Charts\n\n![x](x.svg)\n\n', '')).toBe(plain);
  });
});
