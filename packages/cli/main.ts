/**
 * The deplab command. Every subcommand validates its arguments (bad ones: a usage message and
 * exit 2), resolves workloads (unreadable or invalid: the reason and exit 2) and writes
 * results deterministically. --json output is documented in docs/cli.md.
 */
import { Command, CommanderError, Option } from 'commander';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import {
  COST_KEYS, COST_PROFILE_NAMES, COST_SPEC_SYNTAX, format_cost_spec, is_cost_profile, make_cost_table, parse_cost_spec,
  type CostOverrides, type CostProfileName, type CostSpec,
} from '@deplab/sim';
import {
  BUILTIN_WORKLOADS, aggregate, builtins_for, compute_metrics, driver_names, find_driver, observe, run_workload,
  type ComparisonResult, type SeedOutput,
} from '@deplab/harness';
import { comparison_markdown, comparison_text, sensitivity_from_outputs, sensitivity_markdown, sensitivity_text, type SensitivityResult } from '@deplab/report';
import { default_threads, run_seed_task, run_tasks, type SeedTask } from './pool.ts';
import { resolve_workload } from './workloads.ts';
import { conformance } from './conformance.ts';
import { register_trace } from './cmd-trace.ts';
import { register_readiness } from './cmd-readiness.ts';
import { register_explore } from './cmd-explore.ts';
import { DEFAULT_PLAN, parse_sweep, representative_workload, sensitivity_plan_tasks, write_charts, type SensitivityPlan } from './report-extras.ts';

export const VERSION = '0.1.0';

class UsageError extends Error {}

