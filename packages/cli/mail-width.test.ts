/**
 * Every plain-text listing of the command stays within 80 columns (wrapped, nothing cut):
 * list, run, compare (summary and --format text), sweep and merge, conformance's table,
 * explore's summary and replay, trace's file lines.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILTIN_WORKLOADS } from '@deplab/harness';
import { deplab as run } from './cli.testlib.ts';

async function deplab(args: readonly string[]): Promise<string> {
  const r = await run(args);
  if (r.code !== 0 && r.code !== 1) throw new Error(`deplab ${args.join(' ')}: exit ${r.code}: ${r.err}`);
  return r.out;
}

function widest(text: string): number {
  return Math.max(...text.split('\n').map((l) => l.length));
}

describe('plain text fits a mail (80 columns)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'deplab-width-'));

  it('list: every workload, its description wrapped, nothing cut', async () => {
    const out = await deplab(['list']);
    expect(widest(out)).toBeLessThanOrEqual(80);
    const words = out.split(/\s+/).join(' ');
    for (const w of BUILTIN_WORKLOADS) {
      expect(out).toContain(w.name);
      expect(words).toContain(w.description.split(/\s+/).join(' '));
    }
  });

  it('run', async () => {
    const out = await deplab(['run', 'kunit/50-50', '--driver', 'mock', '--backend', 'sched']);
    expect(out).toContain('kunit/50-50 on mock/drm_sched, seed 1');
    expect(widest(out)).toBeLessThanOrEqual(80);
  });

  it('compare, its one-line summary and --format text', async () => {
    const args = ['compare', 'kunit/50-50', '--driver', 'mock', '--seeds', '2', '--no-charts', '--jobs', '1', '--out', dir];
    const summary = await deplab(args);
    expect(summary).toMatch(/kunit-50-50\.md: /);
    expect(widest(summary)).toBeLessThanOrEqual(80);
    const text = await deplab([...args, '--format', 'text']);
    expect(text).toContain('%stddev');
    expect(widest(text)).toBeLessThanOrEqual(80);
  });

  it('sweep and merge', async () => {
    const sweep = await deplab(['sweep', '--drivers', 'mock', '--workloads', 'kunit/50-50', '--seeds', '1', '--jobs', '1', '--out', join(dir, 'sweep')]);
    expect(sweep).toMatch(/tasks \(shard 1\/1, from command line\) ->/);
    expect(widest(sweep)).toBeLessThanOrEqual(80);
    const merged = await deplab(['merge', join(dir, 'sweep'), '--out', join(dir, 'merged')]);
    expect(merged).toMatch(/comparisons merged from \d+ shard\(s\) into/);
    expect(widest(merged)).toBeLessThanOrEqual(80);
  });

  it('conformance --format table', async () => {
    const out = await deplab(['conformance', '--backend', 'sched']);
    expect(out).toMatch(/\n42 passed, 0 failed/);
    expect(widest(out)).toBeLessThanOrEqual(80);
  });

  it('explore\'s summary and replay', async () => {
    const out = await deplab(['explore', '--driver', 'mock', '--backend', 'sched', '--seeds', '6', '--max-shrinks', '1', '--shrink-budget', '10', '--jobs', '1', '--out', dir]);
    expect(out).toContain('drm_sched: 6 seeds');
    expect(widest(out)).toBeLessThanOrEqual(80);
    const token = /`npx deplab replay (dl2\.[A-Za-z0-9_-]+\.[0-9a-f]{16})`/.exec(readFileSync(join(dir, 'explore', 'mock.sched.md'), 'utf8'));
    expect(token).not.toBeNull(); // seeds 1..6 of the mock on drm_sched show violations
    const replay = await deplab(['replay', token![1]]);
    expect(replay).toContain('mock/sched seed');
    expect(widest(replay)).toBeLessThanOrEqual(80);
  });

  it('trace --out lines', async () => {
    const out = await deplab(['trace', 'kunit/50-50', '--driver', 'mock', '--format', 'ftrace', '--out', join(dir, 'a-rather-long-file-name-for-a-trace-of-the-fifty-fifty-workload.txt')]);
    expect(out).toContain('ftrace text (mock drm_sched seed 1)');
    expect(widest(out)).toBeLessThanOrEqual(80);
  });

  it('cleans up', () => {
    rmSync(dir, { recursive: true, force: true });
  });
});
