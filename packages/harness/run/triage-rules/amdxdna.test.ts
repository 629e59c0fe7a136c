/**
 * amdxdna's triage rules on real runs (era 7.0, the default): each workload below makes one
 * finding of drivers/amdxdna/README.md happen, and every group it shows gets the rule written
 * for that finding, on the binding(s) where the finding holds.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '@deplab/driver-api';
import { client as client_of, triaged_groups } from './scenario.testlib.ts';
import { campaign_subject, triage } from '../triage.ts';

type Step = Record<string, unknown>;
const batch = (duration_us: number, more: Record<string, unknown> = {}): Step => ({ batch: { queue: 'q', duration_us, ...more } });
const client = (name: string, steps: Step[]) => client_of(name, steps, [{ name: 'q', engine: 'compute' }]);
const workload = (clients: object[], events: object[] = []) => ({ clients, events });

function rules_of(w: object, backend: Backend, device: Record<string, boolean | number> = {}): Record<string, string | null> {
  return Object.fromEntries(triaged_groups('amdxdna', { upstream_gfp: false, ...device }, w, { backend }));
}

/** A hung command: its timeout (60 s) comes first, the close at the end of the run second. */
const TIMEOUT_THEN_CLOSE = workload([client('a', [batch(10_000, { hang: true })])]);
/** a's hwctx is destroyed first (drm_sched_fini under dev_lock), then b's command times out. */
const CLOSE_THEN_TIMEOUT = workload([client('a', [batch(100, { wait: true })]), client('b', [batch(10_000, { hang: true })])],
  [{ after: { client: 'a', step: 0, loop: 0 }, action: 'destroy_queue', client: 'a', queue: 'q' }]);
/** Two hung commands; remove 1 s before their timeouts (README F6's test). */
const REMOVE_BEFORE_TIMEOUTS = workload([client('a', [batch(5000, { hang: true })]), client('b', [batch(5000, { hang: true })])],
  [{ at_us: 59_000_000, action: 'unplug' }]);
/** A hung command, three behind it, a fifth submitter asleep on job_sem; remove at 1 s (F8). */
const REMOVE_WITH_SLEEPING_SUBMITTER = workload([client('a', [batch(10_000, { hang: true }), batch(10_000), batch(10_000), batch(10_000), batch(10_000)])],
  [{ at_us: 1_000_000, action: 'unplug' }]);
/** The hwctx is destroyed right after the second submit returned, before run_job took it. */
const DESTROY_WITH_QUEUED = workload([client('a', [batch(10_000), batch(10_000)])],
  [{ after: { client: 'a', step: 1, loop: 0 }, action: 'destroy_queue', client: 'a', queue: 'q' }]);

