/** `deplab list`: drivers (with their bindings) and built-in workloads, within 80 columns. */
import type { Command } from 'commander';
import { BUILTIN_WORKLOADS, driver_names, find_driver } from '@deplab/harness';
import { known_assumptions } from '@deplab/sim';
import { wrap } from '@deplab/report';
import { json_text, type Io } from './cmd-compare.ts';

export function register_list(program: Command, io: Io): void {
  program.command('list').description('drivers, built-in workloads and selectable assumptions').option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) => {
      const drivers = driver_names().map((n) => ({ name: n, backends: find_driver(n)!.backends ?? ['sched', 'dep'], description: find_driver(n)!.description }));
      const assumptions = known_assumptions().map((a) => ({ id: a.id, values: a.values, default: a.default, summary: a.summary }));
      if (opts.json) {
        io.out(json_text({ kind: 'list', drivers, workloads: BUILTIN_WORKLOADS.map((w) => ({ name: w.name, description: w.description, drivers: w.drivers, default: w.default })), assumptions }));
        return;
      }
      const out: string[] = ['drivers:'];
      for (const d of drivers) out.push(...wrap(`  ${d.name} (${d.backends.join(', ')}): ${d.description}`, 80, '      '));
      out.push('', 'workloads (drivers; * = default comparison):');
      for (const w of BUILTIN_WORKLOADS) {
        out.push(`  ${w.name}${w.default ? ' *' : ''} (${w.drivers.join(',')})`);
        out.push(...wrap(`      ${w.description}`, 80, '      '));
      }
      if (assumptions.length > 0) {
        out.push('', 'assumptions (--assume id=value; docs/assumptions.md):');
        for (const a of assumptions) out.push(...wrap(`  ${a.id} = ${a.values.join(' | ')} (default ${a.default}): ${a.summary}`, 80, '      '));
      }
      io.out(out.join('\n') + '\n');
    });
}
