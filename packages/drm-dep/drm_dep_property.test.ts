/**
 * Model-based property test: random command sequences (init / add_dependency / arm / push /
 * done / kill / put / timeout / time passing) on three queues with random flags, so every flag
 * combination meets every other. A tiny reference model decides which commands are legal uses
 * of the API; the properties are checked on the real model at the end:
 *   - every pushed job's finished fence signals exactly once, with 0, -ETIMEDOUT or -ECANCELED;
 *   - the fences of one queue signal in seqno order (the model has no error path that reorders:
 *     killed jobs are cancelled in order behind the started ones);
 *   - no violation of any kind (lifetime, lockdep, context, WARN);
 *   - after kill and the last puts every queue is released and freed, and no drm_dep object
 *     (queue, job, finished fence) is alive.
 * On failure fast-check prints the seed, the path and the shrunk command list.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  dma_fence, dma_fence_add_callback, dma_fence_cb, dma_fence_get, dma_fence_init, dma_fence_put,
  dma_fence_signal, ECANCELED, ETIMEDOUT, Kernel, spin_lock_init,
} from '@deplab/sim';
import {
  drm_dep_job_add_dependency, drm_dep_job_arm, drm_dep_job_finished_fence, drm_dep_job_init,
  drm_dep_job_push, drm_dep_job_put, drm_dep_queue_kill, drm_dep_queue_put, drm_dep_queue_trigger_timeout,
  DRM_DEP_QUEUE_FLAGS_ALL,
} from './index.ts';
import { fake_gpu, fake_job, fake_queue, fake_queue_complete, fake_queue_create } from './fake_gpu.testlib.ts';

const MS = 1_000_000;
const QUEUES = 3;
const FOREIGN = 2;
const DEP_TYPES = ['drm_dep_queue', 'drm_dep_job', 'drm_dep_fence'];

type JobPhase = 'init' | 'armed' | 'pushed';

interface Model {
  readonly flags: readonly number[];
  readonly queues: { killed: boolean; put: boolean }[];
  readonly jobs: { q: number; phase: JobPhase; driver_ref: boolean }[];
  armed: number | null;
}

interface Real {
  readonly k: Kernel;
  readonly queues: fake_queue[];
  readonly jobs: fake_job[];
  /** The test's reference to each armed job's finished fence. */
  readonly fences: (dma_fence | null)[];
  /** Signals seen per job (callback counts). */
  readonly signals: number[];
  /** Seqnos in the order they signalled, per queue. */
  readonly signal_order: number[][];
  readonly foreign: dma_fence[];
}

type Cmd = fc.Command<Model, Real>;

/** Index of a job matching `pred`, chosen by `pick`, or -1. */
function choose(m: Model, pick: number, pred: (j: Model['jobs'][number], i: number) => boolean): number {
  const candidates = m.jobs.map((j, i) => (pred(j, i) ? i : -1)).filter((i) => i >= 0);
  return candidates.length === 0 ? -1 : candidates[pick % candidates.length];
}

class InitJob implements Cmd {
  constructor(readonly q: number, readonly credits: number, readonly hang: boolean) {}
  check(m: Readonly<Model>): boolean {
    return m.armed === null && !m.queues[this.q].put;
  }
  run(m: Model, r: Real): void {
    const job = new fake_job(r.k, this.hang ? Infinity : MS / 2);
    const ret = drm_dep_job_init(job, r.queues[this.q], this.credits);
    if (m.queues[this.q].killed) {
      expect(ret).toBe(-ECANCELED);
      return;
    }
    expect(ret).toBe(0);
    m.jobs.push({ q: this.q, phase: 'init', driver_ref: true });
    r.jobs.push(job);
    r.fences.push(null);
    r.signals.push(0);
  }
  toString(): string {
    return `init(q${this.q}, credits=${this.credits}${this.hang ? ', hang' : ''})`;
  }
}

/** init + arm + push in one go, the common driver pattern (keeps the queues busy). */
class Submit implements Cmd {
  constructor(readonly q: number, readonly credits: number, readonly hang: boolean) {}
  check(m: Readonly<Model>): boolean {
    return m.armed === null && !m.queues[this.q].put && !m.queues[this.q].killed;
  }
  run(m: Model, r: Real): void {
    new InitJob(this.q, this.credits, this.hang).run(m, r);
    arm_job(m, r, m.jobs.length - 1);
    new Push().run(m, r);
  }
  toString(): string {
    return `submit(q${this.q}, credits=${this.credits}${this.hang ? ', hang' : ''})`;
  }
}

