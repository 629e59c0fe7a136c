/**
 * `deplab compare` (one workload on one driver, a baseline and a candidate backend, N paired
 * seeds) and `deplab report` (the default comparison: every driver on its default built-in
 * workloads, with an index that opens with the answer). Both validate everything before they
 * compute, run every seed, sensitivity variant and chart re-run on the worker pool, and write
 * their output directory in one atomic transaction.
 */
import { Command, Option } from 'commander';
import { join, relative, resolve, sep } from 'node:path';
import type { AssumptionValues, CostOverrides } from '@deplab/sim';
import type { Backend } from '@deplab/driver-api';
import {
  aggregate, builtins_for, dep_path, driver_backends, driver_names, type ComparisonResult, type DriverEntry, type SeedOutput, type Workload,
} from '@deplab/harness';
import {
  DEFAULT_SENSITIVITY_SEEDS, comparison_markdown, comparison_text, cost_entry_family, default_families, main_finding, sensitivity_from_outputs,
  sensitivity_tasks, wrap_text, write_chart_files, type ChartData, type SensitivityResult, type VariantFamily,
} from '@deplab/report';
import { EXIT_FINDINGS, UsageError } from './errors.ts';
import { OutputTransaction, check_output_dir, default_out, deplab_root } from './output.ts';
import { COST_HELP, COST_PROFILE_HELP, backend_for, collect, cost_args, driver_or_fail, int_arg, parse_assume, parse_costs, slug } from './options.ts';
import { default_threads, run_pool, seed_tasks, type PoolTask, type SeedTask } from './pool.ts';
import { progress_printer } from './progress.ts';
import { command_line, path_arg } from './quote.ts';
import { VERSION, model_digest, version_line } from '@deplab/harness';
import { capture_notes, resolve_for_driver } from './workloads.ts';
import { index_markdown } from './report-index.ts';

/** Where a command prints: standard output and standard error (main.ts; captured in tests). */
export type Io = { readonly out: (s: string) => void; readonly err: (s: string) => void };

/** One comparison to make: everything fixed before any computation. */
export interface ComparisonPlan {
  readonly driver: DriverEntry;
  readonly workload_spec: string;
  readonly workload: Workload;
  readonly seeds: number;
  readonly costs: CostOverrides;
  readonly assume: AssumptionValues;
  readonly baseline: Backend;
  readonly candidate: Backend;
  /** Device options a built-in scenario sets (kunit/* credit limits), on top of the driver's defaults. */
  readonly device: Readonly<Record<string, number | string | boolean>>;
  /** Variant families of the sensitivity section (none: no section). */
  readonly families: readonly VariantFamily[];
  readonly sensitivity_seeds: number;
  readonly charts: boolean;
  /** The command that reproduces this one report. */
  readonly reproduce: string;
}

export interface ComparisonOutput {
  readonly plan: ComparisonPlan;
  readonly result: ComparisonResult;
  readonly outputs: readonly SeedOutput[];
  readonly sensitivity: SensitivityResult | null;
  readonly charts: ChartData | null;
}

/** The device options every run of a plan uses: the driver's defaults and the built-in's own. */
function plan_device(p: ComparisonPlan) {
  return { driver: { ...p.driver.defaults.driver, ...p.device } };
}

function plan_seed_tasks(p: ComparisonPlan): SeedTask[] {
  return Array.from({ length: p.seeds }, (_, i) => ({
    driver: p.driver.name, workload: p.workload, seed: i + 1, costs: p.costs, assume: p.assume, baseline: p.baseline, candidate: p.candidate, device: { ...p.device },
  }));
}

function plan_sensitivity(p: ComparisonPlan) {
  if (p.families.length === 0) return null;
  const sweep = sensitivity_tasks({ costs: p.costs, assume: p.assume }, p.families, Array.from({ length: p.sensitivity_seeds }, (_, i) => i + 1));
  const tasks: SeedTask[] = sweep.map((t) => ({
    driver: p.driver.name, workload: p.workload, seed: t.seed, costs: t.costs, assume: t.assume, baseline: p.baseline, candidate: p.candidate, device: { ...p.device },
  }));
  return { sweep, tasks };
}

