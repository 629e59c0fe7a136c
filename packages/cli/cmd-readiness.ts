/**
 * `deplab readiness`: writes reports/readiness.md, the drm_sched deprecation readiness of
 * every model driver. The code evidence comes from a ts-morph scan of drivers/ (report layer,
 * api-usage.ts); the behaviour evidence from comparisons of each registered driver on its
 * built-in workloads (the worker pool, like `deplab report`) and, for the mock, the KUnit suite
 * on both backends. The judging and writing is readiness_markdown's.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { make_cost_table } from '@deplab/sim';
import { aggregate, backend_problem, builtins_for, find_driver, type SeedOutput } from '@deplab/harness';
import { mock_dep_backend, mock_sched_backend, run_case, tests_basic, tests_scheduler, type MockBackend } from '@deplab/driver-mock';
import { readiness_markdown, repository_root, scan_drivers, type DriverEvidence, type WorkloadParity } from '@deplab/report';
import { default_threads, run_tasks, type SeedTask } from './pool.ts';
import { resolve_workload } from './workloads.ts';

function int_option(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}`);
    return n;
  };
}

/** The workloads parity runs for a driver: its default ones and those meant for every driver. */
export function parity_workloads(driver: string): string[] {
  return builtins_for(driver).filter((w) => w.default || w.drivers.includes('*')).map((w) => w.name);
}

/** The ported KUnit suite on one mock backend: passed and failed cases. */
function kunit(backend: MockBackend): { passed: number; failed: number } {
  let passed = 0, failed = 0;
  for (const c of [...tests_basic, ...tests_scheduler]) {
    if (c.backends !== undefined && !(c.backends as readonly string[]).includes(backend.name)) continue;
    for (const param of c.params === undefined ? [null] : c.params.map((_, i) => i)) {
      if (run_case(c, backend, param).status === 'pass') passed++; else failed++;
    }
  }
  return { passed, failed };
}

/** The parity evidence of one driver from its comparison outputs (`outputs` in workload order, `seeds` each). */
function driver_evidence(driver: string, workloads: readonly string[], errors: readonly string[], seeds: number, outputs: readonly SeedOutput[]): DriverEvidence {
  const d = find_driver(driver)!;
  const parity: WorkloadParity[] = [];
  const violations = { sched: {} as Record<string, number>, dep: {} as Record<string, number> };
  workloads.forEach((w, i) => {
    const loaded = resolve_workload(w, d.engines);
    if (!loaded.ok) return;
    const r = aggregate(loaded.workload, driver, make_cost_table(), outputs.slice(i * seeds, (i + 1) * seeds));
    parity.push({
      workload: w, seeds, equivalent: r.diff_counts.equivalent, expected: r.diff_counts['expected difference'], regression: r.diff_counts.regression,
      stuck_sched: r.per_seed.filter((s) => s.stuck_sched !== null).length, stuck_dep: r.per_seed.filter((s) => s.stuck_dep !== null).length,
    });
    for (const side of ['sched', 'dep'] as const) for (const [k, n] of Object.entries(r.violations[side])) violations[side][k] = (violations[side][k] ?? 0) + n;
  });
  const conformance = driver === 'mock' ? { sched: kunit(mock_sched_backend()), dep: kunit(mock_dep_backend()) } : null;
  return { driver, registered: true, parity, violations, conformance, errors };
}

/** Every registered driver's parity runs in one pool run (one set of worker threads), then split. */
async function gather_evidence(drivers: readonly string[], seeds: number, threads: number): Promise<DriverEvidence[]> {
  const plans = drivers.map((driver) => {
    const d = find_driver(driver);
    const errors: string[] = [];
    const no_dep = d === undefined ? null : backend_problem(d, 'dep');
    if (no_dep !== null) errors.push(`${no_dep}: no sched/dep parity runs`);
    const workloads = d === undefined || no_dep !== null ? [] : parity_workloads(driver).filter((w) => {
      const r = resolve_workload(w, d.engines);
      if (!r.ok) errors.push(`${w}: ${r.errors[0]}`);
      return r.ok;
    });
    return { driver, registered: d !== undefined, workloads, errors };
  });
  const tasks: SeedTask[] = plans.flatMap((p) => p.workloads.flatMap((workload) => Array.from({ length: seeds }, (_, i) => ({ driver: p.driver, workload, seed: i + 1 }))));
  let last = -1;
  const outputs = await run_tasks(tasks, threads, (done, total) => {
    const step = Math.floor((done * 10) / total);
    if (step !== last) process.stderr.write(`readiness: ${done}/${total} seed pairs\n`);
    last = step;
  });
  let next = 0;
  return plans.map((p) => {
    if (!p.registered) return { driver: p.driver, registered: false, parity: [], violations: { sched: {}, dep: {} }, conformance: null, errors: [] };
    const mine = outputs.slice(next, (next += p.workloads.length * seeds));
    return driver_evidence(p.driver, p.workloads, p.errors, seeds, mine);
  });
}

export function register_readiness(program: Command, io: { out: (s: string) => void }): void {
  program.command('readiness').description('drm_sched deprecation readiness per driver (API use, internals, conversion size, parity) -> reports/readiness.md')
    .option('--seeds <n>', 'paired seeds per workload', int_option('--seeds', 1, 100), 2)
    .option('--out <dir>', 'report directory', 'reports')
    .option('--jobs <n>', 'worker threads', int_option('--jobs', 1, 256), default_threads())
    .action(async (opts: { seeds: number; out: string; jobs: number }) => {
      const root = repository_root();
      const scan = await scan_drivers(root);
      const sources: Record<string, { sched: string | null; dep: string | null }> = {};
      const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : null);
      for (const d of scan.drivers) sources[d] = { sched: read(join(root, 'drivers', d, 'on-sched.ts')), dep: read(join(root, 'drivers', d, 'on-dep.ts')) };
      const evidence = await gather_evidence(scan.drivers, opts.seeds, opts.jobs);
      const command = ['npx deplab readiness', ...(opts.seeds !== 2 ? ['--seeds', String(opts.seeds)] : [])].join(' ');
      const { markdown, verdicts } = readiness_markdown({ scan, sources, evidence, command, version: program.version() ?? 'unknown', seeds: opts.seeds });
      mkdirSync(opts.out, { recursive: true });
      const file = join(opts.out, 'readiness.md');
      writeFileSync(file, markdown);
      io.out(`${file}: ${verdicts.map((v) => `${v.driver} ${v.ready ? 'ready' : 'blocked'}`).join(', ')}\n`);
    });
}
