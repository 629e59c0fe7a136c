/**
 * The worker-thread pool every long command uses (comparison seeds, exploration seeds and
 * shrinks, chart re-runs, the mock's KUnit suite, the survey's parses, readiness's binding scan): tasks are plain data in, plain data out. Threads run the command's
 * own esbuild bundle (DEPLAB_BUNDLE); without it (tests, tsx) tasks run in this thread. Tasks
 * are handed out longest expected first (so a long task does not start last and leave the other
 * threads idle), and results come back in task order whatever the completion order, so output
 * is deterministic.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { AssumptionValues, CostOverrides } from '@deplab/sim';
import type { Backend } from '@deplab/driver-api';
import {
  compare_seed_group, explore_seed, find_driver, monitor_facts, shrink_task, type ExploreSeedTask, type SeedOutput, type SeedReport, type ShrinkReport,
  type ShrinkTask, type Workload,
} from '@deplab/harness';
import { chart_data, scan_drivers, type ApiScan, type ChartData, type ChartOptions } from '@deplab/report';
import { mock_dep_backend, mock_sched_backend, run_case, tests_basic, tests_scheduler } from '@deplab/driver-mock';
import type { ComparisonResult } from '@deplab/harness';
import { parse_task, type ParseOutput, type ParseTask } from '@deplab/survey';

/** One comparison seed: the workload travels compiled, so a worker (or a merge) never opens a path. */
export interface SeedTask {
  readonly driver: string;
  readonly workload: Workload;
  readonly seed: number;
  readonly costs?: CostOverrides;
  readonly assume?: AssumptionValues;
  /** Device options on top of the driver's defaults. */
  readonly device?: Record<string, number | string | boolean>;
  readonly baseline?: Backend;
  readonly candidate?: Backend;
  readonly alloc_fail_probability?: number;
}

/**
 * One seed of a comparison under a base configuration (the first task) and its robustness
 * variants (the others: same driver, workload, seed, device, backends and faults; other costs
 * or assumption values), run together so that a variant's side the base run already answers
 * is not run again (compare_seed_group).
 */
export interface SeedGroupTask {
  readonly tasks: readonly SeedTask[];
}

/** A seed group's outputs, in task order, and the side runs taken from the base. */
export interface SeedGroupOutput {
  readonly outputs: readonly SeedOutput[];
  readonly reused: number;
}

export interface ChartTask {
  readonly driver: string;
  readonly result: ComparisonResult;
  readonly workload: Workload;
  readonly options: ChartOptions;
}

export type PoolTask =
  | { readonly kind: 'seed'; readonly task: SeedTask }
  | { readonly kind: 'seed-group'; readonly task: SeedGroupTask }
  | { readonly kind: 'explore'; readonly task: ExploreSeedTask }
  | { readonly kind: 'shrink'; readonly task: ShrinkTask }
  | { readonly kind: 'chart'; readonly task: ChartTask }
  | { readonly kind: 'kunit'; readonly task: { readonly backend: 'drm_sched' | 'drm_dep' } }
  | { readonly kind: 'survey-parse'; readonly task: ParseTask }
  /** The ts-morph scan of the driver bindings (readiness's code evidence): seconds of CPU, run beside the seeds. */
  | { readonly kind: 'api-scan'; readonly task: { readonly root: string } };

/** The ported KUnit suite on one mock backend: cases passed and failed. */
export interface KunitTally {
  readonly passed: number;
  readonly failed: number;
}

export type PoolResult = SeedOutput | SeedGroupOutput | SeedReport | ShrinkReport | ChartData | KunitTally | ParseOutput | ApiScan;

/** The ported KUnit suite on one mock backend (readiness's conformance row). */
export function kunit_tally(backend: 'drm_sched' | 'drm_dep'): KunitTally {
  const b = backend === 'drm_sched' ? mock_sched_backend() : mock_dep_backend();
  let passed = 0, failed = 0;
  for (const c of [...tests_basic, ...tests_scheduler]) {
    if (c.backends !== undefined && !(c.backends as readonly string[]).includes(b.name)) continue;
    for (const param of c.params === undefined ? [null] : c.params.map((_, i) => i)) {
      if (run_case(c, b, param).status === 'pass') passed++; else failed++;
    }
  }
  return { passed, failed };
}