describe('amdxdna triage rules', () => {
  it('F1: the GFP_KERNEL mailbox message in run_job (upstream_gfp), on drm_dep', () => {
    const r = rules_of(workload([client('a', [batch(100)])]), 'dep', { upstream_gfp: true });
    expect(r).toEqual({
      'lockdep_cycle @ kmalloc(struct mailbox_msg in xdna_mailbox_send_msg() of drivers/accel/amdxdna/amdxdna_mailbox.c, GFP_KERNEL)': 'amdxdna-f1-gfp-kernel-in-run-job',
    });
    expect(rules_of(workload([client('a', [batch(100)])]), 'dep')).toEqual({}); // a preallocated message: nothing
  });

  it('F1 in a comparison, which has no variant label (upstream_gfp is the device default): the same rule', () => {
    const site = 'kmalloc(struct mailbox_msg in xdna_mailbox_send_msg() of drivers/accel/amdxdna/amdxdna_mailbox.c, GFP_KERNEL)';
    const g = campaign_subject('lockdep_cycle', site, 'possible circular locking dependency: dma_fence_map -> fs_reclaim closes a cycle');
    expect(triage(g, 'amdxdna', 'dep').rule).toBe('amdxdna-f1-gfp-kernel-in-run-job');
    expect(triage(g, 'xe', 'dep').rule).toBeNull();
  });

  it('F3: drm_sched reports dev_lock against the TDR at whichever edge comes second', () => {
    expect(rules_of(TIMEOUT_THEN_CLOSE, 'sched')).toEqual({ 'lockdep_cycle @ cancel_work_sync': 'amdxdna-f3-fini-cancels-timeout' });
    expect(rules_of(CLOSE_THEN_TIMEOUT, 'sched')).toEqual({ 'lockdep_cycle @ aie2_sched_job_timedout: mutex_lock(&xdna->dev_lock)': 'amdxdna-f3-timeout-takes-dev-lock' });
  });

  it('F4: drm_dep reports its reclaim-annotated TDR taking dev_lock', () => {
    expect(rules_of(TIMEOUT_THEN_CLOSE, 'dep')).toEqual({ 'lockdep_cycle @ aie2_sched_job_timedout: mutex_lock(&xdna->dev_lock)': 'amdxdna-f4-reclaim-tdr-takes-dev-lock' });
  });

  it('F6: on drm_sched a timeout handler recreates the context remove destroyed; the conversion leaks nothing', () => {
    expect(rules_of(REMOVE_BEFORE_TIMEOUTS, 'sched')).toEqual({
      'lockdep_cycle @ aie2_sched_job_timedout: mutex_lock(&xdna->dev_lock)': 'amdxdna-f3-timeout-takes-dev-lock',
      'leak @ after unplug: mailbox_channel': 'amdxdna-orphan-fw-context',
    });
    expect(Object.keys(rules_of(REMOVE_BEFORE_TIMEOUTS, 'dep')).filter((k) => k.startsWith('leak'))).toEqual([]);
  });

  for (const backend of ['sched', 'dep'] as const) {
    it(`F8 at remove (${backend}): remove and the submitter never return; every object of the device stays allocated`, () => {
      const r = rules_of(REMOVE_WITH_SLEEPING_SUBMITTER, backend, { upstream_gfp: true });
      expect(r['hang @ unplug']).toBe('amdxdna-f8-hang');
      expect(r['hang @ run_workload']).toBe('amdxdna-f8-hang');
      // The end-of-run close waits for the sleeping submitter's ioctl (its file reference).
      expect(r['hang @ teardown']).toBe('amdxdna-f8-hang');
      expect(r['hang @ Kernel.run_task']).toBe('amdxdna-f8-hang');
      expect(r['never_signalled @ finished fence after teardown']).toBe('amdxdna-f8-unsignalled');
      expect(r['leak @ after unplug: mailbox_channel']).toBe('amdxdna-orphan-fw-context');
      expect(r['leak @ after unplug: kmalloc:struct']).toBe('amdxdna-orphan-fw-context'); // the channel's record comes first
      const jobs = backend === 'sched' ? ['drm_sched_job', 'drm_gpu_scheduler', 'drm_sched_entity'] : ['drm_dep_job', 'drm_dep_queue', 'drm_dep_fence'];
      for (const type of ['amdxdna_fence', 'kmalloc:amdxdna_client', 'kmalloc:amdxdna_hwctx', 'kmalloc:amdxdna_sched_job', ...jobs]) {
        expect(r[`leak @ after unplug: ${type}`], type).toBe('amdxdna-f8-leak');
      }
      expect(Object.entries(r).filter(([, rule]) => rule === null)).toEqual([]);
    });

    it(`a destroy drains (${backend}): a command queued at DESTROY_HWCTX still starts, which is no kill (killed_unstarted follows the scheduler's own kill)`, () => {
      expect(rules_of(DESTROY_WITH_QUEUED, backend)).toEqual({});
    });
  }

  it('with SUBMIT_BYPASS the drain shows no group either; no amdxdna rule claims another driver\'s groups', () => {
    expect(rules_of(DESTROY_WITH_QUEUED, 'dep', { dep_flags: 2 })).toEqual({});
    const mock = Object.fromEntries(triaged_groups('mock', {}, REMOVE_WITH_SLEEPING_SUBMITTER));
    expect(Object.values(mock).some((rule) => rule?.startsWith('amdxdna-') === true)).toBe(false);
  });
});
