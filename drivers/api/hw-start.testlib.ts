/**
 * Checks of deplab_job_hw_start that every driver's tests run on its Device (one scenario per
 * function, the driver's test file asserts what its hardware makes of it): which jobs the
 * event names, how often, and when, next to the scheduler's run_job tracepoint.
 */
import { expect } from 'vitest';
import { Kernel, dma_fence, dma_fence_init, dma_fence_put, dma_fence_signal, errno_name, spin_lock_init, type Sleepable } from '@deplab/sim';
import type { Backend, ClientHandle, Device, DeviceFactory, DeviceOptions, JobHandle, JobSpec, QueueHandle } from './index.ts';

/** The backends the expect_* checks run on unless told otherwise. */
const BINDINGS = ['sched', 'dep'] as const;
type Binding = (typeof BINDINGS)[number];

/** BINDINGS as the default of a `backends: readonly B[]` parameter (B is Binding when it is left out). */
function default_backends<B extends Backend>(): readonly B[] {
  return BINDINGS as readonly Backend[] as readonly B[];
}

/** What the trace says about one job, by its finished fence. */
export interface JobStarts {
  readonly handle: JobHandle;
  /** First run_job tracepoint (drm_sched_job_run / drm_dep_job_run), -1 if none. */
  readonly run_ns: number;
  /** Every deplab_job_hw_start of the job, in trace order. */
  readonly starts_ns: readonly number[];
  /** The out-fence's error once signalled ('pending' if it never was). */
  readonly outcome: string;
}

export interface Scenario {
  readonly k: Kernel;
  readonly dev: Device;
  readonly client: ClientHandle;
  readonly queue: QueueHandle;
}

/** A traced kernel and the device on `backend`, one client with one queue of the device's first engine. */
export function scenario(factory: DeviceFactory, backend: Backend, options: DeviceOptions = {}): Scenario {
  const k = new Kernel({ trace: 'record', init_name: 'test' });
  const dev = factory(k, backend, options);
  const client = dev.open_client('c');
  const queue = dev.create_queue(client, { engine: dev.engines[0], priority: 'normal' });
  if (typeof queue === 'number') throw new Error(`create_queue failed: ${errno_name(queue)}`);
  return { k, dev, client, queue };
}

/** Submit the specs one ioctl after the other from one task (no time passes for the test in between). */
export function submit_all(s: Scenario, specs: readonly JobSpec[]): JobHandle[] {
  const { k, dev, queue } = s;
  return k.run_task((function* (): Sleepable<JobHandle[]> {
    const out: JobHandle[] = [];
    for (const spec of specs) {
      const r = yield* dev.submit(queue, spec);
      if (typeof r === 'number') throw new Error(`submit failed: ${errno_name(r)}`);
      out.push(r);
    }
    return out;
  })());
}

/** Run every job to its end, then close and unplug. */
export function finish(s: Scenario): void {
  const { k, dev, client } = s;
  k.run_all();
  k.run_task(dev.close_client(client));
  k.run_task(dev.unplug());
  k.run_all();
}

/** The trace of `jobs` (call after the run). */
export function job_starts(k: Kernel, jobs: readonly JobHandle[]): JobStarts[] {
  const key = (c: unknown, s: unknown) => `${String(c)}:${String(s)}`;
  const runs = new Map<string, number>();
  const starts = new Map<string, number[]>();
  for (const e of k.trace.events) {
    const id = key(e.args.fence_context, e.args.fence_seqno);
    if ((e.name === 'drm_sched_job_run' || e.name === 'drm_dep_job_run') && !runs.has(id)) runs.set(id, e.t_ns);
    if (e.name === 'deplab_job_hw_start') {
      let list = starts.get(id);
      if (list === undefined) starts.set(id, (list = []));
      list.push(e.t_ns);
    }
  }
  return jobs.map((handle) => {
    const id = key(handle.fence_context, handle.fence_seqno);
    const f = handle.out_fence;
    return { handle, run_ns: runs.get(id) ?? -1, starts_ns: starts.get(id) ?? [], outcome: f.signaled ? errno_name(f.error) : 'pending' };
  });
}

