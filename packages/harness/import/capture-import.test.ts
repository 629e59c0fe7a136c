/**
 * Real capture layouts through the importer: the same gpu_scheduler events printed as the
 * tracefs files, `trace-cmd report` (with and without -l) and `perf script` print them
 * (capture-gen.testlib.ts) import to the same workload, keep the DRM clients apart, say what
 * they skipped, and run through compare() on the mock GPU.
 */
import { describe, expect, it } from 'vitest';
import { format_diagnostic } from '../workload/diagnostics.ts';
import type { BatchStep, Step, Workload } from '../workload/types.ts';
import { find_driver } from '../drivers.ts';
import { compare } from '../run/compare.ts';
import { import_ftrace_workload } from './ftrace-import.ts';
import { parse_ftrace } from './ftrace-parse.ts';
import {
  CAPTURE_LAYOUTS, LAYOUT_NAMES, print_capture, sched_switch, scheduler_events, type CaptureJob, type CaptureLayout,
} from './capture-gen.testlib.ts';

/*
 * Two DRM clients of one process (client_id 7 and 9, both from pid 2210) on a shared ring
 * gfx_0.0.0, client 9 also on sdma0. 9:2 (sdma0) depends on 7's 77:2 (another client);
 * 7's 77:2 depends on its own 77:1.
 */
const JOBS: readonly CaptureJob[] = [
  { client_id: 7, comm: 'gnome-shell', pid: 2210, ring: 'gfx_0.0.0', context: 77, seqno: 1, queue_us: 100, run_us: 150, done_us: 1150 },
  { client_id: 9, comm: 'gnome-shell', pid: 2210, ring: 'gfx_0.0.0', context: 81, seqno: 1, queue_us: 120, run_us: 160, done_us: 1650 },
  { client_id: 7, comm: 'gnome-shell', pid: 2210, ring: 'gfx_0.0.0', context: 77, seqno: 2, queue_us: 300, run_us: 320, done_us: 2450, deps: [[77, 1]] },
  { client_id: 9, comm: 'gnome-shell', pid: 2210, ring: 'sdma0', context: 90, seqno: 2, queue_us: 310, run_us: 2460, done_us: 2760, deps: [[77, 2]] },
  { client_id: 9, comm: 'gnome-shell', pid: 2210, ring: 'sdma0', context: 90, seqno: 3, queue_us: 900, run_us: 2770, done_us: 2970 },
];

const EVENTS = [...scheduler_events(JOBS), sched_switch(200), sched_switch(2000)];

function imported(layout: CaptureLayout): Workload {
  const r = import_ftrace_workload(print_capture(EVENTS, layout), `capture.${layout}`, { engines: find_driver('mock')!.engines });
  if (!r.ok) throw new Error(r.errors.map(format_diagnostic).join('\n'));
  return r.workload;
}

const batches = (steps: readonly Step[]) => steps.filter((s): s is BatchStep => s.kind === 'batch');

/** The workload without what names its source (origins, notes), to compare layouts. */
function shape(w: Workload): unknown {
  return w.clients.map((c) => ({
    name: c.name, queues: c.queues.map((q) => q.name),
    steps: c.program.steps.map((s) => (s.kind === 'batch' ? { queue: s.queue, duration: s.duration, deps: s.deps, reads: s.reads, writes: s.writes } : s.kind === 'period' ? s.period_us : s.kind)),
  }));
}

