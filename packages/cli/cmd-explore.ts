/**
 * `deplab explore` and `deplab replay`: fault-injection and interleaving campaigns over
 * generated workloads, and the exact replay of one run from its token. Campaigns run on all
 * cores through worker threads of their own (message `deplab_explore_worker`, beside the
 * comparison pool's seed tasks); the report depends only on the arguments. Reference:
 * docs/cli.md, "deplab explore".
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { Backend } from '@deplab/driver-api';
import {
  backend_problem, COVERAGE_COUNTERS, FAULT_KINDS, STRATEGIES, decode_token, driver_names, explore_seed, find_driver, finding_key, known_hazard,
  replay_command, run_case, shrink_task, summarize_campaign, timeline,
  type BackendSummary, type ExploreSeedTask, type FaultKind, type FindingGroup, type SeedReport, type ShrinkReport, type ShrinkTask,
  type Strategy,
} from '@deplab/harness';
import { perfetto_json, run_source } from '@deplab/report';

type Io = { out: (s: string) => void };

/** One unit of work for a worker thread. */
type ExploreJob = { readonly kind: 'seed'; readonly task: ExploreSeedTask } | { readonly kind: 'shrink'; readonly task: ShrinkTask };
type ExploreResult = SeedReport | ShrinkReport;

function run_job(job: ExploreJob): ExploreResult {
  return job.kind === 'seed' ? explore_seed(job.task) : shrink_task(job.task);
}

/**
 * Run jobs on `threads` worker threads (the command's own esbuild bundle, DEPLAB_BUNDLE) or in
 * this thread without one. Results come back in job order. With a deadline, no job starts
 * after it; the result then holds the finished prefix.
 */
async function run_jobs(jobs: readonly ExploreJob[], threads: number, deadline_ms: number, progress: (done: number) => void): Promise<ExploreResult[]> {
  const bundle = process.env.DEPLAB_BUNDLE;
  const results: ExploreResult[] = [];
  let done = 0;
  if (bundle === undefined || threads <= 1 || jobs.length <= 1) {
    for (const job of jobs) {
      if (Date.now() > deadline_ms) break;
      results.push(run_job(job));
      progress(++done);
    }
    return results;
  }
  let next = 0;
  const worker_loop = (): Promise<void> => new Promise((resolve, reject) => {
    const w = new Worker(bundle, { workerData: { deplab_explore_worker: true }, env: process.env });
    const feed = () => {
      if (next >= jobs.length || Date.now() > deadline_ms) {
        void w.terminate().then(() => resolve());
        return;
      }
      const index = next++;
      w.postMessage({ index, job: jobs[index] });
    };
    w.on('message', (msg: { index: number; result?: ExploreResult; error?: string }) => {
      if (msg.error !== undefined) {
        void w.terminate();
        reject(new Error(msg.error));
        return;
      }
      results[msg.index] = msg.result!;
      progress(++done);
      feed();
    });
    w.on('error', reject);
    feed();
  });
  await Promise.all(Array.from({ length: Math.max(1, Math.min(threads, jobs.length)) }, worker_loop));
  // Jobs are handed out in order, so the finished ones are a prefix.
  let n = 0;
  while (n < results.length && results[n] !== undefined) n++;
  return results.slice(0, n);
}

// Worker-thread entry: explore jobs in, plain results out.
if (!isMainThread && (workerData as { deplab_explore_worker?: boolean } | null)?.deplab_explore_worker === true) {
  parentPort!.on('message', (msg: { index: number; job: ExploreJob }) => {
    try {
      parentPort!.postMessage({ index: msg.index, result: run_job(msg.job) });
    } catch (e) {
      parentPort!.postMessage({ index: msg.index, error: (e as Error).stack ?? String(e) });
    }
  });
}

/* ------------------------------------------------------------------------------------------ */
/* Arguments                                                                                    */

function positive_int(name: string, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > max) throw new InvalidArgumentError(`${name} must be an integer in 1..${max}.`);
    return n;
  };
}