/** Every deplab_job_hw_start of the run (to check none names a job outside the list). */
export function all_hw_starts(k: Kernel): number {
  return k.trace.events.filter((e) => e.name === 'deplab_job_hw_start').length;
}

/**
 * Scenario "busy queue": `durations_ns` submitted at once on one queue, run to the end. The
 * hardware executes a queue's jobs one after the other, so every job but the first was handed
 * over (run_job) while another one executed.
 */
export function busy_queue(factory: DeviceFactory, backend: Backend, durations_ns: readonly number[], options: DeviceOptions = {}): { jobs: JobStarts[]; total: number } {
  const s = scenario(factory, backend, options);
  const handles = submit_all(s, durations_ns.map((duration_ns) => ({ duration_ns, deps: [] })));
  finish(s);
  return { jobs: job_starts(s.k, handles), total: all_hw_starts(s.k) };
}

/** A fence from outside the driver that the test signals (an in-fence nobody else controls). */
export function external_fence(k: Kernel): dma_fence {
  const f = new dma_fence(k, 'test.in_fence');
  dma_fence_init(f, { get_driver_name: () => 'test', get_timeline_name: () => 'in' }, spin_lock_init(k, 'test.in_fence.lock'),
    k.dma_fence_context_alloc(1), 1);
  return f;
}

/**
 * Scenario "killed while waiting": one job runs, `blocked` more wait on an external fence; the
 * client's file is closed (by a task of its own, which the release may block), and the fence
 * signals `signal_after_ns` later (so a scheduler that still calls run_job for them does so
 * after the kill). Returns the running job first.
 */
export function killed_while_waiting(factory: DeviceFactory, backend: Backend, blocked: number, signal_after_ns: number,
  options: DeviceOptions = {}): { jobs: JobStarts[]; total: number; close_ns: number } {
  const s = scenario(factory, backend, options);
  const { k, dev, client } = s;
  const gate = external_fence(k);
  const handles = submit_all(s, [
    { duration_ns: 200_000, deps: [] },
    ...Array.from({ length: blocked }, () => ({ duration_ns: 100_000, deps: [gate] })),
  ]);
  k.run_for(50_000);
  const close_ns = k.now();
  // The file is closed by its own (exiting) task: the release may wait for the queue.
  k.spawn('client-exit', dev.close_client(client));
  k.run_for(signal_after_ns);
  dma_fence_signal(gate);
  dma_fence_put(gate);
  k.run_all();
  k.run_task(dev.unplug());
  k.run_all();
  return { jobs: job_starts(k, handles), total: all_hw_starts(k), close_ns };
}

/**
 * Scenario "behind a hang": the first job hangs on the hardware, `behind` more are handed to
 * the hardware after it; the client's file is closed (by a task of its own) and the device
 * unplugged, which ends the hung job one way or another (timeout, context destroy, cancel).
 */
export function behind_a_hang(factory: DeviceFactory, backend: Backend, behind: number, options: DeviceOptions = {}): { jobs: JobStarts[]; total: number } {
  const s = scenario(factory, backend, options);
  const { k, dev, client } = s;
  const handles = submit_all(s, [
    { duration_ns: 100_000, deps: [], hang: true },
    ...Array.from({ length: behind }, () => ({ duration_ns: 100_000, deps: [] })),
  ]);
  k.run_for(1_000_000);
  k.spawn('client-exit', dev.close_client(client));
  k.run_all();
  k.run_task(dev.unplug());
  k.run_all();
  return { jobs: job_starts(k, handles), total: all_hw_starts(k) };
}

