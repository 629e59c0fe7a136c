/**
 * The comparison charts, as SVG files beside the Markdown report: latency CDFs, per-queue
 * timelines with dependency edges, queue depth over time, kworker wake-ups per job per seed and
 * teardown latency. Hand-written SVG (svg.ts) rather than a plotting library: five simple
 * chart types, byte-stable output and nothing added to the command's bundle, which every
 * worker thread loads (docs/reports.md).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ComparedBackend, DeviceFactory } from '@deplab/driver-api';
import type { ComparisonResult, JobRecord, Workload } from '@deplab/harness';
import {
  BACKENDS, BACKEND_LABEL, cdf_points, chart_data, depth_series, job_end_ns, lane_of, lane_order, run_span, spread,
  teardown_rows, timeline_window, type ChartData, type ChartOptions, type TeardownRow,
} from './chart-data.ts';
import { COLOUR, SvgDocument, axis_bottom, axis_left, legend, linear_scale, log_scale, tick_label, type Scale } from './svg.ts';

const WIDTH = 760;
const LEFT = 70, RIGHT = 20;
const PLOT_RIGHT = WIDTH - RIGHT;

const colour = (b: ComparedBackend) => (b === 'sched' ? COLOUR.sched : COLOUR.dep);
const light = (b: ComparedBackend) => (b === 'sched' ? COLOUR.sched_light : COLOUR.dep_light);

function header(svg: SvgDocument, title: string, subtitle: string): void {
  svg.text(LEFT, 20, title, { 'font-size': 14, 'font-weight': 'bold' });
  svg.text(LEFT, 36, subtitle, { fill: COLOUR.muted });
}

/** Round a value to three significant digits for labels. */
function short(x: number): string {
  return tick_label(Number(x.toPrecision(3)));
}

/** 1. submit -> finished latency CDF, one line per backend; a log axis when the range is wide. */
export function latency_cdf_svg(data: ChartData): string {
  const height = 340, top = 70, bottom = height - 50;
  const svg = new SvgDocument(WIDTH, height, `${data.workload} on ${data.driver}: submit to finished latency CDF`,
    'Empirical cumulative distribution of the time from the submit ioctl to the out-fence signalling, per backend.');
  const all = [...data.latency_us.sched, ...data.latency_us.dep].filter((x) => x > 0);
  const seeds = data.latency_seeds === 1 ? `seed ${data.seed}` : `${data.latency_seeds} seeds pooled`;
  if (all.length === 0) {
    header(svg, 'submit → finished latency', `${seeds}: no job finished`);
    return svg.toString();
  }
  const lo = Math.min(...all), hi = Math.max(...all);
  const use_log = hi / lo > 50;
  const x = use_log ? log_scale(lo, hi, LEFT, PLOT_RIGHT) : linear_scale(0, hi, LEFT, PLOT_RIGHT);
  const y = linear_scale(0, 1, bottom, top, 5);
  header(svg, 'submit → finished latency, cumulative distribution', `${data.workload} on ${data.driver}, ${seeds}${use_log ? ', log scale' : ''}`);
  axis_left(svg, y, LEFT, PLOT_RIGHT, 'fraction of jobs');
  axis_bottom(svg, x, bottom, top, 'submit → finished (µs)');
  const items = [];
  for (const b of BACKENDS) {
    const pts = cdf_points(data.latency_us[b]);
    if (pts.length === 0) continue;
    // Steps: hold each probability until the next value.
    const path: [number, number][] = [];
    pts.forEach(([v, p], i) => {
      if (i > 0) path.push([x.map(v), y.map(pts[i - 1][1])]);
      path.push([x.map(v), y.map(p)]);
    });
    svg.polyline(path, { stroke: colour(b), 'stroke-width': 2, ...(b === 'dep' ? { 'stroke-dasharray': '6 3' } : {}) });
    const p50 = pts[Math.round(0.5 * (pts.length - 1))][0], p99 = pts[Math.round(0.99 * (pts.length - 1))][0];
    items.push({ label: `${BACKEND_LABEL[b]} (n=${data.latency_us[b].length}, p50 ${short(p50)}, p99 ${short(p99)} µs)`, colour: colour(b), dashed: b === 'dep' });
  }
  legend(svg, LEFT, 56, items);
  return svg.toString();
}

