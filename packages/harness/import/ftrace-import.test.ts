/**
 * ftrace parsing and import on hand-written text in the upstream format (what
 * `cat /sys/kernel/tracing/trace` prints on a v6.16+ kernel with gpu_scheduler:* enabled),
 * including the irregular lines a real capture holds, and malformed input.
 */
import { describe, expect, it } from 'vitest';
import { format_diagnostic } from '../workload/diagnostics.ts';
import type { BatchStep, EngineClass, Step, Workload } from '../workload/types.ts';
import { import_ftrace_workload } from './ftrace-import.ts';
import { FTRACE_FORMATS, format_ftrace_fields, match_ftrace_fields, parse_ftrace } from './ftrace-parse.ts';
import { run_workload } from '../run/runner.ts';
import { find_driver } from '../drivers.ts';

/*
 * Two rings of an amdgpu-like device. gfx runs 77:1001 (2000 us) then 77:1002, handed to the
 * ring at 400 us while 77:1001 still ran (so it executes 2150 -> 3150). sdma0's 80:5 depends
 * on 77:1001 (another ring); 80:6 depends on a fence never seen and never runs. 77:1001
 * depends on a foreign fence 12:88 signalled at 120 us. 77:1000 was queued before the capture.
 */
const CAPTURE = `# tracer: nop
#
# entries-in-buffer/entries-written: 19/19   #P:16
#
#                                _-----=> irqs-off/BH-disabled
#                               / _----=> need-resched
#                              | / _---=> hardirq/softirq
#                              || / _--=> preempt-depth
#                              ||| / _-=> migrate-disable
#                              |||| /     delay
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
          <idle>-0       [000] d.h2.  1520.000050: drm_sched_job_done: fence=77:1000 signaled
     gnome-shell-2210    [003] .....  1520.000100: drm_sched_job_queue: dev=0000:03:00.0, fence=77:1001, ring=gfx_0.0.0, job count:0, hw job count:0, client_id:42
     gnome-shell-2210    [003] .....  1520.000101: drm_sched_job_add_dep: fence=77:1001 depends on fence=12:88
          <idle>-0       [000] d.h2.  1520.000120: dma_fence_signaled: driver=amdgpu timeline=sdma1 context=12 seqno=88
   kworker/u64:3-410     [005] .....  1520.000150: drm_sched_job_run: dev=0000:03:00.0, fence=77:1001, ring=gfx_0.0.0, job count:0, hw job count:1, client_id:42
     gnome-shell-2210    [003] .....  1520.000300: drm_sched_job_queue: dev=0000:03:00.0, fence=77:1002, ring=gfx_0.0.0, job count:0, hw job count:1, client_id:42
     gnome-shell-2210    [003] .....  1520.000301: drm_sched_job_add_dep: fence=77:1002 depends on fence=77:1001
   kworker/u64:3-410     [005] .....  1520.000400: drm_sched_job_run: dev=0000:03:00.0, fence=77:1002, ring=gfx_0.0.0, job count:0, hw job count:2, client_id:42
     gnome-shell-2210    [003] .N...  1520.000500: drm_sched_job_queue: dev=0000:03:00.0, fence=80:5, ring=sdma0, job count:0, hw job count:0, client_id:42
     gnome-shell-2210    [003] .N...  1520.000501: drm_sched_job_add_dep: fence=80:5 depends on fence=77:1001
            Xorg-1187    [007] .....  1520.000600: drm_sched_job_queue: dev=0000:03:00.0, fence=80:6, ring=sdma0, job count:1, hw job count:0, client_id:7
            Xorg-1187    [007] .....  1520.000601: drm_sched_job_add_dep: fence=80:6 depends on fence=99:1
            Xorg-1187    [007] .....  1520.000650: sched_switch: prev_comm=Xorg prev_pid=1187 prev_prio=120 prev_state=S ==> next_comm=swapper/7 next_pid=0 next_prio=120
CPU:7 [LOST 3 EVENTS]
          <idle>-0       [000] d.h2.  1520.002150: drm_sched_job_done: fence=77:1001 signaled
   kworker/u64:3-410     (  410) [005]   1520.002200: drm_sched_job_run: dev=0000:03:00.0, fence=80:5, ring=sdma0, job count:1, hw job count:1, client_id:42
          <idle>-0       [000] d.h2.  1520.002700: drm_sched_job_done: fence=80:5 signaled\r
          <idle>-0       [000] d.h2.  1520.003150: drm_sched_job_done: fence=77:1002 signaled
 ksoftirqd/0-16      [000] ..s1.  1520.003200: drm_sched_job: entity=00000000a1b2c3d4, id=12, fence=00000000deadbeef, ring=gfx, job count:0, hw job count:0
`;