/**
 * Run several comparisons on one pool: first every seed and sensitivity variant of all of them,
 * then the chart re-runs (they need the aggregated result). Returns them in plan order.
 */
export async function run_comparisons(plans: readonly ComparisonPlan[], threads: number, label: string, err: (s: string) => void): Promise<ComparisonOutput[]> {
  const parts = plans.map((p) => ({ seeds: plan_seed_tasks(p), sens: plan_sensitivity(p) }));
  const tasks: PoolTask[] = parts.flatMap((x) => seed_tasks([...x.seeds, ...(x.sens?.tasks ?? [])]));
  const all = await run_pool<SeedOutput>(tasks, threads, progress_printer(label, err));
  let at = 0;
  const staged = plans.map((p, i) => {
    const outputs = all.slice(at, (at += parts[i].seeds.length));
    const sens_out = all.slice(at, (at += parts[i].sens?.tasks.length ?? 0));
    const device = plan_device(p);
    const result = aggregate(p.workload, p.driver.name, outputs, { costs: p.costs, assume: p.assume, device });
    const sensitivity = parts[i].sens === null ? null : sensitivity_from_outputs(p.workload, p.driver.name, parts[i].sens!.sweep, sens_out, device);
    return { plan: p, result, outputs, sensitivity };
  });
  const chart_plans = staged.filter((s) => s.plan.charts);
  const chart_tasks: PoolTask[] = chart_plans.map((s) => ({
    kind: 'chart', task: {
      driver: s.plan.driver.name, result: s.result, workload: s.plan.workload,
      options: { device: plan_device(s.plan), latency: { baseline: s.outputs.map((o) => o.baseline.sketch), candidate: s.outputs.map((o) => o.candidate.sketch) } },
    },
  }));
  const charts = chart_tasks.length === 0 ? [] : await run_pool<ChartData>(chart_tasks, threads, progress_printer(`${label} charts`, err));
  return staged.map((s) => ({ ...s, charts: s.plan.charts ? charts[chart_plans.indexOf(s)] : null }));
}

/** A comparison's file name without extension: the workload, and the candidate when it is not the driver's own drm_dep path. */
export function comparison_basename(p: ComparisonPlan): string {
  return slug(p.workload_spec) + (p.baseline === 'sched' && p.candidate === dep_path(p.driver) ? '' : `.${p.baseline}-vs-${p.candidate}`);
}

/** The files of one comparison, staged into a transaction under <driver>/<workload>.*. */
export function stage_comparison(t: OutputTransaction, c: ComparisonOutput, root: string): void {
  const dir = slug(c.plan.driver.name), base = comparison_basename(c.plan);
  const chart_md = c.charts === null ? undefined : write_chart_files(c.charts, base, (name, svg) => t.add(join(dir, name), svg), root);
  t.add(join(dir, `${base}.md`), comparison_markdown(c.result, {
    command: c.plan.reproduce, version: version_line(), charts: chart_md, root,
    sensitivity: c.sensitivity,
  }));
  t.add(join(dir, `${base}.json`), json_text({ kind: 'comparison', result: c.result, sensitivity: c.sensitivity }));
}

/** Every --json document and JSON file: deplab version and model digest first. */
export function json_text(body: Record<string, unknown>): string {
  return JSON.stringify({ deplab: VERSION, model: model_digest(), ...body }, null, 1) + '\n';
}

/** Anything an --expect-clean run must not have: a regression or a violation on either side. */
export function unclean(r: ComparisonResult): string[] {
  const out: string[] = [];
  for (const g of r.guarantees) if (g.diff.regression > 0) out.push(`${g.diff.regression} regression(s) of ${g.id}`);
  for (const g of r.groups) out.push(`violation ${g.kind} at ${g.site} (${g.presence})`);
  return out;
}

interface CompareCliOptions {
  driver: string; seeds: number; out?: string; jobs: number; cost: string[]; costProfile?: string; assume: string[]; json?: boolean; format: 'summary' | 'text';
  sensitivity?: boolean; sensitivityCost: string[]; sensitivitySeeds: number; charts: boolean; baseline: string; candidate?: string; expectClean?: boolean;
}

