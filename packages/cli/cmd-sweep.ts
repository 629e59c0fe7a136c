/**
 * `deplab sweep` (drivers × workloads × cost values × seeds, one shard of it) and `deplab
 * merge` (shards into reports). A shard file carries the sweep's id and full parameters, its
 * index i of n, the compiled workloads, every seed's output and a checksum; merge verifies all of
 * it (no duplicate, no gap, no mix of sweeps or models, nothing truncated) and never opens a path
 * taken from a shard's content. A shard may take its index from the array-job environment of the
 * engine running it (docs/scale.md).
 */
import type { Command } from 'commander';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { aggregate, format_diagnostic, parse_workload_data, type SeedOutput, type Workload } from '@deplab/harness';
import { comparison_markdown } from '@deplab/report';
import { markdownTable } from 'markdown-table';
import { UsageError } from './errors.ts';
import { OutputTransaction, check_output_dir, default_out, write_file_atomic } from './output.ts';
import { backend_for, collect, driver_or_fail, int_arg, parse_assume, parse_costs, slug } from './options.ts';
import { default_threads, run_pool, seed_tasks, type SeedTask } from './pool.ts';
import { progress_printer } from './progress.ts';
import { command_line, md_code, path_arg } from './quote.ts';
import { VERSION, model_digest, version_line } from '@deplab/harness';
import { capture_notes, read_input_file, resolve_for_driver } from './workloads.ts';

/** The largest shard file merge reads. */
const SHARD_BYTES_MAX = 256 * 1024 * 1024;
import { json_text, type Io, relative_root } from './cmd-compare.ts';
import { family_adjustment, main_finding, wrap_text } from '@deplab/report';

export const SHARD_FORMAT = 'deplab-shard/1';

/** Bound on the shards of a sweep (--shard i/n, and what merge accepts). */
const SHARDS_MAX = 1_000_000;

/** Where an array-job engine puts the shard index: explicit DEPLAB_SHARD=i/n, Slurm, GitLab, Kubernetes Indexed Jobs. */
export function shard_from_env(env: NodeJS.ProcessEnv): { i: number; n: number; source: string } {
  const int = (name: string): number => {
    const v = env[name];
    if (v === undefined || !/^(0|[1-9]\d*)$/.test(v)) throw new UsageError(`--shard auto: ${name} is ${v === undefined ? 'not set' : `'${v}', not an integer`}`);
    return Number(v);
  };
  let r: { i: number; n: number; source: string };
  if (env.DEPLAB_SHARD !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(env.DEPLAB_SHARD);
    if (m === null) throw new UsageError(`--shard auto: DEPLAB_SHARD must be i/n, got '${env.DEPLAB_SHARD}'`);
    r = { i: Number(m[1]), n: Number(m[2]), source: 'DEPLAB_SHARD' };
  } else if (env.SLURM_ARRAY_TASK_ID !== undefined) {
    // sbatch --array=1-N: ids min..max; the count comes with Slurm >= 18.08.
    const min = env.SLURM_ARRAY_TASK_MIN === undefined ? 1 : int('SLURM_ARRAY_TASK_MIN');
    r = { i: int('SLURM_ARRAY_TASK_ID') - min + 1, n: int('SLURM_ARRAY_TASK_COUNT'), source: 'Slurm job array' };
  } else if (env.CI_NODE_INDEX !== undefined) {
    r = { i: int('CI_NODE_INDEX'), n: int('CI_NODE_TOTAL'), source: 'GitLab parallel' };
  } else if (env.JOB_COMPLETION_INDEX !== undefined) {
    // Kubernetes Indexed Job: 0-based index; the count is not in the pod's environment, the manifest sets it.
    r = { i: int('JOB_COMPLETION_INDEX') + 1, n: int('DEPLAB_SHARD_COUNT'), source: 'Kubernetes Indexed Job' };
  } else {
    throw new UsageError('--shard auto: no array-job index in the environment (DEPLAB_SHARD, SLURM_ARRAY_TASK_ID, CI_NODE_INDEX or JOB_COMPLETION_INDEX)');
  }
  if (r.n < 1 || r.i < 1 || r.i > r.n || r.n > SHARDS_MAX) throw new UsageError(`--shard auto (${r.source}): shard ${r.i} of ${r.n} is out of range (at most ${SHARDS_MAX} shards)`);
  return r;
}

