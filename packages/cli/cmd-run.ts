/**
 * `deplab run`: one workload on one driver and backend, observed by the run monitor in memory
 * that grows with the jobs in flight (a run of millions of jobs keeps none of them), with its
 * metrics, guarantee checks and violations.
 */
import type { Command } from 'commander';
import { compute_metrics, group_violations, monitor_facts, run_workload } from '@deplab/harness';
import { backend_label, metric_value, wrap } from '@deplab/report';
import { EXIT_FINDINGS, UsageError } from './errors.ts';
import { json_text, type Io } from './cmd-compare.ts';
import { COST_HELP, COST_PROFILE_HELP, backend_for, collect, driver_or_fail, int_arg, parse_assume, parse_costs, SEED_MAX } from './options.ts';
import { capture_notes, resolve_for_driver } from './workloads.ts';

export function register_run(program: Command, io: Io): void {
  program.command('run').description('run a workload on one driver and backend').argument('<workload>', 'built-in name or a workload file (JSON, gem_wsim, trace capture)')
    .requiredOption('--driver <name>', 'model driver')
    .requiredOption('--backend <backend>', 'scheduler: sched, dep or dep-hw')
    .option('--seed <n>', 'seed', int_arg('--seed', 0, SEED_MAX), 1)
    .option('--cost <key=value>', COST_HELP, collect, [] as string[])
    .option('--cost-profile <name>', COST_PROFILE_HELP)
    .option('--assume <id=value>', 'modelling assumption (repeatable)', collect, [] as string[])
    .option('--json', 'machine-readable output (docs/cli.md)')
    .option('--expect-clean', 'exit 1 if a guarantee breaks or a violation is reported')
    .action((spec: string, opts: { driver: string; backend: string; seed: number; cost: string[]; costProfile?: string; assume: string[]; json?: boolean; expectClean?: boolean }) => {
      const d = driver_or_fail(opts.driver);
      const backend = backend_for(d, opts.backend, '--backend');
      const costs = parse_costs(opts.cost, opts.costProfile), assume = parse_assume(opts.assume);
      const loaded = resolve_for_driver(spec, d);
      if (!loaded.ok) throw new UsageError(loaded.errors.join('\n'));
      io.err(capture_notes(loaded));
      const device = { driver: { ...d.defaults.driver, ...loaded.device } };
      const outcome = run_workload(loaded.workload, d.factory, backend, { seed: opts.seed, costs, assume, device, monitor: monitor_facts(d.name, device.driver) });
      const metrics = compute_metrics(outcome);
      const obs = outcome.observation;
      const broken = Object.entries(obs.guarantees).filter(([, t]) => (t?.broken ?? 0) > 0);
      const groups = group_violations(outcome.kernel.violations.list);
      if (opts.json) {
        io.out(json_text({
          kind: 'run', workload: loaded.workload.name, driver: d.name, backend, seed: opts.seed, assume, trace_digest: outcome.kernel.trace.digest(),
          stuck: outcome.stuck, metrics, guarantees: obs.guarantees, outcomes: obs.outcomes, violation_groups: groups, queues: obs.queues,
        }));
      } else {
        const lines = [
          `${loaded.workload.name} on ${d.name}/${backend_label(backend)}, seed ${opts.seed}: ${metrics.jobs_submitted} jobs, ` +
          `${metrics.jobs_finished} finished (${metrics.jobs_errored} with an error), ${metrics.jobs_never_finished} never finished`,
          `submit->finished p50 ${metric_value('x_us', metrics.latency.submit_to_finished_us.p50)}, p99 ${metric_value('x_us', metrics.latency.submit_to_finished_us.p99)}` +
          `${metrics.latency_exact ? '' : ' (sketch, 0.1%)'}; kworker wake-ups/job ${metric_value('x', metrics.kworker_wakeups_per_job)}`,
          `guarantees: ${broken.length === 0 ? 'all held' : broken.map(([id, t]) => `${id} broken ${t!.broken}x`).join(', ')}; ` +
          `violations: ${groups.length === 0 ? 'none' : `${outcome.kernel.violations.count()} in ${groups.length} group(s)`}`,
          `trace ${outcome.kernel.trace.digest()}`,
        ];
        for (const l of lines) io.out(wrap(l, 80, '  ').join('\n') + '\n');
        for (const [id, t] of broken) for (const b of t!.examples.slice(0, 5)) io.out(wrap(`  ${id}: ${b.message}`, 80, '    ').join('\n') + '\n');
        for (const g of groups.slice(0, 20)) io.out(wrap(`  ${g.kind} at ${g.site} (${g.count}x): ${g.first.message}`, 80, '    ').join('\n') + '\n');
        if (groups.length > 20) io.out(`  ... ${groups.length - 20} more group(s) (--json lists them all)\n`);
      }
      if (opts.expectClean && (broken.length > 0 || groups.length > 0)) process.exitCode = EXIT_FINDINGS;
    });
}
