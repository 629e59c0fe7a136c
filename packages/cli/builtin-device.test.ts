/**
 * A built-in's device options reach the device on every path that runs it (run, and the
 * pool behind compare / report): the KUnit scenarios run with their suite's credit limit.
 */
import { describe, expect, it, vi } from 'vitest';
import { find_driver } from '@deplab/harness';
import { run_seed_task } from './pool.ts';
import { main } from './main.ts';

interface Job { client: string; run_ns: number; hw_done_ns: number }

/** Most jobs between run_job and their hardware completion at any one time. */
function max_on_hw(jobs: readonly Job[]): number {
  const points = jobs.filter((j) => j.run_ns >= 0 && j.hw_done_ns >= 0).flatMap((j) => [[j.run_ns, 1], [j.hw_done_ns, -1]] as [number, number][])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0, max = 0;
  for (const [, d] of points) max = Math.max(max, (now += d));
  return max;
}

async function run_jobs(workload: string, backend: 'sched' | 'dep'): Promise<Job[]> {
  let out = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { out += String(s); return true; });
  try {
    expect(await main(['run', workload, '--driver', 'mock', '--backend', backend, '--json'])).toBe(0);
  } finally {
    write.mockRestore();
  }
  return (JSON.parse(out) as { jobs: Job[] }).jobs;
}

describe('built-in device options', () => {
  it('deplab run: kunit/50-50 runs at credit limit 1, mock/ping-pong-pipelined at U32_MAX', async () => {
    // One credit pool per mock scheduler on drm_sched, one per queue on drm_dep (docs/behaviour-differences.md).
    const sched = await run_jobs('kunit/50-50', 'sched');
    expect(max_on_hw(sched)).toBe(1);
    const dep = await run_jobs('kunit/50-50', 'dep');
    for (const c of new Set(dep.map((j) => j.client))) expect(max_on_hw(dep.filter((j) => j.client === c)), c).toBe(1);
    expect(max_on_hw(dep)).toBe(2);
    // Without the credit limit drm_sched pipelines the chain through its scheduled fences;
    // drm_dep runs each job once its dependency has finished.
    expect(max_on_hw(await run_jobs('mock/ping-pong-pipelined', 'sched'))).toBeGreaterThan(1);
    expect(max_on_hw(await run_jobs('mock/ping-pong-pipelined', 'dep'))).toBe(1);
  });

  it('the pool task of a comparison applies them, and an explicit device option overrides them', () => {
    expect(find_driver('mock')!.defaults.driver?.credit_limit).toBeUndefined();
    const limited = run_seed_task({ driver: 'mock', workload: 'kunit/many-clients-13', seed: 1 });
    const widened = run_seed_task({ driver: 'mock', workload: 'kunit/many-clients-13', seed: 1, device: { credit_limit: 64 } });
    // 13 sync clients of 4 jobs: at credit limit 2 jobs wait in the scheduler; at 64 none do.
    expect(limited.result.digest_sched).not.toBe(widened.result.digest_sched);
    expect(limited.result.sched.submit_to_run_us.p99).toBeGreaterThan(10 * widened.result.sched.submit_to_run_us.p99);
  });
});