function parse_faults(value: string): FaultKind[] {
  if (value === 'all') return [...FAULT_KINDS];
  const list = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const bad = list.filter((f) => !(FAULT_KINDS as readonly string[]).includes(f));
  if (bad.length > 0 || list.length === 0) throw new InvalidArgumentError(`unknown fault ${bad.join(', ') || "''"} (known: ${FAULT_KINDS.join(', ')}, or all).`);
  return [...new Set(list)] as FaultKind[];
}

/** "90", "90s", "15m", "2h" -> milliseconds. */
function parse_budget(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(value);
  if (m === null) throw new InvalidArgumentError('expected a duration like 90s, 15m or 2h.');
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 's' | 'm' | 'h'];
}

interface ExploreOptions {
  readonly driver: string;
  readonly backend: 'sched' | 'dep' | 'both';
  readonly faults: FaultKind[];
  readonly seeds: number;
  readonly firstSeed: number;
  readonly time?: number;
  readonly strategy: Strategy;
  readonly pctDepth: number;
  readonly jobs: number;
  readonly out: string;
  readonly shrink: boolean;
  readonly shrinkBudget: number;
  readonly maxShrinks: number;
  readonly json?: boolean;
  readonly expectClean?: boolean;
}

export function register_explore(program: Command, io: Io): void {
  program.command('explore')
    .description('fault injection and interleaving exploration: invariant violations with replay tokens and shrunk reproducers')
    .requiredOption('--driver <name>', 'model driver')
    .addOption(new Option('--backend <b>', 'scheduler(s) to explore').choices(['sched', 'dep', 'both']).default('both'))
    .option('--faults <list>', `comma-separated faults, or all (${FAULT_KINDS.join(', ')})`, parse_faults, [...FAULT_KINDS])
    .option('--seeds <n>', 'seeds per backend', positive_int('--seeds', 10_000_000), 100)
    .option('--first-seed <n>', 'first seed', positive_int('--first-seed', 2 ** 31), 1)
    .option('--time <budget>', 'wall-clock budget (e.g. 10m): no seed starts after it', parse_budget)
    .addOption(new Option('--strategy <s>', 'order of racing events').choices([...STRATEGIES]).default('random'))
    .option('--pct-depth <d>', 'PCT bug depth (d-1 priority change points)', positive_int('--pct-depth', 64), 3)
    .option('--jobs <n>', 'worker threads', positive_int('--jobs', 256), Math.max(1, availableParallelism()))
    .option('--out <dir>', 'report directory', 'reports')
    .option('--no-shrink', 'skip shrinking')
    .option('--shrink-budget <runs>', 'runs per shrink', positive_int('--shrink-budget', 100_000), 400)
    .option('--max-shrinks <n>', 'shrink at most this many first occurrences', positive_int('--max-shrinks', 100_000), 60)
    .option('--json', 'print the campaign summary as JSON')
    .option('--expect-clean', 'exit 1 if any violation was found')
    .action(async (opts: ExploreOptions, command: Command) => {
      if (find_driver(opts.driver) === undefined) command.error(`error: unknown driver '${opts.driver}' (known: ${driver_names().join(', ')})`, { exitCode: 2, code: 'deplab.usage' });
      const backends: Backend[] = opts.backend === 'both' ? ['sched', 'dep'] : [opts.backend];
      for (const b of backends) {
        const problem = backend_problem(find_driver(opts.driver)!, b);
        if (problem !== null) command.error(`error: ${problem}`, { exitCode: 2, code: 'deplab.usage' });
      }
      const jobs: ExploreJob[] = [];
      for (let i = 0; i < opts.seeds; i++) {
        for (const backend of backends) {
          jobs.push({ kind: 'seed', task: { driver: opts.driver, backend, seed: opts.firstSeed + i, faults: opts.faults, strategy: opts.strategy, pct_depth: opts.pctDepth } });
        }
      }
      const deadline = opts.time === undefined ? Infinity : Date.now() + opts.time;
      const reports = (await run_jobs(jobs, opts.jobs, deadline, progress('explore', jobs.length))) as SeedReport[];
      const summaries = summarize_campaign(reports);
      const shrinks = new Map<string, ShrinkReport>();
      if (opts.shrink) {
        const wanted = shrink_targets(summaries).slice(0, opts.maxShrinks);
        const done = (await run_jobs(wanted.map((t) => ({ kind: 'shrink', task: { token: t.token, key: t.key, budget_runs: opts.shrinkBudget } })), opts.jobs, Infinity,
          progress('shrink', wanted.length))) as ShrinkReport[];
        done.forEach((r, i) => shrinks.set(wanted[i].id, r));
      }
      const args = ['explore', '--driver', opts.driver, '--backend', opts.backend, '--faults', opts.faults.length === FAULT_KINDS.length ? 'all' : opts.faults.join(','),
        '--seeds', String(opts.seeds), ...(opts.firstSeed !== 1 ? ['--first-seed', String(opts.firstSeed)] : []), ...(opts.strategy !== 'random' ? ['--strategy', opts.strategy] : []),
        ...(opts.strategy === 'pct' && opts.pctDepth !== 3 ? ['--pct-depth', String(opts.pctDepth)] : [])];
      const dir = join(opts.out, 'explore');
      mkdirSync(dir, { recursive: true });
      const traces = write_perfetto(dir, opts.driver, summaries, shrinks);
      const file = join(dir, `${slug(opts.driver)}.md`);
      writeFileSync(file, campaign_markdown(opts, summaries, shrinks, traces, `npx deplab ${args.join(' ')}`, reports.length < jobs.length));
      writeFileSync(join(dir, `${slug(opts.driver)}.json`), JSON.stringify({ command: `npx deplab ${args.join(' ')}`, summaries, shrinks: Object.fromEntries(shrinks) }, null, 1) + '\n');
      if (opts.json) io.out(JSON.stringify({ summaries, shrinks: Object.fromEntries(shrinks) }, null, 1) + '\n');
      else {
        for (const s of summaries) {
          io.out(`${s.backend === 'sched' ? 'drm_sched' : 'drm_dep'}: ${s.seeds_run} seeds, ${s.seeds_with_findings} with violations, ${s.groups.length} distinct (kind, site)\n`);
        }
        io.out(`report: ${file}\n`);
      }
      if (opts.expectClean === true && summaries.some((s) => s.groups.length > 0)) process.exitCode = 1;
    });

  program.command('replay').description('replay one exploration run exactly from its token and report its violations')
    .argument('<token>', 'a replay token (dl1....) from an explore report')
    .option('--perfetto <file>', 'also write the run as a Perfetto trace')
    .option('--json', 'machine-readable output')
    .action((token: string, opts: { perfetto?: string; json?: boolean }, command: Command) => {
      let c;
      try {
        c = decode_token(token);
      } catch (e) {
        return command.error(`error: ${(e as Error).message}`, { exitCode: 2, code: 'deplab.usage' });
      }
      if (find_driver(c.driver) === undefined) return command.error(`error: the token names driver '${c.driver}', which this build does not have`, { exitCode: 2, code: 'deplab.usage' });
      const run = run_case(c, { replay: 'exact', trace_detail: 'full' });
      if (opts.perfetto !== undefined && run.outcome !== null) writeFileSync(opts.perfetto, perfetto_json([run_source(run.outcome)]));
      if (opts.json) {
        io.out(JSON.stringify({ driver: c.driver, backend: c.backend, seed: c.seed, strategy: c.strategy, choices: c.choices, options: c.options, findings: run.findings, coverage: run.coverage }, null, 1) + '\n');
      } else {
        io.out(`${c.driver}/${c.backend} seed ${c.seed}, strategy ${c.strategy}, ${c.choices?.length ?? 0} recorded choices: ${run.findings.length} violation(s)\n`);
        for (const f of run.findings) {
          io.out(`\n${finding_key(f)}: ${f.message}\n`);
          if (run.kernel !== null) io.out(`${timeline(run.kernel.trace.events, f.time_ns, 12)}\n`);
        }
      }
      if (run.findings.length > 0) process.exitCode = 1;
    });
}

