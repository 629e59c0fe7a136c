import { describe, expect, it } from 'vitest';
import { load_workload_json, type Workload } from '@deplab/harness';
import { driver_folders, repository_root, scan_drivers, type ApiScan } from '@deplab/report';
import { expected_cost, run_task, type PoolTask } from './pool.ts';

function workload(clients: number, loops: number): Workload {
  const r = load_workload_json(JSON.stringify({
    name: `w${clients}`, clients: Array.from({ length: clients }, (_, i) => ({
      name: `c${i}`, queues: [{ name: 'q', engine: 'render' }], program: { loops, steps: [{ batch: { queue: 'q', duration_us: 50 } }] },
    })),
  }), 'w.json');
  if (!r.ok) throw new Error('invalid');
  return r.workload;
}

const seed = (w: Workload): PoolTask => ({ kind: 'seed', task: { driver: 'mock', workload: w, seed: 1 } });

describe('pool hand-out order', () => {
  it('expects many contending clients to cost more than a few with as many jobs, and the KUnit suite to come first', () => {
    const crowd = seed(workload(1000, 5)), one = seed(workload(1, 5000)), small = seed(workload(2, 10));
    expect(expected_cost(crowd)).toBeGreaterThan(expected_cost(one));
    expect(expected_cost(one)).toBeGreaterThan(expected_cost(small));
    const kunit: PoolTask = { kind: 'kunit', task: { backend: 'drm_dep' } };
    expect(expected_cost(kunit)).toBeGreaterThan(expected_cost(one));
    expect(expected_cost({ kind: 'chart', task: { ...one.task, result: null as never, options: {} } } as PoolTask)).toBe(2 * expected_cost(one));
  });
});

describe('the binding scan as a pool task', () => {
  it("is handed out before every other task, and gives readiness the scan it made itself before (every driver folder's bindings)", async () => {
    const root = repository_root();
    const scan_task: PoolTask = { kind: 'api-scan', task: { root } };
    const kunit: PoolTask = { kind: 'kunit', task: { backend: 'drm_dep' } };
    expect(expected_cost(scan_task)).toBeGreaterThan(expected_cost(kunit));
    expect(expected_cost(scan_task)).toBeGreaterThan(expected_cost(seed(workload(1000, 1000))));
    const pooled = await run_task(scan_task) as ApiScan;
    expect(pooled.drivers).toEqual(driver_folders(root));
    expect(pooled).toEqual(await scan_drivers(root));
  }, 60_000);
});
