/**
 * The harness's triage rules against real groups: each mechanism made to happen in a run, its
 * `hang @ run_workload` group classified as a campaign reports it and as a comparison groups it,
 * and the drm_dep side of the legacy hazards free of it.
 */
import { describe, expect, it } from 'vitest';
import { find_driver } from '../../drivers.ts';
import { load_workload_json } from '../../workload/load-json.ts';
import { run_workload } from '../runner.ts';
import { campaign_subject, group_violations, triage } from '../triage.ts';

function workload(obj: object) {
  const r = load_workload_json(JSON.stringify({ name: 'rule', ...obj }), 'rule.json');
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.workload;
}

/** The run's `hang @ run_workload` group (null if none) and its triage, both ways. */
function hang_rule(driver: string, backend: 'sched' | 'dep' | 'dep-hw', w: ReturnType<typeof workload>, device: Record<string, string | number | boolean>, variant = 'plain') {
  const d = find_driver(driver)!;
  const r = run_workload(w, d.factory, backend, { seed: 1, device: { driver: { ...d.defaults.driver, ...device } }, max_time_ms: 1_000, drain_ms: 100 });
  const g = group_violations(r.kernel.violations.list).find((x) => x.kind === 'hang' && x.site === 'run_workload');
  if (g === undefined) return null;
  const compared = triage(g, driver, backend, ['campaign'], variant).rule;
  const explored = triage(campaign_subject(g.kind, g.site, g.first.message), driver, backend, ['campaign'], variant).rule;
  expect(explored, `${driver} ${backend}: ${g.first.message}`).toBe(compared);
  return { rule: compared, message: g.first.message };
}

/** A program waiting for its second job while the device is unplugged under it. */
const wait_through_unplug = (engine: string) => workload({
  clients: [{ name: 'c', queues: [{ name: 'q', engine }], program: { loops: 1, steps: [
    { batch: { queue: 'q', duration_us: 2000 } }, { batch: { queue: 'q', duration_us: 2000, wait: true } }] } }],
  events: [{ at_us: 500, action: 'unplug' }],
});

describe('harness triage rules: hang @ run_workload by mechanism', () => {
  it('harness-hang-flush-after-unplug: a live process destroys a starved LOW queue, then the unplug stops drm_sched (the mock)', () => {
    const w = workload({
      clients: [
        { name: 'hog', queues: [{ name: 'q', engine: 'render', priority: 'normal' }], program: { loops: 20, steps: [{ batch: { queue: 'q', duration_us: 1000 } }] } },
        { name: 'low', queues: [{ name: 'q', engine: 'render', priority: 'low' }], program: { loops: 1, steps: [{ delay: { us: 100 } }, { batch: { queue: 'q', duration_us: 100 } }] } },
      ],
      events: [{ after: { client: 'low', step: 1, loop: 0 }, action: 'destroy_queue', client: 'low', queue: 'q' }, { at_us: 5000, action: 'unplug' }],
    });
    const h = hang_rule('mock', 'sched', w, { credit_limit: 1 });
    expect(h?.message).toMatch(/low in destroy_queue\(low\/q\)/);
    expect(h?.rule).toBe('harness-hang-flush-after-unplug');
    // drm_dep's kill does not wait for the queue to drain.
    expect(hang_rule('mock', 'dep', w, { credit_limit: 1 })).toBeNull();
  });

  it('harness-hang-entity-after-fini: the unplug leaves the open file\'s entity with a queued job (the mock, unplug_keeps_queues)', () => {
    const w = wait_through_unplug('render');
    const h = hang_rule('mock', 'sched', w, { unplug_keeps_queues: true, credit_limit: 1 }, 'unplug_keeps_queues');
    expect(h?.rule).toBe('harness-hang-entity-after-fini');
    // Not claimed for the plain mock, whose unplug tears its queues down.
    expect(triage(campaign_subject('hang', 'run_workload', h!.message), 'mock', 'sched', ['campaign'], 'plain').rule).toBeNull();
    expect(hang_rule('mock', 'dep', w, { unplug_keeps_queues: true, credit_limit: 1 }, 'unplug_keeps_queues')).toBeNull();
  });

  it('panfrost-unplug-pending-waiter: panfrost\'s remove leaves the waited job to a finalised drm_sched; not on the HW-queue layer', () => {
    const w = wait_through_unplug('render');
    expect(hang_rule('panfrost', 'sched', w, {})?.rule).toBe('panfrost-unplug-pending-waiter');
    expect(hang_rule('panfrost', 'dep-hw', w, {})).toBeNull();
  });

  it('no rule claims a stuck program the mechanisms do not explain (no unplug)', () => {
    const w = workload({
      external_fences: [{ name: 'never' }],
      clients: [{ name: 'c', queues: [{ name: 'q', engine: 'render' }], program: { loops: 1, steps: [{ batch: { queue: 'q', duration_us: 10, deps: [{ external: 'never' }], wait: true } }] } }],
    });
    for (const [driver, backend] of [['mock', 'sched'], ['panfrost', 'sched']] as const) {
      expect(hang_rule(driver, backend, w, {}), `${driver} ${backend}`).toMatchObject({ rule: null });
    }
  });
});