function slug(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-');
}

function progress(label: string, total: number): (done: number) => void {
  let last = -1;
  return (done) => {
    const step = Math.floor((done * 10) / Math.max(1, total));
    if (step !== last || done === total) process.stderr.write(`${label}: ${done}/${total}\n`);
    last = step;
  };
}

/* ------------------------------------------------------------------------------------------ */
/* Report                                                                                       */

interface ShrinkTarget {
  /** backend, key and variant of a first occurrence. */
  readonly id: string;
  readonly key: string;
  readonly token: string;
}

function target_id(backend: Backend, key: string, variant: string): string {
  return `${backend}|${key}|${variant}`;
}

/** The first occurrence of each finding per variant, first variants first, so a cap keeps the spread. */
function shrink_targets(summaries: readonly BackendSummary[]): ShrinkTarget[] {
  const rounds: ShrinkTarget[][] = [];
  for (const s of summaries) {
    for (const g of s.groups) {
      g.first.forEach((f, i) => {
        (rounds[i] ??= []).push({ id: target_id(s.backend, g.key, f.variant), key: g.key, token: f.token });
      });
    }
  }
  return rounds.flat();
}

/** Reproducers with more trace events than this get no Perfetto file (the report says so). */
const PERFETTO_EVENTS_MAX = 200_000;

