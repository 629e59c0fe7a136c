/**
 * ftrace text export: the line and header format, the upstream gpu_scheduler field formats,
 * and the round trip export -> parse_ftrace (the same job events, times and fence ids) ->
 * import_ftrace_workload -> replay.
 */
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '@deplab/sim';
import { find_driver, import_ftrace_workload, load_workload_json, parse_ftrace, run_workload, type FtraceJobEvent, type RunOutcome, type Workload } from '@deplab/harness';
import { ftrace_text, run_ftrace } from './index.ts';
import { FIXTURE_COSTS, fixture_run, mock } from './trace-fixtures.testlib.ts';

/** The line regex of Perfetto's systrace tokenizer (src/trace_processor/importers/systrace). */
const PERFETTO_LINE = /-(\d+)\s+\(?\s*(\d+|-+)?\)?\s?\[(\d+)\]\s*[a-zA-Z0-9.]{0,5}\s+(\d+\.\d+):\s+(\S+):/;

const JOB = /^drm_(?:sched|dep)_job_(queue|run|done|add_dep|unschedulable|free|timedout)$/;

/** The events an export may write under their upstream names: the formats of FTRACE_FORMATS with upstream names, and trace markers. */
const UPSTREAM_EVENTS = new Set([
  'drm_sched_job_queue', 'drm_sched_job_run', 'drm_sched_job_done', 'drm_sched_job_add_dep', 'drm_sched_job_unschedulable',
  'dma_fence_init', 'dma_fence_signaled', 'dma_fence_destroy', 'workqueue_queue_work', 'workqueue_execute_start', 'workqueue_execute_end',
  'hrtimer_expire_entry', 'tracing_mark_write',
]);