export function device_options(task: { driver: string; device?: Record<string, number | string | boolean> }) {
  const driver = find_driver(task.driver);
  if (driver === undefined) throw new Error(`unknown driver ${task.driver}`);
  return { driver, device: { driver: { ...driver.defaults.driver, ...task.device } } };
}

export function run_seed_task(task: SeedTask): SeedOutput {
  return run_seed_group({ tasks: [task] }).outputs[0];
}

export function run_seed_group(group: SeedGroupTask): SeedGroupOutput {
  const [base, ...variants] = group.tasks;
  for (const v of variants) {
    if (v.driver !== base.driver || v.workload !== base.workload && JSON.stringify(v.workload) !== JSON.stringify(base.workload) || v.seed !== base.seed
      || JSON.stringify(v.device ?? {}) !== JSON.stringify(base.device ?? {}) || v.baseline !== base.baseline || v.candidate !== base.candidate
      || (v.alloc_fail_probability ?? 0) !== (base.alloc_fail_probability ?? 0)) {
      throw new RangeError(`seed group of ${base.driver} ${base.workload.name} seed ${base.seed}: a variant differs in more than costs and assumptions`);
    }
  }
  const { driver, device } = device_options(base);
  return compare_seed_group(base.workload, driver.factory, base.seed, {
    costs: base.costs, assume: base.assume, device, baseline: base.baseline, candidate: base.candidate, alloc_fail_probability: base.alloc_fail_probability,
    monitor: monitor_facts(base.driver, device.driver),
  }, variants.map((v) => ({ costs: v.costs, assume: v.assume })));
}

export function run_task(t: PoolTask): PoolResult | Promise<PoolResult> {
  switch (t.kind) {
    case 'seed': return run_seed_task(t.task);
    case 'seed-group': return run_seed_group(t.task);
    case 'explore': return explore_seed(t.task);
    case 'shrink': return shrink_task(t.task);
    case 'chart': {
      const { driver } = device_options({ driver: t.task.driver });
      return chart_data(t.task.result, t.task.workload, driver.factory, t.task.options);
    }
    case 'kunit': return kunit_tally(t.task.backend);
    case 'survey-parse': return parse_task(t.task);
    case 'api-scan': return scan_drivers(t.task.root);
  }
}

/**
 * A rough relative cost of a task, to hand out the longest first: the jobs its workload submits
 * (loops × batches per client; a program bounded by time counts a loop per ms), times the
 * contention of its clients for the kernel's 8 CPUs (a thousand runnable clients cost far more
 * per job than a few); a chart task re-runs both sides. The KUnit suite counts as a large task,
 * a file to parse by its length; the binding scan goes first.
 */
export function expected_cost(t: PoolTask): number {
  if (t.kind === 'kunit') return 100_000;
  if (t.kind === 'api-scan') return Number.MAX_SAFE_INTEGER; // handed out first: one long piece
  if (t.kind === 'survey-parse') return t.task.src.length;
  if (t.kind === 'seed-group') return t.task.tasks.reduce((n, task) => n + expected_cost({ kind: 'seed', task }), 0);
  const w = t.kind === 'seed' || t.kind === 'chart' ? t.task.workload : null;
  if (w === null) return 1;
  let jobs = 0;
  for (const c of w.clients) {
    const batches = c.program.steps.filter((s) => s.kind === 'batch').length;
    const loops = c.program.end.kind === 'loops' ? c.program.end.loops : Math.max(1, c.program.end.duration_us / 1000);
    jobs += batches * loops;
  }
  const contention = Math.max(1, w.clients.length / 8);
  return (t.kind === 'chart' ? 2 : 1) * Math.max(1, jobs) * contention;
}

export type Progress = (done: number, total: number) => void;

/**
 * Young-generation size of a worker's heap (V8 makes a third of it each semi-space: 64 MB, Node
 * 20's default is 16 MB). A run allocates a few KB per job, nearly all short-lived; with small
 * semi-spaces much of it survives two scavenges and is promoted, then collected by full
 * collections. Measured on readiness (2 threads): user CPU 160 -> 153 s; peak RSS 0.96 -> 1.25 GB.
 */