/** A Perfetto trace of every shrunk reproducer (small runs), named by backend and finding number. */
function write_perfetto(dir: string, driver: string, summaries: readonly BackendSummary[], shrinks: ReadonlyMap<string, ShrinkReport>): Map<string, string> {
  const written = new Map<string, string>();
  // Traces of an earlier campaign would be linked from nowhere: start from an empty folder.
  const sub = join(dir, slug(driver));
  if (existsSync(sub)) for (const f of readdirSync(sub)) if (f.endsWith('.perfetto.json')) rmSync(join(sub, f));
  for (const s of summaries) {
    s.groups.forEach((g, n) => {
      const r = shrinks.get(target_id(s.backend, g.key, g.first[0].variant));
      if (r === undefined || r.token === null) return;
      const run = run_case(decode_token(r.token), { replay: 'exact', trace_detail: 'full' });
      if (run.outcome === null) return;
      // A reproducer that shrank little can hold millions of events: too big for one JSON
      // string and for Perfetto's UI. Its replay command still reproduces it.
      if (run.outcome.kernel.trace.events.length > PERFETTO_EVENTS_MAX) return;
      mkdirSync(sub, { recursive: true });
      const name = `${s.backend}-${n + 1}.perfetto.json`;
      writeFileSync(join(sub, name), perfetto_json([run_source(run.outcome)]));
      written.set(target_id(s.backend, g.key, g.first[0].variant), `${slug(driver)}/${name}`);
    });
  }
  return written;
}