export function parse_shard(value: string, env: NodeJS.ProcessEnv = process.env): { i: number; n: number; source: string } {
  if (value === 'auto') return shard_from_env(env);
  const m = /^([1-9]\d*)\/([1-9]\d*)$/.exec(value);
  if (m === null || Number(m[1]) > Number(m[2]) || Number(m[2]) > SHARDS_MAX) throw new UsageError(`--shard expects i/n with 1 <= i <= n <= ${SHARDS_MAX}, or auto; got '${value}'`);
  return { i: Number(m[1]), n: Number(m[2]), source: 'command line' };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A sweep's parameters, as the shard records them: enough to list every task of the sweep again. */
interface SweepParams {
  readonly drivers: readonly string[];
  readonly workloads: readonly string[];
  readonly seeds: number;
  readonly cost: string | null;
  readonly assume: Readonly<Record<string, string>>;
  readonly baseline: string;
  readonly candidate: string;
  readonly shards: number;
}

type TaskMeta = ShardFile['tasks'][number];

/** --cost key=v1,v2,... as one cost override per value ([{}] without it). */
function cost_values(cost: string | null): Record<string, number>[] {
  if (cost === null) return [{}];
  const m = /^([a-z_]+)=((?:0|[1-9]\d*)(?:,(?:0|[1-9]\d*))*)$/.exec(cost);
  if (m === null) throw new UsageError(`--cost expects key=v1,v2,... (integers), e.g. kworker_wakeup_ns=2000,6000,100000; got '${cost}'`);
  return m[2].split(',').map((v) => parse_costs([`${m[1]}=${v}`]) as Record<string, number>);
}

/** Every task of a sweep in order (drivers × workloads × cost values × seeds); shard i of n takes the k-th when k mod n = i - 1. */
function sweep_tasks(p: SweepParams): TaskMeta[] {
  const out: TaskMeta[] = [];
  const values = cost_values(p.cost);
  for (const driver of p.drivers) for (const workload_name of p.workloads) for (const costs of values) for (let seed = 1; seed <= p.seeds; seed++) {
    out.push({ driver, workload_name, seed, costs, assume: { ...p.assume } });
  }
  return out;
}

/** A comma-separated list without empty or repeated items (a repeat would count its seeds twice). */
function list_option(value: string, option: string): string[] {
  const items = value.split(',').map((x) => x.trim());
  if (items.some((x) => x === '')) throw new UsageError(`${option} has an empty item: '${value}'`);
  const dup = items.find((x, i) => items.indexOf(x) !== i);
  if (dup !== undefined) throw new UsageError(`${option} names ${dup} twice`);
  return items;
}

/** Bound on the tasks a merge re-derives from a shard's parameters. */
const SWEEP_TASKS_MAX = 10_000_000;

const params_schema = z.object({
  drivers: z.array(z.string().max(64)).min(1).max(64), workloads: z.array(z.string().max(4096)).min(1).max(4096),
  seeds: z.number().int().min(1).max(10000), cost: z.string().max(4096).nullable(), assume: z.record(z.string().max(64), z.string().max(64)),
  baseline: z.string().max(16), candidate: z.string().max(16), shards: z.number().int().min(1),
}).strict();

const output_schema = z.object({ seed: z.number().int(), baseline: z.object({ digest: z.string() }).passthrough(), candidate: z.object({ digest: z.string() }).passthrough() })
  .passthrough();

const task_schema = z.object({
  driver: z.string().max(64), workload_name: z.string().max(256), seed: z.number().int().min(0),
  costs: z.record(z.string(), z.unknown()), assume: z.record(z.string(), z.string()),
}).passthrough();

const shard_schema = z.object({
  format: z.literal(SHARD_FORMAT),
  deplab: z.string(), model: z.string(), sweep_id: z.string().length(64),
  params: z.record(z.string(), z.unknown()),
  shard: z.object({ i: z.number().int().min(1), n: z.number().int().min(1).max(SHARDS_MAX) }),
  workloads: z.record(z.string(), z.unknown()),
  tasks: z.array(task_schema), outputs: z.array(z.unknown()),
  checksum: z.string().length(64),
}).strict();

export interface ShardFile {
  format: string; deplab: string; model: string; sweep_id: string; params: SweepParams; shard: { i: number; n: number };
  workloads: Record<string, Workload>; tasks: { driver: string; workload_name: string; seed: number; costs: Record<string, number>; assume: Record<string, string> }[];
  outputs: SeedOutput[]; checksum: string;
}

/** The shard's body as checksummed: every field but the checksum, in order. */
function body_text(s: Omit<ShardFile, 'checksum'>): string {
  return JSON.stringify({ format: s.format, deplab: s.deplab, model: s.model, sweep_id: s.sweep_id, params: s.params, shard: s.shard, workloads: s.workloads, tasks: s.tasks, outputs: s.outputs });
}

/** A shard file's text: its body with the checksum of the body appended. */
export function shard_file_text(body: Omit<ShardFile, 'checksum'>): string {
  const text = body_text(body);
  return `${text.slice(0, -1)},"checksum":"${sha256(text)}"}\n`;
}

export function register_sweep(program: Command, io: Io): void {
  program.command('sweep').description('drivers × workloads × cost values × seeds, one shard of it (--shard i/n or auto); merge the shards with deplab merge')
    .requiredOption('--drivers <list>', 'comma-separated drivers')
    .requiredOption('--workloads <list>', 'comma-separated workloads (built-in names or files)')
    .option('--seeds <n>', 'paired seeds', int_arg('--seeds', 1, 10000), 5)
    .option('--cost <key=v1,v2,...>', 'sweep one cost-table entry over values (ns)')
    .option('--assume <id=value>', 'modelling assumption (repeatable)', collect, [] as string[])
    .option('--baseline <backend>', 'baseline backend', 'sched')
    .option('--candidate <backend>', 'candidate backend', 'dep')
    .option('--shard <i/n|auto>', 'run only shard i of n (1-based); auto: from the array-job environment (docs/scale.md)', '1/1')
    .option('--jobs <n>', 'worker threads', int_arg('--jobs', 1, 256), default_threads())
    .option('--out <dir>', 'directory for the shard file (default: deplab-out/sweep)')
    .action(async (opts: { drivers: string; workloads: string; seeds: number; cost?: string; assume: string[]; baseline: string; candidate: string; shard: string; jobs: number; out?: string }) => {
      const shard = parse_shard(opts.shard);
      const drivers = list_option(opts.drivers, '--drivers').map(driver_or_fail);
      const assume = parse_assume(opts.assume);
      const names = list_option(opts.workloads, '--workloads');
      cost_values(opts.cost ?? null); // checked now, used through sweep_tasks
      const baseline = backend_for(drivers[0], opts.baseline, '--baseline'), candidate = backend_for(drivers[0], opts.candidate, '--candidate');
      for (const d of drivers) { backend_for(d, opts.baseline, '--baseline'); backend_for(d, opts.candidate, '--candidate'); }
      const out = check_output_dir(opts.out ?? default_out('sweep'));
      // Every workload compiled for every driver now: a bad one stops the sweep before it runs.
      const workloads: Record<string, Workload> = {};
      for (const d of drivers) {
        for (const w of names) {
          const loaded = resolve_for_driver(w, d);
          if (!loaded.ok) throw new UsageError(loaded.errors.join('\n'));
          io.err(capture_notes(loaded));
          workloads[`${d.name}|${w}`] = loaded.workload;
        }
      }
      const params: SweepParams = {
        drivers: drivers.map((d) => d.name), workloads: names, seeds: opts.seeds, cost: opts.cost ?? null, assume, baseline: opts.baseline, candidate: opts.candidate, shards: shard.n,
      };
      const sweep_id = sha256(JSON.stringify({ params, model: model_digest(), workloads }));
      const meta = sweep_tasks(params);
      const all: SeedTask[] = meta.map((m) => ({ driver: m.driver, workload: workloads[`${m.driver}|${m.workload_name}`], seed: m.seed, costs: m.costs, assume, baseline, candidate }));
      const mine = all.map((t, k) => ({ t, k })).filter(({ k }) => k % shard.n === shard.i - 1);
      const outputs = await run_pool<SeedOutput>(seed_tasks(mine.map((x) => x.t)), opts.jobs, progress_printer(`sweep ${shard.i}/${shard.n}`, io.err));
      const used = new Set(mine.map((x) => `${meta[x.k].driver}|${meta[x.k].workload_name}`));
      const body: Omit<ShardFile, 'checksum'> = {
        format: SHARD_FORMAT, deplab: VERSION, model: model_digest(), sweep_id, params, shard: { i: shard.i, n: shard.n },
        workloads: Object.fromEntries(Object.entries(workloads).filter(([k]) => used.has(k))), tasks: mine.map((x) => meta[x.k]), outputs,
      };
      const file = join(out, `shard-${shard.i}-of-${shard.n}.json`);
      write_file_atomic(file, shard_file_text(body));
      io.out(wrap_text(`${mine.length} of ${all.length} tasks (shard ${shard.i}/${shard.n}, from ${shard.source}) -> ${file}\n`));
    });

  program.command('merge').description('merge sweep shard files into reports (checks that they are one complete sweep)').argument('<paths...>', 'shard files, or directories holding shard-*-of-*.json')
    .option('--out <dir>', 'report directory (default: deplab-out/merge)')
    .option('--json', 'print the merged comparisons as JSON')
    .action(async (paths: string[], opts: { out?: string; json?: boolean }) => {
      const out = check_output_dir(opts.out ?? default_out('merge'));
      const shards = load_shards(paths);
      const first = shards[0];
      if (first.data.model !== model_digest()) {
        io.err(`deplab: warning: the shards come from model ${first.data.model}, this deplab is ${model_digest()}: reports use the shards' results as they are\n`);
      }
      const groups = new Map<string, { driver: string; workload_name: string; costs: Record<string, number>; assume: Record<string, string>; outputs: SeedOutput[] }>();
      for (const { data } of shards) {
        data.tasks.forEach((t, k) => {
          const key = JSON.stringify([t.driver, t.workload_name, t.costs, t.assume]);
          let g = groups.get(key);
          if (g === undefined) groups.set(key, (g = { ...t, outputs: [] }));
          g.outputs.push(data.outputs[k]);
        });
      }
      const reproduce = command_line(['merge', ...paths.map(path_arg), ...(opts.out !== undefined ? ['--out', path_arg(opts.out)] : [])]);
      const t = new OutputTransaction(out, 'merge').lock();
      const rows = [['driver', 'workload', 'costs', 'seeds', 'regressions', 'main finding']];
      const results = [];
      const labels: string[][] = [];
      const names = new Set<string>();
      try {
        for (const g of [...groups.values()].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1))) {
          const workload = merged_workload(shards, g.driver, g.workload_name);
          const d = driver_or_fail(g.driver);
          const cost_label = Object.entries(g.costs).map(([k, v]) => `${k}=${v}`).join(',') || 'default';
          let r, markdown;
          try {
            r = aggregate(workload, g.driver, g.outputs, { costs: g.costs, assume: g.assume, device: { driver: { ...d.defaults.driver } } });
            markdown = comparison_markdown(r, { command: reproduce, version: version_line(), root: relative_root(out, '.') });
          } catch (e) {
            throw new UsageError(`merge: the results of ${g.driver} on ${g.workload_name} (${cost_label}) cannot be aggregated: ${(e as Error).message} (were the shard files edited?)`);
          }
          // Two workload files may slug to one name: the second gets a number.
          const base = `${slug(g.driver)}-${slug(g.workload_name)}-${slug(cost_label)}`;
          let name = base;
          for (let n = 2; names.has(name); n++) name = `${base}-${n}`;
          names.add(name);
          t.add(`${name}.md`, markdown);
          labels.push([g.driver, g.workload_name, cost_label]);
          results.push(r);
        }
        // The table shows the comparisons side by side: each headline also says whether Holm over all of them proves it.
        const family = family_adjustment(results);
        results.forEach((r, i) => rows.push([...labels[i], String(r.seeds.length), String(r.guarantees.reduce((n, x) => n + x.diff.regression, 0)), main_finding(r, null, family)]));
        t.add('README.md', ['# deplab sweep', '', `Merged with ${md_code(reproduce)} (deplab ${version_line()}): ${shards.length} shard(s) of sweep ${first.data.sweep_id.slice(0, 12)}. ` +
          `A p-value is adjusted over the metrics of its own comparison (Holm); "not proven over the ${results.length} comparisons" marks a difference ` +
          `that Holm over every test of the table (${family.tests}) does not prove.`, '',
          markdownTable(rows), ''].join('\n'));
      } catch (e) {
        t.abort();
        throw e;
      }
      await t.commit();
      if (opts.json) io.out(json_text({ kind: 'merge', sweep_id: first.data.sweep_id, results }));
      else io.out(wrap_text(`${groups.size} comparisons merged from ${shards.length} shard(s) into ${out}/\n`));
    });
}

