/**
 * Workload files are told apart by content: a captured trace in any real layout runs through
 * `run` and `compare` whatever its name, JSON and gem_wsim are recognised without their
 * extension, and a file that is none of them gets a clear error.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CAPTURE_LAYOUTS, print_capture, scheduler_events, type CaptureJob } from '../harness/import/capture-gen.testlib.ts';
import { deplab as run } from './cli.testlib.ts';
import { detect_workload_kind, resolve_workload } from './workloads.ts';

const JOBS: readonly CaptureJob[] = [
  { client_id: 7, comm: 'glxgears', pid: 3001, ring: 'gfx', context: 40, seqno: 1, queue_us: 0, run_us: 10, done_us: 510 },
  { client_id: 9, comm: 'glxgears', pid: 3001, ring: 'gfx', context: 41, seqno: 1, queue_us: 20, run_us: 30, done_us: 1010 },
  { client_id: 7, comm: 'glxgears', pid: 3001, ring: 'gfx', context: 40, seqno: 2, queue_us: 600, run_us: 1010, done_us: 1510, deps: [[41, 1]] },
];

function with_dir<T>(f: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'deplab-workloads-'));
  try {
    return f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function deplab(args: readonly string[]): Promise<{ out: string; code: number; error: string }> {
  const r = await run(args);
  return { out: r.out, code: r.code, error: r.err };
}

describe('workload files by content', () => {
  it('detects JSON, gem_wsim and every capture layout, and nothing else', () => {
    expect(detect_workload_kind('\n  {"name": "x"}')).toBe('json');
    expect(detect_workload_kind('M.1.VCS\nB.1\n1.VCS.5000-10000.0.0\n')).toBe('wsim');
    expect(detect_workload_kind('1.RCS.500-1500.r1-0-4/w2-0.0\n')).toBe('wsim');
    for (const layout of CAPTURE_LAYOUTS) expect(detect_workload_kind(print_capture(scheduler_events(JOBS), layout)), layout).toBe('capture');
    expect(detect_workload_kind('# tracer: nop\n#\n')).toBe('capture');
    expect(detect_workload_kind('Hello, this is a letter.\n')).toBe(null);
    expect(detect_workload_kind('')).toBe(null);
  });

  it('resolves each by content whatever the file is called, and says what a wrong file is not', () => with_dir((dir) => {
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const capture = resolve_workload(file('capture.json', print_capture(scheduler_events(JOBS), 'trace-cmd')), ['render']);
    expect(capture.ok && capture.kind).toBe('capture');
    expect(capture.ok && capture.workload.clients.map((c) => c.name)).toEqual(['client-7', 'client-9']);
    const wsim = resolve_workload(file('media.txt', '1.RCS.500.0.0\n'), ['render']);
    expect(wsim.ok && wsim.kind).toBe('wsim');
    const json = resolve_workload(file('w.wsim', JSON.stringify({ name: 'j', clients: [{ name: 'a', queues: [{ name: 'q', engine: 'render' }], program: { loops: 1, steps: [{ batch: { queue: 'q', duration_us: 10 } }] } }] })), ['render']);
    expect(json.ok && json.kind).toBe('json');
    const neither = resolve_workload(file('notes.md', 'Dear list,\n'), ['render']);
    expect(neither).toEqual({
      ok: false,
      errors: [`${join(dir, 'notes.md')}: neither a JSON workload (starts with '{'), a gem_wsim descriptor nor a captured trace ` +
        '(tracefs trace or trace_pipe, trace-cmd report, perf script); its first line is "Dear list,"'],
    });
  }));

  it('compare and run accept a capture', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deplab-workloads-'));
    try {
      const capture = join(dir, 'capture.txt');
      writeFileSync(capture, print_capture(scheduler_events(JOBS), 'perf'));
      const compared = await deplab(['compare', capture, '--driver', 'mock', '--seeds', '2', '--no-charts', '--jobs', '1', '--out', dir, '--format', 'text']);
      expect(compared.code).toBe(0);
      // Standard error carries the import's notes and progress, nothing else.
      expect(compared.error.split('\n').filter((l) => l !== '' && !/: mapped: |: \d+\/\d+$/.test(l))).toEqual([]);
      expect(compared.out.split(/\s+/).join(' ')).toContain(`workload: ${capture}`);
      expect(compared.out).toMatch(/^behaviour: \d+ regression\(s\), \d+ improvement\(s\)/m);
      const ran = await deplab(['run', capture, '--driver', 'mock', '--backend', 'dep']);
      expect(ran.code).toBe(0);
      expect(ran.error.split('\n').filter((l) => l !== '' && !/: mapped: /.test(l))).toEqual([]);
      expect(ran.out.split(/\s+/).join(' ')).toContain('3 jobs, 3 finished');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
