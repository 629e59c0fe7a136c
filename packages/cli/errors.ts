/**
 * Exit codes and the errors that choose them. 0: done; 1: done, and what was asked to be clean
 * was not (--expect-clean, failed conformance); 2: the user's input is wrong (options, files,
 * workloads, tokens, output paths), with a message naming it; 70 (EX_SOFTWARE): a bug of deplab,
 * reported as such, never as a bare stack trace; 130/143: stopped by SIGINT/SIGTERM (Interrupted).
 */

export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 70;

import { command_line } from '@deplab/report';

/** Bad input: printed as "deplab: <message>", exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The text printed for an internal error: what happened, that it is ours, and where to report it. */
export function internal_error_text(e: unknown, argv: readonly string[]): string {
  const err = e instanceof Error ? e : new Error(String(e));
  const lines = [
    `deplab: internal error (a bug in deplab, not in your input): ${err.name}: ${err.message}`,
    `deplab: please report it with this command line: ${command_line(argv).replace(/^npx /, '')}`,
  ];
  if (process.env.DEPLAB_DEBUG === '1') lines.push(err.stack ?? '');
  else lines.push('deplab: set DEPLAB_DEBUG=1 to print the stack trace');
  return lines.join('\n') + '\n';
}

/** SIGINT or SIGTERM stopped a command: exit 130 or 143, as a shell reports a signal. */
export class Interrupted extends Error {
  readonly signal: NodeJS.Signals;
  /** The output was completed before the signal was honoured (it arrived while files were renamed). */
  readonly completed: boolean;
  constructor(signal: NodeJS.Signals, completed: boolean) {
    super(completed ? `${signal} received; the output was completed first` : `interrupted (${signal}); nothing was written`);
    this.name = 'Interrupted';
    this.signal = signal;
    this.completed = completed;
  }

  get exit_code(): number {
    return this.signal === 'SIGINT' ? 130 : 143;
  }
}