/**
 * The busy-queue checks every driver shares: on each of `backends` (default sched and dep),
 * every job started exactly once and no other start was emitted; each started after its
 * run_job, every job but the first strictly later (it waited for the one before); the starts
 * follow each other by the job's duration plus what the hardware adds between two jobs (within
 * `overhead_ns`, [min, max]); and every backend gives the same gaps. Returns the per-backend
 * results.
 */
export function expect_busy_queue<B extends Backend = Binding>(factory: DeviceFactory, durations_ns: readonly number[],
  overhead_ns: readonly [number, number], options: DeviceOptions = {}, backends: readonly B[] = default_backends<B>()): Record<B, JobStarts[]> {
  const out = {} as Record<B, JobStarts[]>;
  for (const backend of backends) {
    const { jobs, total } = busy_queue(factory, backend, durations_ns, options);
    expect(jobs.map((j) => j.outcome), backend).toEqual(durations_ns.map(() => '0'));
    expect(jobs.map((j) => j.starts_ns.length), backend).toEqual(durations_ns.map(() => 1));
    expect(total, backend).toBe(durations_ns.length);
    for (const [i, j] of jobs.entries()) {
      expect(j.run_ns, `${backend} job ${i} ran`).toBeGreaterThanOrEqual(0);
      if (i === 0) expect(j.starts_ns[0]).toBeGreaterThanOrEqual(j.run_ns);
      else expect(j.starts_ns[0], `${backend} job ${i} waited on the hardware`).toBeGreaterThan(j.run_ns);
    }
    for (const [i, gap] of gaps(jobs).entries()) {
      expect(gap - durations_ns[i], `${backend} gap after job ${i}`).toBeGreaterThanOrEqual(overhead_ns[0]);
      expect(gap - durations_ns[i], `${backend} gap after job ${i}`).toBeLessThanOrEqual(overhead_ns[1]);
    }
    out[backend] = jobs;
  }
  for (const backend of backends.slice(1)) expect(gaps(out[backend]), `${backend} vs ${backends[0]}`).toEqual(gaps(out[backends[0]]));
  return out;
}

/** Time from each job's start to the next one's. */
export function gaps(jobs: readonly JobStarts[]): number[] {
  return jobs.slice(1).map((j, i) => j.starts_ns[0] - jobs[i].starts_ns[0]);
}

/** Of `jobs`, only the first started, once, and the run emitted no other start. */
function expect_only_first_started(jobs: readonly JobStarts[], total: number, backend: Backend): void {
  expect(jobs.map((j) => j.starts_ns.length), backend).toEqual(jobs.map((_, i) => (i === 0 ? 1 : 0)));
  expect(total, backend).toBe(1);
}

/** behind_a_hang on each of `backends`: every job was handed to the hardware, only the hung one started. */
export function expect_behind_a_hang<B extends Backend = Binding>(factory: DeviceFactory, behind: number, options: DeviceOptions = {},
  backends: readonly B[] = default_backends<B>()): Record<B, JobStarts[]> {
  const out = {} as Record<B, JobStarts[]>;
  for (const backend of backends) {
    const { jobs, total } = behind_a_hang(factory, backend, behind, options);
    expect(jobs.every((j) => j.run_ns >= 0), backend).toBe(true);
    expect_only_first_started(jobs, total, backend);
    out[backend] = jobs;
  }
  return out;
}

/** killed_while_waiting on each of `backends`: only the job that ran before the close started. */
export function expect_killed_while_waiting<B extends Backend = Binding>(factory: DeviceFactory, blocked: number, signal_after_ns: number,
  options: DeviceOptions = {}, backends: readonly B[] = default_backends<B>()): Record<B, { jobs: JobStarts[]; close_ns: number }> {
  const out = {} as Record<B, { jobs: JobStarts[]; close_ns: number }>;
  for (const backend of backends) {
    const { jobs, total, close_ns } = killed_while_waiting(factory, backend, blocked, signal_after_ns, options);
    expect_only_first_started(jobs, total, backend);
    out[backend] = { jobs, close_ns };
  }
  return out;
}