const LANES_MAX = 16;
const TIMELINE_JOBS = 40;
/** Bars per panel at most (drm_sched may start hundreds of pipelined jobs in the window). */
const BARS_MAX = 300;
const EDGES_MAX = 400;

/** 2. Per-queue timelines: one lane per queue, a bar per job on the hardware, dependency edges. */
export function timeline_svg(data: ChartData): string {
  const lanes_all = lane_order(data.runs);
  const lanes = lanes_all.slice(0, LANES_MAX);
  const lane_h = 16, panel_gap = 46, top = 78;
  const panel_h = lanes.length * lane_h + 10;
  const height = top + 2 * panel_h + panel_gap + 50;
  const win = timeline_window(data.runs, TIMELINE_JOBS);
  const x = linear_scale(win.start_ns / 1e6, win.end_ns / 1e6, LEFT + 90, PLOT_RIGHT, 6, true);
  const svg = new SvgDocument(WIDTH, height, `${data.workload} on ${data.driver}: per-queue timelines`,
    'For each backend, one lane per queue: thin line from push to run_job, bar from run_job to the hardware fence, grey lines from a dependency\'s end to the start of the job waiting on it.');
  const notes = [`seed ${data.seed}`, win.clipped ? `until ${TIMELINE_JOBS} jobs completed on each backend` : 'whole run'];
  if (lanes_all.length > lanes.length) notes.push(`${lanes.length} of ${lanes_all.length} queues`);
  header(svg, 'Per-queue timelines: drm_sched (top) and drm_dep (bottom)', `${data.workload} on ${data.driver}, ${notes.join(', ')}`);
  legend(svg, LEFT, 58, [
    { label: 'pushed, waiting', colour: COLOUR.muted },
    { label: 'drm_sched on the hardware', colour: COLOUR.sched, shape: 'box' },
    { label: 'drm_dep on the hardware', colour: COLOUR.dep, shape: 'box' },
    { label: 'dependency', colour: '#999999' },
  ]);
  BACKENDS.forEach((b, i) => {
    const panel_top = top + i * (panel_h + panel_gap);
    timeline_panel(svg, data.runs[b].jobs, b, lanes, x, panel_top, lane_h, win.end_ns);
    axis_bottom(svg, x, panel_top + panel_h, panel_top, i === 1 ? 'virtual time (ms)' : '');
  });
  return svg.toString();
}

function timeline_panel(svg: SvgDocument, jobs: readonly JobRecord[], b: ComparedBackend, lanes: readonly string[], x: Scale,
  top: number, lane_h: number, end_ns: number): void {
  const lane_y = new Map(lanes.map((l, i) => [l, top + 5 + i * lane_h]));
  svg.text(LEFT - 60, top - 4, BACKEND_LABEL[b], { 'font-weight': 'bold', fill: colour(b) });
  for (const [lane, y] of lane_y) svg.text(LEFT + 84, y + 10, lane.length > 22 ? `…${lane.slice(-21)}` : lane, { 'text-anchor': 'end', 'font-size': 10 });
  const t_ms = (ns: number) => x.map(Math.min(ns, end_ns) / 1e6);
  const by_logical = new Map(jobs.map((j) => [j.logical, j]));
  const drawn = jobs.filter((j) => lane_y.has(lane_of(j)) && j.run_ns >= 0 && j.run_ns <= end_ns)
    .sort((p, q) => p.run_ns - q.run_ns).slice(0, BARS_MAX);
  for (const j of drawn) {
    const y = lane_y.get(lane_of(j))!;
    const pushed = j.queued_ns >= 0 ? j.queued_ns : j.submitted_ns;
    if (j.run_ns > pushed) svg.line(t_ms(pushed), y + 6, t_ms(j.run_ns), y + 6, { stroke: COLOUR.muted, 'stroke-width': 1 });
    const end = job_end_ns(j);
    const x0 = t_ms(j.run_ns), x1 = end >= 0 ? t_ms(end) : x.r1;
    const errored = j.error !== null && j.error !== 0;
    // Translucent: on drm_sched several jobs of a queue can be on the hardware at once.
    svg.rect(x0, y + 1, Math.max(1, x1 - x0), 10, { fill: colour(b), 'fill-opacity': 0.6, ...(errored ? { stroke: COLOUR.error, 'stroke-width': 1.5 } : {}) });
  }
  let edges = 0;
  for (const j of drawn) {
    for (const d of j.deps) {
      const dep = by_logical.get(d);
      if (dep === undefined || !lane_y.has(lane_of(dep)) || edges >= EDGES_MAX) continue;
      const dep_end = job_end_ns(dep);
      if (dep_end < 0 || dep_end > end_ns) continue;
      const y0 = lane_y.get(lane_of(dep))! + 6, y1 = lane_y.get(lane_of(j))! + 6;
      svg.line(t_ms(dep_end), y0, t_ms(j.run_ns), y1, { stroke: '#999999', 'stroke-width': 0.8 });
      svg.rect(t_ms(j.run_ns) - 1.5, y1 - 1.5, 3, 3, { fill: '#555555' });
      edges++;
    }
  }
}