function merged_workload(shards: readonly { file: string; data: ShardFile }[], driver: string, name: string): Workload {
  for (const s of shards) {
    const key = `${driver}|${name}`;
    if (!Object.hasOwn(s.data.workloads, key)) continue;
    const loaded = parse_workload_data(s.data.workloads[key], `${s.file}: workload ${name}`);
    if (!loaded.ok) throw new UsageError(`merge: ${format_diagnostic(loaded.errors[0])}`);
    return loaded.workload;
  }
  throw new UsageError(`merge: no shard holds the workload ${name} for ${driver}`);
}

/**
 * A shard's tasks are exactly its share of the tasks its parameters define, and each output is
 * the run of its task's seed: a shard edited (and re-checksummed) to add, drop or repeat seeds is
 * refused, not merged.
 */
function check_shard_tasks(file: string, data: ShardFile): void {
  const p = params_schema.safeParse(data.params);
  if (!p.success) throw new UsageError(`merge: ${file}: not a deplab shard (params.${p.error.issues[0].path.join('.')}: ${p.error.issues[0].message})`);
  const params = p.data;
  if (params.shards !== data.shard.n) throw new UsageError(`merge: ${file}: shard ${data.shard.i} of ${data.shard.n}, but its sweep has ${params.shards} shards`);
  if (data.shard.i > data.shard.n) throw new UsageError(`merge: ${file}: shard ${data.shard.i} of ${data.shard.n} is out of range`);
  let values: number;
  try { values = cost_values(params.cost).length; } catch (e) { throw new UsageError(`merge: ${file}: params.cost: ${(e as Error).message}`); }
  if (params.drivers.length * params.workloads.length * values * params.seeds > SWEEP_TASKS_MAX) throw new UsageError(`merge: ${file}: a sweep of more than ${SWEEP_TASKS_MAX} tasks`);
  const expected = sweep_tasks(params).filter((_, k) => k % data.shard.n === data.shard.i - 1);
  if (JSON.stringify(expected) !== JSON.stringify(data.tasks)) {
    throw new UsageError(`merge: ${file}: its tasks are not shard ${data.shard.i} of ${data.shard.n} of its sweep (${data.tasks.length} tasks, ${expected.length} expected)`);
  }
  if (data.tasks.length !== data.outputs.length) throw new UsageError(`merge: ${file}: ${data.tasks.length} tasks but ${data.outputs.length} outputs`);
  data.outputs.forEach((o, k) => {
    const r = output_schema.safeParse(o);
    if (!r.success || r.data.seed !== data.tasks[k].seed) throw new UsageError(`merge: ${file}: output ${k} is not the run of task ${k} (seed ${data.tasks[k].seed})`);
  });
}