function int_arg(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${name} must be an integer in ${min}..${max}, got '${value}'`);
    return n;
  };
}

/**
 * --cost key=value (repeatable) on top of --cost-profile: cost-table overrides, checked against
 * the table's keys; a value is ns or a distribution in the text form of format_cost_spec.
 */
function parse_costs(list: readonly string[], profile: string | undefined): CostOverrides {
  const out: Record<string, CostSpec | CostProfileName> = {};
  if (profile !== undefined) {
    if (!is_cost_profile(profile)) throw new UsageError(`--cost-profile: unknown profile '${profile}' (known: ${COST_PROFILE_NAMES.join(', ')})`);
    out.profile = profile;
  }
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq < 0) throw new UsageError(`--cost expects key=value with a value of ${COST_SPEC_SYNTAX}, got '${item}'`);
    const key = item.slice(0, eq);
    if (!(COST_KEYS as readonly string[]).includes(key)) throw new UsageError(`--cost: unknown entry '${key}' (known: ${COST_KEYS.join(', ')})`);
    try {
      out[key] = parse_cost_spec(key, item.slice(eq + 1));
    } catch (e) {
      throw new UsageError(`--cost: ${(e as Error).message}`);
    }
  }
  return out as CostOverrides;
}

/** The cost overrides as command-line arguments (for a report's reproduce line). */
function cost_args(costs: CostOverrides): string[] {
  return Object.entries(costs).flatMap(([k, v]) => (k === 'profile' ? ['--cost-profile', String(v)]
    : k === 'driver' ? [] : ['--cost', `${k}=${format_cost_spec(v as CostSpec)}`]));
}

const COST_PROFILE_HELP = `cost profile (${COST_PROFILE_NAMES.join(', ')}; default ${make_cost_table().profile}; docs/cost-model.md)`;
const COST_HELP = `cost-table override, key=ns or a distribution (${COST_SPEC_SYNTAX}); repeatable`;

function driver_or_fail(name: string) {
  const d = find_driver(name);
  if (d === undefined) throw new UsageError(`unknown driver '${name}' (known: ${driver_names().join(', ')})`);
  return d;
}

function slug(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-');
}

function progress_printer(label: string): (done: number, total: number) => void {
  let last = -1;
  return (done, total) => {
    if (process.stderr.isTTY) {
      const width = 30, filled = Math.round((done / total) * width);
      process.stderr.write(`\r${label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total}${done === total ? '\n' : ''}`);
    } else {
      const step = Math.floor((done * 10) / total);
      if (step !== last || done === total) process.stderr.write(`${label}: ${done}/${total}\n`);
      last = step;
    }
  };
}

function command_line(args: readonly string[]): string {
  return ['npx deplab', ...args.map((a) => (/^[\w./:=,-]+$/.test(a) ? a : `'${a}'`))].join(' ');
}

interface CompareExtras {
  /** Write the SVG charts beside the report (re-runs the first seed). */
  readonly charts: boolean;
  /** Sweep cost-table entries and add a Sensitivity section. */
  readonly sensitivity: SensitivityPlan | null;
}

async function compare_to_files(driver: string, workload: string, seeds: number, costs: CostOverrides, out_dir: string,
  threads: number, reproduce: string, extras: CompareExtras = { charts: true, sensitivity: null }): Promise<{ result: ComparisonResult; sensitivity: SensitivityResult | null }> {
  const d = driver_or_fail(driver);
  const loaded = resolve_workload(workload, d.engines);
  if (!loaded.ok) throw new UsageError(loaded.errors.join('\n'));
  const tasks: SeedTask[] = Array.from({ length: seeds }, (_, i) => ({ driver, workload, seed: i + 1, costs }));
  // The sweep's seeds share the pool with the comparison's, so both keep every thread busy.
  const sweep = extras.sensitivity === null ? null : sensitivity_plan_tasks(driver, workload, costs, extras.sensitivity);
  const all = await run_tasks(sweep === null ? tasks : [...tasks, ...sweep.tasks], threads, progress_printer(`${driver} ${workload}`));
  const outputs = all.slice(0, seeds);
  const result = aggregate(loaded.workload, driver, make_cost_table(costs), outputs);
  const sensitivity = sweep === null ? null : sensitivity_from_outputs(loaded.workload, driver, sweep.sweep, all.slice(seeds));
  const dir = join(out_dir, slug(driver));
  mkdirSync(dir, { recursive: true });
  const charts = extras.charts ? write_charts(d, loaded.workload, result, outputs, dir, slug(workload), loaded.device) : undefined;
  writeFileSync(join(dir, `${slug(workload)}.md`), comparison_markdown(result, {
    command: reproduce, version: VERSION, charts, sensitivity: sensitivity === null ? undefined : sensitivity_markdown(sensitivity),
  }));
  writeFileSync(join(dir, `${slug(workload)}.json`), JSON.stringify(result, null, 1) + '\n');
  return { result, sensitivity };
}

function index_markdown(rows: { driver: string; workload: string; result: ComparisonResult }[], command: string): string {
  const lines = ['# deplab reports', '', `Regenerate with \`${command}\`. Each row is one driver and workload, drm_sched vs drm_dep over paired seeds.`, '',
    '| driver | workload | seeds | regressions | expected differences | submit→finished p50 | kworker wake-ups/job | teardown return max |',
    '|---|---|--:|--:|--:|---|---|---|'];
  for (const { driver, workload, result } of rows) {
    const m = (name: string) => result.metrics.find((x) => x.name === name);
    const v = (name: string) => { const x = m(name); return x === undefined ? 'n/a' : `${x.comparison.verdict} (${(x.comparison.delta_rel * 100).toFixed(1)}%)`; };
    lines.push(`| ${driver} | [${workload}](${slug(driver)}/${slug(workload)}.md) | ${result.seeds.length} | ${result.diff_counts.regression} | ${result.diff_counts['expected difference']} | ${v('submit_to_finished_us.p50')} | ${v('kworker_wakeups_per_job')} | ${v('teardown_return_us.max')} |`);
  }
  return lines.join('\n') + '\n';
}

