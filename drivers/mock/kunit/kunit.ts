/**
 * A small KUnit in virtual time: test cases with init/exit, KUNIT_ASSERT (aborts the case) and
 * KUNIT_EXPECT (records and goes on), deferred actions run LIFO at cleanup, parameterised
 * cases, kunit_info logging and metrics. One case runs on one fresh Kernel with one mock
 * backend, so the same case definition serves drm_sched and drm_dep, the vitest suite and the
 * `deplab conformance` command.
 */
import { Kernel, SimulationHang, type KernelOptions, type Sleepable, type Task, type Violation } from '@deplab/sim';
import type { MockBackend } from '../uapi.ts';

/** Thrown by a failed KUNIT_ASSERT: ends the case body, cleanup still runs. */
export class KunitAbort extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KunitAbort';
  }
}

export class kunit {
  readonly kernel: Kernel;
  readonly backend: MockBackend;
  /** test->priv */
  priv: unknown = null;
  /** test->param_value */
  readonly param: unknown;
  readonly failures: string[] = [];
  readonly log: string[] = [];
  /** Figures the case computes (what the kernel prints), kept for reports. */
  readonly metrics: Record<string, number | string> = {};
  private readonly actions: { name: string; fn: () => void }[] = [];

  constructor(kernel: Kernel, backend: MockBackend, param: unknown) {
    this.kernel = kernel;
    this.backend = backend;
    this.param = param;
  }

  /** kunit_add_action: runs at cleanup, last added first. */
  add_action(name: string, fn: () => void): void {
    this.actions.push({ name, fn });
  }

  run_actions(): void {
    while (this.actions.length > 0) {
      const action = this.actions.pop()!;
      try {
        action.fn();
      } catch (e) {
        this.failures.push(`cleanup action ${action.name} failed: ${describe(e)}`);
      }
    }
  }

  info(message: string): void {
    this.log.push(message);
  }

  ASSERT_TRUE(cond: boolean, what: string): void {
    if (!cond) this.abort(`KUNIT_ASSERT_TRUE failed: ${what}`);
  }

  ASSERT_FALSE(cond: boolean, what: string): void {
    if (cond) this.abort(`KUNIT_ASSERT_FALSE failed: ${what}`);
  }

  ASSERT_EQ(actual: number, expected: number, what: string): void {
    if (actual !== expected) this.abort(`KUNIT_ASSERT_EQ failed: ${what} == ${actual}, expected ${expected}`);
  }

  EXPECT_TRUE(cond: boolean, what: string): void {
    if (!cond) this.failures.push(`KUNIT_EXPECT_TRUE failed: ${what}`);
  }

  EXPECT_EQ(actual: number, expected: number, what: string): void {
    if (actual !== expected) this.failures.push(`KUNIT_EXPECT_EQ failed: ${what} == ${actual}, expected ${expected}`);
  }

  /** Run a sleeping operation as the test thread (the simulation advances meanwhile). */
  run<T>(gen: Sleepable<T>): T {
    return this.kernel.run_task(gen);
  }

  /** kthread_flush_work on a spawned worker: wait until its task has finished. */
  flush_task(task: Task): void {
    const k = this.kernel;
    this.run(k.wait_until(task.exited, () => task.done));
  }

  private abort(message: string): never {
    this.failures.push(message);
    throw new KunitAbort(message);
  }
}

export interface KunitCase {
  readonly suite: string;
  readonly name: string;
  /** One entry per parameter (KUNIT_ARRAY_PARAM); absent for a plain case. */
  readonly params?: readonly { readonly description: string; readonly value: unknown }[];
  /** KUNIT_CASE_SLOW (or KUNIT_CASE_PARAM_ATTR with .speed = KUNIT_SPEED_SLOW) */
  readonly slow?: boolean;
  /** The case's suite has .attr.speed = KUNIT_SPEED_SLOW (KUnit prints it once, for the suite). */
  readonly suite_slow?: boolean;
  /** Backends the case applies to; absent = both. */
  readonly backends?: readonly ('drm_sched' | 'drm_dep')[];
  /** How the outcome depends on the scheduling policy (documentation for reports). */
  readonly policy_note?: string;
  init?(test: kunit): void;
  exit?(test: kunit): void;
  run(test: kunit): void;
}

export interface KunitResult {
  readonly suite: string;
  readonly name: string;
  readonly param: string | null;
  readonly backend: string;
  readonly status: 'pass' | 'fail';
  readonly failures: readonly string[];
  readonly log: readonly string[];
  readonly metrics: Readonly<Record<string, number | string>>;
  readonly violations: readonly Violation[];
  readonly sim_time_ns: number;
  readonly events: number;
}

export interface RunCaseOptions {
  readonly kernel?: KernelOptions;
  /** Violations the case is allowed to produce (a hazard demonstration); by default none. */
  readonly allowed_violations?: readonly string[];
}

/** Run one case (one parameter) on a fresh kernel and report the outcome. */
export function run_case(c: KunitCase, backend: MockBackend, param_index: number | null, options: RunCaseOptions = {}): KunitResult {
  const kernel = new Kernel({ init_name: 'kunit_try_catch', ...options.kernel });
  const param = param_index === null ? null : c.params![param_index];
  const test = new kunit(kernel, backend, param?.value ?? null);
  try {
    c.init?.(test);
    c.run(test);
  } catch (e) {
    if (!(e instanceof KunitAbort)) test.failures.push(`case crashed: ${describe(e)}`);
  }
  try {
    c.exit?.(test);
  } catch (e) {
    if (!(e instanceof KunitAbort)) test.failures.push(`exit crashed: ${describe(e)}`);
  }
  test.run_actions();
  // Everything the schedulers and the mock allocated must be gone once the case tore down.
  kernel.lifetime.check_leaks(`end of ${c.name}`, kernel.lifetime.live().map((o) => o.type).filter((t) => t !== 'dma_fence.stub'));
  const allowed = new Set(options.allowed_violations ?? []);
  const violations = kernel.violations.list.filter((v) => !allowed.has(v.kind));
  for (const v of violations) test.failures.push(`violation ${v.kind} at ${v.site}: ${v.message}`);
  return {
    suite: c.suite,
    name: c.name,
    param: param?.description ?? null,
    backend: backend.name,
    status: test.failures.length === 0 ? 'pass' : 'fail',
    failures: test.failures,
    log: test.log,
    metrics: test.metrics,
    violations: kernel.violations.list,
    sim_time_ns: kernel.now(),
    events: kernel.stats.events,
  };
}

function describe(e: unknown): string {
  if (e instanceof SimulationHang) return `hang: ${e.message}`;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}
