/**
 * `deplab conformance`: the KTAP output parses with a parser written from ktap.rst and has
 * kunit.py's layout (suites, cases and parameters named as upstream, in link order, with the
 * stats and attribute lines KUnit prints); the table fits 80 columns.
 */
import { describe, expect, it } from 'vitest';
import { conformance_ktap, conformance_table, ktap_document, run_conformance } from './conformance.ts';
import { parse_ktap, type KtapTest } from './ktap.testlib.ts';

/** The suites of drivers/gpu/drm/scheduler/tests in the order a kunit.py run prints them, with their cases. */
const UPSTREAM: readonly [string, readonly string[]][] = [
  ['drm_sched_basic_tests', ['drm_sched_basic_submit', 'drm_sched_basic_test', 'drm_sched_basic_entity_cleanup']],
  ['drm_sched_concurrent_tests', ['drm_sched_parallel_submit_test', 'drm_sched_interleaved_submit_test']],
  ['drm_sched_basic_timeout_tests', ['drm_sched_basic_timeout', 'drm_sched_skip_reset']],
  ['drm_sched_basic_cancel_tests', ['drm_sched_basic_cancel']],
  ['drm_sched_basic_priority_tests', ['drm_sched_priorities', 'drm_sched_change_priority']],
  ['drm_sched_basic_modify_sched_tests', ['drm_sched_test_modify_sched']],
  ['drm_sched_basic_credits_tests', ['drm_sched_test_credits']],
  ['drm_sched_scheduler_overhead_tests', ['drm_sched_scheduler_queue_overhead', 'drm_sched_scheduler_ping_pong']],
  ['drm_sched_scheduler_two_clients_one_credit_tests', ['drm_sched_scheduler_two_clients_test']],
  ['drm_sched_scheduler_two_clients_two_credits_tests', ['drm_sched_scheduler_two_clients_test']],
  ['drm_sched_scheduler_many_clients_tests', ['drm_sched_scheduler_many_clients_test']],
];

