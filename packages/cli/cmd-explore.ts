/**
 * `deplab explore` and `deplab replay`: fault-injection and interleaving campaigns over
 * generated workloads, and the exact replay of one run from its token. Campaigns run on all
 * cores through worker threads of their own (message `deplab_explore_worker`, beside the
 * comparison pool's seed tasks); the report depends only on the arguments. Reference:
 * docs/cli.md, "deplab explore".
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { join } from 'node:path';
import type { Backend } from '@deplab/driver-api';
import {
  backend_problem, dep_path, COVERAGE_COUNTERS, FAULT_KINDS, STRATEGIES, campaign_subject, decode_token, driver_names, explore_seed, find_driver, finding_key, triage,
  replay_command, run_case, shrink_task, summarize_campaign, timeline,
  type BackendSummary, type ExploreSeedTask, type FaultKind, type FindingGroup, type SeedReport, type ShrinkReport, type ShrinkTask,
  type Strategy,
} from '@deplab/harness';
import { backend_label, perfetto_json, run_source, wrap_text } from '@deplab/report';
import { UsageError } from './errors.ts';
import { OutputTransaction, check_output_dir, check_output_file, default_out, write_file_atomic } from './output.ts';
import { default_threads, run_pool, type PoolTask } from './pool.ts';
import { progress_printer } from './progress.ts';
import { command_line, md_code, path_arg } from './quote.ts';
import { slug } from './options.ts';
import { json_text, type Io } from './cmd-compare.ts';
import { model_digest } from '@deplab/harness';


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
  readonly backend: 'sched' | 'dep' | 'dep-hw' | 'both';
  readonly faults: FaultKind[];
  readonly seeds: number;
  readonly firstSeed: number;
  readonly time?: number;
  readonly strategy: Strategy;
  readonly pctDepth: number;
  readonly jobs: number;
  readonly out?: string;
  readonly shrink: boolean;
  readonly shrinkBudget: number;
  readonly maxShrinks: number;
  readonly json?: boolean;
  readonly expectClean?: boolean;
}

/** Run the campaign (seeds, then shrinks) and stage its files (report, JSON, reproducers' traces) into `t`. */
/** The backends a campaign explores: `both` is drm_sched and the driver's drm_dep path. */
function campaign_backends(opts: ExploreOptions): Backend[] {
  return opts.backend === 'both' ? ['sched', dep_path(find_driver(opts.driver)!)] : [opts.backend];
}

async function run_campaign(opts: ExploreOptions, t: OutputTransaction, io: Io) {
  const backends = campaign_backends(opts);
  const jobs: PoolTask[] = [];
  for (let i = 0; i < opts.seeds; i++) {
    for (const backend of backends) {
      jobs.push({ kind: 'explore', task: { driver: opts.driver, backend, seed: opts.firstSeed + i, faults: opts.faults, strategy: opts.strategy, pct_depth: opts.pctDepth } });
    }
  }
  // The budget is wall-clock by nature: seeds are cut at a whole seed, and the report says so.
  const deadline = opts.time === undefined ? Infinity : Date.now() + opts.time;
  const reports = await run_pool<SeedReport>(jobs, opts.jobs, progress_printer('explore', io.err), deadline);
  const summaries = summarize_campaign(reports);
  const shrinks = new Map<string, ShrinkReport>();
  if (opts.shrink) {
    const wanted = shrink_targets(summaries).slice(0, opts.maxShrinks);
    const done = await run_pool<ShrinkReport>(wanted.map((w) => ({ kind: 'shrink' as const, task: { token: w.token, key: w.key, budget_runs: opts.shrinkBudget } })), opts.jobs,
      progress_printer('shrink', io.err));
    done.forEach((r, i) => shrinks.set(wanted[i].id, r));
  }
  const args = ['explore', '--driver', opts.driver, '--backend', opts.backend, '--faults', opts.faults.length === FAULT_KINDS.length ? 'all' : opts.faults.join(','),
    '--seeds', String(opts.seeds), ...(opts.firstSeed !== 1 ? ['--first-seed', String(opts.firstSeed)] : []), ...(opts.strategy !== 'random' ? ['--strategy', opts.strategy] : []),
    ...(opts.strategy === 'pct' && opts.pctDepth !== 3 ? ['--pct-depth', String(opts.pctDepth)] : [])];
  if (opts.out !== undefined) args.push('--out', path_arg(opts.out));
  const command = command_line(args);
  const traces = stage_perfetto(t, opts.driver, summaries, shrinks);
  const file = `${slug(opts.driver)}.md`;
  t.add(file, campaign_markdown(opts, summaries, shrinks, traces, command, reports.length < jobs.length));
  t.add(`${slug(opts.driver)}.json`, json_text({ kind: 'explore', command, summaries, shrinks: Object.fromEntries(shrinks) }));
  return { command, summaries, shrinks, file };
}

