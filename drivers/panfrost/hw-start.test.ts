/**
 * deplab_job_hw_start on panfrost: a job starts when its job slot makes its chain the running
 * one (JS_HEAD <- JS_HEAD_NEXT): at the JS_COMMAND_NEXT = START write on an idle slot, or, for a
 * job queued in JS_HEAD_NEXT, when the chain before it ends (or when the IRQ thread requeues it
 * after a failure). Installed by the harness device, jobs recorded by both bindings at arm; run
 * on drm_sched and on drm_dep with the HW-queue layer (panfrost has no plain drm_dep binding).
 */
import { describe, expect, it } from 'vitest';
import { Kernel } from '@deplab/sim';
import type { JobHandle } from '@deplab/driver-api';
import {
  expect_behind_a_hang, expect_busy_queue, expect_killed_while_waiting, finish, job_starts, scenario, submit_all, type Scenario,
} from '@deplab/driver-api/hw-start.testlib';
import { JS_COMMAND_START, js_read, type panfrost_chain } from './hw.ts';
import { PanfrostDevice, panfrost_device_factory } from './uapi.ts';

const BACKENDS = ['sched', 'dep-hw'] as const;

/** The job chain behind a harness job (the device's job handle carries it). */
function chain_of(job: JobHandle): panfrost_chain {
  return (job as JobHandle & { readonly chain: panfrost_chain }).chain;
}

/** Every chain the slots start (each resume counts), with the time, alongside the event. */
function count_chain_starts(s: Scenario): { chain: panfrost_chain; t_ns: number }[] {
  const hw = (s.dev as PanfrostDevice).pfdev.hw;
  const seen: { chain: panfrost_chain; t_ns: number }[] = [];
  const report = hw.chain_started!;
  hw.chain_started = (chain) => {
    seen.push({ chain, t_ns: s.k.now() });
    report(chain);
  };
  return seen;
}

function hw_starts_so_far(k: Kernel): number {
  return k.trace.events.filter((e) => e.name === 'deplab_job_hw_start').length;
}

