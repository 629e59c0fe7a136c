/** Run the deplab command in this process, as main() does, with its output captured. */
import { run_cli } from './main.ts';

export async function deplab(args: readonly string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '', err = '';
  const code = await run_cli(args, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { out, err, code };
}
