/**
 * `deplab conformance`: every ported KUnit case on the mock GPU, on drm_sched (FIFO, the
 * upstream default) and drm_dep (no flags), as KTAP or as a table.
 *
 * KTAP is what a real `tools/testing/kunit/kunit.py run --kunitconfig
 * drivers/gpu/drm/scheduler/tests --raw_output` prints, line for line where the outcomes match:
 * - the executor's "KTAP version 1" and "1..<suites>", then per suite (lib/kunit/test.c,
 *   kunit_run_tests: four spaces per level) "KTAP version 1", "# Subtest: <suite>",
 *   "1..<cases>", a result per case, "# <suite>: pass:.. fail:.. skip:.. total:.." and
 *   "# Totals: ..." when there is more than one, "ok <n> <suite>";
 * - a parameterised case nests "KTAP version 1", "# Subtest: <case>" and one "ok <n>
 *   <param description>" per parameter (no plan: KUNIT_ARRAY_PARAM does not announce its
 *   count), then "# <case>: pass:.. fail:.. skip:.. total:.." and the case's result;
 * - a KUNIT_CASE_SLOW case prints "# <case>.speed: slow" before its result, a slow suite
 *   "# speed: slow" before its plan (lib/kunit/attributes.c at torvalds/linux 1c9fd080dffe,
 *   kunit_print_attr; tests_basic.c marks drm_sched_concurrent_tests slow as a suite);
 * - suites in link order (drivers/gpu/drm/scheduler/tests/Makefile at torvalds/linux
 *   0eaed89c18ae: tests_basic.o then tests_scheduler.o) and kunit_test_suites() order, names as
 *   in tests_basic.c (cb9f145f638d) and tests_scheduler.c (637315cb400e).
 * kunit_info() and failure messages become "# <case>: <message>" diagnostic lines, as
 * kunit_printk prints them. kunit.py knows no backend: each backend is one complete KTAP
 * document; with both, each document is preceded by a "# deplab backend: <name>" line
 * outside it, so `--backend sched` alone gives a document to diff against a real log.
 */
import { Option, type Command } from 'commander';
import {
  mock_dep_backend, mock_dep_hw_backend, mock_sched_backend, run_case, tests_basic, tests_scheduler, type KunitCase, type KunitResult, type MockBackend,
} from '@deplab/driver-mock';
import { MAIL_WIDTH, layout_table, wrap } from '@deplab/report';

export type ConformanceFormat = 'table' | 'ktap';

/** One case of a suite on one backend: a plain case's result, or one per parameter. */
interface CaseRun {
  readonly def: KunitCase;
  readonly results: readonly KunitResult[];
}

interface SuiteRun {
  readonly name: string;
  readonly cases: readonly CaseRun[];
}

export interface BackendRun {
  readonly backend: string;
  readonly suites: readonly SuiteRun[];
}

/** Every case on the chosen backends, grouped by suite in upstream order. */
export function run_conformance(which: 'sched' | 'dep' | 'dep-hw' | 'both'): BackendRun[] {
  const backends: MockBackend[] = [];
  if (which === 'sched' || which === 'both') backends.push(mock_sched_backend());
  if (which === 'dep' || which === 'both') backends.push(mock_dep_backend());
  if (which === 'dep-hw') backends.push(mock_dep_hw_backend());
  return backends.map((backend) => {
    const suites: { name: string; cases: CaseRun[] }[] = [];
    for (const c of [...tests_basic, ...tests_scheduler]) {
      if (c.backends !== undefined && !(c.backends as readonly string[]).includes(backend.name)) continue;
      const results = c.params === undefined ? [run_case(c, backend, null)] : c.params.map((_, i) => run_case(c, backend, i));
      let suite = suites.find((s) => s.name === c.suite);
      if (suite === undefined) suites.push((suite = { name: c.suite, cases: [] }));
      suite.cases.push({ def: c, results });
    }
    return { backend: backend.name, suites };
  });
}

const INDENT = '    ';

const ok = (pass: boolean) => (pass ? 'ok' : 'not ok');

function case_passed(c: CaseRun): boolean {
  return c.results.every((r) => r.status === 'pass');
}

/** kunit_print_test_stats / kunit_print_suite_stats: only for more than one subtest. */
function stats(indent: string, name: string, passed: readonly boolean[]): string[] {
  if (passed.length <= 1) return [];
  const pass = passed.filter((p) => p).length;
  return [`${indent}# ${name}: pass:${pass} fail:${passed.length - pass} skip:0 total:${passed.length}`];
}

/** What the case printed: kunit_info lines, then its failures, as "# <case>: ..." diagnostics. */
function diagnostics(indent: string, name: string, r: KunitResult): string[] {
  return [...r.log, ...r.failures].map((m) => `${indent}# ${name}: ${m}`);
}

function case_ktap(c: CaseRun, number: number): string[] {
  const name = c.def.name;
  const out: string[] = [];
  if (c.def.params === undefined) {
    out.push(...diagnostics(INDENT, name, c.results[0]));
  } else {
    out.push(`${INDENT}${INDENT}KTAP version 1`, `${INDENT}${INDENT}# Subtest: ${name}`);
    c.results.forEach((r, i) => {
      out.push(...diagnostics(INDENT + INDENT, name, r), `${INDENT}${INDENT}${ok(r.status === 'pass')} ${i + 1} ${r.param}`);
    });
  }
  if (c.def.slow === true) out.push(`${INDENT}# ${name}.speed: slow`);
  if (c.def.params !== undefined) out.push(...stats(INDENT, name, c.results.map((r) => r.status === 'pass')));
  out.push(`${INDENT}${ok(case_passed(c))} ${number} ${name}`);
  return out;
}

