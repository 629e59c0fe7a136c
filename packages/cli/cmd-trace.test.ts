/**
 * `deplab trace`: output of both formats, file naming, and usage errors (exit 2).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse_ftrace } from '@deplab/harness';
import { deplab } from './cli.testlib.ts';

describe('deplab trace', () => {
  it('refuses a backend the driver has no binding for (exit 2, naming it)', async () => {
    const r = await deplab(['trace', 'wsim/composited-ui', '--driver', 'panfrost']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('driver panfrost has no dep binding (its backends: sched, dep-hw)');
  });

  it('prints Perfetto JSON with both backends by default', async () => {
    const r = await deplab(['trace', 'kunit/50-50', '--driver', 'mock', '--seed', '3']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as { traceEvents: { name: string; ph: string; args?: { name?: string } }[] };
    expect(doc.traceEvents.filter((e) => e.name === 'process_name').map((e) => e.args!.name)).toEqual(['mock drm_sched seed 3', 'mock drm_dep seed 3']);
    // trace_detail 'full': work items are there as slices.
    expect(doc.traceEvents.some((e) => e.ph === 'X' && e.name === 'drm_dep_queue_run_job_work')).toBe(true);
  });

  it('writes ftrace text per backend, and replays a captured trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deplab-trace-'));
    try {
      const file = join(dir, 'run.txt');
      const r = await deplab(['trace', 'kunit/50-50', '--driver', 'mock', '--format', 'ftrace', '--out', file]);
      expect(r.code).toBe(0);
      expect(r.out).toBe(`${join(dir, 'run.sched.txt')}: ftrace text (mock drm_sched seed 1)\n${join(dir, 'run.dep.txt')}: ftrace text (mock drm_dep seed 1)\n`);
      const dep = readFileSync(join(dir, 'run.dep.txt'), 'utf8');
      expect(dep.startsWith('# tracer: nop\n')).toBe(true);
      const parsed = parse_ftrace(dep, 'run.dep.txt');
      expect(parsed.ok && parsed.trace.jobs.some((j) => j.kind === 'queue')).toBe(true);
      const replay = await deplab(['trace', join(dir, 'run.dep.txt'), '--driver', 'mock', '--backend', 'sched', '--format', 'ftrace']);
      expect(replay.code).toBe(0);
      expect(replay.out).toContain(': drm_sched_job_run: dev=mock, fence=');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives a usage message and exit 2 for bad arguments', async () => {
    const cases: [string[], RegExp][] = [
      [['trace', 'kunit/50-50', '--driver', 'nope'], /unknown driver 'nope' \(known: .*mock/],
      [['trace', 'kunit/50-50', '--driver', 'mock', '--seed', '-1'], /'--seed <n>' argument '-1' is invalid/],
      [['trace', 'kunit/50-50', '--driver', 'mock', '--backend', 'both', '--format', 'ftrace'], /ftrace text holds one run/],
      [['trace', 'kunit/50-50', '--driver', 'mock', '--format', 'svg'], /Allowed choices are perfetto, ftrace/],
      [['trace', 'no-such-workload', '--driver', 'mock'], /not a built-in workload/],
      [['trace', 'kunit/50-50'], /required option '--driver <name>'/],
    ];
    for (const [args, message] of cases) {
      const r = await deplab(args);
      expect(r.code === 2 || r.code === 1, args.join(' ')).toBe(true);
      expect(r.err, args.join(' ')).toMatch(message);
    }
    // Our own checks exit 2 themselves; commander's parse errors exit 1 here and main() maps them to 2.
    expect((await deplab(['trace', 'kunit/50-50', '--driver', 'nope'])).code).toBe(2);
  });

  it('reports a malformed captured trace with line and column', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deplab-trace-'));
    try {
      const file = join(dir, 'bad.ftrace');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(file, '# tracer: nop\nx-1 [000] ..... 1.000000: drm_sched_job_queue: dev=d, fence=1:x, ring=r, job count:0, hw job count:0, client_id:1\n');
      const r = await deplab(['trace', file, '--driver', 'mock']);
      expect(r.code).toBe(2);
      expect(r.err).toContain(`${file}:2:63: drm_sched_job_queue: expected fence_seqno`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