class AddDependency implements Cmd {
  constructor(readonly pick: number, readonly target: number, readonly foreign: boolean) {}
  private job(m: Readonly<Model>): number {
    return choose(m, this.pick, (j) => j.phase === 'init' && j.driver_ref);
  }
  private dep(m: Readonly<Model>): number {
    return choose(m, this.target, (j) => j.phase === 'pushed');
  }
  check(m: Readonly<Model>): boolean {
    return m.armed === null && this.job(m) >= 0 && (this.foreign || this.dep(m) >= 0);
  }
  run(m: Model, r: Real): void {
    const fence = this.foreign ? r.foreign[this.target % FOREIGN] : r.fences[this.dep(m)]!;
    expect(drm_dep_job_add_dependency(r.jobs[this.job(m)], dma_fence_get(fence))).toBe(0);
  }
  toString(): string {
    return `add_dependency(job#${this.pick}, ${this.foreign ? 'foreign' : 'job'}#${this.target})`;
  }
}

class Arm implements Cmd {
  constructor(readonly pick: number) {}
  private job(m: Readonly<Model>): number {
    return choose(m, this.pick, (j) => j.phase === 'init' && j.driver_ref);
  }
  check(m: Readonly<Model>): boolean {
    return m.armed === null && this.job(m) >= 0;
  }
  run(m: Model, r: Real): void {
    arm_job(m, r, this.job(m));
  }
  toString(): string {
    return `arm(job#${this.pick})`;
  }
}

/** Arm job `i` and watch its finished fence (count signals, record the order per queue). */
function arm_job(m: Model, r: Real, i: number): void {
  drm_dep_job_arm(r.jobs[i]);
  const fence = drm_dep_job_finished_fence(r.jobs[i])!;
  r.fences[i] = fence;
  const q = m.jobs[i].q;
  expect(dma_fence_add_callback(fence, new dma_fence_cb(null), (f) => {
    r.signals[i]++;
    r.signal_order[q].push(f.seqno);
  })).toBe(0);
  m.jobs[i].phase = 'armed';
  m.armed = i;
}

/** Push the armed job: the only command allowed while a job is armed (arm→push is atomic). */
class Push implements Cmd {
  check(m: Readonly<Model>): boolean {
    return m.armed !== null;
  }
  run(m: Model, r: Real): void {
    const i = m.armed!;
    drm_dep_job_push(r.jobs[i]);
    m.jobs[i].phase = 'pushed';
    m.armed = null;
  }
  toString(): string {
    return 'push()';
  }
}

class Done implements Cmd {
  constructor(readonly q: number) {}
  check(m: Readonly<Model>): boolean {
    return m.armed === null;
  }
  run(_m: Model, r: Real): void {
    fake_queue_complete(r.queues[this.q], 1);
    r.k.run_for(10_000);
  }
  toString(): string {
    return `done(q${this.q})`;
  }
}

class Kill implements Cmd {
  constructor(readonly q: number) {}
  check(m: Readonly<Model>): boolean {
    return this.q < QUEUES && m.armed === null && !m.queues[this.q].put;
  }
  run(m: Model, r: Real): void {
    drm_dep_queue_kill(r.queues[this.q]);
    m.queues[this.q].killed = true;
  }
  toString(): string {
    return `kill(q${this.q})`;
  }
}

class PutJob implements Cmd {
  constructor(readonly pick: number) {}
  private job(m: Readonly<Model>): number {
    return choose(m, this.pick, (j) => j.driver_ref && j.phase !== 'armed');
  }
  check(m: Readonly<Model>): boolean {
    return m.armed === null && this.job(m) >= 0;
  }
  run(m: Model, r: Real): void {
    const i = this.job(m);
    drm_dep_job_put(r.jobs[i]);
    m.jobs[i].driver_ref = false;
  }
  toString(): string {
    return `put_job(job#${this.pick})`;
  }
}

class PutQueue implements Cmd {
  constructor(readonly q: number) {}
  check(m: Readonly<Model>): boolean {
    return this.q < QUEUES && m.armed === null && !m.queues[this.q].put;
  }
  run(m: Model, r: Real): void {
    drm_dep_queue_put(r.queues[this.q]);
    m.queues[this.q].put = true;
  }
  toString(): string {
    return `put_queue(q${this.q})`;
  }
}

class Timeout implements Cmd {
  constructor(readonly q: number) {}
  check(m: Readonly<Model>): boolean {
    return m.armed === null && !m.queues[this.q].put;
  }
  run(_m: Model, r: Real): void {
    drm_dep_queue_trigger_timeout(r.queues[this.q]);
  }
  toString(): string {
    return `trigger_timeout(q${this.q})`;
  }
}

class SignalForeign implements Cmd {
  constructor(readonly i: number) {}
  check(m: Readonly<Model>): boolean {
    return m.armed === null;
  }
  run(_m: Model, r: Real): void {
    const f = r.foreign[this.i];
    if (!f.signaled) dma_fence_signal(f);
  }
  toString(): string {
    return `signal_foreign(${this.i})`;
  }
}

class Advance implements Cmd {
  constructor(readonly ns: number) {}
  check(): boolean {
    return true;
  }
  run(_m: Model, r: Real): void {
    r.k.run_for(this.ns);
  }
  toString(): string {
    return `advance(${this.ns}ns)`;
  }
}