function opts_strategy(token: string): string {
  return decode_token(token).strategy;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function stats_text(s: ShrinkReport['after']): string {
  return s === null ? '' : `${s.clients} client(s), ${s.queues} queue(s), ${s.jobs} job(s), ${s.events} fault event(s), ${s.choices} non-FIFO choice(s)`;
}

function campaign_markdown(opts: ExploreOptions, summaries: readonly BackendSummary[], shrinks: ReadonlyMap<string, ShrinkReport>,
  traces: ReadonlyMap<string, string>, command: string, budget_hit: boolean): string {
  const lines: string[] = [
    `# deplab explore: ${opts.driver}`, '',
    `Regenerate with \`${command}\`${budget_hit ? ` (this run stopped at its --time budget; rerun without it for every seed)` : ''}. ` +
    `Faults: ${opts.faults.join(', ')}. Racing events ordered by the ${opts.strategy} strategy${opts.strategy === 'pct' ? ` (depth ${opts.pctDepth})` : ''}. ` +
    'The report depends only on the command, not on the number of worker threads.', '',
    'Each seed is one generated workload with its faults (docs/cli.md, "deplab explore"), run once and checked against every invariant ' +
    '(packages/harness/explore/invariants.ts). Violations are deduplicated by kind and site per backend; for each driver variant that showed one, ' +
    'the first seed is kept with a replay token. `npx deplab replay <token>` reruns it exactly (same workload, seed, options and tie-breaker choices). ' +
    'The shrunk reproducer is the smallest case found that still shows a violation of the same kind and site.', '',
  ];
  for (const s of summaries) {
    const name = s.backend === 'sched' ? 'drm_sched' : 'drm_dep';
    lines.push(`## ${name} (backend ${s.backend})`, '',
      `Seeds run: ${s.seeds_run}. Seeds with at least one violation: ${s.seeds_with_findings}. Jobs submitted: ${s.jobs}. Distinct violations (kind, site): ${s.groups.length}.`, '',
      `Driver variants and flag combinations: ${Object.entries(s.variants).sort(([a], [b]) => a.localeCompare(b)).map(([v, n]) => `${v} ${n}`).join(', ')}.`, '');
    if (s.groups.length === 0) lines.push('No violations.', '');
    else {
      lines.push('| # | kind | site | seeds | variants (seeds) | known hazard |', '|--:|---|---|--:|---|---|');
      s.groups.forEach((g, n) => {
        const hazards = [...new Set(g.first.map((f) => known_hazard(s.backend, g.kind, g.site, f.variant)).filter((h) => h !== null))];
        lines.push(`| ${n + 1} | ${g.kind} | ${cell(g.site)} | ${g.seeds} | ${g.first.map((f) => `${f.variant} (${f.count})`).join(', ')} | ${hazards.join('; ')} |`);
      });
      lines.push('');
      s.groups.forEach((g, n) => lines.push(...group_markdown(s.backend, g, n + 1, shrinks, traces)));
    }
    lines.push('### Coverage', '', 'Interleavings the campaign reached, counted from the traces.', '', '| counter | meaning | total | seeds reaching it |', '|---|---|--:|--:|');
    for (const c of COVERAGE_COUNTERS) lines.push(`| ${c.name} | ${c.meaning} | ${s.coverage_total[c.name] ?? 0} | ${s.coverage_runs[c.name] ?? 0} |`);
    lines.push('');
  }
  return lines.join('\n');
}

function group_markdown(backend: Backend, g: FindingGroup, n: number, shrinks: ReadonlyMap<string, ShrinkReport>, traces: ReadonlyMap<string, string>): string[] {
  const out = [`#### ${backend}-${n}. ${g.kind} at ${g.site}`, '', `${g.message}`, ''];
  for (const f of g.first) {
    const hazard = known_hazard(backend, g.kind, g.site, f.variant);
    out.push(`- variant **${f.variant}**: ${f.count} seed(s); first seed ${f.seed}, strategy ${opts_strategy(f.token)}, choices \`${f.choices === '' ? '(none: FIFO)' : f.choices}\`${hazard !== null ? `; ${hazard}` : ''}.`,
      `  Replay: \`${replay_command(f.token)}\``);
    const r = shrinks.get(target_id(backend, g.key, f.variant));
    if (r === undefined) continue;
    if (!r.reproduced || r.token === null) {
      out.push('  Shrinking: the token did not show the violation again (report this: replay should be exact).');
      continue;
    }
    out.push(`  Shrunk to ${stats_text(r.after)} (from ${stats_text(r.before)}; ${r.runs} runs): \`${replay_command(r.token)}\``);
    const trace = traces.get(target_id(backend, g.key, f.variant));
    if (trace !== undefined) out.push(`  Perfetto trace of the reproducer: [${trace}](${trace})`);
    if (f === g.first[0] && r.timeline.length > 0) out.push('', '  Last events before it (shrunk reproducer):', '', '  ```', ...r.timeline.split('\n').map((l) => `  ${l}`), '  ```');
  }
  out.push('');
  return out;
}
