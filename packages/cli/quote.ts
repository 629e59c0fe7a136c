/**
 * Command lines printed for a user to paste: every argument quoted for a POSIX shell, so a
 * workload file named `a';touch PWNED;'.json` is one argument, never code.
 */

const SAFE = /^[A-Za-z0-9_./:=,@%+-]+$/;

/** One argument, single-quoted when it holds anything but safe characters ('\'' for a quote). */
export function sh_quote(arg: string): string {
  if (arg !== '' && SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** `npx deplab <args...>`, each argument quoted. */
export function command_line(args: readonly string[]): string {
  return ['npx deplab', ...args.map(sh_quote)].join(' ');
}