describe('deplab conformance', () => {
  const runs = run_conformance('both');
  const ktap = conformance_ktap(runs);

  it('prints one KTAP document per backend that a KTAP parser reads without error', () => {
    const parsed = parse_ktap(ktap);
    expect(parsed.errors).toEqual([]);
    expect(parsed.documents.length).toBe(2);
    expect(parsed.outside).toEqual(['# deplab backend: drm_sched', '# deplab backend: drm_dep']);
    for (const doc of parsed.documents) {
      expect(doc.version).toBe('KTAP version 1');
      expect(doc.indent).toBe(0);
      expect(doc.plan).toBe(UPSTREAM.length);
    }
  });

  it('names suites, cases and parameters as upstream, in kunit.py order', () => {
    const doc = parse_ktap(ktap).documents[0];
    const suites = doc.results.map((r) => [r.description, r.subtest!.results.map((c) => c.description)]);
    expect(suites).toEqual(UPSTREAM);
    const subtest = (suite: number, c: number): KtapTest => doc.results[suite].subtest!.results[c].subtest!;
    expect(doc.results.map((r) => r.subtest!.name)).toEqual(UPSTREAM.map(([s]) => s));
    expect(subtest(0, 1).name).toBe('drm_sched_basic_test');
    expect(subtest(0, 1).results.map((r) => r.description)).toEqual([
      'A queue of jobs in a single entity', 'A chain of dependent jobs across multiple entities', 'Multiple independent job queues',
      'Multiple inter-dependent job queues',
    ]);
    expect(subtest(10, 0).results.map((r) => r.description)).toEqual(['2 clients', '3 clients', '7 clients', '13 clients', '31 clients']);
    expect(subtest(8, 0).results.length).toBe(10);
    expect(doc.results[0].subtest!.results[0].subtest).toBe(null);
  });

  it('has kunit.py\'s layout: four-space levels, Subtest lines, stats only above one subtest, speed attributes', () => {
    const lines = ktap_document(runs[0]);
    expect(lines.slice(0, 19)).toEqual([
      'KTAP version 1',
      '1..11',
      '    KTAP version 1',
      '    # Subtest: drm_sched_basic_tests',
      '    1..3',
      '    ok 1 drm_sched_basic_submit',
      '        KTAP version 1',
      '        # Subtest: drm_sched_basic_test',
      '        ok 1 A queue of jobs in a single entity',
      '        ok 2 A chain of dependent jobs across multiple entities',
      '        ok 3 Multiple independent job queues',
      '        ok 4 Multiple inter-dependent job queues',
      '    # drm_sched_basic_test: pass:4 fail:0 skip:0 total:4',
      '    ok 2 drm_sched_basic_test',
      '    ok 3 drm_sched_basic_entity_cleanup',
      '# drm_sched_basic_tests: pass:3 fail:0 skip:0 total:3',
      '# Totals: pass:6 fail:0 skip:0 total:6',
      'ok 1 drm_sched_basic_tests',
      '    KTAP version 1',
    ]);
    expect(lines.slice(19, 22)).toEqual(['    # Subtest: drm_sched_concurrent_tests', '    # speed: slow', '    1..2']);
    const cancel = lines.indexOf('    # Subtest: drm_sched_basic_cancel_tests');
    expect(lines.slice(cancel, cancel + 4)).toEqual(['    # Subtest: drm_sched_basic_cancel_tests', '    1..1', '    ok 1 drm_sched_basic_cancel', 'ok 4 drm_sched_basic_cancel_tests']);
    const credits = lines.indexOf('    ok 1 drm_sched_test_credits');
    expect(lines[credits - 1]).toBe('    # drm_sched_test_credits.speed: slow');
    expect(lines.filter((l) => /speed: slow$/.test(l)).length).toBe(8);
    for (const l of lines) expect(l).toMatch(/^((    )*)(KTAP version 1|1\.\.\d+|(not )?ok \d+ [^#]+|# .*)$/);
  });

  it('fails a case in KTAP as kunit does: not ok up to the suite and the document', () => {
    const [run] = runs;
    const failing = {
      ...run,
      suites: run.suites.map((s, i) => (i !== 3 ? s : {
        ...s, cases: s.cases.map((c) => ({ ...c, results: c.results.map((r) => ({ ...r, status: 'fail' as const, failures: ['KUNIT_ASSERT_TRUE failed: done'] })) })),
      })),
    };
    const lines = ktap_document(failing);
    const at = lines.indexOf('    not ok 1 drm_sched_basic_cancel');
    expect(lines[at - 1]).toBe('    # drm_sched_basic_cancel: KUNIT_ASSERT_TRUE failed: done');
    expect(lines).toContain('not ok 4 drm_sched_basic_cancel_tests');
    expect(parse_ktap(lines.join('\n')).errors).toEqual([]);
  });

  it('the parser finds what the specification forbids', () => {
    expect(parse_ktap('KTAP version 1\n1..2\nok 1 a\nok 3 b\n').errors).toEqual(['line 4: result number 3, expected 2']);
    expect(parse_ktap('KTAP version 1\n1..1\n  KTAP version 1\n  1..1\n  not ok 1 x\nok 1 parent\n').errors).toEqual(["line 6: 'parent' is ok but a subtest failed"]);
    expect(parse_ktap('TAP version 13\n1..2\nok 1 a\n').errors).toEqual(['line 1: plan 1..2 but 1 results']);
    expect(parse_ktap('nothing here\n').errors).toEqual(['no version line: not KTAP']);
  });

  it('the table fits 80 columns and lists every case and parameter', () => {
    const table = conformance_table(runs);
    const lines = table.split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(80);
    expect(lines[0]).toMatch(/^suite \/ case \/ parameter +drm_sched +drm_dep$/);
    // Parameters (4 + 1 + 1 + 10 + 10 + 5) at four spaces, plain cases (11) at two.
    expect(lines.filter((l) => /^ {4}\S/.test(l) && / pass /.test(l)).length).toBe(31);
    expect(lines.filter((l) => /^ {2}\S/.test(l) && / pass /.test(l)).length).toBe(11);
    expect(table).toMatch(/\n84 passed, 0 failed \(drm_sched and drm_dep, virtual time\)\n$/);
  });
});
