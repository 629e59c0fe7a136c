/**
 * Sites captured on worker threads name source files, as on the main thread: the command runs
 * as a bundle (bin/deplab.mjs), and a worker given no source maps saw only bundle frames, so a
 * comparison's lockdep report read "acquired at unknown" where `deplab run` named the line.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'packages', 'cli', 'bin', 'deplab.mjs');

describe('worker threads', () => {
  it("name the source line of a lockdep report's held lock, as the main thread does", () => {
    const out = mkdtempSync(join(tmpdir(), 'deplab-sites-'));
    try {
      // Two seeds on two threads: each seed runs on a worker. amdxdna's GFP_KERNEL mailbox
      // message in run_job (its default) closes a cycle with dma_fence_map held since queue_run_job.
      const r = spawnSync(process.execPath, [BIN, 'compare', 'amdxdna/inference', '--driver', 'amdxdna', '--seeds', '2', '--jobs', '2', '--no-charts', '--out', out],
        { cwd: ROOT, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const report = readFileSync(join(out, 'amdxdna', 'amdxdna-inference.json'), 'utf8');
      expect(report).toMatch(/holding dma_fence_map \(acquired at queue_run_job \(packages\/drm-dep\/drm_dep_queue\.ts:\d+\)\)/);
      expect(report).not.toContain('at unknown');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);

  it("get the process's node flags (node --cpu-prof profiles each worker), and a V8 flag, which a worker refuses, does not stop them", () => {
    const out = mkdtempSync(join(tmpdir(), 'deplab-flags-'));
    try {
      const prof = join(out, 'prof');
      const args = ['--cpu-prof', `--cpu-prof-dir=${prof}`, '--stack-trace-limit=12', BIN, 'compare', 'kunit/ping-pong', '--driver', 'mock', '--seeds', '2', '--jobs', '2', '--no-charts', '--out', out];
      const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      // The main thread's profile and one per worker thread.
      expect(readdirSync(prof).filter((f) => f.endsWith('.cpuprofile')).length).toBe(3);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
