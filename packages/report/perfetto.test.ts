/**
 * Perfetto JSON export: the file is read back as a trace viewer would and its structure is
 * checked (async begin/end pairing and nesting, complete slices, flow bindings, counters,
 * metadata), on a comparison of both backends in one file.
 */
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '@deplab/sim';
import { comparison_perfetto_json, perfetto_json, run_source, type PerfettoEvent } from './index.ts';
import { fixture_run } from './trace-fixtures.testlib.ts';

interface Loaded {
  readonly traceEvents: PerfettoEvent[];
}

/** Microseconds (three decimals) to integer ns, as a trace reader converts them. */
const ns = (t_us: number) => Math.round(t_us * 1000);

function load(text: string): Loaded {
  const doc = JSON.parse(text) as Loaded;
  expect(Array.isArray(doc.traceEvents)).toBe(true);
  return doc;
}

/** Problems a trace viewer would trip over; empty when the file is well formed. */
function structure_problems(events: readonly PerfettoEvent[]): string[] {
  const problems: string[] = [];
  const timed = events.filter((e) => e.ph !== 'M');
  for (const e of timed) {
    if (typeof e.ts !== 'number' || !Number.isFinite(e.ts) || e.ts < 0) problems.push(`bad ts: ${JSON.stringify(e)}`);
    if (typeof e.pid !== 'number') problems.push(`no pid: ${JSON.stringify(e)}`);
  }
  // Async: per (pid, cat, id) a stack; an end closes the innermost open slice, of the same name.
  const stacks = new Map<string, { name: string; ts: number }[]>();
  for (const e of timed.filter((x) => x.ph === 'b' || x.ph === 'e')) {
    const id = e.id2?.local;
    if (id === undefined || e.cat === undefined) { problems.push(`async without cat/id2.local: ${JSON.stringify(e)}`); continue; }
    const key = `${e.pid}|${e.cat}|${id}`;
    let stack = stacks.get(key);
    if (stack === undefined) stacks.set(key, (stack = []));
    if (e.ph === 'b') {
      if (stack.length > 0 && e.ts! < stack[stack.length - 1].ts) problems.push(`child begins before parent: ${key} ${e.name}`);
      stack.push({ name: e.name, ts: e.ts! });
      continue;
    }
    const open = stack.pop();
    if (open === undefined) problems.push(`end without begin: ${key} ${e.name}`);
    else if (open.name !== e.name) problems.push(`end ${e.name} closes ${open.name}: ${key}`);
    else if (e.ts! < open.ts) problems.push(`end before begin: ${key} ${e.name}`);
  }
  for (const [key, stack] of stacks) if (stack.length > 0) problems.push(`unclosed async ${key}: ${stack.map((s) => s.name).join(', ')}`);
  // Complete slices: dur >= 0, and on one thread they nest (no partial overlap).
  const slices = new Map<string, { ts: number; end: number }[]>();
  for (const e of timed.filter((x) => x.ph === 'X')) {
    if (typeof e.dur !== 'number' || !(e.dur >= 0)) problems.push(`X with bad dur: ${JSON.stringify(e)}`);
    const key = `${e.pid}|${e.tid}`;
    let list = slices.get(key);
    if (list === undefined) slices.set(key, (list = []));
    list.push({ ts: ns(e.ts!), end: ns(e.ts!) + ns(e.dur ?? 0) });
  }
  for (const [key, list] of slices) {
    const open: { ts: number; end: number }[] = [];
    for (const s of [...list].sort((a, b) => a.ts - b.ts || b.end - a.end)) {
      while (open.length > 0 && open[open.length - 1].end <= s.ts) open.pop();
      if (open.length > 0 && s.end > open[open.length - 1].end) problems.push(`X slices overlap without nesting on ${key} at ${s.ts}`);
      open.push(s);
    }
  }
  // Flows: ids pair one start and one finish; each binds to a slice of its pid/tid containing its ts.
  const inside = (e: PerfettoEvent) => (slices.get(`${e.pid}|${e.tid}`) ?? []).some((s) => s.ts <= ns(e.ts!) && ns(e.ts!) <= s.end);
  const flows = new Map<number, string[]>();
  for (const e of timed.filter((x) => x.ph === 's' || x.ph === 'f')) {
    if (typeof e.id !== 'number') { problems.push(`flow without numeric id: ${JSON.stringify(e)}`); continue; }
    flows.set(e.id, [...(flows.get(e.id) ?? []), e.ph]);
    if (!inside(e)) problems.push(`flow ${e.ph} ${e.id} binds to no slice on ${e.pid}/${e.tid} at ${e.ts}`);
    if (e.ph === 'f' && e.bp !== 'e') problems.push(`flow end ${e.id} without bp "e"`);
  }
  for (const [id, phases] of flows) if (phases.join() !== 's,f') problems.push(`flow ${id} has phases ${phases.join()} in time order`);
  // Counters: numeric values only.
  for (const e of timed.filter((x) => x.ph === 'C')) {
    const values = Object.values(e.args ?? {});
    if (values.length === 0 || !values.every((v) => typeof v === 'number' && Number.isFinite(v))) problems.push(`counter not numeric: ${JSON.stringify(e)}`);
  }
  for (const e of timed.filter((x) => x.ph === 'i')) if (e.s !== 't' && e.s !== 'p') problems.push(`instant without scope: ${JSON.stringify(e)}`);
  return problems;
}

function names_of(events: readonly PerfettoEvent[], kind: 'process_name' | 'thread_name', pid: number): string[] {
  return events.filter((e) => e.ph === 'M' && e.name === kind && e.pid === pid).map((e) => String(e.args!.name));
}