/** One shard file's text, verified on its own (format, checksum, its tasks and outputs); throws a UsageError naming `file`. */
export function parse_shard_file(text: string, file: string): ShardFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`merge: ${file}: not a shard (unreadable or truncated JSON: ${(e as Error).message.slice(0, 80)})`);
  }
  const parsed = shard_schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`merge: ${file}: not a deplab shard (${issue.path.join('.') || 'top level'}: ${issue.message})`);
  }
  const data = parsed.data as unknown as ShardFile;
  if (sha256(body_text(data)) !== data.checksum) throw new UsageError(`merge: ${file}: checksum mismatch (the file was changed or truncated)`);
  check_shard_tasks(file, data);
  return data;
}

/** Read and verify every shard named by `paths`; throws a UsageError naming the files on any problem. */
export function load_shards(paths: readonly string[]): { file: string; data: ShardFile }[] {
  const files: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new UsageError(`merge: ${p}: no such file or directory`);
    if (statSync(p).isDirectory()) {
      const found = readdirSync(p).filter((f) => /^shard-\d+-of-\d+\.json$/.test(f)).sort().map((f) => join(p, f));
      if (found.length === 0) throw new UsageError(`merge: ${p}: no shard-<i>-of-<n>.json files`);
      files.push(...found);
    } else {
      files.push(p);
    }
  }
  const shards = files.map((file) => {
    const read = read_input_file(file, SHARD_BYTES_MAX);
    if (!read.ok) throw new UsageError(`merge: ${file}: ${read.error}`);
    return { file, data: parse_shard_file(read.text, file) };
  });
  const first = shards[0];
  for (const s of shards.slice(1)) {
    if (s.data.sweep_id !== first.data.sweep_id) {
      throw new UsageError(`merge: ${basename(s.file)} belongs to another sweep than ${basename(first.file)} (different parameters, workloads or model: ${s.data.sweep_id.slice(0, 12)} vs ${first.data.sweep_id.slice(0, 12)})`);
    }
    if (s.data.deplab !== first.data.deplab || s.data.model !== first.data.model) {
      throw new UsageError(`merge: ${s.file} and ${first.file} come from different deplab builds (${s.data.deplab}/${s.data.model} vs ${first.data.deplab}/${first.data.model})`);
    }
  }
  const n = first.data.shard.n;
  const seen = new Map<number, string>();
  for (const s of shards) {
    if (s.data.shard.n !== n) throw new UsageError(`merge: ${s.file} is shard ${s.data.shard.i} of ${s.data.shard.n}, but ${first.file} is of ${n}`);
    const dup = seen.get(s.data.shard.i);
    if (dup !== undefined) throw new UsageError(`merge: shard ${s.data.shard.i} of ${n} given twice (${dup} and ${s.file})`);
    seen.set(s.data.shard.i, s.file);
  }
  if (seen.size < n) {
    const missing: number[] = [];
    for (let i = 1; i <= n && missing.length < 20; i++) if (!seen.has(i)) missing.push(i);
    throw new UsageError(`merge: missing shard(s) ${missing.join(', ')}${n - seen.size > missing.length ? `, ... (${n - seen.size} in all)` : ''} of ${n}`);
  }
  return shards;
}