/** One backend's run as one KTAP document, in kunit.py's layout (module comment). */
export function ktap_document(run: BackendRun): string[] {
  const out = ['KTAP version 1', `1..${run.suites.length}`];
  run.suites.forEach((suite, s) => {
    out.push(`${INDENT}KTAP version 1`, `${INDENT}# Subtest: ${suite.name}`);
    if (suite.cases.some((c) => c.def.suite_slow === true)) out.push(`${INDENT}# speed: slow`);
    out.push(`${INDENT}1..${suite.cases.length}`);
    suite.cases.forEach((c, i) => out.push(...case_ktap(c, i + 1)));
    out.push(...stats('', suite.name, suite.cases.map(case_passed)));
    const params = suite.cases.flatMap((c) => c.results.map((r) => r.status === 'pass'));
    out.push(...stats('', 'Totals', params));
    out.push(`${ok(suite.cases.every(case_passed))} ${s + 1} ${suite.name}`);
  });
  return out;
}

export function conformance_ktap(runs: readonly BackendRun[]): string {
  const labelled = runs.length > 1;
  return runs.flatMap((run) => [...(labelled ? [`# deplab backend: ${run.backend}`] : []), ...ktap_document(run)]).join('\n') + '\n';
}

function cell(r: KunitResult | undefined): string {
  if (r === undefined) return '';
  return `${r.status === 'pass' ? 'pass' : 'FAIL'} ${(r.sim_time_ns / 1e6).toFixed(1).padStart(6)} ms`;
}

/**
 * A table within 80 columns: suite, case and parameter as an indented outline, a result and
 * virtual time per backend; failures and the figures a case computes on wrapped lines below.
 */
export function conformance_table(runs: readonly BackendRun[]): string {
  const header = ['suite / case / parameter', ...runs.map((r) => r.backend)];
  const rows: string[][] = [header];
  const notes = new Map<number, string[]>();
  const add = (name: string, results: readonly (KunitResult | undefined)[]) => {
    rows.push([name, ...results.map(cell)]);
    const below: string[] = [];
    results.forEach((r, b) => {
      if (r === undefined) return;
      for (const f of r.failures) below.push(`${runs[b].backend}: FAIL: ${f}`);
      const figures = Object.entries(r.metrics).map(([k, v]) => `${k}=${v}`).join(', ');
      if (figures !== '') below.push(`${runs[b].backend}: ${figures}`);
    });
    if (below.length > 0) notes.set(rows.length - 1, below);
  };
  runs[0].suites.forEach((suite, s) => {
    rows.push([suite.name, ...runs.map(() => '')]);
    suite.cases.forEach((c, i) => {
      const per_backend = runs.map((r) => r.suites[s]?.cases[i]);
      if (c.def.params === undefined) { add(`  ${c.def.name}`, per_backend.map((x) => x?.results[0])); return; }
      rows.push([`  ${c.def.name}`, ...runs.map(() => '')]);
      c.results.forEach((r, p) => add(`    ${r.param ?? `param-${p}`}`, per_backend.map((x) => x?.results[p])));
    });
  });
  const table = layout_table(rows, { width: MAIL_WIDTH, wrap_column: 0 });
  const out: string[] = [...table.header, table.rule];
  table.rows.forEach((lines, i) => {
    out.push(...lines);
    for (const n of notes.get(i + 1) ?? []) out.push(...wrap(`        ${n}`, MAIL_WIDTH, '          '));
  });
  const all = runs.flatMap((r) => r.suites.flatMap((s) => s.cases.flatMap((c) => c.results)));
  const failed = all.filter((r) => r.status === 'fail').length;
  out.push('', `${all.length - failed} passed, ${failed} failed (${runs.map((r) => r.backend).join(' and ')}, virtual time)`);
  return out.join('\n') + '\n';
}

export function conformance(which: 'sched' | 'dep' | 'dep-hw' | 'both', format: ConformanceFormat): { text: string; failed: number } {
  const runs = run_conformance(which);
  const failed = runs.flatMap((r) => r.suites.flatMap((s) => s.cases.flatMap((c) => c.results))).filter((r) => r.status === 'fail').length;
  return { text: format === 'ktap' ? conformance_ktap(runs) : conformance_table(runs), failed };
}

/** Register `deplab conformance`: exit 1 when a case fails. */
export function register_conformance(program: Command, io: { out: (s: string) => void }): void {
  program.command('conformance').description('the upstream KUnit scheduler suite on the mock GPU, on both backends')
    .addOption(new Option('--backend <b>', 'which backend (dep-hw: drm_dep with the HW-queue layer; both: sched and dep)').choices(['sched', 'dep', 'dep-hw', 'both']).default('both'))
    .addOption(new Option('--format <f>', 'output format: a table, or KTAP as kunit.py prints it (tap: the same KTAP, which is valid TAP)').choices(['table', 'ktap', 'tap']).default('table'))
    .action((opts: { backend: 'sched' | 'dep' | 'dep-hw' | 'both'; format: 'table' | 'ktap' | 'tap' }) => {
      const { text, failed } = conformance(opts.backend, opts.format === 'table' ? 'table' : 'ktap');
      io.out(text);
      if (failed > 0) process.exitCode = 1;
    });
}
