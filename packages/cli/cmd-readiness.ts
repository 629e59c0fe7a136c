/**
 * `deplab readiness`: the drm_sched deprecation readiness of every model driver, with
 * provenance (reports/readiness.md and readiness.json). The code evidence comes from a ts-morph
 * scan of drivers/; the behaviour evidence from comparisons of each registered driver's
 * drm_sched binding with its drm_dep path (drm_dep, or drm_dep + the HW-queue layer) on its
 * parity workloads and on the fault matrix, each also under the robustness variants; its
 * exploration campaign is read from <out>/explore/<driver>.json when there is one; the mock adds
 * the KUnit suite. Judging and writing: packages/report/readiness.ts and verdict.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Backend } from '@deplab/driver-api';
import {
  MATRIX_ALLOC_FAIL_PROBABILITY, MATRIX_FAULTS, aggregate, builtins_for, dep_path, explore_profile, fault_workload, find_driver, version_line,
  type DriverEntry, type SeedOutput, type Workload,
} from '@deplab/harness';
import {
  comparison_markdown, deciding_items, readiness_markdown, repository_root, driver_folders, wrap_text, type CampaignEvidence, type DriverEvidence, type RunEvidence,
  type ApiScan, type VariantFamily,
} from '@deplab/report';
import { json_text, relative_root, type Io } from './cmd-compare.ts';
import { OutputTransaction, check_output_dir, default_out } from './output.ts';
import { int_arg, slug } from './options.ts';
import { default_threads, run_pool, type KunitTally, type PoolTask, type SeedGroupOutput, type SeedTask } from './pool.ts';
import { progress_printer } from './progress.ts';
import { command_line, path_arg } from './quote.ts';
import { resolve_for_driver } from './workloads.ts';
import { survey_summary } from '@deplab/survey';
import { readiness_families } from './robustness.ts';

/** The workloads parity runs for a driver: its default ones and those meant for every driver. */
export function parity_workloads(driver: string): string[] {
  return builtins_for(driver).filter((w) => w.default || w.drivers.includes('*')).map((w) => w.name);
}


/** One comparison readiness runs: a parity workload or a fault cell, under one variant. */
interface Cell {
  readonly driver: DriverEntry;
  readonly kind: 'parity' | 'fault';
  readonly label: string;
  readonly workload: Workload;
  readonly device: Record<string, number | string | boolean>;
  readonly alloc_fail_probability: number;
}

function cells_of(d: DriverEntry, errors: string[]): Cell[] {
  const out: Cell[] = [];
  for (const w of parity_workloads(d.name)) {
    const r = resolve_for_driver(w, d);
    if (!r.ok) { errors.push(`${w}: ${r.errors[0]}`); continue; }
    out.push({ driver: d, kind: 'parity', label: w, workload: r.workload, device: { ...r.device }, alloc_fail_probability: 0 });
  }
  const timeout = explore_profile(d.name).timeout_option;
  for (const f of MATRIX_FAULTS) {
    if (!d.faults.includes(f)) continue;
    // A hang needs a TDR: a driver whose timeout is an option without a default gets 100 ms.
    const device = f === 'hang' && timeout !== null && d.defaults.driver?.[timeout] === undefined ? { [timeout]: 100 } : {};
    out.push({ driver: d, kind: 'fault', label: f, workload: fault_workload(f), device, alloc_fail_probability: f === 'alloc-fail' ? MATRIX_ALLOC_FAIL_PROBABILITY : 0 });
  }
  return out;
}

function cell_tasks(c: Cell, seeds: number, costs: SeedTask['costs'], assume: SeedTask['assume']): SeedTask[] {
  return Array.from({ length: seeds }, (_, i) => ({
    driver: c.driver.name, workload: c.workload, seed: i + 1, costs, assume, device: c.device, baseline: 'sched', candidate: dep_path(c.driver),
    alloc_fail_probability: c.alloc_fail_probability,
  }));
}

/** The campaign of a driver, from the JSON `deplab explore` wrote beside the reports. */
function read_campaign(out: string, driver: string): CampaignEvidence | null {
  const path = join(out, 'explore', `${slug(driver)}.json`);
  if (!existsSync(path)) return null;
  try {
    const doc = JSON.parse(readFileSync(path, 'utf8')) as {
      command: string;
      summaries: { backend: Backend; seeds_run: number; groups: { kind: string; site: string; seeds: number; message: string; first: { variant: string; seed: number; token: string }[] }[] }[];
    };
    return {
      report: `explore/${slug(driver)}.md`, command: doc.command,
      backends: doc.summaries.map((s) => ({ backend: s.backend, seeds_run: s.seeds_run, groups: s.groups.map((g) => ({ kind: g.kind, site: g.site, seeds: g.seeds, message: g.message, first: g.first })) })),
    };
  } catch {
    return null;
  }
}

