/**
 * The deplab command. Every subcommand validates its arguments and outputs before computing
 * (bad ones: a message naming the input and exit 2), writes atomically, and reports a bug of
 * its own as one (exit 70), never as a bare stack trace. Exit codes: errors.ts. Commands and
 * their --json documents: docs/cli.md.
 */
import { Command, CommanderError } from 'commander';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { TraceLimitExceeded } from '@deplab/sim';
import { EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, Interrupted, UsageError, internal_error_text } from './errors.ts';
import { serve_worker } from './pool.ts';
import { VERSION, version_line } from '@deplab/harness';
import { register_compare } from './cmd-compare.ts';
import { register_run } from './cmd-run.ts';
import { register_list } from './cmd-list.ts';
import { register_sweep } from './cmd-sweep.ts';
import { register_conformance } from './conformance.ts';
import { register_trace } from './cmd-trace.ts';
import { register_readiness } from './cmd-readiness.ts';
import { register_explore } from './cmd-explore.ts';
import { register_survey } from './cmd-survey.ts';

export { VERSION };

export interface CliIo {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
}

export function build_program(io: CliIo): Command {
  const program = new Command('deplab')
    .description('A/B laboratory for the DRM GPU schedulers: drm_sched vs drm_dep on identical workloads')
    .version(version_line())
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  register_list(program, io);
  register_run(program, io);
  register_compare(program, io);
  register_sweep(program, io);
  register_conformance(program, io);
  register_trace(program, io);
  register_readiness(program, io);
  register_explore(program, io);
  register_survey(program, io);
  // Every subcommand reports its own usage errors through the same path as the program's.
  for (const c of program.commands) c.exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  return program;
}

/** Run the command line `argv` with this output; returns the exit code (errors.ts). */
export async function run_cli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = build_program(io);
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT_OK;
      return EXIT_USAGE; // commander already printed the usage error
    }
    if (e instanceof UsageError || e instanceof TraceLimitExceeded) {
      io.err(`deplab: ${e.message}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof Interrupted) {
      io.err(`deplab: ${e.message}\n`);
      return e.exit_code;
    }
    // The device refused to set up the workload (a queue it will not create): the input's fault, not ours.
    // Worker threads send errors back by name, so the class is not preserved.
    if (e instanceof Error && e.name === 'RunError') {
      io.err(`deplab: the driver refused the workload: ${e.message}\n`);
      return EXIT_USAGE;
    }
    io.err(internal_error_text(e, argv));
    return EXIT_INTERNAL;
  } finally {
    process.exitCode = before;
  }
}

/** Output piped into `head` and closed early: stop quietly, as command-line tools do. */
function on_stdout_error(e: NodeJS.ErrnoException): void {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
}

/** Entry point of the command; returns the exit code. Callable more than once (tests): the handler is added once. */
export async function main(argv: readonly string[]): Promise<number> {
  if (!process.stdout.listeners('error').includes(on_stdout_error)) process.stdout.on('error', on_stdout_error);
  return run_cli(argv, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) });
}

// Worker-thread entry: the pool starts this bundle as a worker and sends it tasks.
if (!isMainThread && (workerData as { deplab_worker?: boolean } | null)?.deplab_worker === true) serve_worker(parentPort!);