const COLUMNS = 345;

/** 3. Jobs waiting in the scheduler and jobs on the hardware over time, both backends per panel. */
export function depth_svg(data: ChartData): string {
  const panel_h = 150, gap = 60, top = 78;
  const height = top + 2 * panel_h + gap + 50;
  const span = run_span(data.runs);
  const series = { sched: depth_series(data.runs.sched, span.start_ns, span.end_ns, COLUMNS), dep: depth_series(data.runs.dep, span.start_ns, span.end_ns, COLUMNS) };
  const x = linear_scale(span.start_ns / 1e6, span.end_ns / 1e6, LEFT, PLOT_RIGHT, 6, true);
  const svg = new SvgDocument(WIDTH, height, `${data.workload} on ${data.driver}: queue depth over time`,
    'Top: jobs pushed to the scheduler and not yet given to run_job. Bottom: jobs between run_job and their hardware fence (credits in use at one credit per job). Each column shows the peak in its interval.');
  header(svg, 'Queue depth over time', `${data.workload} on ${data.driver}, seed ${data.seed}, peak per ${short((span.end_ns - span.start_ns) / COLUMNS / 1000)} µs column`);
  legend(svg, LEFT, 58, BACKENDS.map((b) => ({ label: BACKEND_LABEL[b], colour: colour(b), dashed: b === 'dep' })));
  const panels: { key: 'waiting' | 'on_hw'; title: string }[] = [
    { key: 'waiting', title: 'jobs waiting in the scheduler (pushed, before run_job)' },
    { key: 'on_hw', title: 'jobs on the hardware (run_job → hardware fence)' },
  ];
  panels.forEach((p, i) => {
    const panel_top = top + i * (panel_h + gap);
    const max = Math.max(1, ...series.sched[p.key], ...series.dep[p.key]);
    const y = linear_scale(0, max, panel_top + panel_h, panel_top + 14, 4);
    svg.text(LEFT, panel_top + 8, p.title, { 'font-weight': 'bold' });
    axis_left(svg, y, LEFT, PLOT_RIGHT, 'jobs');
    axis_bottom(svg, x, panel_top + panel_h, panel_top + 14, i === 1 ? 'virtual time (ms)' : '');
    for (const b of BACKENDS) {
      svg.polyline(step_points(series[b][p.key], span.start_ns / 1e6, span.end_ns / 1e6, x, y), { stroke: colour(b), 'stroke-width': b === 'sched' ? 2 : 1.5, ...(b === 'dep' ? { 'stroke-dasharray': '5 2' } : {}) });
    }
  });
  return svg.toString();
}

/** A step line through per-column peaks; columns cover [start_ms, end_ms) evenly. */
function step_points(peaks: readonly number[], start_ms: number, end_ms: number, x: Scale, y: Scale): [number, number][] {
  const pts: [number, number][] = [];
  const col_ms = (end_ms - start_ms) / peaks.length;
  let prev = -1;
  peaks.forEach((v, c) => {
    if (v === prev) return;
    const px = x.map(start_ms + c * col_ms);
    if (prev >= 0) pts.push([px, y.map(prev)]);
    pts.push([px, y.map(v)]);
    prev = v;
  });
  if (peaks.length > 0) pts.push([x.map(end_ms), y.map(peaks[peaks.length - 1])]);
  return pts;
}