/** --sensitivity-cost key=v1,v2,... into families. */
function parse_sweep(list: readonly string[]): VariantFamily[] {
  return list.map((item) => {
    const m = /^([a-z_]+)=((?:0|[1-9]\d*)(?:,(?:0|[1-9]\d*))+)$/.exec(item);
    if (m === null) throw new UsageError(`--sensitivity-cost expects key=v1,v2,... (integers, at least two), got '${item}'`);
    try {
      return cost_entry_family(m[1], m[2].split(',').map(Number));
    } catch (e) {
      throw new UsageError(`--sensitivity-cost: ${(e as Error).message}`);
    }
  });
}

export function register_compare(program: Command, io: Io): void {
  program.command('compare').description('compare two backends (drm_sched and drm_dep by default) on one workload and driver')
    .argument('<workload>', 'built-in name (deplab list), or a workload file: JSON, IGT gem_wsim, or a trace capture')
    .requiredOption('--driver <name>', 'model driver')
    .option('--seeds <n>', 'number of paired seeds (1..n)', int_arg('--seeds', 1, 10000), 10)
    .option('--baseline <backend>', 'baseline backend: sched, dep or dep-hw', 'sched')
    .option('--candidate <backend>', "candidate backend: sched, dep or dep-hw (default: the driver's drm_dep binding, dep-hw for panfrost)")
    .option('--out <dir>', 'report directory (default: deplab-out/compare)')
    .option('--jobs <n>', 'worker threads', int_arg('--jobs', 1, 256), default_threads())
    .option('--cost <key=value>', COST_HELP, collect, [] as string[])
    .option('--cost-profile <name>', COST_PROFILE_HELP)
    .option('--assume <id=value>', 'modelling assumption (repeatable; docs/assumptions.md)', collect, [] as string[])
    .option('--json', 'print the comparison as JSON (docs/cli.md)')
    .addOption(new Option('--format <f>', 'what to print: a one-line summary, or the report as text for a mail').choices(['summary', 'text']).default('summary'))
    .option('--sensitivity', 'add a Sensitivity section: the comparison under each variant of the default families')
    .option('--sensitivity-cost <key=v1,v2,...>', 'sweep this cost entry instead (repeatable; implies --sensitivity)', collect, [] as string[])
    .option('--sensitivity-seeds <n>', 'seeds per variant', int_arg('--sensitivity-seeds', 2, 1000), 3)
    .option('--no-charts', 'do not write the SVG charts')
    .option('--expect-clean', 'exit 1 if any guarantee regresses or any violation is reported')
    .action(async (spec: string, opts: CompareCliOptions) => {
      const driver = driver_or_fail(opts.driver);
      const baseline = backend_for(driver, opts.baseline, '--baseline'), candidate = backend_for(driver, opts.candidate ?? dep_path(driver), '--candidate');
      if (baseline === candidate) throw new UsageError(`--baseline and --candidate are both ${baseline}: compare two different backends`);
      const costs = parse_costs(opts.cost, opts.costProfile), assume = parse_assume(opts.assume);
      const families = opts.sensitivityCost.length > 0 ? parse_sweep(opts.sensitivityCost) : opts.sensitivity ? default_families() : [];
      const out = check_output_dir(opts.out ?? default_out('compare'));
      const loaded = resolve_for_driver(spec, driver);
      if (!loaded.ok) throw new UsageError(loaded.errors.join('\n'));
      io.err(capture_notes(loaded));
      const reproduce = command_line(['compare', path_arg(spec), '--driver', driver.name, '--seeds', String(opts.seeds),
        ...(baseline !== 'sched' ? ['--baseline', baseline] : []), ...(candidate !== dep_path(driver) ? ['--candidate', candidate] : []),
        ...cost_args(costs), ...opts.assume.flatMap((a) => ['--assume', a]),
        ...(opts.sensitivityCost.length > 0 ? opts.sensitivityCost.flatMap((c) => ['--sensitivity-cost', c]) : opts.sensitivity ? ['--sensitivity'] : []),
        ...(families.length > 0 && opts.sensitivitySeeds !== 3 ? ['--sensitivity-seeds', String(opts.sensitivitySeeds)] : [])]);
      const plan: ComparisonPlan = {
        driver, workload_spec: spec.replace(/^.*\//, '').replace(/\.(json|wsim|txt|dat)$/, '') || 'workload', workload: loaded.workload, seeds: opts.seeds,
        costs, assume, baseline, candidate, device: loaded.device, families, sensitivity_seeds: opts.sensitivitySeeds, charts: opts.charts, reproduce,
      };
      // A built-in keeps its full name (its slug names the file), a file its base name.
      const named = { ...plan, workload_spec: loaded.workload.source.startsWith('builtin:') ? spec : plan.workload_spec };
      const t = new OutputTransaction(out, `compare-${slug(driver.name)}-${slug(named.workload_spec)}`).lock();
      let c: ComparisonOutput;
      try {
        [c] = await run_comparisons([named], opts.jobs, `${driver.name} ${spec}`, io.err);
        stage_comparison(t, c, relative_root(out, driver.name));
      } catch (e) {
        t.abort();
        throw e;
      }
      const written = await t.commit();
      const r = c.result;
      if (opts.json) io.out(json_text({ kind: 'comparison', result: r, sensitivity: c.sensitivity }));
      else if (opts.format === 'text') {
        io.out(comparison_text(r, { command: reproduce, version: version_line(), sensitivity: c.sensitivity }));
      } else io.out(wrap_text(`${written.find((f) => f.endsWith('.md'))}: ${main_finding(r, c.sensitivity)}\n`));
      if (opts.expectClean && unclean(r).length > 0) {
        io.err(`deplab: not clean: ${unclean(r).join('; ')}\n`);
        process.exitCode = EXIT_FINDINGS;
      }
    });

  program.command('report').description('the default comparison: every driver on its default built-in workloads, with an index that opens with the answer')
    .option('--seeds <n>', 'paired seeds per comparison', int_arg('--seeds', 1, 10000), 5)
    .option('--out <dir>', 'report directory (default: deplab-out/report; npm run report writes the committed reports/)')
    .option('--jobs <n>', 'worker threads', int_arg('--jobs', 1, 256), default_threads())
    .action(async (opts: { seeds: number; out?: string; jobs: number }) => {
      const out = check_output_dir(opts.out ?? default_out('report'));
      const plans: ComparisonPlan[] = [];
      for (const name of driver_names()) {
        const driver = driver_or_fail(name);
        const defaults = builtins_for(name, true);
        for (const w of defaults) {
          const loaded = resolve_for_driver(w.name, driver);
          if (!loaded.ok) throw new UsageError(loaded.errors.join('\n'));
          // Every drm_dep binding the driver has: the mock has two (drm_dep with a credit pool per
          // queue, and the HW-queue layer with one per ring, like drm_sched's per scheduler).
          for (const candidate of driver_backends(driver).filter((b) => b !== 'sched')) {
            plans.push({
              driver, workload_spec: w.name, workload: loaded.workload, seeds: opts.seeds, costs: {}, assume: {}, baseline: 'sched', candidate, device: loaded.device,
              families: default_families(), sensitivity_seeds: DEFAULT_SENSITIVITY_SEEDS, charts: true,
              reproduce: command_line(['compare', w.name, '--driver', name, '--seeds', String(opts.seeds), ...(candidate !== dep_path(driver) ? ['--candidate', candidate] : []), '--sensitivity']),
            });
          }
        }
      }
      const t = new OutputTransaction(out, 'report').lock();
      try {
        const results = await run_comparisons(plans, opts.jobs, 'report', io.err);
        for (const c of results) stage_comparison(t, c, relative_root(out, c.plan.driver.name));
        t.add('README.md', index_markdown(results, command_line(['report', '--seeds', String(opts.seeds), ...(opts.out !== undefined ? ['--out', path_arg(opts.out)] : [])]), version_line(),
          relative_root(out, '.'), out));
      } catch (e) {
        t.abort();
        throw e;
      }
      await t.commit();
      io.out(wrap_text(`${plans.length} comparisons written to ${out}/ (index: ${join(out, 'README.md')})\n`));
    });
}

/** From a report file in `<out>/<sub>/` to the repository root, for links into docs/. */
export function relative_root(out: string, sub: string): string {
  const rel = relative(join(out, sub), resolve(deplab_root())).split(sep).join('/');
  return rel === '' ? './' : `${rel}/`;
}