describe('panfrost: deplab_job_hw_start', () => {
  it('a busy slot starts each job once, the moment the chain before it ends (later than its run_job), alike on both bindings', () => {
    // The slot starts the job in JS_HEAD_NEXT at the end of the current chain: no gap.
    const r = expect_busy_queue(panfrost_device_factory, [300_000, 200_000, 400_000, 100_000], [0, 0], {}, BACKENDS);
    // drm_sched hands job 1 to the slot's second entry at once: it waits there for job 0.
    expect(r.sched[1].starts_ns[0] - r.sched[1].run_ns).toBeGreaterThan(290_000);
  });

  it('a job written to JS_HEAD_NEXT behind a running chain has not started: JS_COMMAND_NEXT still says START', () => {
    for (const b of BACKENDS) {
      const s = scenario(panfrost_device_factory, b);
      const handles = submit_all(s, [{ duration_ns: 300_000, deps: [] }, { duration_ns: 200_000, deps: [] }]);
      s.k.run_for(50_000);
      const hw = (s.dev as PanfrostDevice).pfdev.hw;
      // Both jobs are on slot 0 (run_job wrote them), only the first executes.
      expect([js_read(hw, 0, 'JS_HEAD'), js_read(hw, 0, 'JS_HEAD_NEXT'), js_read(hw, 0, 'JS_COMMAND_NEXT')], b)
        .toEqual([chain_of(handles[0]).jc, chain_of(handles[1]).jc, JS_COMMAND_START]);
      expect(hw_starts_so_far(s.k), b).toBe(1);
      finish(s);
      const [first, next] = job_starts(s.k, handles);
      expect([first.outcome, next.outcome], b).toEqual(['0', '0']);
      expect(next.starts_ns, b).toEqual([first.starts_ns[0] + 300_000]);
    }
  });

  it('a job cancelled in JS_HEAD_NEXT behind a faulting chain starts once, when the IRQ thread requeues it', () => {
    for (const b of BACKENDS) {
      const s = scenario(panfrost_device_factory, b);
      const starts = count_chain_starts(s);
      const handles = submit_all(s, [{ duration_ns: 300_000, deps: [] }, { duration_ns: 200_000, deps: [] }]);
      const chains = handles.map(chain_of);
      s.k.run_for(100_000);
      const fault_ns = s.k.now();
      s.dev.inject_fault({ kind: 'engine_reset', queue: s.queue });
      finish(s);
      const [failed, next] = job_starts(s.k, handles);
      expect([failed.outcome, next.outcome], b).toEqual(['-EINVAL', '0']);
      expect(starts.map((x) => x.chain), b).toEqual(chains);
      // The error stops the slot; the IRQ thread NOPs JS_COMMAND_NEXT, handles the fault and writes START again.
      const irq_ns = s.k.cost_of('panfrost.irq_ns', 300) + s.k.cost_of('panfrost.irq_thread_ns', 1_000);
      expect(next.starts_ns.length, b).toBe(1);
      expect(next.starts_ns[0] - fault_ns, b).toBeGreaterThanOrEqual(irq_ns);
      expect(next.starts_ns[0] - fault_ns, b).toBeLessThan(100_000);
    }
  });

  it('a job soft-stopped by a GPU reset and resumed is reported once, at its first start; the one in JS_HEAD_NEXT after the reset', () => {
    for (const b of BACKENDS) {
      const s = scenario(panfrost_device_factory, b);
      const starts = count_chain_starts(s);
      const handles = submit_all(s, [{ duration_ns: 2_000_000, deps: [] }, { duration_ns: 1_000_000, deps: [] }]);
      const [c0, c1] = handles.map(chain_of);
      s.k.run_for(1_000_000);
      const reset_ns = s.k.now();
      s.dev.inject_fault({ kind: 'device_reset' });
      finish(s);
      const [resumed, next] = job_starts(s.k, handles);
      expect([resumed.outcome, next.outcome], b).toEqual(['0', '0']);
      // The slot executed job 0 twice (before and after the reset), job 1 once, after job 0's resume.
      expect(starts.map((x) => x.chain), b).toEqual([c0, c0, c1]);
      expect(resumed.starts_ns, b).toEqual([starts[0].t_ns]);
      expect(next.starts_ns, b).toEqual([starts[2].t_ns]);
      expect(starts[1].t_ns, b).toBeGreaterThan(reset_ns);
      // Job 0 resumes with what it had left when the reset soft-stopped it (a little under 1 ms).
      expect(next.starts_ns[0] - starts[1].t_ns, b).toBeLessThan(1_000_000);
      expect(next.starts_ns[0] - starts[1].t_ns, b).toBeGreaterThan(950_000);
    }
  });

  it('Ctrl-C with a job waiting in JS_HEAD_NEXT: drm_sched lets it start after the close (the in-flight kill never matches), the layer cancels it before it starts', () => {
    const out: Record<string, { outcome: string; starts: number }[]> = {};
    for (const b of BACKENDS) {
      const s = scenario(panfrost_device_factory, b);
      const handles = submit_all(s, [{ duration_ns: 300_000, deps: [] }, { duration_ns: 200_000, deps: [] }]);
      s.k.run_for(50_000);
      const close_ns = s.k.now();
      s.k.spawn('client-exit', s.dev.close_client(s.client));
      s.k.run_all();
      s.k.run_task(s.dev.unplug());
      s.k.run_all();
      const jobs = job_starts(s.k, handles);
      out[b] = jobs.map((j) => ({ outcome: j.outcome, starts: j.starts_ns.length }));
      // Both jobs were handed to the slot before the close.
      expect(jobs.every((j) => j.run_ns >= 0 && j.run_ns < close_ns), b).toBe(true);
      if (b === 'sched') expect(jobs[1].starts_ns[0]).toBe(jobs[0].starts_ns[0] + 300_000);
    }
    // README #ctx-destroy-hard-stop: on drm_sched both run to completion; the layer hard-stops
    // the running one and NOPs JS_COMMAND_NEXT, so the second never starts.
    expect(out).toEqual({
      sched: [{ outcome: '0', starts: 1 }, { outcome: '0', starts: 1 }],
      'dep-hw': [{ outcome: '-ECANCELED', starts: 1 }, { outcome: '-ECANCELED', starts: 0 }],
    });
  });

  it('jobs killed while waiting on a fence never start: drm_sched calls run_job after the close (-ECANCELED, nothing written), the layer cancels them', () => {
    const r = expect_killed_while_waiting(panfrost_device_factory, 3, 2_000_000, {}, BACKENDS);
    expect(r.sched.jobs.slice(1).every((j) => j.run_ns > r.sched.close_ns && j.outcome === '-ECANCELED')).toBe(true);
    expect(r['dep-hw'].jobs.slice(1).map((j) => [j.run_ns, j.outcome])).toEqual([[-1, '-ECANCELED'], [-1, '-ECANCELED'], [-1, '-ECANCELED']]);
  });

  it('jobs behind a hung chain never start: the reset (drm_sched) or the close (the layer) cancels them', () => {
    const r = expect_behind_a_hang(panfrost_device_factory, 3, {}, BACKENDS);
    for (const b of BACKENDS) expect(r[b].map((j) => j.outcome), b).toEqual(['-ECANCELED', '-ECANCELED', '-ECANCELED', '-ECANCELED']);
  });

  it('an untraced run installs nothing', () => {
    for (const b of BACKENDS) {
      const dev = panfrost_device_factory(new Kernel({ trace: 'off' }), b) as PanfrostDevice;
      expect(dev.reports_hw_start).toBe(true);
      expect(dev.pfdev.hw_start).toBeNull();
      expect(dev.pfdev.hw.chain_started).toBeNull();
    }
  });
});