const YOUNG_GENERATION_MB = 192;

/** Most tasks handed to a thread at once. */
const BATCH_MAX = 16;

/** Tasks small enough to go several to a message: seeds of comparisons and campaigns (not shrinks, charts, the KUnit suite or parses). */
function batchable(t: PoolTask): boolean {
  return t.kind === 'seed' || t.kind === 'explore';
}

type WorkerMessage = { outputs?: { index: number; output: PoolResult }[]; error?: { name: string; message: string; stack: string } };

/**
 * Worker threads kept across several runs of tasks (report: its seeds, then its charts; the
 * survey: its two parse passes), so each thread loads the bundle and warms its compiler once.
 * Threads start as a run needs them; idle ones are unref'd, so they do not keep the process
 * alive; close() ends them.
 */
export class WorkerPool {
  private readonly idle: Worker[] = [];
  private readonly all = new Set<Worker>();

  constructor(private readonly threads: number) {}

  /**
   * Run tasks on up to `threads` worker threads; results in task order. With a wall-clock
   * deadline (explore --time), no task starts after it and the result is the finished prefix in
   * task order.
   */
  async run<R extends PoolResult>(tasks: readonly PoolTask[], progress: Progress, deadline_ms = Infinity): Promise<R[]> {
    const bundle = process.env.DEPLAB_BUNDLE;
    const results: PoolResult[] = new Array(tasks.length);
    let done = 0;
    // With a bundle, even one thread is a worker: the same heap settings (YOUNG_GENERATION_MB)
    // whatever --jobs says, so that timings with 1 and 2 threads compare like with like.
    if (bundle === undefined || tasks.length <= 1) {
      for (let i = 0; i < tasks.length; i++) {
        if (Date.now() > deadline_ms) return results.slice(0, i) as R[];
        results[i] = await run_task(tasks[i]);
        progress(++done, tasks.length);
        // Let the event loop run between tasks: a Ctrl-C is handled now, not after the last task.
        await new Promise((r) => setImmediate(r));
      }
      return results as R[];
    }
    // Longest first; ties in task order, so the hand-out order is deterministic. Under a deadline,
    // task order, so that what finishes is a prefix.
    const order = deadline_ms !== Infinity ? tasks.map((_, i) => i)
      : tasks.map((t, i) => ({ i, cost: expected_cost(t) })).sort((a, b) => b.cost - a.cost || a.i - b.i).map((x) => x.i);
    let next = 0;
    const n = Math.max(1, Math.min(this.threads, tasks.length));
    const worker_loop = (w: Worker): Promise<void> => new Promise((resolve, reject) => {
      const detach = () => {
        w.off('message', on_message);
        w.off('error', on_error);
        w.off('exit', on_exit);
      };
      const feed = () => {
        if (next >= order.length || Date.now() > deadline_ms) {
          detach();
          w.unref();
          this.idle.push(w);
          resolve();
          return;
        }
        // Guided hand-out: a share of what is left, so that many small tasks (campaign seeds) do
        // not each pay a message round trip, and the last hand-outs are single tasks. Under a
        // deadline one at a time: none may start after it.
        const size = deadline_ms !== Infinity ? 1 : Math.max(1, Math.min(BATCH_MAX, Math.floor((order.length - next) / (4 * n))));
        const batch: { index: number; task: PoolTask }[] = [];
        for (let k = 0; k < size && next < order.length; k++) {
          const index = order[next++];
          if (batch.length > 0 && !batchable(tasks[index])) { next--; break; }
          batch.push({ index, task: tasks[index] });
          if (!batchable(tasks[index])) break;
        }
        w.postMessage({ batch });
      };
      const on_message = (msg: WorkerMessage) => {
        if (msg.error !== undefined) {
          detach();
          this.all.delete(w);
          void w.terminate();
          const e = new Error(msg.error.message);
          e.name = msg.error.name;
          e.stack = msg.error.stack;
          reject(e);
          return;
        }
        for (const o of msg.outputs!) {
          results[o.index] = o.output;
          progress(++done, tasks.length);
        }
        feed();
      };
      const on_error = (e: Error) => {
        detach();
        this.all.delete(w);
        reject(e);
      };
      const on_exit = (code: number) => {
        detach();
        this.all.delete(w);
        reject(new Error(`a worker thread exited (code ${code}) with tasks left`));
      };
      w.on('message', on_message);
      w.on('error', on_error);
      w.on('exit', on_exit);
      feed();
    });
    const workers: Worker[] = [];
    while (workers.length < n) {
      let w = this.idle.pop();
      if (w === undefined) {
        // Source maps as on the main thread (bin/deplab.mjs): a worker does not inherit
        // process.setSourceMapsEnabled, and without them every frame is the bundle's, under
        // node_modules/.cache, so each site a violation or lockdep report captured read "unknown".
        // The process's own flags are kept where a worker takes them (node --cpu-prof then
        // profiles every worker too); V8 flags are process-wide and a worker refuses them.
        w = new_worker(bundle);
        this.all.add(w);
      }
      w.ref();
      workers.push(w);
    }
    await Promise.all(workers.map(worker_loop));
    let prefix = 0;
    while (prefix < results.length && results[prefix] !== undefined) prefix++;
    return results.slice(0, prefix) as R[];
  }