function build_program(io: { out: (s: string) => void }): Command {
  const program = new Command('deplab')
    .description('A/B laboratory for the DRM GPU schedulers: drm_sched vs drm_dep on identical workloads')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => process.stderr.write(s) });

  program.command('list').description('built-in workloads and drivers').option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) => {
      if (opts.json) {
        io.out(JSON.stringify({ drivers: driver_names(), workloads: BUILTIN_WORKLOADS.map((w) => ({ name: w.name, description: w.description, drivers: w.drivers, default: w.default })) }, null, 1) + '\n');
        return;
      }
      io.out(`drivers: ${driver_names().join(', ')}\n\nworkloads:\n`);
      for (const w of BUILTIN_WORKLOADS) io.out(`  ${w.name.padEnd(32)} ${w.drivers.join(',').padEnd(10)} ${w.description}\n`);
    });

  program.command('run').description('run a workload on one driver and backend').argument('<workload>', 'built-in name or a .json/.wsim file')
    .requiredOption('--driver <name>', 'model driver')
    .addOption(new Option('--backend <backend>', 'scheduler').choices(['sched', 'dep']).makeOptionMandatory())
    .option('--seed <n>', 'seed', int_arg('--seed', 0, 2 ** 31), 1)
    .option('--cost <key=value>', COST_HELP, (v: string, p: string[]) => [...p, v], [] as string[])
    .option('--cost-profile <name>', COST_PROFILE_HELP)
    .option('--json', 'machine-readable output (docs/cli.md)')
    .action((workload: string, opts: { driver: string; backend: 'sched' | 'dep'; seed: number; cost: string[]; costProfile?: string; json?: boolean }) => {
      const d = driver_or_fail(opts.driver);
      const costs = parse_costs(opts.cost, opts.costProfile);
      const loaded = resolve_workload(workload, d.engines);
      if (!loaded.ok) throw new UsageError(loaded.errors.join('\n'));
      const outcome = run_workload(loaded.workload, d.factory, opts.backend, { seed: opts.seed, costs, device: { driver: { ...d.defaults.driver, ...loaded.device } } });
      const obs = observe(outcome);
      const metrics = compute_metrics(outcome, obs);
      const doc = {
        deplab: VERSION, workload: loaded.workload.name, driver: opts.driver, backend: opts.backend, seed: opts.seed,
        trace_digest: outcome.kernel.trace.digest(), stuck: outcome.stuck, metrics,
        violations: outcome.kernel.violations.list, jobs: obs.jobs, queues: obs.queues,
      };
      if (opts.json) { io.out(JSON.stringify(doc, null, 1) + '\n'); return; }
      io.out(`${loaded.workload.name} on ${opts.driver}/${opts.backend}, seed ${opts.seed}: ${metrics.jobs_submitted} jobs, ` +
        `${metrics.jobs_finished} finished (${metrics.jobs_errored} with an error), ${metrics.jobs_never_finished} never finished\n` +
        `submit->finished p50 ${metrics.submit_to_finished_us.p50.toFixed(1)} us, p99 ${metrics.submit_to_finished_us.p99.toFixed(1)} us; ` +
        `kworker wake-ups/job ${metrics.kworker_wakeups_per_job.toFixed(2)}; violations ${outcome.kernel.violations.count()}\n` +
        `trace ${doc.trace_digest}\n`);
      for (const v of outcome.kernel.violations.list.slice(0, 20)) io.out(`  ${v.kind} at ${v.site}: ${v.message}\n`);
    });

  program.command('compare').description('compare drm_sched and drm_dep on one workload and driver').argument('<workload>')
    .requiredOption('--driver <name>', 'model driver')
    .option('--seeds <n>', 'number of paired seeds (1..n)', int_arg('--seeds', 1, 10000), 10)
    .option('--out <dir>', 'report directory', 'reports')
    .option('--jobs <n>', 'worker threads', int_arg('--jobs', 1, 256), default_threads())
    .option('--cost <key=value>', COST_HELP, (v: string, p: string[]) => [...p, v], [] as string[])
    .option('--cost-profile <name>', COST_PROFILE_HELP)
    .option('--json', 'print the comparison as JSON (docs/cli.md)')
    .addOption(new Option('--format <f>', 'what to print: a one-line summary, or the report as fixed-width text for a mail').choices(['summary', 'text']).default('summary'))
    .option('--sensitivity', `sweep cost-table entries and say which verdicts hold (default: ${DEFAULT_PLAN.sweep.map((e) => `${e.key}=${e.values.join(',')}`).join(' ')})`)
    .option('--sensitivity-cost <key=v1,v2,...>', 'sweep this entry instead of the default ones (repeatable; implies --sensitivity)', (v: string, p: string[]) => [...p, v], [] as string[])
    .option('--sensitivity-seeds <n>', 'seeds per swept value', int_arg('--sensitivity-seeds', 2, 1000), DEFAULT_PLAN.seeds)
    .option('--no-charts', 'do not write the SVG charts')
    .action(async (workload: string, opts: {
      driver: string; seeds: number; out: string; jobs: number; cost: string[]; costProfile?: string; json?: boolean; format: 'summary' | 'text';
      sensitivity?: boolean; sensitivityCost: string[]; sensitivitySeeds: number; charts: boolean;
    }) => {
      const sweep = parse_sweep(opts.sensitivityCost);
      if (sweep === null) throw new UsageError(`--sensitivity-cost expects key=v1,v2,... with at least two values, got '${opts.sensitivityCost.join(' ')}'`);
      for (const e of sweep) if (!(COST_KEYS as readonly string[]).includes(e.key)) throw new UsageError(`--sensitivity-cost: unknown entry '${e.key}' (known: ${COST_KEYS.join(', ')})`);
      const plan = sweep.length > 0 ? { sweep, seeds: opts.sensitivitySeeds } : opts.sensitivity ? { ...DEFAULT_PLAN, seeds: opts.sensitivitySeeds } : null;
      const costs = parse_costs(opts.cost, opts.costProfile);
      const reproduce = command_line(['compare', workload, '--driver', opts.driver, '--seeds', String(opts.seeds), ...cost_args(costs),
        ...(plan === null ? [] : sweep.length > 0 ? opts.sensitivityCost.flatMap((c) => ['--sensitivity-cost', c]) : ['--sensitivity']),
        ...(plan !== null && plan.seeds !== DEFAULT_PLAN.seeds ? ['--sensitivity-seeds', String(plan.seeds)] : [])]);
      const { result: r, sensitivity } = await compare_to_files(opts.driver, workload, opts.seeds, costs, opts.out, opts.jobs, reproduce,
        { charts: opts.charts, sensitivity: plan });
      if (opts.json) io.out(JSON.stringify(r, null, 1) + '\n');
      else if (opts.format === 'text') io.out(comparison_text(r, { command: reproduce, version: VERSION, sensitivity: sensitivity === null ? undefined : sensitivity_text(sensitivity) }));
      else io.out(`${join(opts.out, slug(opts.driver), slug(workload))}.md: ${r.diff_counts.regression} regressions, ${r.diff_counts['expected difference']} expected differences\n`);
    });

  program.command('report').description("the default comparison: every driver on its default built-in workloads, written under reports/")
    .option('--seeds <n>', 'paired seeds per comparison', int_arg('--seeds', 1, 10000), 5)
    .option('--out <dir>', 'report directory', 'reports')
    .option('--jobs <n>', 'worker threads', int_arg('--jobs', 1, 256), default_threads())
    .action(async (opts: { seeds: number; out: string; jobs: number }) => {
      const rows: { driver: string; workload: string; result: ComparisonResult }[] = [];
      const pairs = driver_names().flatMap((driver) => builtins_for(driver, true).map((w) => ({ driver, workload: w.name })));
      const tasks: SeedTask[] = pairs.flatMap((p) => Array.from({ length: opts.seeds }, (_, i) => ({ ...p, seed: i + 1 })));
      // One representative workload per driver also gets the cost-table sweep, in the same pool run.
      const sweeps = driver_names().map((driver) => ({ driver, workload: representative_workload(driver) }))
        .filter((x): x is { driver: string; workload: string } => x.workload !== null)
        .map((x) => ({ ...x, ...sensitivity_plan_tasks(x.driver, x.workload, {}, DEFAULT_PLAN) }));
      const all = await run_tasks([...tasks, ...sweeps.flatMap((x) => x.tasks)], opts.jobs, progress_printer('report'));
      let next_sweep = tasks.length;
      const sweep_outputs = sweeps.map((x) => all.slice(next_sweep, (next_sweep += x.tasks.length)));
      pairs.forEach((p, i) => {
        const d = driver_or_fail(p.driver);
        const loaded = resolve_workload(p.workload, d.engines);
        if (!loaded.ok) throw new UsageError(loaded.errors.join('\n'));
        const outputs = all.slice(i * opts.seeds, (i + 1) * opts.seeds);
        const result = aggregate(loaded.workload, p.driver, make_cost_table(), outputs);
        const dir = join(opts.out, slug(p.driver));
        mkdirSync(dir, { recursive: true });
        const k = sweeps.findIndex((x) => x.driver === p.driver && x.workload === p.workload);
        const sensitivity = k < 0 ? undefined : sensitivity_markdown(sensitivity_from_outputs(loaded.workload, p.driver, sweeps[k].sweep, sweep_outputs[k]));
        const reproduce = command_line(['compare', p.workload, '--driver', p.driver, '--seeds', String(opts.seeds), ...(k < 0 ? [] : ['--sensitivity'])]);
        const charts = write_charts(d, loaded.workload, result, outputs, dir, slug(p.workload), loaded.device);
        writeFileSync(join(dir, `${slug(p.workload)}.md`), comparison_markdown(result, { command: reproduce, version: VERSION, charts, sensitivity }));
        rows.push({ ...p, result });
      });
      writeFileSync(join(opts.out, 'README.md'), index_markdown(rows, command_line(['report', '--seeds', String(opts.seeds)])));
      io.out(`${rows.length} comparisons written to ${opts.out}/ (index: ${join(opts.out, 'README.md')})\n`);
    });

  program.command('sweep').description('drivers x workloads x seeds x cost-table values, on all cores; --shard for CI matrices')
    .requiredOption('--drivers <list>', 'comma-separated drivers')
    .requiredOption('--workloads <list>', 'comma-separated workloads')
    .option('--seeds <n>', 'paired seeds', int_arg('--seeds', 1, 10000), 5)
    .option('--cost <key=v1,v2,...>', 'sweep one cost-table entry over values (ns)')
    .option('--shard <i/n>', 'run only shard i of n (1-based)', '1/1')
    .option('--jobs <n>', 'worker threads', int_arg('--jobs', 1, 256), default_threads())
    .requiredOption('--out <dir>', 'directory for the shard result (JSON)')
    .action(async (opts: { drivers: string; workloads: string; seeds: number; cost?: string; shard: string; jobs: number; out: string }) => {
      const shard = /^(\d+)\/(\d+)$/.exec(opts.shard);
      if (shard === null || Number(shard[1]) < 1 || Number(shard[1]) > Number(shard[2])) throw new UsageError(`--shard expects i/n with 1 <= i <= n, got '${opts.shard}'`);
      const [i, n] = [Number(shard[1]), Number(shard[2])];
      const drivers = opts.drivers.split(',');
      for (const d of drivers) driver_or_fail(d);
      const workloads = opts.workloads.split(',');
      let cost_values: { key: string | null; value: number | null }[] = [{ key: null, value: null }];
      if (opts.cost !== undefined) {
        const m = /^([a-z_]+)=(\d+(?:,\d+)*)$/.exec(opts.cost);
        if (m === null || !(COST_KEYS as readonly string[]).includes(m[1])) throw new UsageError(`--cost expects a known entry and values, e.g. kworker_wakeup_ns=2000,6000,100000; got '${opts.cost}'`);
        cost_values = m[2].split(',').map((v) => ({ key: m[1], value: Number(v) }));
      }
      const all: SeedTask[] = [];
      for (const driver of drivers) for (const workload of workloads) for (const cv of cost_values) {
        for (let s = 1; s <= opts.seeds; s++) all.push({ driver, workload, seed: s, costs: cv.key === null ? {} : { [cv.key]: cv.value } as CostOverrides });
      }
      const mine = all.filter((_, index) => index % n === i - 1);
      const outputs = await run_tasks(mine, opts.jobs, progress_printer(`sweep ${i}/${n}`));
      mkdirSync(opts.out, { recursive: true });
      const file = join(opts.out, `shard-${i}-of-${n}.json`);
      writeFileSync(file, JSON.stringify({ deplab: VERSION, tasks: mine, outputs }, null, 1) + '\n');
      io.out(`${mine.length} of ${all.length} tasks -> ${file}\n`);
    });

  program.command('merge').description('merge sweep shard results into reports').argument('<dirs...>')
    .option('--out <dir>', 'report directory', 'reports/sweep')
    .action((dirs: string[], opts: { out: string }) => {
      const groups = new Map<string, { task: SeedTask; outputs: SeedOutput[] }>();
      for (const dir of dirs) {
        for (const f of readdirSync(dir).filter((x) => /^shard-\d+-of-\d+\.json$/.test(x)).sort()) {
          const data = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { tasks: SeedTask[]; outputs: SeedOutput[] };
          data.tasks.forEach((t, k) => {
            const key = `${t.driver}|${t.workload}|${JSON.stringify(t.costs ?? {})}`;
            let g = groups.get(key);
            if (g === undefined) groups.set(key, (g = { task: t, outputs: [] }));
            g.outputs.push(data.outputs[k]);
          });
        }
      }
      if (groups.size === 0) throw new UsageError(`no shard-*.json files in ${dirs.join(', ')}`);
      mkdirSync(opts.out, { recursive: true });
      const rows: string[] = ['| driver | workload | costs | seeds | regressions | submit→finished p50 | kworker wake-ups/job |', '|---|---|---|--:|--:|---|---|'];
      for (const [key, g] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
        const d = driver_or_fail(g.task.driver);
        const loaded = resolve_workload(g.task.workload, d.engines);
        if (!loaded.ok) throw new UsageError(loaded.errors.join('\n'));
        const r = aggregate(loaded.workload, g.task.driver, make_cost_table(g.task.costs), g.outputs);
        const cost_label = cost_args(g.task.costs ?? {}).filter((a) => !a.startsWith('--')).join(',') || 'default';
        const name = `${slug(g.task.driver)}-${slug(g.task.workload)}-${slug(cost_label)}`;
        writeFileSync(join(opts.out, `${name}.md`), comparison_markdown(r, { command: `npx deplab merge ${dirs.join(' ')}`, version: VERSION }));
        const v = (m: string) => { const x = r.metrics.find((y) => y.name === m); return x ? `${x.comparison.verdict} (${(x.comparison.delta_rel * 100).toFixed(1)}%)` : 'n/a'; };
        rows.push(`| ${g.task.driver} | ${g.task.workload} | ${cost_label} | ${r.seeds.length} | ${r.diff_counts.regression} | ${v('submit_to_finished_us.p50')} | ${v('kworker_wakeups_per_job')} |`);
        void key;
      }
      writeFileSync(join(opts.out, 'README.md'), ['# deplab sweep', '', ...rows, ''].join('\n'));
      io.out(`${groups.size} comparisons merged into ${opts.out}/\n`);
    });

  program.command('conformance').description('the upstream KUnit scheduler suite on the mock GPU, on both backends')
    .addOption(new Option('--backend <b>', 'which backend').choices(['sched', 'dep', 'both']).default('both'))
    .addOption(new Option('--format <f>', 'output format').choices(['table', 'tap']).default('table'))
    .action((opts: { backend: 'sched' | 'dep' | 'both'; format: 'table' | 'tap' }) => {
      const { text, failed } = conformance(opts.backend, opts.format);
      io.out(text);
      if (failed > 0) process.exitCode = 1;
    });
  register_trace(program, io);
  register_readiness(program, io);
  register_explore(program, io);
  return program;
}

/** Output piped into `head` and closed early: stop quietly, as command-line tools do. */
function on_stdout_error(e: NodeJS.ErrnoException): void {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
}

/** Entry point; returns the exit code. Callable more than once (tests): the handler is added once. */
export async function main(argv: readonly string[]): Promise<number> {
  if (!process.stdout.listeners('error').includes(on_stdout_error)) process.stdout.on('error', on_stdout_error);
  const program = build_program({ out: (s) => process.stdout.write(s) });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2; // commander already printed the usage error
    }
    if (e instanceof UsageError) {
      process.stderr.write(`deplab: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`deplab: internal error: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}

// Worker-thread entry: the pool starts this bundle as a worker and sends it seed tasks.
if (!isMainThread && (workerData as { deplab_worker?: boolean } | null)?.deplab_worker === true) {
  parentPort!.on('message', (msg: { index: number; task: SeedTask }) => {
    try {
      parentPort!.postMessage({ index: msg.index, output: run_seed_task(msg.task) });
    } catch (e) {
      parentPort!.postMessage({ index: msg.index, error: (e as Error).message });
    }
  });
}
