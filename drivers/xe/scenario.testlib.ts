/**
 * One mixed xe workload, run unchanged on either binding, reduced to per-job outcomes: the
 * comparison test (compare.test.ts) and the README's "Differences between the bindings" use it.
 */
import { dma_fence_put, dma_fence_signal, errno_name, fsleep, type Sleepable } from '@deplab/sim';
import type { Backend, JobHandle } from '@deplab/driver-api';
import { MS, US, outcome, queue, setup, submit_many, sw_fence, teardown } from './xe.testlib.ts';

export interface ScenarioResult {
  /** logical job -> "0" / "-ETIME" / ... once finished, "submit:<errno>" if the ioctl failed. */
  readonly outcomes: Map<string, string>;
  /** logical job -> finished time (ns), -1 if it never finished. */
  readonly finished_ns: Map<string, number>;
  readonly close_ns: number;
  readonly unplug_ns: number;
  /** When the last exec queue of the closed client was freed, relative to the close. */
  readonly freed_after_close_ns: number;
  /** Digest of the whole trace (determinism). */
  readonly trace_digest: string;
}

export function run_scenario(backend: Backend): ScenarioResult {
  const s = setup(backend, { job_timeout_ms: 100 });
  const { k, dev } = s;
  const out = new Map<string, string>();
  const fin = new Map<string, number>();
  const handles = new Map<string, JobHandle>();
  const record = (name: string, jobs: (JobHandle | number)[]) => jobs.forEach((j, i) => {
    if (typeof j === 'number') out.set(`${name}#${i}`, `submit:${errno_name(j)}`);
    else handles.set(`${name}#${i}`, j);
  });
  const a = dev.open_client('a');
  const b = dev.open_client('b');
  const c = dev.open_client('c');
  const [ra, ca, ra2] = [queue(dev, a), queue(dev, a, { engine: 'copy' }), queue(dev, a, { engine: 'video' })];
  const [cb, bb] = [queue(dev, b, { engine: 'compute' }), queue(dev, b, { engine: 'bind' })];
  const [lr, st] = [queue(dev, c, { engine: 'compute', long_running: true }), queue(dev, c, { engine: 'video_enhance' })];
  const f = sw_fence(k);
  // A render chain and copy jobs that each wait for one render job (cross-queue dependencies).
  const ra_jobs = submit_many(k, dev, ra, [0, 1, 2, 3, 4].map(() => ({ duration_ns: 2 * MS })));
  record('ra', ra_jobs);
  record('ca', submit_many(k, dev, ca, ra_jobs.map((j) => ({ duration_ns: 500 * US, deps: [j.out_fence] }))));
  // 60 jobs on one queue, the second hangs: TDR, ban; 5 jobs never got a credit before the ban.
  record('cb', submit_many(k, dev, cb, Array.from({ length: 60 }, (_, i) => ({ duration_ns: MS, hang: i === 1 }))));
  record('bb', submit_many(k, dev, bb, [0, 1, 2].map(() => ({ duration_ns: 200 * US }))));
  record('lr', submit_many(k, dev, lr, [0, 1, 2].map(() => ({ duration_ns: 20 * MS }))));
  // A job waiting for an in-fence when its client is killed (Ctrl-C at 30 ms, fence at 40 ms).
  record('ra2', submit_many(k, dev, ra2, [{ duration_ns: MS, deps: [f] }, { duration_ns: MS }]));
  // A hung head while the client keeps submitting every 30 ms.
  const st_jobs: (JobHandle | number)[] = [];
  k.spawn('client/c', (function* (): Sleepable {
    for (let i = 0; i < 10; i++) {
      st_jobs.push(yield* dev.submit(st, { duration_ns: MS, hang: i === 0, deps: [] }));
      yield* fsleep(k, 30_000);
    }
  })());
  k.spawn('preempt', (function* (): Sleepable {
    yield* fsleep(k, 5_000);
    yield* dev.preempt(lr);
  })());
  k.run_for(30 * MS);
  const t_close = k.now();
  k.run_task(dev.close_client(a));
  const close_ns = k.now() - t_close;
  k.run_for(10 * MS);
  dma_fence_signal(f);
  const t_signal = k.now();
  k.run_until(() => dev.queue_state(ra2).alive === false && dev.xe.exec_queues === 4, k.now() + 10 * MS);
  const freed_after_close_ns = k.now() - t_signal;
  k.run_for(600 * MS);
  record('st', st_jobs);
  for (const [name, j] of handles) {
    out.set(name, outcome(j));
    fin.set(name, j.out_fence.signaled ? j.out_fence.timestamp_ns : -1);
  }
  dma_fence_put(f);
  const unplug_ns = teardown(s, [b, c]);
  return { outcomes: out, finished_ns: fin, close_ns, unplug_ns, freed_after_close_ns, trace_digest: k.trace.digest() };
}