const queue_index = fc.integer({ min: 0, max: QUEUES - 1 });
const pick = fc.nat({ max: 1000 });
/** Kill and queue put end a queue's useful life: two out of three draws are skipped (no such queue). */
const rare_queue_index = fc.integer({ min: 0, max: 3 * QUEUES - 1 });
const job_args = fc.tuple(queue_index, fc.integer({ min: 1, max: 3 }), fc.boolean());
const init_job = job_args.map(([q, c, h]) => new InitJob(q, c, h));
const submit = job_args.map(([q, c, h]) => new Submit(q, c, h));
const arm = pick.map((j) => new Arm(j));
const push = fc.constant(null).map(() => new Push());
const add_dependency = fc.tuple(pick, pick, fc.boolean()).map(([j, t, f]) => new AddDependency(j, t, f));
// Submission commands appear more than once: they make the jobs every other command acts on.
const commands = [
  submit, submit, submit, submit,
  init_job, init_job, init_job,
  add_dependency, add_dependency,
  arm, arm, arm,
  push, push,
  queue_index.map((q) => new Done(q)),
  rare_queue_index.map((q) => new Kill(q)),
  pick.map((j) => new PutJob(j)),
  rare_queue_index.map((q) => new PutQueue(q)),
  queue_index.map((q) => new Timeout(q)),
  fc.integer({ min: 0, max: FOREIGN - 1 }).map((i) => new SignalForeign(i)),
  fc.integer({ min: 1_000, max: 8 * MS }).map((ns) => new Advance(ns)),
];

function setup(flags: readonly number[]): { model: Model; real: Real } {
  const k = new Kernel();
  const gpu = new fake_gpu(k);
  const queues = flags.map((f, i) => fake_queue_create(gpu, {
    name: `q${i}`, flags: f, credit_limit: 3, timeout_ms: 5, fw_teardown_ns: i === 0 ? 200_000 : undefined,
  }));
  const ctx = k.dma_fence_context_alloc(1);
  const foreign = Array.from({ length: FOREIGN }, (_, i) => {
    const f = new dma_fence(k, 'foreign');
    dma_fence_init(f, { get_driver_name: () => 'foreign', get_timeline_name: () => 'foreign' }, spin_lock_init(k, 'foreign.lock'), ctx, i + 1);
    return f;
  });
  return {
    model: { flags, queues: flags.map(() => ({ killed: false, put: false })), jobs: [], armed: null },
    real: { k, queues, jobs: [], fences: [], signals: [], signal_order: flags.map(() => []), foreign },
  };
}

/** Finish the run as a driver would at close: push, put, kill, let the hardware drain. */
function finish(m: Model, r: Real): void {
  if (m.armed !== null) new Push().run(m, r);
  for (const f of r.foreign) if (!f.signaled) dma_fence_signal(f);
  m.jobs.forEach((j, i) => {
    if (j.driver_ref) drm_dep_job_put(r.jobs[i]);
  });
  m.queues.forEach((q, i) => {
    if (q.put) return;
    drm_dep_queue_kill(r.queues[i]);
    drm_dep_queue_put(r.queues[i]);
  });
  for (let round = 0; round < 1000 && r.queues.some((q) => q.ring.length > 0 || q.log.at(-1) !== 'free'); round++) {
    for (const q of r.queues) if (q.ring.length > 0) fake_queue_complete(q, q.ring.length);
    r.k.run_for(MS);
  }
  r.k.run_all();
}

function check_properties(m: Model, r: Real): void {
  const { k } = r;
  expect(k.violations.format()).toBe('');
  m.jobs.forEach((j, i) => {
    if (j.phase !== 'pushed') return;
    expect(r.signals[i], `job#${i} signalled`).toBe(1);
    expect([0, -ETIMEDOUT, -ECANCELED]).toContain(r.fences[i]!.error);
  });
  for (const order of r.signal_order) expect(order).toEqual([...order].sort((a, b) => a - b));
  for (const q of r.queues) {
    expect(q.log.at(-1)).toBe('free');
    expect(q.ring).toEqual([]);
  }
  for (const f of r.fences) dma_fence_put(f);
  for (const f of r.foreign) dma_fence_put(f);
  expect(k.lifetime.live(DEP_TYPES)).toEqual([]);
  expect(k.lifetime.check_leaks('end of property run', DEP_TYPES)).toBe(0);
}

describe('drm_dep property: random command sequences over every flag combination', () => {
  it('fences signal once and in order; no violation; everything released after kill and the last put', () => {
    const flags = fc.array(fc.integer({ min: 0, max: DRM_DEP_QUEUE_FLAGS_ALL }), { minLength: QUEUES, maxLength: QUEUES });
    fc.assert(
      fc.property(flags, fc.commands(commands, { maxCommands: 80, size: 'max' }), (queue_flags, cmds) => {
        const { model, real } = setup(queue_flags);
        fc.modelRun(() => ({ model, real }), cmds);
        finish(model, real);
        check_properties(model, real);
      }),
      { numRuns: 200 },
    );
  });
});
