/**
 * ftrace text export: the line and header format, the upstream gpu_scheduler field formats,
 * and the round trip export -> parse_ftrace (the same job events, times and fence ids) ->
 * import_ftrace_workload -> replay.
 */
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '@deplab/sim';
import { import_ftrace_workload, parse_ftrace, run_workload, type FtraceJobEvent, type RunOutcome } from '@deplab/harness';
import { ftrace_text, run_ftrace } from './index.ts';
import { FIXTURE_COSTS, fixture_run, mock } from './trace-fixtures.testlib.ts';

/** The line regex of Perfetto's systrace tokenizer (src/trace_processor/importers/systrace). */
const PERFETTO_LINE = /-(\d+)\s+\(?\s*(\d+|-+)?\)?\s?\[(\d+)\]\s*[a-zA-Z0-9.]{0,5}\s+(\d+\.\d+):\s+(\S+):/;

const JOB = /^drm_(?:sched|dep)_job_(queue|run|done|add_dep|unschedulable|free|timedout)$/;

/** What the parser must give back for a model's job event, at ftrace's microsecond resolution. */
function expected(e: TraceEvent, device: string): Partial<FtraceJobEvent> {
  const kind = JOB.exec(e.name)![1];
  const a = e.args;
  const out: Record<string, unknown> = {
    kind, time_ns: Math.floor(e.t_ns / 1000) * 1000, task: e.context, fence_context: a.fence_context, fence_seqno: a.fence_seqno,
  };
  if (kind === 'queue' || kind === 'run') Object.assign(out, { dev: device, ring: a.ring, job_count: a.job_count, hw_job_count: a.hw_job_count, client_id: a.client_id });
  if (kind === 'add_dep' || kind === 'unschedulable') Object.assign(out, { dep_context: a.dep_context, dep_seqno: a.dep_seqno });
  if (kind === 'timedout') out.status = a.status;
  return out as Partial<FtraceJobEvent>;
}

function job_events_in_time_order(run: RunOutcome): TraceEvent[] {
  return run.kernel.trace.events.map((e, i) => ({ e, i })).filter(({ e }) => JOB.test(e.name))
    .sort((x, y) => x.e.t_ns - y.e.t_ns || x.i - y.i).map(({ e }) => e);
}

describe('ftrace text export', () => {
  for (const backend of ['sched', 'dep'] as const) {
    describe(`of a drm_${backend} run`, () => {
      const run = fixture_run(backend);
      const text = run_ftrace(run);
      const lines = text.split('\n').filter((l) => l !== '');

      it('starts with the nop tracer header and counts its entries', () => {
        expect(lines[0]).toBe('# tracer: nop');
        const events = lines.filter((l) => !l.startsWith('#'));
        expect(text).toContain(`# entries-in-buffer/entries-written: ${events.length}/${events.length}   #P:8`);
        expect(lines.some((l) => l === '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION')).toBe(true);
      });

      it('writes every event line so that Perfetto\'s systrace tokenizer reads it', () => {
        for (const l of lines.filter((x) => !x.startsWith('#'))) expect(l).toMatch(PERFETTO_LINE);
      });

      it('uses the upstream gpu_scheduler field formats', () => {
        const by_event = (name: string) => lines.find((l) => l.includes(`: ${name}: `))!;
        expect(by_event('drm_sched_job_queue')).toMatch(/: drm_sched_job_queue: dev=mock, fence=\d+:\d+, ring=\S+, job count:\d+, hw job count:-?\d+, client_id:\d+$/);
        expect(by_event('drm_sched_job_run')).toMatch(/: drm_sched_job_run: dev=mock, fence=\d+:\d+, ring=\S+, job count:\d+, hw job count:-?\d+, client_id:\d+$/);
        expect(by_event('drm_sched_job_done')).toMatch(/: drm_sched_job_done: fence=\d+:\d+ signaled$/);
        expect(by_event('dma_fence_signaled')).toMatch(/: dma_fence_signaled: driver=\S+ timeline=\S+ context=\d+ seqno=\d+$/);
        expect(by_event('workqueue_execute_start')).toMatch(/: workqueue_execute_start: work struct [0-9a-f]{16}: function \S+$/);
        expect(lines.filter((l) => !l.startsWith('#')).every((l) => !/drm_dep_job_/.test(l))).toBe(true);
        if (backend === 'dep') expect(by_event('drm_sched_job_add_dep')).toMatch(/: drm_sched_job_add_dep: fence=\d+:\d+ depends on fence=\d+:\d+$/);
        if (backend === 'dep') expect(by_event('drm_sched_job_unschedulable')).toMatch(/depends on unsignalled fence=\d+:\d+$/);
      });

      it('marks hardirq lines with the h flag on CPU 0', () => {
        const irq = lines.find((l) => l.includes('hardirq/hrtimer-'))!;
        expect(irq).toMatch(/\[000\] d\.h1\. /);
      });

      it('parses back to the same job events, times and fence ids', () => {
        const parsed = parse_ftrace(text, 'export');
        if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
        const want = job_events_in_time_order(run).map((e) => expected(e, 'mock'));
        expect(parsed.trace.jobs.length).toBe(want.length);
        parsed.trace.jobs.forEach((got, i) => expect(got).toMatchObject(want[i]));
        expect(parsed.trace.notes).toEqual([]);
      });

      it('imports as a workload that replays the same submissions', () => {
        const imported = import_ftrace_workload(text, `replay-${backend}`, { engines: ['render'] });
        if (!imported.ok) throw new Error(JSON.stringify(imported.errors));
        const w = imported.workload;
        const batches = w.clients.flatMap((c) => c.program.steps.filter((s) => s.kind === 'batch'));
        expect(batches.length).toBe(run.jobs.filter((j) => j.submit_error === 0).length);
        const replay = run_workload(w, mock, backend, { seed: 1, costs: FIXTURE_COSTS, device: { driver: { timeout_ms: 20 } }, drain_ms: 200 });
        expect(replay.stuck).toBe(null);
        expect(replay.jobs.filter((j) => j.submit_error === 0).length).toBe(batches.length);
        // Submissions land where the capture had them, plus the replaying thread's wake-up
        // latency after each sleep (process_wakeup_ns, 6 us in the constant profile) and submit cost.
        const queued = (r: RunOutcome) => r.kernel.trace.events.filter((e) => /_job_queue$/.test(e.name)).map((e) => e.t_ns).sort((a, b) => a - b);
        const original = queued(run), replayed = queued(replay);
        const t0 = original[0];
        replayed.forEach((t, i) => expect(Math.abs((t - replayed[0]) - (original[i] - t0))).toBeLessThan(10_000));
      });

      it('is deterministic', () => {
        expect(run_ftrace(fixture_run(backend))).toBe(text);
      });
    });
  }

  it('writes events of any other kind as key=value lines, and sorts by time', () => {
    const text = ftrace_text([
      { t_ns: 2_000_500, name: 'violation', context: 'kworker/x/0', args: { kind: 'sleep_in_atomic', site: 'f', message: 'may sleep here' } },
      { t_ns: 1_000_000, name: 'drm_dep_job_done', context: 'irq/gpu', args: { fence_context: 5, fence_seqno: 9 } },
    ], { device: 'card0', markers: false });
    const events = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(events).toEqual([
      '         irq/gpu-100     [000] d.h1.     0.001000: drm_sched_job_done: fence=5:9 signaled',
      '     kworker/x/0-101     [001] .....     0.002000: violation: kind=sleep_in_atomic site=f message="may sleep here"',
    ]);
  });
});