const SEEDS_MAX = 40;

/** 4. kworker wake-ups per job, a pair of bars per seed. */
export function kworker_svg(data: ChartData): string {
  const height = 300, top = 70, bottom = height - 50;
  const svg = new SvgDocument(WIDTH, height, `${data.workload} on ${data.driver}: kworker wake-ups per job per seed`,
    'For each seed of the comparison, the number of times an idle kworker was woken, divided by the jobs submitted, per backend.');
  const k = data.kworker;
  if (k === null || k.seeds.length === 0) {
    header(svg, 'kworker wake-ups per job', 'no data');
    return svg.toString();
  }
  const n = Math.min(k.seeds.length, SEEDS_MAX);
  header(svg, 'kworker wake-ups per job, per seed', `${data.workload} on ${data.driver}, ${n === k.seeds.length ? `${n} seeds` : `first ${n} of ${k.seeds.length} seeds`}`);
  legend(svg, LEFT, 56, BACKENDS.map((b) => ({ label: BACKEND_LABEL[b], colour: colour(b), shape: 'box' as const })));
  const y = linear_scale(0, Math.max(0.1, ...k.sched.slice(0, n), ...k.dep.slice(0, n)), bottom, top, 5);
  axis_left(svg, y, LEFT, PLOT_RIGHT, 'wake-ups per job');
  const slot = (PLOT_RIGHT - LEFT) / n;
  const bar = Math.min(18, slot * 0.38);
  svg.line(LEFT, bottom, PLOT_RIGHT, bottom, { stroke: COLOUR.axis });
  for (let i = 0; i < n; i++) {
    const cx = LEFT + slot * (i + 0.5);
    svg.rect(cx - bar, y.map(k.sched[i]), bar, bottom - y.map(k.sched[i]), { fill: COLOUR.sched });
    svg.rect(cx, y.map(k.dep[i]), bar, bottom - y.map(k.dep[i]), { fill: COLOUR.dep });
    if (n <= 20 || i % Math.ceil(n / 20) === 0) svg.text(cx, bottom + 15, String(k.seeds[i]), { 'text-anchor': 'middle' });
  }
  svg.text((LEFT + PLOT_RIGHT) / 2, bottom + 30, 'seed', { 'text-anchor': 'middle' });
  return svg.toString();
}

const TEARDOWN_ROWS = 48;

/** 5. Teardown: per queue, destroy call → return (dark) → last job freed (light), per backend. */
export function teardown_svg(data: ChartData): string {
  const rows = { sched: teardown_rows(data.runs.sched), dep: teardown_rows(data.runs.dep) };
  const shown = { sched: spread(rows.sched.length, TEARDOWN_ROWS).map((i) => rows.sched[i]), dep: spread(rows.dep.length, TEARDOWN_ROWS).map((i) => rows.dep[i]) };
  const count = Math.max(shown.sched.length, shown.dep.length, 1);
  const row_h = count <= 16 ? 12 : count <= 32 ? 8 : 6;
  const top = 78, gap = 50;
  const panel_h = count * row_h + 8;
  const height = top + 2 * panel_h + gap + 50;
  const max = Math.max(1, ...[...rows.sched, ...rows.dep].flatMap((r) => [r.return_us, r.release_us]));
  const x = linear_scale(0, max, LEFT + 90, PLOT_RIGHT);
  const svg = new SvgDocument(WIDTH, height, `${data.workload} on ${data.driver}: teardown latency`,
    'For each queue, from the destroy (or client close) call: dark bar until the call returned, light bar until the last job of the queue was freed, tick at that moment.');
  const total = Math.max(rows.sched.length, rows.dep.length);
  header(svg, 'Teardown latency: destroy call → return → last job freed', `${data.workload} on ${data.driver}, seed ${data.seed}, ${total > TEARDOWN_ROWS ? `${TEARDOWN_ROWS} of ${total} queues` : `${total} queues`}, in destroy order`);
  legend(svg, LEFT, 58, [
    { label: 'call → return (dark)', colour: COLOUR.sched, shape: 'box' },
    { label: 'return → last job freed (light, tick at the free)', colour: COLOUR.sched_light, shape: 'box' },
    { label: 'never freed', colour: COLOUR.error, dashed: true },
  ]);
  BACKENDS.forEach((b, i) => {
    const panel_top = top + i * (panel_h + gap);
    svg.text(LEFT - 60, panel_top - 4, BACKEND_LABEL[b], { 'font-weight': 'bold', fill: colour(b) });
    teardown_panel(svg, shown[b], b, x, panel_top, row_h);
    axis_bottom(svg, x, panel_top + panel_h, panel_top, i === 1 ? 'µs since the destroy call' : '');
  });
  return svg.toString();
}