export function register_explore(program: Command, io: Io): void {
  program.command('explore')
    .description('fault injection and interleaving exploration: invariant violations with replay tokens and shrunk reproducers')
    .requiredOption('--driver <name>', 'model driver')
    .addOption(new Option('--backend <b>', 'scheduler(s) to explore (both: drm_sched and the drm_dep path of the driver)').choices(['sched', 'dep', 'dep-hw', 'both']).default('both'))
    .option('--faults <list>', `comma-separated faults, or all (${FAULT_KINDS.join(', ')})`, parse_faults, [...FAULT_KINDS])
    .option('--seeds <n>', 'seeds per backend', positive_int('--seeds', 10_000_000), 100)
    .option('--first-seed <n>', 'first seed', positive_int('--first-seed', 2 ** 31), 1)
    .option('--time <budget>', 'wall-clock budget (e.g. 10m): no seed starts after it', parse_budget)
    .addOption(new Option('--strategy <s>', 'order of racing events').choices([...STRATEGIES]).default('random'))
    .option('--pct-depth <d>', 'PCT bug depth (d-1 priority change points)', positive_int('--pct-depth', 64), 3)
    .option('--jobs <n>', 'worker threads', positive_int('--jobs', 256), default_threads())
    .option('--out <dir>', 'report directory (default: deplab-out/report, where readiness reads campaigns; the report goes to <dir>/explore/<driver>.md)')
    .option('--no-shrink', 'skip shrinking')
    .option('--shrink-budget <runs>', 'runs per shrink', positive_int('--shrink-budget', 100_000), 400)
    .option('--max-shrinks <n>', 'shrink at most this many first occurrences', positive_int('--max-shrinks', 100_000), 60)
    .option('--json', 'print the campaign summary as JSON')
    .option('--expect-clean', 'exit 1 if any violation was found')
    .action(async (opts: ExploreOptions) => {
      if (find_driver(opts.driver) === undefined) throw new UsageError(`unknown driver '${opts.driver}' (known: ${driver_names().join(', ')})`);
      const out = check_output_dir(opts.out ?? default_out('report'));
      for (const b of campaign_backends(opts)) {
        const problem = backend_problem(find_driver(opts.driver)!, b);
        if (problem !== null) throw new UsageError(problem);
      }
      // Locked before the campaign runs: a second campaign into the same --out refuses at once.
      const t = new OutputTransaction(join(out, 'explore'), `explore-${slug(opts.driver)}`).lock();
      let campaign: Awaited<ReturnType<typeof run_campaign>>;
      try {
        campaign = await run_campaign(opts, t, io);
      } catch (e) {
        t.abort();
        throw e;
      }
      await t.commit();
      const { command, summaries, shrinks, file } = campaign;
      if (opts.json) io.out(json_text({ kind: 'explore', command, summaries, shrinks: Object.fromEntries(shrinks) }));
      else {
        for (const s of summaries) {
          io.out(wrap_text(`${backend_label(s.backend)}: ${s.seeds_run} seeds, ${s.seeds_with_findings} with violations, ${s.groups.length} distinct (kind, site)\n`));
        }
        io.out(wrap_text(`report: ${join(out, 'explore', file)}\n`));
      }
      if (opts.expectClean === true && summaries.some((s) => s.groups.length > 0)) process.exitCode = 1;
    });

  program.command('replay').description('replay one exploration run exactly from its token and report its violations')
    .argument('<token...>', 'a replay token (dl2....) from a report; pieces split over several arguments or lines are joined')
    .option('--perfetto <file>', 'also write the run as a Perfetto trace')
    .option('--json', 'machine-readable output')
    .action((pieces: string[], opts: { perfetto?: string; json?: boolean }) => {
      const token = pieces.join('').replace(/\s+/g, '');
      const perfetto = opts.perfetto === undefined ? undefined : check_output_file(opts.perfetto, '--perfetto');
      let decoded;
      try {
        decoded = decode_token(token);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      const c = decoded.case;
      if (find_driver(c.driver) === undefined) throw new UsageError(`the token names driver '${c.driver}', which this build does not have (known: ${driver_names().join(', ')})`);
      if (decoded.model !== model_digest()) {
        io.err(`deplab: warning: the token was made by deplab ${decoded.version} (model ${decoded.model}); this is model ${model_digest()}: ` +
          'the replay runs on the current model and may differ\n');
      }
      const run = run_case(c, { replay: 'exact', trace_detail: 'full' });
      if (perfetto !== undefined && run.outcome !== null) write_file_atomic(perfetto, perfetto_json([run_source(run.outcome)]));
      if (opts.json) {
        io.out(json_text({ kind: 'replay', token_model: decoded.model, driver: c.driver, backend: c.backend, seed: c.seed, strategy: c.strategy, choices: c.choices, options: c.options, findings: run.findings, coverage: run.coverage }));
      } else {
        io.out(wrap_text(`${c.driver}/${c.backend} seed ${c.seed}, strategy ${c.strategy}, ${c.choices?.length ?? 0} recorded choices: ${run.findings.length} finding(s)\n`));
        for (const f of run.findings) {
          io.out(wrap_text(`\n${finding_key(f)}: ${f.message}\n`));
          if (run.kernel !== null) io.out(wrap_text(`${timeline(run.kernel.trace.events, f.time_ns, 12)}\n`));
        }
      }
      if (run.findings.length > 0) process.exitCode = 1;
    });
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

/** A Perfetto trace of every shrunk reproducer (small runs), named by backend and finding number, staged into `t`. */
function stage_perfetto(t: OutputTransaction, driver: string, summaries: readonly BackendSummary[], shrinks: ReadonlyMap<string, ShrinkReport>): Map<string, string> {
  const written = new Map<string, string>();
  for (const s of summaries) {
    s.groups.forEach((g, n) => {
      const r = shrinks.get(target_id(s.backend, g.key, g.first[0].variant));
      if (r === undefined || r.token === null) return;
      const run = run_case(decode_token(r.token).case, { replay: 'exact', trace_detail: 'full' });
      if (run.outcome === null) return;
      // A reproducer that shrank little can hold millions of events: too big for one JSON
      // string and for Perfetto's UI. Its replay command still reproduces it.
      if (run.outcome.kernel.trace.events.length > PERFETTO_EVENTS_MAX) return;
      const name = `${s.backend}-${n + 1}.perfetto.json`;
      t.add(join(slug(driver), name), perfetto_json([run_source(run.outcome)]));
      written.set(target_id(s.backend, g.key, g.first[0].variant), `${slug(driver)}/${name}`);
    });
  }
  return written;
}

function opts_strategy(token: string): string {
  return decode_token(token).case.strategy;
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
    `Regenerate with ${md_code(command)}${budget_hit ? ` (this run stopped at its --time budget; rerun without it for every seed)` : ''}. ` +
    `Faults: ${opts.faults.join(', ')}. Racing events ordered by the ${opts.strategy} strategy${opts.strategy === 'pct' ? ` (depth ${opts.pctDepth})` : ''}. ` +
    'The report depends only on the command, not on the number of worker threads.', '',
    'Each seed is one generated workload with its faults (docs/cli.md, "deplab explore"), run once and checked against every invariant ' +
    '(packages/harness/explore/invariants.ts). Violations are deduplicated by kind and site per backend; for each driver variant that showed one, ' +
    'the first seed is kept with a replay token. `npx deplab replay <token>` reruns it exactly (same workload, seed, options and tie-breaker choices). ' +
    'The shrunk reproducer is the smallest case found that still shows a violation of the same kind and site.', '',
  ];
  for (const s of summaries) {
    const name = backend_label(s.backend);
    lines.push(`## ${name} (backend ${s.backend})`, '',
      `Seeds run: ${s.seeds_run}. Seeds with at least one violation: ${s.seeds_with_findings}. Jobs submitted: ${s.jobs}. Distinct violations (kind, site): ${s.groups.length}.`, '',
      `Driver variants and flag combinations: ${Object.entries(s.variants).sort(([a], [b]) => a.localeCompare(b)).map(([v, n]) => `${v} ${n}`).join(', ')}.`, '');
    if (s.groups.length === 0) lines.push('No violations.', '');
    else {
      lines.push('Each group is classified by deplab\'s triage rules (packages/harness/run/triage.ts, per driver variant where they differ): the class, the mechanism and where it is written up.', '',
        '| # | kind | site | seeds | variants (seeds) | triage |', '|--:|---|---|--:|---|---|');
      s.groups.forEach((g, n) => {
        const classes = [...new Set(g.first.map((f) => triage_text(opts.driver, s.backend, g, f.variant)))];
        lines.push(`| ${n + 1} | ${g.kind} | ${cell(g.site)} | ${g.seeds} | ${g.first.map((f) => `${f.variant} (${f.count})`).join(', ')} | ${cell(classes.join('; '))} |`);
      });
      lines.push('');
      s.groups.forEach((g, n) => lines.push(...group_markdown(opts.driver, s.backend, g, n + 1, shrinks, traces)));
    }
    lines.push('### Coverage', '', 'Interleavings the campaign reached, counted from the traces.', '', '| counter | meaning | total | seeds reaching it |', '|---|---|--:|--:|');
    for (const c of COVERAGE_COUNTERS) lines.push(`| ${c.name} | ${c.meaning} | ${s.coverage_total[c.name] ?? 0} | ${s.coverage_runs[c.name] ?? 0} |`);
    lines.push('');
  }
  return lines.join('\n');
}

/** A group's triage for one driver variant, as one phrase: class, mechanism, document. */
function triage_text(driver: string, backend: Backend, g: FindingGroup, variant: string): string {
  const t = triage(campaign_subject(g.kind, g.site, g.message), driver, backend, ['campaign'], variant);
  return t.class === 'unclassified' ? 'unclassified' : `${t.class}: ${t.cause} (${t.doc})`;
}

function group_markdown(driver: string, backend: Backend, g: FindingGroup, n: number, shrinks: ReadonlyMap<string, ShrinkReport>, traces: ReadonlyMap<string, string>): string[] {
  const out = [`#### ${backend}-${n}. ${g.kind} at ${g.site}`, '', `${g.message}`, ''];
  for (const f of g.first) {
    out.push(`- variant **${f.variant}**: ${f.count} seed(s); first seed ${f.seed}, strategy ${opts_strategy(f.token)}, choices \`${f.choices === '' ? '(none: FIFO)' : f.choices}\`; ${triage_text(driver, backend, g, f.variant)}.`,
      `  Replay: ${md_code(replay_command(f.token))}`);
    const r = shrinks.get(target_id(backend, g.key, f.variant));
    if (r === undefined) continue;
    if (!r.reproduced || r.token === null) {
      out.push('  Shrinking: the token did not show the violation again (report this: replay should be exact).');
      continue;
    }
    out.push(`  Shrunk to ${stats_text(r.after)} (from ${stats_text(r.before)}; ${r.runs} runs): ${md_code(replay_command(r.token))}`);
    const trace = traces.get(target_id(backend, g.key, f.variant));
    if (trace !== undefined) out.push(`  Perfetto trace of the reproducer: [${trace}](${trace})`);
    if (f === g.first[0] && r.timeline.length > 0) out.push('', '  Last events before it (shrunk reproducer):', '', '  ```', ...r.timeline.split('\n').map((l) => `  ${l}`), '  ```');
  }
  out.push('');
  return out;
}