describe('Perfetto JSON of a comparison', () => {
  const sched = fixture_run('sched');
  const dep = fixture_run('dep');
  const text = comparison_perfetto_json(sched, dep);
  const doc = load(text);
  const events = doc.traceEvents;

  it('is valid JSON with traceEvents and a sound structure', () => {
    expect(structure_problems(events)).toEqual([]);
  });

  it('has both backends as separate, named processes', () => {
    expect(names_of(events, 'process_name', 1)).toEqual(['mock drm_sched seed 1']);
    expect(names_of(events, 'process_name', 2)).toEqual(['mock drm_dep seed 1']);
    const pids = new Set(events.filter((e) => e.ph !== 'M').map((e) => e.pid));
    expect([...pids].sort()).toEqual([1, 2]);
  });

  it('names threads for rings, the hardware timeline and every context', () => {
    const threads = names_of(events, 'thread_name', 2);
    expect(threads).toContain('ring drm-mock-queue-0');
    expect(threads).toContain('hw drm-mock-scheduler');
    expect(threads).toContain('hardirq/hrtimer');
    expect(threads.some((t) => t.startsWith('kworker/'))).toBe(true);
    expect(threads.some((t) => t.startsWith('client/'))).toBe(true);
    const tids = events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.pid === 2).map((e) => e.tid);
    expect(new Set(tids).size).toBe(tids.length);
  });

  it('has one job lifetime per job, from queue to free, with the fence as id', () => {
    for (const [pid, run] of [[1, sched], [2, dep]] as const) {
      const begins = events.filter((e) => e.pid === pid && e.ph === 'b' && e.cat === 'job' && e.args?.job !== undefined);
      const submitted = run.jobs!.filter((j) => j.submit_error === 0);
      expect(begins.map((e) => e.id2!.local).sort()).toEqual(submitted.map((j) => `${j.fence_context}:${j.fence_seqno}`).sort());
      const queue = run.kernel.trace.events.find((e) => /_job_queue$/.test(e.name))!;
      const first = begins.find((e) => e.id2!.local === `${queue.args.fence_context}:${queue.args.fence_seqno}`)!;
      expect(first.ts).toBe(queue.t_ns / 1000);
    }
  });

  it('draws the consumer dependencies as flows on both backends', () => {
    for (const pid of [1, 2]) {
      const flows = events.filter((e) => e.pid === pid && e.ph === 's');
      // consumer's first batch depends on producer's last job, its second batch on its first.
      expect(flows.length).toBeGreaterThanOrEqual(6);
    }
  });

  it('has credit and queue-depth counters and shows timeouts, kills and harness actions as process instants', () => {
    const counters = new Set(events.filter((e) => e.ph === 'C').map((e) => e.name));
    expect([...counters].some((n) => n.startsWith('credits '))).toBe(true);
    expect([...counters].some((n) => n.startsWith('queue depth '))).toBe(true);
    const process_instants = (pid: number) => new Set(events.filter((e) => e.pid === pid && e.ph === 'i' && e.s === 'p').map((e) => e.name));
    expect(process_instants(1)).toContain('drm_sched_job_timedout');
    expect(process_instants(2)).toContain('drm_dep_job_timedout');
    expect(process_instants(2)).toContain('drm_dep_queue_kill');
    expect(process_instants(1)).toContain('harness_unplug');
  });

  it('is deterministic: the same runs give the same bytes', () => {
    expect(comparison_perfetto_json(fixture_run('sched'), fixture_run('dep'))).toBe(text);
  });
});

describe('Perfetto JSON of raw events', () => {
  it('turns violations into instants and keeps unfinished work well formed', () => {
    const events: TraceEvent[] = [
      { t_ns: 5000, name: 'workqueue_execute_start', context: 'kworker/x/0', args: { workqueue: 'x', work: 'w' } },
      { t_ns: 1000, name: 'drm_sched_job_queue', context: 'client/a', args: { fence_context: 7, fence_seqno: 1, ring: 'r', job_count: 0, hw_job_count: 0, client_id: 1 } },
      { t_ns: 6000, name: 'violation', context: 'kworker/x/0', args: { kind: 'sleep_in_atomic', site: 'f', message: 'm' } },
      { t_ns: 7000, name: 'drm_sched_job_run', context: 'kworker/x/0', args: { fence_context: 7, fence_seqno: 1, ring: 'r', job_count: 0, hw_job_count: 1, client_id: 1 } },
    ];
    const doc = load(perfetto_json([{ label: 'raw', events }]));
    expect(structure_problems(doc.traceEvents)).toEqual([]);
    expect(doc.traceEvents.filter((e) => e.name === 'violation').map((e) => e.s).sort()).toEqual(['p', 't']);
    const work = doc.traceEvents.find((e) => e.ph === 'X' && e.name === 'w')!;
    expect(work.args).toMatchObject({ unfinished: true });
    expect(work.dur).toBe(2); // to the end of the trace, 7 us
    // A job never done nor freed still ends (at the end of the trace).
    expect(doc.traceEvents.filter((e) => e.cat === 'job').map((e) => `${e.ph} ${e.name}`))
      .toEqual(['b r', 'b queued', 'e queued', 'b on hardware', 'e on hardware', 'e r']);
  });

  it('refuses a run that was not recorded', () => {
    const run = fixture_run('sched');
    expect(() => run_source({ ...run, kernel: { ...run.kernel, trace: { ...run.kernel.trace, mode: 'hash' } } } as never)).toThrow(/not recorded/);
  });
});