describe('captures in each real layout', () => {
  it('the generator prints the layouts as the tools do', () => {
    const job = scheduler_events([JOBS[0]]);
    const line = (layout: CaptureLayout) => print_capture(job, layout).split('\n').find((l) => l.includes('drm_sched_job_queue'))!;
    const fields = 'dev=0000:03:00.0, fence=77:1, ring=gfx_0.0.0, job count:0, hw job count:0, client_id:7';
    expect(line('trace')).toBe(`     gnome-shell-2210    [002] .....  1520.000100: drm_sched_job_queue: ${fields}`);
    expect(line('trace-tgid')).toBe(`     gnome-shell-2210    (   2210) [002] .....  1520.000100: drm_sched_job_queue: ${fields}`);
    expect(line('trace-no-irq-info')).toBe(`     gnome-shell-2210    [002]   1520.000100: drm_sched_job_queue: ${fields}`);
    expect(line('trace-latency')).toBe(`gnome-sh-2210      2.....    0us+: drm_sched_job_queue: ${fields}`);
    expect(line('trace-cmd')).toBe(`     gnome-shell-2210  [002]  1520.000100: drm_sched_job_queue:  ${fields}`);
    expect(line('trace-cmd-l')).toBe(`gnome-sh-2210    2....  1520.000100: drm_sched_job_queue:  ${fields}`);
    expect(line('perf')).toBe(`     gnome-shell    2210 [002]  1520.000100: gpu_scheduler:drm_sched_job_queue: ${fields}`);
    expect(line('perf-ns')).toBe(`     gnome-shell    2210 [002]  1520.000100000: gpu_scheduler:drm_sched_job_queue: ${fields}`);
    expect(print_capture(job, 'trace-cmd').split('\n')[0]).toBe('cpus=8');
    // perf right-aligns event names to the longest: drm_sched_job_done is one shorter than _queue.
    expect(print_capture(job, 'perf')).toContain(']  1520.001150:  gpu_scheduler:drm_sched_job_done: fence=77:1 signaled');
  });

  for (const layout of CAPTURE_LAYOUTS) {
    describe(layout, () => {
      const w = imported(layout);

      it('is read as its layout, keeps client_id 7 and 9 apart, a queue per ring', () => {
        expect(parse_ftrace(print_capture(EVENTS, layout), layout).ok && w.notes[0].message).toBe(`read as ${LAYOUT_NAMES[layout]}: 5 jobs of 2 clients on 2 rings`);
        expect(w.clients.map((c) => [c.name, c.queues.map((q) => q.name), batches(c.program.steps).length])).toEqual([
          ['client-7', ['gfx_0.0.0'], 2], ['client-9', ['gfx_0.0.0', 'sdma0'], 3],
        ]);
      });

      it('keeps times, durations and dependencies', () => {
        const [a1, a2] = batches(w.clients[0].program.steps);
        const [b1, b2, b3] = batches(w.clients[1].program.steps);
        // gfx runs 77:1 (150 -> 1150), 81:1 (waits for it: 1150 -> 1650), 77:2 (1650 -> 2450).
        expect([a1, a2, b1, b2, b3].map((b) => (b.duration as { value_us: number }).value_us)).toEqual([1000, 800, 500, 300, 200]);
        expect(a2.deps).toEqual([{ on: 'step', step_index: 0, kind: 'data' }]);
        expect(a2.writes).toEqual(['job:77:2']);
        expect(b2.reads).toEqual(['job:77:2']);
        expect(w.clients[1].program.steps.map((s) => (s.kind === 'period' ? s.period_us : s.kind))).toEqual([20, 'batch', 210, 'batch', 800, 'batch']);
      });

      it('says which lines it skipped and why', () => {
        const skipped = w.notes.filter((n) => n.kind === 'ignored').map((n) => n.message);
        expect(skipped).toContainEqual(expect.stringMatching(/^skipped 2 lines \(lines \d+, \d+\): sched_switch: not an event the import reads$/));
      });

      it('runs through compare on the mock GPU', () => {
        const r = compare(w, 'mock', find_driver('mock')!.factory, { seeds: [1, 2] });
        expect(r.seeds).toEqual([1, 2]);
        expect(r.per_seed.map((s) => [s.baseline.metrics.jobs_submitted, s.candidate.metrics.jobs_submitted])).toEqual([[5, 5], [5, 5]]);
        expect(r.metrics.length).toBeGreaterThan(5);
        expect(r.per_seed.every((s) => s.baseline.stuck === null && s.candidate.stuck === null)).toBe(true);
      });
    });
  }

  it('every layout imports to the same workload', () => {
    const reference = shape(imported('trace'));
    for (const layout of CAPTURE_LAYOUTS) expect(shape(imported(layout)), layout).toEqual(reference);
  });

  it('a job waits for its ring only when the hw job count shows earlier jobs of its scheduler', () => {
    // Two schedulers named alike (panthor's "panthor-queue"), one job each, overlapping.
    const shared: CaptureJob[] = [
      { client_id: 1, comm: 'vkcube', pid: 400, ring: 'panthor-queue', scheduler: 'a', context: 5, seqno: 1, queue_us: 0, run_us: 10, done_us: 510 },
      { client_id: 1, comm: 'vkcube', pid: 400, ring: 'panthor-queue', scheduler: 'b', context: 6, seqno: 1, queue_us: 5, run_us: 20, done_us: 320 },
      { client_id: 1, comm: 'vkcube', pid: 400, ring: 'panthor-queue', scheduler: 'b', context: 6, seqno: 2, queue_us: 6, run_us: 30, done_us: 420 },
    ];
    const r = import_ftrace_workload(print_capture(scheduler_events(shared), 'trace'), 'shared');
    if (!r.ok) throw new Error(r.errors.map(format_diagnostic).join('\n'));
    // 6:1 ran alone on its scheduler (300 us, not 510 - 20); 6:2 waited for 6:1's done at 320.
    expect(batches(r.workload.clients[0].program.steps).map((b) => (b.duration as { value_us: number }).value_us)).toEqual([500, 300, 100]);
  });

  it('without client_id (the v6.16-rc layout) one client per queueing task', () => {
    const old = JOBS.map((j, i) => ({ ...j, client_id: null, pid: 2210 + (i % 2), comm: i % 2 === 0 ? 'gnome-shell' : 'Xwayland' }));
    const r = import_ftrace_workload(print_capture(scheduler_events(old), 'trace-cmd'), 'old');
    if (!r.ok) throw new Error(r.errors.map(format_diagnostic).join('\n'));
    expect(r.workload.clients.map((c) => c.name)).toEqual(['gnome-shell-2210', 'Xwayland-2211']);
  });
});