/** The upstream survey's row per driver, when `deplab survey --out <out>/survey` was run. */
function read_survey(out: string): Record<string, { path: string; link: string }> | null {
  const path = join(out, 'survey', 'survey.json');
  if (!existsSync(path)) return null;
  try {
    return Object.fromEntries(survey_summary(path, 'survey/survey.md').map((s) => [s.driver, { path: s.path, link: s.link }]));
  } catch (e) {
    process.stderr.write(`deplab: ignoring ${path}: ${(e as Error).message}\n`);
    return null;
  }
}

export function register_readiness(program: Command, io: Io): void {
  program.command('readiness').description('drm_sched deprecation readiness per driver: verdicts with provenance and robustness -> <out>/readiness.md')
    .option('--seeds <n>', 'paired seeds per workload and fault', int_arg('--seeds', 1, 100), 5)
    .option('--variant-seeds <n>', 'paired seeds per robustness variant', int_arg('--variant-seeds', 1, 100), 3)
    .option('--out <dir>', 'report directory (default: deplab-out/report; npm run report writes the committed reports/)')
    .option('--jobs <n>', 'worker threads', int_arg('--jobs', 1, 256), default_threads())
    .action(async (opts: { seeds: number; variantSeeds: number; out?: string; jobs: number }) => {
      const out = check_output_dir(opts.out ?? default_out('report'));
      const root = repository_root();
      // The drivers the ts-morph scan will cover (its default); the scan itself runs on the pool, beside the seeds.
      const drivers = driver_folders(root);
      const sources: Record<string, { sched: string | null; dep: string | null }> = {};
      const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : null);
      for (const d of drivers) {
        sources[d] = { sched: read(join(root, 'drivers', d, 'on-sched.ts')), dep: read(join(root, 'drivers', d, 'on-dep.ts')) ?? read(join(root, 'drivers', d, 'on-dep-hw.ts')) };
      }
      const families: VariantFamily[] = readiness_families();
      const plan = drivers.map((name) => {
        const d = find_driver(name);
        const errors: string[] = [];
        return { name, d, errors, cells: d === undefined ? [] : cells_of(d, errors) };
      });
      // One pool run for everything: the main seeds, then each variant's, the KUnit suite and the
      // ts-morph scan of the bindings (seconds of one thread: beside the seeds, not before them).
      // A cell's seed runs as one group with its variants of that seed (the main run first, when
      // the seed has one): a side a variant does not change (an assumption the run never read) is
      // not run again.
      const tasks: SeedTask[] = [];
      const slices: { driver: string; cell: Cell; variant: number; from: number; to: number }[] = [];
      const group_list: number[][] = [];
      for (const p of plan) {
        for (const cell of p.cells) {
          const by_seed = new Map<number, number[]>();
          const add = (variant: number, batch: SeedTask[]) => {
            const from = tasks.length;
            for (const task of batch) {
              let g = by_seed.get(task.seed);
              if (g === undefined) group_list.push((g = []));
              by_seed.set(task.seed, g);
              g.push(tasks.length);
              tasks.push(task);
            }
            slices.push({ driver: p.name, cell, variant, from, to: tasks.length });
          };
          add(-1, cell_tasks(cell, opts.seeds, {}, {}));
          families.forEach((f, fi) => f.variants.forEach((v, vi) => add(fi * 1000 + vi, cell_tasks(cell, opts.variantSeeds, v.costs, v.assume))));
        }
      }
      const t = new OutputTransaction(out, 'readiness').lock();
      try {
        // The mock's KUnit conformance runs on the pool too, beside the seeds (not after them on this thread).
        const conformance_tasks: PoolTask[] = plan.some((p) => p.d?.name === 'mock')
          ? [{ kind: 'kunit', task: { backend: 'drm_sched' } }, { kind: 'kunit', task: { backend: 'drm_dep' } }] : [];
        const results = await run_pool<SeedGroupOutput | KunitTally | ApiScan>(
          [...group_list.map((g): PoolTask => ({ kind: 'seed-group', task: { tasks: g.map((i) => tasks[i]) } })), ...conformance_tasks,
            { kind: 'api-scan', task: { root } }], opts.jobs, progress_printer('readiness', io.err));
        const outputs: SeedOutput[] = new Array(tasks.length);
        group_list.forEach((g, gi) => g.forEach((i, k) => { outputs[i] = (results[gi] as SeedGroupOutput).outputs[k]; }));
        const reused = group_list.reduce((n, _, gi) => n + (results[gi] as SeedGroupOutput).reused, 0);
        io.err(`readiness: ${tasks.length} comparisons of one seed, ${2 * tasks.length} side runs, ${reused} of them the base run of their group `
          + '(the variant changes no assumption that run read)\n');
        const [kunit_sched, kunit_dep] = results.slice(group_list.length, group_list.length + conformance_tasks.length) as KunitTally[];
        const scan = results[results.length - 1] as ApiScan;
        const evidence: DriverEvidence[] = plan.map((p) => {
          if (p.d === undefined) {
            return { driver: p.name, registered: false, candidate: 'dep', runs: [], campaign: null, variants: [], faults: [], unsupported_faults: [], conformance: null, errors: [] };
          }
          const d = p.d;
          const runs_of = (variant: number): RunEvidence[] => slices.filter((s) => s.driver === p.name && s.variant === variant).map((s) => {
            const costs = variant < 0 ? {} : families[Math.floor(variant / 1000)].variants[variant % 1000].costs;
            const assume = variant < 0 ? {} : families[Math.floor(variant / 1000)].variants[variant % 1000].assume;
            const result = aggregate(s.cell.workload, d.name, outputs.slice(s.from, s.to), {
              costs, assume, device: { driver: { ...d.defaults.driver, ...s.cell.device } }, alloc_fail_probability: s.cell.alloc_fail_probability,
            });
            // The main runs get a report each (under readiness/), so every verdict links to its evidence.
            const report = variant < 0 ? `readiness/${slug(d.name)}/${slug(s.cell.kind === 'fault' ? `fault-${s.cell.label}` : s.cell.label)}.md` : null;
            if (report !== null) {
              t.add(report, comparison_markdown(result, {
                command: command_line(['readiness', ...(opts.seeds !== 5 ? ['--seeds', String(opts.seeds)] : [])]), version: version_line(),
                root: relative_root(out, join('readiness', slug(d.name))),
              }));
            }
            return { kind: s.cell.kind, label: s.cell.label, report, result };
          });
          const variants = families.flatMap((f, fi) => f.variants.map((v, vi) => ({ family: f.name, label: v.label, runs: runs_of(fi * 1000 + vi) })));
          return {
            driver: d.name, registered: true, candidate: dep_path(d), runs: runs_of(-1), campaign: read_campaign(out, d.name), variants,
            faults: MATRIX_FAULTS.filter((f) => d.faults.includes(f)),
            unsupported_faults: MATRIX_FAULTS.filter((f) => !d.faults.includes(f)).map((f) => ({ fault: f, why: `the ${d.name} device cannot inject it (DriverEntry.faults)` })),
            conformance: d.name === 'mock' ? { sched: kunit_sched, dep: kunit_dep } : null,
            errors: p.errors,
          };
        });
        const command = command_line(['readiness', ...(opts.seeds !== 5 ? ['--seeds', String(opts.seeds)] : []), ...(opts.variantSeeds !== 3 ? ['--variant-seeds', String(opts.variantSeeds)] : []),
          ...(opts.out !== undefined ? ['--out', path_arg(opts.out)] : [])]);
        const { markdown, verdicts } = readiness_markdown({
          scan, sources, evidence, command, version: version_line(), seeds: opts.seeds, root: relative_root(out, '.'), survey: read_survey(out),
        });
        t.add('readiness.md', markdown);
        t.add('readiness.json', json_text({
          kind: 'readiness',
          summary: {
            command,
            drivers: verdicts.map((v) => ({
              driver: v.driver, verdict: v.judgement.verdict, robustness: v.robustness,
              deciding: deciding_items(v).map((x) => ({ text: x.text, link: x.link ?? `readiness.md#${v.driver}` })),
            })),
          },
          verdicts,
        }));
        await t.commit();
        io.out(wrap_text(`${join(out, 'readiness.md')}: ${verdicts.map((v) => `${v.driver} ${v.judgement.verdict}`).join(', ')}\n`));
      } catch (e) {
        t.abort();
        throw e;
      }
    });
}
