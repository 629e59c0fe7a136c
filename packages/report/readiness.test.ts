/**
 * Deprecation readiness. The first test is the repository rule DESIGN.md states: no driver
 * reaches into a scheduler's internals (it runs in CI and names every access it finds). The
 * others check that the scan finds planted accesses of every kind, that the documented tables
 * do not rot (every legacy symbol a binding uses is mapped; every cited test exists; the RFC
 * diffstat adds up to the cover letter's totals), and the verdict rules.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scan_drivers, type ApiScan } from './api-usage.ts';
import { RFC_DIFFSTAT, line_diff, parse_diffstat, rfc_driver_stat } from './conversion.ts';
import { HAZARDS, INTERNAL_ALTERNATIVE, driver_verdict, mapping_for, readiness_markdown, verdict_href, type DriverEvidence, type ReadinessInput } from './readiness.ts';
import type { CampaignEvidence, RunEvidence } from './verdict.ts';
import type { DeviceFactory } from '@deplab/driver-api';
import { compare, load_workload_json } from '@deplab/harness';
import { mock, planted_eio, planted_slow_wakeup } from '../harness/run/planted.testlib.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

let scan: ApiScan;
beforeAll(async () => {
  scan = await scan_drivers(root);
}, 120_000);

describe('scheduler internals', () => {
  it('no driver source reaches into drm_sched or drm_dep internals', () => {
    const found = scan.internal.map((a) => `${a.file}:${a.line}: ${a.member} (${a.kind}): ${INTERNAL_ALTERNATIVE[a.member] ?? a.reason}`);
    expect(found, `use the public API instead:\n${found.join('\n')}`).toEqual([]);
  });

  it('finds planted accesses of every kind: deep import, @internal field, spec-internal field, unexported class', async () => {
    const planted = await scan_drivers(root, { drivers: [], extra_files: [{
      path: 'drivers/planted/on-sched.ts',
      text: [
        "import { drm_gpu_scheduler, drm_sched_entity, spsc_queue_count } from '@deplab/drm-sched';",
        "import { drm_dep_queue_init } from '@deplab/drm-dep/drm_dep_queue.ts';",
        "import { QueueState } from '../../packages/drm-dep/drm_dep_queue.ts';",
        'export function poke(s: drm_gpu_scheduler, e: drm_sched_entity, q: QueueState): number {',
        '  const { credit_count } = s;',
        "  return s.credit_count.counter + s.pending_list.length + spsc_queue_count(e.job_queue) + q.pending_list.length + Number(s['free_guilty']) + credit_count.counter;",
        '}',
      ].join('\n'),
    }] });
    const mine = planted.internal.filter((a) => a.driver === 'planted').map((a) => `${a.line} ${a.kind} ${a.member}`).sort();
    expect(mine).toEqual([
      '2 import @deplab/drm-dep/drm_dep_queue.ts',
      '3 import ../../packages/drm-dep/drm_dep_queue.ts',
      '5 @internal drm_gpu_scheduler.credit_count',
      '6 @internal drm_gpu_scheduler.credit_count',
      '6 @internal drm_gpu_scheduler.free_guilty',
      '6 @internal drm_sched_entity.job_queue',
      '6 hidden QueueState.pending_list',
      '6 spec drm_gpu_scheduler.pending_list',
    ]);
    expect(planted.bindings.find((b) => b.driver === 'planted')?.symbols.map((s) => `${s.symbol}:${s.uses}`))
      .toEqual(['drm_gpu_scheduler:1', 'drm_sched_entity:1', 'spsc_queue_count:1']);
  });
});

describe('bindings', () => {
  it('every driver folder with a binding is scanned, and the mock uses each API on its own side only', () => {
    const files = readdirSync(join(root, 'drivers')).flatMap((d) => ['on-sched.ts', 'on-dep.ts', 'on-dep-hw.ts'].map((f) => `drivers/${d}/${f}`)).filter((p) => existsSync(join(root, p)));
    expect(scan.bindings.map((b) => b.file).sort()).toEqual(files.sort());
    const sched = scan.bindings.find((b) => b.file === 'drivers/mock/on-sched.ts')!;
    const dep = scan.bindings.find((b) => b.file === 'drivers/mock/on-dep.ts')!;
    expect(sched.symbols.every((s) => s.module === '@deplab/drm-sched')).toBe(true);
    expect(dep.symbols.every((s) => s.module === '@deplab/drm-dep')).toBe(true);
    expect(sched.symbols.find((s) => s.symbol === 'drm_sched_entity_push_job')?.uses).toBeGreaterThan(0);
    // The twin functions pair the conversion: the mock's submit helper arms and pushes on both.
    expect(sched.functions.drm_mock_sched_job_submit).toEqual(['drm_sched_entity_push_job', 'drm_sched_job_arm']);
    expect(dep.functions.drm_mock_sched_job_submit).toEqual(expect.arrayContaining(['drm_dep_job_arm', 'drm_dep_job_push']));
    // A binding on the HW-queue layer is scanned as backend dep-hw, with the layer's and drm_dep's API.
    const hw = scan.bindings.find((b) => b.file === 'drivers/mock/on-dep-hw.ts')!;
    expect(hw.backend).toBe('dep-hw');
    expect(new Set(hw.symbols.map((s) => s.module))).toEqual(new Set(['@deplab/drm-dep', '@deplab/drm-dep-hw']));
    expect(hw.functions.drm_mock_sched_job_submit).toEqual(expect.arrayContaining(['drm_dep_job_arm', 'drm_dep_hw_job_push', 'drm_dep_job_put']));
  });

  it('the documented mapping covers every legacy symbol a binding uses', () => {
    const unmapped = scan.bindings.flatMap((b) => b.symbols.filter((s) => s.module === '@deplab/drm-sched' && mapping_for(s.symbol) === undefined).map((s) => `${b.file}: ${s.symbol}`));
    expect(unmapped, 'add them to API_MAPPING in packages/report/readiness.ts').toEqual([]);
  });
});

describe('documented tables', () => {
  it('every test the hazards table cites exists under that title', () => {
    for (const h of HAZARDS) {
      for (const t of h.tests) expect(readFileSync(join(root, t.file), 'utf8'), `${t.file}: "${t.title}"`).toContain(`'${t.title}'`);
    }
    expect(HAZARDS.map((h) => h.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('the RFC diffstat adds up to the cover letter: 58 files, 4268 insertions + 864 deletions', () => {
    const lines = parse_diffstat(RFC_DIFFSTAT);
    expect(lines).toHaveLength(58);
    expect(lines.reduce((n, l) => n + l.lines, 0)).toBe(4268 + 864);
    expect(rfc_driver_stat('amdxdna')).toEqual({ files: 5, lines: 159, dir: 'drivers/accel/amdxdna/' });
    expect(rfc_driver_stat('mock')).toBeNull();
  });

});

describe('conversion size', () => {
  it('pairs a replaced block as changed lines and counts the rest as added or removed', () => {
    expect(line_diff('a\nb\nc\n', 'a\nB\nc\nd\n')).toEqual({ added: 1, removed: 0, changed: 1, insertions: 2, deletions: 1, unchanged: 2 });
    expect(line_diff('a\nb\nc\n', 'c\n')).toEqual({ added: 0, removed: 2, changed: 0, insertions: 0, deletions: 2, unchanged: 1 });
  });
});

describe('verdicts with provenance', () => {
  const w = (() => {
    const r = load_workload_json(JSON.stringify({ name: 'steady', clients: [{ name: 'c', queues: [{ name: 'q', engine: 'render' }], program: { loops: 12, steps: [
      { batch: { queue: 'q', duration_us: [100, 500] } }, { queue_depth: { depth: 4 } }] } }] }), 'steady.json');
    if (!r.ok) throw new Error('workload');
    return r.workload;
  })();
  const run = (factory: DeviceFactory, costs = {}): RunEvidence => ({ kind: 'parity', label: 'steady', report: 'readiness/mock/steady.md', result: compare(w, 'mock', factory, { seeds: [1, 2, 3], costs }) });
  const campaign: CampaignEvidence = { report: 'explore/mock.md', command: 'npx deplab explore --driver mock', backends: [{ backend: 'sched', seeds_run: 10, groups: [] }, { backend: 'dep', seeds_run: 10, groups: [] }] };
  const evidence = (runs: RunEvidence[], variants: DriverEvidence['variants'] = []): DriverEvidence => ({
    driver: 'mock', registered: true, candidate: 'dep', runs, campaign, variants, faults: [], unsupported_faults: [], errors: [],
    conformance: { sched: { passed: 3, failed: 0 }, dep: { passed: 3, failed: 0 } },
  });
  const input = (e: DriverEvidence): ReadinessInput => ({
    scan, evidence: [e], sources: { mock: { sched: 'a\n', dep: 'b\n' } }, command: 'npx deplab readiness', version: '0.2.0', seeds: 3,
  });

  it('ready: parity, campaign, passing KUnit, nothing only drm_dep shows', () => {
    const v = driver_verdict(input(evidence([run(mock)])), 'mock');
    expect(v.judgement.verdict).toBe('ready');
    expect(v.judgement.blockers).toEqual([]);
  });

  it('blocked by a regression, naming its guarantee, run, seeds, replay token and cause', () => {
    const v = driver_verdict(input(evidence([run(planted_eio(3))])), 'mock');
    expect(v.judgement.verdict).toBe('blocked');
    const b = v.judgement.blockers[0];
    expect(b.about).toBe('guarantee job_result');
    expect(b.runs).toEqual(['steady']);
    expect(b.seeds).toEqual([1, 2, 3]);
    expect(b.token).toMatch(/^dl2\./);
    expect(b.cause).toContain('-EIO');
    expect(b.link).toBe('readiness/mock/steady.md');
    expect(driver_verdict(input(evidence([run(mock)])), 'nonexistent').judgement.blockers.map((x) => x.text)).toContain('no drm_dep binding');
  });

  it('no verdict rests on an unclassified violation group: not assessed, naming it', () => {
    const warn_on_dep: DeviceFactory = (k, backend, options) => {
      const dev = mock(k, backend, options);
      if (backend === 'dep') k.WARN_ON(true, 'planted_test_site', 'a planted warning only the drm_dep run shows');
      return dev;
    };
    const v = driver_verdict(input(evidence([run(warn_on_dep)])), 'mock');
    expect(v.judgement.verdict).toBe('not assessed');
    expect(v.judgement.not_assessed.join('\n')).toMatch(/unclassified: warn at planted_test_site \(drm_dep only\)/);
  });

  it('a triage write-up is linked through the repository root, a report of the run from the output directory', () => {
    expect(verdict_href('docs/findings.md#panthor-unplug', '../')).toBe('../docs/findings.md#panthor-unplug');
    expect(verdict_href('drivers/amdxdna/README.md#f1', '../../')).toBe('../../drivers/amdxdna/README.md#f1');
    expect(verdict_href('readiness/mock/steady.md', '../')).toBe('readiness/mock/steady.md');
    expect(verdict_href('explore/xe.md', '../')).toBe('explore/xe.md');
  });

  it('a verdict that flips with the cost table is reported as "depends on" it', () => {
    const slow = { kworker_wakeup_ns: 50_000, process_wakeup_ns: 50_000 };
    const variants = [
      { family: 'cost table', label: 'fast wake-ups (2 µs)', runs: [run(planted_slow_wakeup, { kworker_wakeup_ns: 2000, process_wakeup_ns: 2000 })] },
      { family: 'cost table', label: 'slow wake-ups (50 µs)', runs: [run(planted_slow_wakeup, slow)] },
    ];
    const v = driver_verdict(input(evidence([run(planted_slow_wakeup)], variants)), 'mock');
    expect(v.judgement.verdict).toBe('ready');
    expect(v.robustness).toBe('depends on cost table = slow wake-ups (50 µs) (blocked there)');
    // The flipped variant says what makes the difference, with its runs; the one that holds says nothing.
    expect(v.variants[0].differs).toEqual([]);
    expect(v.variants[1].differs.length).toBeGreaterThan(0);
    expect(v.variants[1].differs.every((d) => d.startsWith('blocker: ') && d.includes('(runs: '))).toBe(true);
    expect(readiness_markdown(input(evidence([run(planted_slow_wakeup)], variants))).markdown).toContain('Under cost table = slow wake-ups (50 µs) (blocked), what differs from the main runs:');
    expect(driver_verdict(input(evidence([run(mock)], variants.slice(0, 1))), 'mock').robustness).toBe('holds under all 1 variants');
  });

  it('the Markdown has every section, the provenance of each blocker, and is identical for the same evidence', () => {
    const e = evidence([run(planted_eio(3))]);
    const a = readiness_markdown(input(e)).markdown;
    expect(a).toBe(readiness_markdown(input(e)).markdown);
    for (const h of ['## Verdicts', '## Scheduler internals reached by drivers', '## Conversion size', '## mock', '### Blockers', '### Evidence', '## Legacy hazards']) expect(a).toContain(h);
    expect(a).toMatch(/- regression of `job_result`: 3 case\(s\) \(runs: steady; seeds 1, 2, 3\): c\/q#2 finished with -EIO \(ran\) \(\[evidence\]\(readiness\/mock\/steady\.md\)\)\n  - replay: `npx deplab replay dl2\./);
  });
});
