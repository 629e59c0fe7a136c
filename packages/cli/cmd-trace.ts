/**
 * `deplab trace`: run a workload with the full trace and write it for a trace viewer, as
 * Perfetto JSON (both backends side by side in one file by default) or as ftrace text in the
 * upstream gpu_scheduler formats. The workload may also be a captured trace, replayed.
 * Format reference: docs/cli.md, "deplab trace".
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { check_output_file, write_file_atomic } from './output.ts';
import { extname } from 'node:path';
import { backend_problem, driver_names, find_driver, run_workload, type RunOutcome } from '@deplab/harness';
import { perfetto_json, run_ftrace, run_source, wrap_text } from '@deplab/report';
import { capture_notes, resolve_for_driver } from './workloads.ts';
import type { Io } from './cmd-compare.ts';

type BackendChoice = 'sched' | 'dep' | 'both';

interface TraceOptions {
  readonly driver: string;
  readonly seed: number;
  readonly backend: BackendChoice;
  readonly format: 'perfetto' | 'ftrace';
  readonly out?: string;
}

const SEED_MAX = 2 ** 31;

function parse_seed(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n > SEED_MAX) throw new InvalidArgumentError(`expected an integer in 0..${SEED_MAX}.`);
  return n;
}

/** "out.txt" -> "out.sched.txt": one ftrace file per backend. */
function per_backend_path(path: string, backend: string): string {
  const ext = extname(path);
  return `${path.slice(0, path.length - ext.length)}.${backend}${ext}`;
}

/**
 * Register `deplab trace` on the program. Bad arguments print a usage message and exit 2
 * (through commander's error(), which the program's exitOverride turns into an exception).
 */
export function register_trace(program: Command, io: Io): void {
  program.command('trace').description('run a workload and write its trace: Perfetto JSON (ui.perfetto.dev) or ftrace text')
    .argument('<workload>', 'built-in name, or a JSON, gem_wsim or captured-trace file (told apart by content)')
    .requiredOption('--driver <name>', 'model driver')
    .option('--seed <n>', 'seed', parse_seed, 1)
    .addOption(new Option('--backend <backend>', 'scheduler: one, or both side by side').choices(['sched', 'dep', 'both']).default('both'))
    .addOption(new Option('--format <format>', 'output format').choices(['perfetto', 'ftrace']).default('perfetto'))
    .option('--out <file>', 'write to FILE (ftrace with both backends: FILE.sched / FILE.dep) instead of standard output')
    .action((spec: string, opts: TraceOptions, command: Command) => {
      const usage = (message: string): never => command.error(`error: ${message}`, { exitCode: 2, code: 'deplab.usage' }) as never;
      const driver = find_driver(opts.driver);
      if (driver === undefined) return usage(`unknown driver '${opts.driver}' (known: ${driver_names().join(', ')})`);
      for (const b of opts.backend === 'both' ? ['sched', 'dep'] as const : [opts.backend]) {
        const problem = backend_problem(driver, b);
        if (problem !== null) return usage(problem);
      }
      if (opts.format === 'ftrace' && opts.backend === 'both' && opts.out === undefined) {
        return usage('ftrace text holds one run: choose --backend sched or dep, or give --out FILE for FILE.sched and FILE.dep');
      }
      const loaded = resolve_for_driver(spec, driver);
      if (!loaded.ok) return usage(loaded.errors.join('\n'));
      io.err(capture_notes(loaded));
      const backends: ('sched' | 'dep')[] = opts.backend === 'both' ? ['sched', 'dep'] : [opts.backend];
      if (opts.out !== undefined) {
        for (const b of backends) check_output_file(opts.format === 'ftrace' && backends.length > 1 ? per_backend_path(opts.out, b) : opts.out);
      }
      // Recorded in full: past the recorder's bound the run fails (TraceLimitExceeded), never a cut trace.
      const runs: RunOutcome[] = backends.map((backend) =>
        run_workload(loaded.workload, driver.factory, backend, {
          seed: opts.seed, device: { driver: { ...driver.defaults.driver, ...loaded.device } }, trace_detail: 'full', record: true, monitor: { retain: true },
        }));
      for (const run of runs) {
        if (run.stuck !== null) io.err(`deplab: ${run.backend}: ${run.stuck} (the trace shows where)\n`);
      }
      const files: { path: string | undefined; text: string; what: string }[] = opts.format === 'perfetto'
        ? [{ path: opts.out, text: perfetto_json(runs.map(run_source)), what: `Perfetto JSON (${runs.map((r) => run_source(r).label).join(', ')}); open it in https://ui.perfetto.dev` }]
        : runs.map((run) => ({
          path: opts.out === undefined ? undefined : runs.length > 1 ? per_backend_path(opts.out, run.backend) : opts.out,
          text: run_ftrace(run), what: `ftrace text (${run_source(run).label})`,
        }));
      for (const f of files) {
        if (f.path === undefined) { io.out(f.text); continue; }
        write_file_atomic(f.path, f.text);
        io.out(wrap_text(`${f.path}: ${f.what}\n`));
      }
    });
}
