/**
 * xe's rule on real groups: a VM-bind job that hangs, outlives a 1 ms job timeout or meets an
 * engine reset trips xe's "VM job timed out on non-killed execqueue" WARN on both schedulers
 * (docs/findings.md#xe-vm-job-timeout-warn); the same hang on a render queue does not.
 */
import { describe, expect, it } from 'vitest';
import { campaign_subject, triage } from '../triage.ts';
import { triaged_groups } from './scenario.testlib.ts';

const one_job = (engine: string, batch: object) => ({
  name: `xe-${engine}`, clients: [{ name: 'a', queues: [{ name: 'q', engine }], program: { loops: 1, steps: [{ batch: { queue: 'q', ...batch } }] } }],
});
const WARN = 'warn @ guc_exec_queue_timedout_job';

describe.each(['sched', 'dep'] as const)('xe triage rules on %s', (backend) => {
  it('a hung VM-bind job: the WARN group gets xe-vm-job-timeout-warn', () => {
    const groups = triaged_groups('xe', { job_timeout_ms: 20 }, one_job('bind', { duration_us: 100, hang: true }), { backend });
    expect(Object.fromEntries(groups)).toEqual({ [WARN]: 'xe-vm-job-timeout-warn' });
  });

  it('a 3 ms VM-bind job under a 1 ms job timeout (the spurious-timeout fault): the same WARN, the same rule', () => {
    const groups = triaged_groups('xe', { job_timeout_ms: 1 }, one_job('bind', { duration_us: 3000 }), { backend });
    expect(Object.fromEntries(groups)).toEqual({ [WARN]: 'xe-vm-job-timeout-warn' });
  });

  it('an engine reset on a VM-bind queue with a 50 ms job in flight (default job timeout): the TDR runs at once, the same WARN and rule', () => {
    const w = { ...one_job('bind', { duration_us: 50_000 }), events: [{ at_us: 1000, action: 'engine_reset', client: 'a', queue: 'q' }] };
    expect(Object.fromEntries(triaged_groups('xe', {}, w, { backend }))).toEqual({ [WARN]: 'xe-vm-job-timeout-warn' });
  });

  it('a hung render job: no WARN group', () => {
    expect([...triaged_groups('xe', { job_timeout_ms: 20 }, one_job('render', { duration_us: 100, hang: true }), { backend }).keys()]).toEqual([]);
  });

  it('the rule is the VM WARN\'s only: not the kernel-queue WARN, not another driver, not a run without faults', () => {
    const t = (message: string, driver: string, faults: string[]) => triage(campaign_subject('warn', 'guc_exec_queue_timedout_job', message), driver, backend, faults).rule ?? '';
    expect(t('bcs1: VM job timed out on non-killed execqueue', 'xe', ['hang'])).toBe('xe-vm-job-timeout-warn');
    expect(t('bcs1: Kernel-submitted job timed out', 'xe', ['campaign'])).not.toMatch(/^xe-/);
    expect(t('bcs1: VM job timed out on non-killed execqueue', 'mock', ['campaign'])).not.toMatch(/^xe-/);
    expect(t('bcs1: VM job timed out on non-killed execqueue', 'xe', [])).not.toMatch(/^xe-/);
  });
});