/** What the parser must give back for a model's job event, at ftrace's microsecond resolution. */
function expected(e: TraceEvent, device: string): Partial<FtraceJobEvent> {
  const kind = JOB.exec(e.name)![1];
  const a = e.args;
  const out: Record<string, unknown> = {
    kind, time_ns: Math.floor(e.t_ns / 1000) * 1000, task: e.context.slice(0, 15), fence_context: a.fence_context, fence_seqno: a.fence_seqno,
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

      it('cites the header the formats live in', () => {
        expect(lines).toContain('# deplab: gpu_scheduler formats of drivers/gpu/drm/scheduler/gpu_scheduler_trace.h at torvalds/linux 45215c589e7f'
          + (backend === 'dep' ? '; drm_dep_job_* events are written as drm_sched_job_*' : ''));
      });

      it('prints the work and timer function symbols for %ps', () => {
        const functions = new Set(lines.filter((l) => /: (workqueue_execute_start|hrtimer_expire_entry): /.test(l)).map((l) => /function[ =](\S+)/.exec(l)![1]));
        const work = backend === 'sched' ? ['drm_sched_run_job_work', 'drm_sched_free_job_work', 'drm_sched_job_timedout'] : ['drm_dep_queue_run_job_work', 'drm_dep_queue_tdr_work'];
        for (const f of [...work, 'mock_hw_job_signal_timer']) expect(functions, f).toContain(f);
        for (const f of functions) expect(f).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
      });

      it('writes events upstream does not have under a deplab_ prefix', () => {
        const names = new Set(lines.filter((l) => !l.startsWith('#')).map((l) => /\d+\.\d{6}: (\S+): /.exec(l)![1]));
        for (const name of names) expect(UPSTREAM_EVENTS.has(name) || name.startsWith('deplab_'), name).toBe(true);
        expect(names).toContain('deplab_job_free');
        expect(names).toContain('deplab_job_timedout');
        expect(names).toContain('deplab_job_hw_start');
        expect([...names].some((n) => n.startsWith('deplab_deplab_'))).toBe(false);
        expect(names).toContain('deplab_harness_close_client');
        expect([...names].some((n) => /^drm_sched_job_(free|timedout)$/.test(n))).toBe(false);
      });

      it('cuts comms to 15 characters, as TASK_COMM_LEN does', () => {
        const comms = lines.filter((l) => !l.startsWith('#')).map((l) => /^\s*(.*)-\d+\s+\[/.exec(l)![1]);
        expect(Math.max(...comms.map((c) => c.length))).toBe(15);
        expect(comms).toContain('kworker/drm-moc');
      });

      it('parses back to the same job events, times and fence ids', () => {
        const parsed = parse_ftrace(text, 'export');
        if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
        const want = job_events_in_time_order(run).map((e) => expected(e, 'mock'));
        expect(parsed.trace.jobs.length).toBe(want.length);
        parsed.trace.jobs.forEach((got, i) => expect(got).toMatchObject(want[i]));
        expect(parsed.trace.skipped).toEqual([]);
      });

      it('imports as a workload that replays the same submissions', () => {
        const imported = import_ftrace_workload(text, `replay-${backend}`, { engines: ['render'] });
        if (!imported.ok) throw new Error(JSON.stringify(imported.errors));
        const w = imported.workload;
        const batches = w.clients.flatMap((c) => c.program.steps.filter((s) => s.kind === 'batch'));
        expect(batches.length).toBe(run.jobs!.filter((j) => j.submit_error === 0).length);
        const replay = run_workload(w, mock, backend, { seed: 1, costs: FIXTURE_COSTS, device: { driver: { timeout_ms: 20 } }, drain_ms: 200, record: true, monitor: { retain: true } });
        expect(replay.stuck).toBe(null);
        expect(replay.jobs!.filter((j) => j.submit_error === 0).length).toBe(batches.length);
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

  it('writes events of any other kind as deplab_ key=value lines, and sorts by time', () => {
    const text = ftrace_text([
      { t_ns: 2_000_500, name: 'violation', context: 'kworker/x/0', args: { kind: 'sleep_in_atomic', site: 'f', message: 'may sleep here' } },
      { t_ns: 1_000_000, name: 'drm_dep_job_done', context: 'irq/gpu', args: { fence_context: 5, fence_seqno: 9 } },
    ], { device: 'card0', markers: false });
    const events = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(events).toEqual([
      '         irq/gpu-100     [000] d.h1.     0.001000: drm_sched_job_done: fence=5:9 signaled',
      '     kworker/x/0-101     [001] .....     0.002000: deplab_violation: kind=sleep_in_atomic site=f message="may sleep here"',
    ]);
  });
});

/*
 * Round trip: a run exported as ftrace text, imported back (import_ftrace_workload) and run
 * again gives the original job stream: the same clients, queues, job counts, dependencies and
 * durations. xe gives each DRM file its own client_id and each exec queue its own ring (the
 * mock's jobs all carry client_id 1, as upstream's mock scheduler sets it, so a mock capture
 * cannot tell its clients apart).
 */
describe('round trip: export -> import -> run gives the original job stream', () => {
  const xe = find_driver('xe')!;
  const loaded = load_workload_json(JSON.stringify({
    name: 'round-trip',
    clients: [
      { name: 'producer', queues: [{ name: 'q1', engine: 'render' }, { name: 'q2', engine: 'render' }], program: { loops: 3, steps: [
        { batch: { queue: 'q1', duration_us: 300 } }, { batch: { queue: 'q2', duration_us: 200, deps: [{ step: -1 }] } }, { delay: { us: 1000 } }] } },
      { name: 'consumer', queues: [{ name: 'q', engine: 'render' }], program: { loops: 4, steps: [
        { batch: { queue: 'q', duration_us: 150, deps: [{ client: 'producer', queue: 'q1', last: true }] } }, { delay: { us: 700 } }] } },
    ],
  }), 'round-trip.json');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));

  interface StreamJob { queue: number; deps: string[]; duration_us: number }

  /** Per client in order of first submission: each job's queue (by first use), dependencies ("client.job") and run -> done time. */
  function original_stream(run: RunOutcome): StreamJob[][] {
    const jobs = run.jobs!.filter((j) => j.submit_error === 0);
    const clients = [...new Set(jobs.map((j) => j.client))];
    const id = new Map(jobs.map((j) => [j.logical, `${clients.indexOf(j.client)}.${jobs.filter((x) => x.client === j.client).indexOf(j)}`]));
    const at = (name: RegExp, j: { fence_context: number; fence_seqno: number }) =>
      run.kernel.trace.events.find((e) => name.test(e.name) && e.args.fence_context === j.fence_context && e.args.fence_seqno === j.fence_seqno)!.t_ns;
    return clients.map((c) => {
      const own = jobs.filter((j) => j.client === c);
      const queues = [...new Set(own.map((j) => j.queue))];
      return own.map((j) => ({
        queue: queues.indexOf(j.queue), deps: j.deps.map((d) => id.get(d)!).sort(),
        duration_us: Math.round((at(/_job_done$/, j) - at(/_job_run$/, j)) / 1000),
      }));
    });
  }

  /** The same for an imported workload, resolving buffer reads to the jobs that wrote them. */
  function imported_stream(w: Workload): StreamJob[][] {
    const batches = w.clients.map((c) => c.program.steps.map((s, i) => ({ s, i })).filter((x) => x.s.kind === 'batch'));
    const writer = new Map<string, string>();
    batches.forEach((list, c) => list.forEach(({ s }, k) => { if (s.kind === 'batch') for (const b of s.writes) writer.set(b, `${c}.${k}`); }));
    return batches.map((list, c) => list.map(({ s }) => {
      if (s.kind !== 'batch' || s.duration === 'infinite' || s.duration.kind !== 'constant') throw new Error('imported batches have constant durations');
      const deps = [
        ...s.deps.map((d) => (d.on === 'step' ? `${c}.${list.findIndex((x) => x.i === d.step_index)}` : `external ${JSON.stringify(d)}`)),
        ...s.reads.map((b) => writer.get(b)!),
      ];
      return { queue: w.clients[c].queues.findIndex((q) => q.name === s.queue), deps: deps.sort(), duration_us: s.duration.value_us };
    }));
  }

  for (const backend of ['sched', 'dep'] as const) {
    it(`on xe/${backend}`, () => {
      const run = run_workload(loaded.workload, xe.factory, backend, { seed: 1, trace_detail: 'full', device: xe.defaults, record: true, monitor: { retain: true } });
      const imported = import_ftrace_workload(run_ftrace(run), `round-trip-${backend}.txt`, { engines: xe.engines });
      if (!imported.ok) throw new Error(JSON.stringify(imported.errors));
      const original = original_stream(run);
      const back = imported_stream(imported.workload);
      expect(original.map((c) => c.length)).toEqual([6, 4]);
      expect(imported.workload.clients.map((c) => c.queues.length)).toEqual([2, 1]);
      // Durations to the microsecond ftrace prints: run and done are each cut to it.
      back.forEach((c, i) => c.forEach((j, k) => expect(Math.abs(j.duration_us - original[i][k].duration_us), `${i}.${k}`).toBeLessThanOrEqual(1)));
      const without_durations = (s: StreamJob[][]) => s.map((c) => c.map(({ queue, deps }) => ({ queue, deps })));
      expect(without_durations(back)).toEqual(without_durations(original));
      // Replayed, the imported workload submits the same stream again.
      const replay = run_workload(imported.workload, xe.factory, backend, { seed: 1, device: xe.defaults, record: true, monitor: { retain: true } });
      expect(replay.stuck).toBe(null);
      expect(without_durations(original_stream({ ...replay, kernel: replay.kernel }))).toEqual(without_durations(original));
    });
  }

  it('on the mock (hardware starts a job at run_job or when the previous one is done), durations are the workload\'s own', () => {
    const run = run_workload(loaded.workload, mock, 'sched', { seed: 1, trace_detail: 'full', record: true, monitor: { retain: true } });
    const imported = import_ftrace_workload(run_ftrace(run), 'mock.txt', { engines: ['render'] });
    if (!imported.ok) throw new Error(JSON.stringify(imported.errors));
    const submitted = new Map(run.jobs!.map((j) => [`${j.fence_context}:${j.fence_seqno}`, j]));
    const drawn = (j: { client: string; step_index: number }) => (j.client === 'consumer' ? 150 : j.step_index === 0 ? 300 : 200);
    // Imported batches are in queue order (one client: the mock's jobs all carry client_id 1).
    const queued = job_events_in_time_order(run).filter((e) => e.name === 'drm_sched_job_queue').map((e) => submitted.get(`${e.args.fence_context}:${e.args.fence_seqno}`)!);
    const batches = imported.workload.clients.flatMap((c) => c.program.steps.filter((s) => s.kind === 'batch'));
    expect(batches.length).toBe(queued.length);
    // Within 2 us: ftrace's timestamps are cut to the microsecond, and drm_sched_job_done
    // follows the hardware's completion by the interrupt's entry cost.
    batches.forEach((b, i) => {
      const value = b.kind === 'batch' && b.duration !== 'infinite' && b.duration.kind === 'constant' ? b.duration.value_us : -1;
      expect(Math.abs(value - drawn(queued[i])), `job ${i}`).toBeLessThanOrEqual(2);
    });
  });
});