  /** End the threads, busy ones too (a run that failed may leave some). */
  async close(): Promise<void> {
    this.idle.length = 0;
    const all = [...this.all];
    this.all.clear();
    await Promise.all(all.map((w) => w.terminate()));
  }
}

/**
 * A pool worker on `bundle`, with source maps and the process's own node flags. A worker
 * refuses V8 flags (they are process-wide: it has them anyway); the error names them, and the
 * rest are kept. Should the error ever not name them, the worker gets no flags of the process.
 */
function new_worker(bundle: string): Worker {
  const make = (flags: readonly string[]) => new Worker(bundle, {
    workerData: { deplab_worker: true }, env: process.env, execArgv: [...flags, '--enable-source-maps'],
    resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
  });
  let flags = process.execArgv;
  for (let attempt = 0; flags.length > 0; attempt++) {
    try {
      return make(flags);
    } catch (e) {
      const err = e as { code?: string; message?: string };
      if (err.code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw e;
      const refused = new Set((err.message ?? '').replace(/^[^:]*: /, '').split(', '));
      const kept = flags.filter((f) => !refused.has(f));
      flags = attempt === 0 && kept.length < flags.length ? kept : [];
    }
  }
  return make([]);
}

/** The pool run_pool uses, one per thread count: its idle threads serve the command's next run. */
const shared_pools = new Map<number, WorkerPool>();

/** Run tasks on the command's shared pool of `threads` threads (see WorkerPool.run). */
export async function run_pool<R extends PoolResult>(tasks: readonly PoolTask[], threads: number, progress: Progress, deadline_ms = Infinity): Promise<R[]> {
  let pool = shared_pools.get(threads);
  if (pool === undefined) {
    pool = new WorkerPool(threads);
    shared_pools.set(threads, pool);
  }
  try {
    return await pool.run<R>(tasks, progress, deadline_ms);
  } catch (e) {
    // A failed run may leave busy threads: end them all, the next run starts afresh.
    shared_pools.delete(threads);
    await pool.close();
    throw e;
  }
}

/** The worker side: batches of tasks in, their results (or the first error) out. */
export function serve_worker(port: import('node:worker_threads').MessagePort): void {
  port.on('message', (msg: { batch: { index: number; task: PoolTask }[] }) => {
    const fail = (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      port.postMessage({ error: { name: err.name, message: err.message, stack: err.stack ?? '' } });
    };
    void (async () => {
      const outputs: { index: number; output: PoolResult }[] = [];
      for (const b of msg.batch) outputs.push({ index: b.index, output: await run_task(b.task) });
      return outputs;
    })().then((outputs) => port.postMessage({ outputs }), fail);
  });
}

export function default_threads(): number {
  return Math.max(1, availableParallelism());
}

/** Comparison seed tasks in the pool's form. */
export function seed_tasks(tasks: readonly SeedTask[]): PoolTask[] {
  return tasks.map((task) => ({ kind: 'seed', task }));
}
