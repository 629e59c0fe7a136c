/**
 * A worker-thread pool for comparison seeds: each task is (driver, workload, seed, cost
 * overrides) and returns a plain SeedOutput. Threads run the same esbuild bundle as the
 * command (DEPLAB_BUNDLE); without it (tests, tsx) tasks run in this thread. Results come back
 * in task order whatever the completion order, so output is deterministic.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { CostOverrides } from '@deplab/sim';
import { compare_seed, find_driver, type SeedOutput } from '@deplab/harness';
import { resolve_workload } from './workloads.ts';

export interface SeedTask {
  readonly driver: string;
  readonly workload: string;
  readonly seed: number;
  readonly costs?: CostOverrides;
  readonly device?: Record<string, number | string | boolean>;
}

export function run_seed_task(task: SeedTask): SeedOutput {
  const driver = find_driver(task.driver);
  if (driver === undefined) throw new Error(`unknown driver ${task.driver}`);
  const loaded = resolve_workload(task.workload, driver.engines);
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const device = { driver: { ...driver.defaults.driver, ...loaded.device, ...task.device } };
  return compare_seed(loaded.workload, driver.factory, task.seed, { costs: task.costs, device });
}

export type Progress = (done: number, total: number) => void;

export async function run_tasks(tasks: readonly SeedTask[], threads: number, progress: Progress): Promise<SeedOutput[]> {
  const bundle = process.env.DEPLAB_BUNDLE;
  const results: SeedOutput[] = new Array(tasks.length);
  let done = 0;
  if (bundle === undefined || threads <= 1 || tasks.length <= 1) {
    tasks.forEach((t, i) => {
      results[i] = run_seed_task(t);
      progress(++done, tasks.length);
    });
    return results;
  }
  let next = 0;
  const worker_loop = (): Promise<void> => new Promise((resolve, reject) => {
    const w = new Worker(bundle, { workerData: { deplab_worker: true }, env: process.env });
    const feed = () => {
      if (next >= tasks.length) {
        void w.terminate().then(() => resolve());
        return;
      }
      const index = next++;
      w.postMessage({ index, task: tasks[index] });
    };
    w.on('message', (msg: { index: number; output?: SeedOutput; error?: string }) => {
      if (msg.error !== undefined) {
        void w.terminate();
        reject(new Error(msg.error));
        return;
      }
      results[msg.index] = msg.output!;
      progress(++done, tasks.length);
      feed();
    });
    w.on('error', reject);
    feed();
  });
  const n = Math.max(1, Math.min(threads, tasks.length));
  await Promise.all(Array.from({ length: n }, worker_loop));
  return results;
}

export function default_threads(): number {
  return Math.max(1, availableParallelism());
}