function imported(text: string, engines?: readonly EngineClass[]): Workload {
  const r = import_ftrace_workload(text, 'capture', engines === undefined ? {} : { engines });
  if (!r.ok) throw new Error(r.errors.map(format_diagnostic).join('\n'));
  return r.workload;
}

const batches = (steps: readonly Step[]) => steps.filter((s): s is BatchStep => s.kind === 'batch');

describe('parse_ftrace', () => {
  it('reads the upstream lines, trace-cmd variants and irregular lines of a capture', () => {
    const r = parse_ftrace(CAPTURE, 'capture');
    if (!r.ok) throw new Error(r.errors.map(format_diagnostic).join('\n'));
    const t = r.trace;
    expect(t.base_s).toBe(0);
    expect(t.jobs.map((j) => `${j.kind} ${j.fence_context}:${j.fence_seqno}`)).toEqual([
      'done 77:1000', 'queue 77:1001', 'add_dep 77:1001', 'run 77:1001', 'queue 77:1002', 'add_dep 77:1002', 'run 77:1002',
      'queue 80:5', 'add_dep 80:5', 'queue 80:6', 'add_dep 80:6', 'done 77:1001', 'run 80:5', 'done 80:5', 'done 77:1002',
    ]);
    expect(t.jobs[1]).toMatchObject({
      time_ns: 1520_000_100_000, task: 'gnome-shell', pid: 2210, cpu: 3, dev: '0000:03:00.0', ring: 'gfx_0.0.0', job_count: 0, hw_job_count: 0, client_id: 42,
    });
    expect(t.jobs[2]).toMatchObject({ dep_context: 12, dep_seqno: 88, ring: null });
    expect(t.jobs[12]).toMatchObject({ task: 'kworker/u64:3', pid: 410, cpu: 5, time_ns: 1520_002_200_000 });
    expect(t.fences).toEqual([{ kind: 'signaled', line: 16, time_ns: 1520_000_120_000, driver: 'amdgpu', timeline: 'sdma1', context: 12, seqno: 88 }]);
    expect(t.lines.find((l) => l.event === 'sched_switch')?.task).toBe('Xorg');
    expect(t.layout).toBe('tracefs trace');
    expect(t.skipped.map((k) => [k.count, k.lines, k.reason.split(':')[0]])).toEqual([[1, [26], 'lost-events marker'], [1, [31], 'drm_sched_job']]);
  });

  it('reads the older drm_sched_job layouts (id=, no client_id)', () => {
    const r = parse_ftrace([
      'kworker/0:1-9 [001] ..... 10.000001: drm_sched_job_run: dev=card0, id=17, fence=3:4, ring=r, job count:0, hw job count:1, client_id:5',
      'kworker/0:1-9 [001] .... 10.000002: drm_sched_job_queue: dev=card0, fence=3:5, ring=r, job count:2, hw job count:1',
    ].join('\n'), 'old');
    if (!r.ok) throw new Error(r.errors.map(format_diagnostic).join('\n'));
    expect(r.trace.jobs.map((j) => [j.kind, j.fence_seqno, j.client_id])).toEqual([['run', 4, 5], ['queue', 5, null]]);
  });

  it('counts from the first second when the uptime exceeds 2^53 ns', () => {
    const r = parse_ftrace('a-1 [000] ..... 9500000.000001: drm_sched_job_done: fence=1:1 signaled\na-1 [000] ..... 9500001.5: drm_sched_job_done: fence=1:2 signaled', 'long');
    if (!r.ok) throw new Error('parse failed');
    expect(r.trace.base_s).toBe(9_500_000);
    expect(r.trace.jobs.map((j) => j.time_ns)).toEqual([1000, 1_500_000_000]);
  });

  it('reports malformed fields of known events with line and column, skips lines in no layout, and never throws', () => {
    const bad = [
      'this is not a trace line',
      'task-12 [002] ..... 1.000x: drm_sched_job_done: fence=1:1 signaled',
      'task-12 [002] ..... 1.000000: drm_sched_job_run: dev=card0, fence=77:abc, ring=gfx, job count:0, hw job count:1, client_id:1',
      'task-12 [002] ..... 1.000000: drm_sched_job_done: fence=1:1',
      'task-12 [002] ..... 1.000000: drm_sched_job_add_dep: fence=1:1 depends on fence=99999999999999999999:1',
      'task-12 [002] ..... 1.000000: dma_fence_signaled: driver=x timeline=y context=1',
    ];
    const r = parse_ftrace(bad.join('\n'), 'bad.txt');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const column = (n: number, at: string) => bad[n - 1].indexOf(at) + 1;
    const end = (n: number) => bad[n - 1].length + 1;
    expect(r.errors.map(format_diagnostic)).toEqual([
      `bad.txt:3:${column(3, 'abc')}: drm_sched_job_run: expected fence_seqno (%llu) (format 'dev=%s, fence=%llu:%llu, ring=%s, job count:%u, hw job count:%d, client_id:%llu')`,
      `bad.txt:4:${end(4)}: drm_sched_job_done: expected ' signaled' (format 'fence=%llu:%llu signaled')`,
      `bad.txt:5:${column(5, '9999')}: drm_sched_job_add_dep: expected dep_context below 2^53 (format 'fence=%llu:%llu depends on fence=%llu:%llu')`,
      `bad.txt:6:${end(6)}: dma_fence_signaled: expected ' seqno=' (format 'driver=%s timeline=%s context=%u seqno=%u')`,
    ]);
    const skipped = parse_ftrace(bad.slice(0, 2).join('\n'), 'bad.txt');
    expect(skipped.ok && skipped.trace.skipped).toEqual([{ reason: 'not an event line of tracefs, trace-cmd report or perf script', count: 2, lines: [1, 2] }]);
  });

  it('survives arbitrary text', () => {
    for (const text of ['', '\n\n', '-1 [0] 1.0: :', 'x-1 [000] . 1.0: e:', '\u0000\uffff-7 [1]  0.1: a: b', 'a'.repeat(10_000)]) {
      expect(() => parse_ftrace(text, 'fuzz')).not.toThrow();
    }
  });

  it('writes and reads every format with the same template', () => {
    for (const [event, format] of Object.entries(FTRACE_FORMATS)) {
      const values = Object.fromEntries(format.fields.map((f, i) => [f, /^(dev|ring|driver|timeline|function|workqueue)$/.test(f) ? `name${i}` : i + 1]));
      const text = format_ftrace_fields(format, values);
      const back = match_ftrace_fields(format, text);
      expect(back, event).toEqual({ ok: true, values });
    }
  });
});

