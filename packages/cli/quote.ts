/**
 * Command lines printed for a user to paste (packages/report/shell.ts quotes them for a POSIX
 * shell), and path arguments that must not read as options.
 */
export { command_line, md_cell_code, md_code, sh_quote } from '@deplab/report';

/** A path argument of a printed command: one starting with '-' would be read as an option, so it gets './'. */
export function path_arg(path: string): string {
  return path.startsWith('-') ? `./${path}` : path;
}
