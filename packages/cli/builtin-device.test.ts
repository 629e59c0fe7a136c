/**
 * A built-in's device options reach the device on every path that runs it (run, and the
 * plans behind compare / report): the KUnit scenarios run with their suite's credit limit.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '@deplab/driver-api';
import { find_driver, run_workload } from '@deplab/harness';
import { run_seed_task } from './pool.ts';
import { resolve_workload } from './workloads.ts';
import { deplab } from './cli.testlib.ts';

interface Job { client: string; run_ns: number; hw_done_ns: number }

/** Most jobs between run_job and their hardware completion at any one time. */
function max_on_hw(jobs: readonly Job[]): number {
  const points = jobs.filter((j) => j.run_ns >= 0 && j.hw_done_ns >= 0).flatMap((j) => [[j.run_ns, 1], [j.hw_done_ns, -1]] as [number, number][])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0, max = 0;
  for (const [, d] of points) max = Math.max(max, (now += d));
  return max;
}

const mock = find_driver('mock')!;

/** One run of a built-in with explicit device options, every job kept. */
function direct(name: string, backend: Backend, device: Record<string, number>) {
  const loaded = resolve_workload(name, mock.engines);
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  return run_workload(loaded.workload, mock.factory, backend, { seed: 1, device: { driver: { ...mock.defaults.driver, ...device } }, monitor: { retain: true } });
}

async function cli_digest(name: string, backend: Backend): Promise<string> {
  const r = await deplab(['run', name, '--driver', 'mock', '--backend', backend, '--json']);
  expect(r.code, r.err).toBe(0);
  return (JSON.parse(r.out) as { trace_digest: string }).trace_digest;
}

describe('built-in device options', () => {
  it('kunit/50-50 runs at credit limit 1 (one job on the hardware per credit pool), mock/ping-pong-pipelined unlimited', () => {
    expect(resolve_workload('kunit/50-50', mock.engines)).toMatchObject({ ok: true, device: { credit_limit: 1 } });
    const sched = direct('kunit/50-50', 'sched', { credit_limit: 1 }).observation.jobs!;
    expect(max_on_hw(sched)).toBe(1);
    // One credit pool per mock scheduler on drm_sched, one per queue on drm_dep (docs/behaviour-differences.md).
    const dep = direct('kunit/50-50', 'dep', { credit_limit: 1 }).observation.jobs!;
    for (const c of new Set(dep.map((j) => j.client))) expect(max_on_hw(dep.filter((j) => j.client === c)), c).toBe(1);
    expect(max_on_hw(dep)).toBe(2);
    // Without the credit limit drm_sched pipelines the chain through its scheduled fences;
    // drm_dep runs each job once its dependency has finished.
    expect(resolve_workload('mock/ping-pong-pipelined', mock.engines)).toMatchObject({ ok: true, device: {} });
    expect(max_on_hw(direct('mock/ping-pong-pipelined', 'sched', {}).observation.jobs!)).toBeGreaterThan(1);
    expect(max_on_hw(direct('mock/ping-pong-pipelined', 'dep', {}).observation.jobs!)).toBe(1);
  });

  it('deplab run applies them: its trace is the credit-limited run, not the unlimited one', async () => {
    // 13 clients on one mock scheduler: the credit limit (2) makes jobs wait on drm_sched.
    const d = await cli_digest('kunit/many-clients-13', 'sched');
    expect(d).toBe(direct('kunit/many-clients-13', 'sched', { credit_limit: 2 }).kernel.trace.digest());
    expect(d).not.toBe(direct('kunit/many-clients-13', 'sched', { credit_limit: 64 }).kernel.trace.digest());
    expect(await cli_digest('kunit/50-50', 'dep')).toBe(direct('kunit/50-50', 'dep', { credit_limit: 1 }).kernel.trace.digest());
  });

  it('compare carries them into every seed task (the report header names them), and they change the runs', async () => {
    const out = mkdtempSync(join(tmpdir(), 'deplab-device-'));
    const r = await deplab(['compare', 'kunit/many-clients-13', '--driver', 'mock', '--seeds', '1', '--jobs', '1', '--no-charts', '--out', out, '--json']);
    expect(r.code, r.err).toBe(0);
    expect((JSON.parse(r.out) as { result: { device: Record<string, number> } }).result.device).toMatchObject({ credit_limit: 2 });
    const loaded = resolve_workload('kunit/many-clients-13', mock.engines);
    if (!loaded.ok) throw new Error('load');
    const limited = run_seed_task({ driver: 'mock', workload: loaded.workload, seed: 1, device: { ...loaded.device } });
    const widened = run_seed_task({ driver: 'mock', workload: loaded.workload, seed: 1, device: { credit_limit: 64 } });
    // 13 sync clients of 4 jobs: at credit limit 2 jobs wait in the scheduler; at 64 none do.
    expect(limited.baseline.digest).not.toBe(widened.baseline.digest);
    expect(limited.baseline.metrics.latency.submit_to_run_job_us.p99).toBeGreaterThan(10 * widened.baseline.metrics.latency.submit_to_run_job_us.p99);
  }, 60_000);
});