describe('import_ftrace_workload', () => {
  const w = imported(CAPTURE);

  it('makes one client per client_id with a queue per ring, engines guessed from the ring name', () => {
    expect(w.clients.map((c) => [c.name, c.queues.map((q) => `${q.name}:${q.engine}`)])).toEqual([
      ['client-42', ['gfx_0.0.0:render', 'sdma0:copy']], ['client-7', ['sdma0:copy']],
    ]);
    expect(w.description).toBe('captured ftrace (tracefs trace): 4 jobs of 2 clients on 2 rings');
  });

  it('keeps submission times as offsets from the first job, and durations from run/done per ring', () => {
    const c42 = w.clients[0].program;
    expect(c42.end).toEqual({ kind: 'loops', loops: 1 });
    expect(c42.steps.map((s) => (s.kind === 'period' ? s.period_us : s.kind === 'batch' ? s.queue : s.kind))).toEqual([
      'gfx_0.0.0', 200, 'gfx_0.0.0', 400, 'sdma0',
    ]);
    // 77:1001: 150 -> 2150; 77:1002 waited for 77:1001 on the ring: 2150 -> 3150; 80:5: 2200 -> 2700.
    expect(batches(c42.steps).map((b) => b.duration)).toEqual([
      { kind: 'constant', value_us: 2000 }, { kind: 'constant', value_us: 1000 }, { kind: 'constant', value_us: 500 },
    ]);
    const c7 = w.clients[1].program;
    expect(c7.steps.map((s) => (s.kind === 'period' ? s.period_us : s.kind))).toEqual([500, 'batch']);
    // 80:6 never ran: the ring's median (80:5, 500 us).
    expect(batches(c7.steps).map((b) => b.duration)).toEqual([{ kind: 'constant', value_us: 500 }]);
  });

  it('maps dependencies: same client as a step (any ring), foreign fences as external', () => {
    const [first, second, copy] = batches(w.clients[0].program.steps);
    expect(first.deps).toEqual([{ on: 'external', fence: 'fence:12:88' }]);
    expect(second.deps).toEqual([{ on: 'step', step_index: 0, kind: 'data' }]);
    expect(copy.deps).toEqual([{ on: 'step', step_index: 0, kind: 'data' }]);
    const [never] = batches(w.clients[1].program.steps);
    expect(never.deps).toEqual([{ on: 'external', fence: 'fence:99:1' }]);
    expect(w.buffers).toEqual([]);
    // 12:88 signalled 20 us after the first job was queued; 99:1 was never seen signalled.
    expect(w.external_fences).toEqual([{ name: 'fence:12:88', signal_at_us: 20 }, { name: 'fence:99:1', signal_at_us: null }]);
  });

  it('says what it read, approximated or skipped, with counts and lines', () => {
    const notes = w.notes.map((n) => `${n.kind}${n.line === null ? '' : ` ${n.line}`}: ${n.message}`);
    expect(notes[0]).toBe('mapped: read as tracefs trace: 4 jobs of 2 clients on 2 rings');
    expect(notes).toContainEqual(expect.stringMatching(/^ignored 26: skipped 1 line \(line 26\): lost-events marker/));
    expect(notes).toContainEqual(expect.stringMatching(/^ignored 31: skipped 1 line \(line 31\): drm_sched_job: a pre-6.16/));
    expect(notes).toContainEqual('ignored 25: skipped 1 line (line 25): sched_switch: not an event the import reads');
    expect(notes).toContainEqual('ignored 13: skipped 1 line (line 13): drm_sched_job_done of a job queued before the capture started');
    expect(notes).toContainEqual(expect.stringMatching(/^approximated 23: ring sdma0: a job that never ran gets the ring's median duration \(500 us\)/));
    expect(notes).toContainEqual(expect.stringMatching(/^approximated 24: a dependency never seen signalled/));
  });

  it('maps engines the driver lacks onto one it has', () => {
    const only_render = imported(CAPTURE, ['render']);
    expect(only_render.clients.map((c) => c.queues[0].engine)).toEqual(['render', 'render']);
    expect(only_render.notes.some((n) => n.kind === 'mapped' && /sdma0 \(copy\) runs on render/.test(n.message))).toBe(true);
  });

  it('replays on the mock GPU: the copy job waits for the gfx job it depended on', () => {
    const mock = find_driver('mock')!;
    const run = run_workload(imported(CAPTURE, mock.engines), mock.factory, 'dep', { seed: 1, drain_ms: 50, record: true, monitor: { retain: true } });
    const at = (name: string, context: number, seqno: number) => run.kernel.trace.events.find((e) => e.name === name && e.args.fence_context === context && e.args.fence_seqno === seqno)!.t_ns;
    const gfx = run.jobs!.find((j) => j.client === 'client-42' && j.queue === 'gfx_0.0.0')!;
    const copy = run.jobs!.find((j) => j.client === 'client-42' && j.queue === 'sdma0')!;
    expect(at('drm_dep_job_run', copy.fence_context, copy.fence_seqno)).toBeGreaterThanOrEqual(at('drm_dep_job_done', gfx.fence_context, gfx.fence_seqno));
  });

  it('links clients through a buffer, moving a dependent submitted in the same microsecond as its dependency 1 us later', () => {
    const text = [
      'a-1 [000] ..... 5.000010: drm_sched_job_queue: dev=d, fence=1:1, ring=gfx, job count:0, hw job count:0, client_id:1',
      'b-2 [000] ..... 5.000010: drm_sched_job_queue: dev=d, fence=2:1, ring=sdma, job count:0, hw job count:0, client_id:2',
      'b-2 [000] ..... 5.000010: drm_sched_job_add_dep: fence=2:1 depends on fence=1:1',
    ].join('\n');
    const moved = imported(text);
    expect(moved.clients.map((c) => c.name)).toEqual(['client-1', 'client-2']);
    expect(batches(moved.clients[0].program.steps)[0].writes).toEqual(['job:1:1']);
    expect(moved.clients[1].program.steps.map((s) => s.kind === 'period' ? s.period_us : s.kind)).toEqual([1, 'batch']);
    expect(batches(moved.clients[1].program.steps)[0].reads).toEqual(['job:1:1']);
    expect(moved.notes.some((n) => /1 submissions replay up to 1 us later/.test(n.message))).toBe(true);
  });

  it('refuses text without importable jobs, and malformed text, with diagnostics', () => {
    const none = import_ftrace_workload('# tracer: nop\nx-1 [000] ..... 1.000000: sched_switch: prev_comm=x\n', 'empty');
    expect(none.ok).toBe(false);
    if (!none.ok) expect(none.errors[0].message).toMatch(/^read as tracefs trace, but no drm_sched_job_queue events .*; skipped 1 line \(line 2\): sched_switch: not an event the import reads$/);
    const broken = import_ftrace_workload('x-1 [000] ..... 1.000000: drm_sched_job_queue: fence=1:1\n', 'broken');
    expect(broken.ok).toBe(false);
    // Column 48: where the fields start, 'dev=' missing.
    if (!broken.ok) expect(format_diagnostic(broken.errors[0])).toMatch(/^broken:1:48: drm_sched_job_queue: expected 'dev='/);
  });
});