function teardown_panel(svg: SvgDocument, rows: readonly TeardownRow[], b: ComparedBackend, x: Scale, top: number, row_h: number): void {
  const bar_h = Math.max(3, row_h - 2);
  rows.forEach((r, i) => {
    const y = top + 4 + i * row_h;
    if (row_h >= 8) svg.text(LEFT + 84, y + bar_h - 1, r.queue.length > 22 ? `…${r.queue.slice(-21)}` : r.queue, { 'text-anchor': 'end', 'font-size': Math.min(10, row_h) });
    const x0 = x.map(0), xr = x.map(r.return_us);
    svg.rect(x0, y, Math.max(1, xr - x0), bar_h, { fill: colour(b) });
    if (r.release_us < 0) {
      svg.line(xr, y + bar_h / 2, x.r1, y + bar_h / 2, { stroke: COLOUR.error, 'stroke-dasharray': '3 2' });
      return;
    }
    const xf = x.map(r.release_us);
    if (xf > xr) svg.rect(xr, y, xf - xr, bar_h, { fill: light(b) });
    svg.line(xf, y - 1, xf, y + bar_h + 1, { stroke: COLOUR.text, 'stroke-width': 1 });
  });
}

/** The charts of a comparison report, in the order the report shows them. */
export const CHARTS: readonly { readonly key: string; readonly title: string; readonly caption: string; readonly render: (d: ChartData) => string }[] = [
  { key: 'latency-cdf', title: 'Latency CDF', render: latency_cdf_svg,
    caption: 'submit → finished latency per backend: the further left and the steeper, the better; a gap between the lines at the top is a tail-latency difference.' },
  { key: 'timeline', title: 'Per-queue timelines', render: timeline_svg,
    caption: 'one lane per queue, drm_sched above drm_dep on the same time axis: bars are jobs on the hardware, thin lines the wait from push to run_job, grey lines dependency edges.' },
  { key: 'depth', title: 'Queue depth over time', render: depth_svg,
    caption: 'jobs waiting in the scheduler (top) and jobs on the hardware (bottom) over the run, per backend.' },
  { key: 'kworker', title: 'kworker wake-ups per job', render: kworker_svg,
    caption: 'one pair of bars per seed: how often a job needed an idle kworker to be woken.' },
  { key: 'teardown', title: 'Teardown latency', render: teardown_svg,
    caption: 'per queue, from the destroy call: dark until the call returned, light until the last job was freed.' },
];

/**
 * Re-run one seed of `result`, write every chart as `<dir>/<basename>.<chart>.svg` and return
 * the Markdown that shows them (image paths relative to a report in the same directory).
 */
export function write_comparison_charts(result: ComparisonResult, workload: Workload, factory: DeviceFactory, dir: string,
  basename: string, options: ChartOptions = {}): string {
  const data = chart_data(result, workload, factory, options);
  mkdirSync(dir, { recursive: true });
  const lines: string[] = [`Seed ${data.seed} re-run on both backends for the per-job charts; how to read them: [docs/reports.md](../../docs/reports.md#charts).`, ''];
  for (const c of CHARTS) {
    const file = `${basename}.${c.key}.svg`;
    writeFileSync(join(dir, file), c.render(data));
    lines.push(`**${c.title}**: ${c.caption}`, '', `![${c.title}: ${data.workload} on ${data.driver}](${file})`, '');
  }
  return lines.join('\n');
}

export { chart_data, type ChartData, type ChartOptions } from './chart-data.ts';
