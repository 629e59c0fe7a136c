/**
 * One scenario on both bindings: the per-job outcomes (signalled or not, fence error) must be
 * identical except for the differences README "Differences between the bindings" lists, which
 * are asserted here one by one. Also: the same run twice gives the same trace (determinism).
 */
import { describe, expect, it } from 'vitest';
import { EXACT_TIMING, ECANCELED, ESRCH, Kernel, type Sleepable } from '@deplab/sim';
import { DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE, DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS } from '@deplab/drm-dep';
import type { Backend, JobHandle } from '@deplab/driver-api';
import { ERT_CMD_STATE_ABORT, ERT_CMD_STATE_COMPLETED, ERT_CMD_STATE_NEW, ERT_CMD_STATE_TIMEOUT } from './hw.ts';
import { AmdxdnaDevice } from './uapi.ts';
import { MS, S, cmd, job, outcome, queue, submitter, type Outcome, type Rig, type Submitted } from './testlib.ts';

interface ScenarioResult {
  readonly outcomes: Map<string, Outcome>;
  /** Per job: the command BO state and whether the NPU started the command. */
  readonly commands: Map<string, { state: number; started: boolean }>;
  readonly close_ns: Map<string, number>;
  readonly leaks: string[];
  readonly violations: string[];
  readonly trace_events: number;
  readonly digest: string;
}

/**
 * Client A: hwctx a1 runs six 5 ms commands, the third reports a firmware error; hwctx a2 has
 * a hung command with three behind it and a fifth submitter asleep; hwctx a3 depends on a1.
 * Client B: two 50 ms commands, Ctrl-C 10 ms in. Client C: one command submitted right before
 * Ctrl-C (still queued when the file is released). Then A closes and the device is unplugged.
 */
function scenario(backend: Backend, era: '7.0' | '6.18' = '7.0', trace: 'record' | 'hash' = 'record', dep_flags = 0, assume: Record<string, string> = {}): ScenarioResult {
  const kernel = new Kernel({ trace, init_name: 'test', seed: 7, ...EXACT_TIMING, assume: { ...EXACT_TIMING.assume, ...assume } });
  const dev = new AmdxdnaDevice(kernel, backend, { driver: { era, upstream_gfp: false, dep_flags } });
  const r: Rig = { kernel, dev };
  const outcomes = new Map<string, Outcome>();
  const commands = new Map<string, { state: number; started: boolean }>();
  const close_ns = new Map<string, number>();
  const named: [string, Submitted[]][] = [];

  const a = dev.open_client('a');
  const b = dev.open_client('b');
  const c = dev.open_client('c');
  const a1 = queue(r, a), a2 = queue(r, a), a3 = queue(r, a), b1 = queue(r, b), c1 = queue(r, c);
  const la1: Submitted[] = [], la2: Submitted[] = [], la3: Submitted[] = [], lb1: Submitted[] = [], lc1: Submitted[] = [];
  named.push(['a1', la1], ['a2', la2], ['a3', la3], ['b1', lb1], ['c1', lc1]);
  submitter(r, 'a/1', a1, Array.from({ length: 6 }, () => cmd(5 * MS)), la1);
  kernel.run_for(6 * MS); // a1#0 done, a1#1 running
  dev.inject_fault({ kind: 'fw_error', queue: a1 }); // the next a1 command to finish: #1
  submitter(r, 'a/2', a2, [cmd(5 * MS, { hang: true }), cmd(5 * MS), cmd(5 * MS), cmd(5 * MS), cmd(5 * MS)], la2);
  submitter(r, 'b/1', b1, [cmd(50 * MS), cmd(50 * MS)], lb1);
  kernel.run_for(4 * MS);
  submitter(r, 'a/3', a3, [cmd(2 * MS, { deps: [job(la1[3]).out_fence] })], la3);
  kernel.run_for(1 * MS);
  const t0 = kernel.now();
  kernel.run_task(dev.close_client(b));
  close_ns.set('b', kernel.now() - t0);
  kernel.run_for(61 * S); // a2's timeout and recovery
  kernel.run_task((function* (): Sleepable {
    const call = kernel.now();
    const result = yield* dev.submit(c1, cmd(5 * MS));
    lc1.push({ call_ns: call, return_ns: kernel.now(), result });
    const t = kernel.now();
    yield* dev.close_client(c);
    close_ns.set('c', kernel.now() - t);
  })());
  const ta = kernel.now();
  kernel.run_task(dev.close_client(a));
  close_ns.set('a', kernel.now() - ta);
  kernel.run_task(dev.unplug());
  kernel.run_all();
  for (const [name, log] of named) {
    log.forEach((s, i) => outcomes.set(`${name}#${i}`, typeof s.result === 'number' ? { signaled: false, error: s.result } : outcome(s.result as JobHandle)));
    log.forEach((s, i) => {
      if (typeof s.result !== 'number') commands.set(`${name}#${i}`, { state: dev.cmd_state(s.result), started: dev.cmd_started(s.result) });
    });
  }
  const leaks = kernel.lifetime.live().filter((o) => o.type !== 'dma_fence.stub').map((o) => o.type);
  return {
    outcomes, commands, close_ns, leaks,
    violations: kernel.violations.list.filter((v) => v.kind !== 'leak').map((v) => `${v.kind} ${v.message}`),
    trace_events: kernel.trace.count,
    digest: kernel.trace.digest(),
  };
}

describe('amdxdna: drm_sched and drm_dep give the same per-job outcomes, except where the README says why not', () => {
  const s = scenario('sched');
  const d = scenario('dep');
  const s618 = scenario('sched', '6.18');
  const d618 = scenario('dep', '6.18');
  const differing = (x: ScenarioResult, y: ScenarioResult) =>
    [...x.outcomes.keys()].filter((key) => JSON.stringify(x.outcomes.get(key)) !== JSON.stringify(y.outcomes.get(key)));

  it('every job has the same outcome on both bindings except the documented differences (7.0: #1; 6.18: #1, #2)', () => {
    expect([...d.outcomes.keys()]).toEqual([...s.outcomes.keys()]);
    expect(differing(s, d)).toEqual(['a2#0', 'a2#1', 'a2#2', 'a2#3']);
    expect(differing(s618, d618)).toEqual(['a2#0', 'a2#1', 'a2#2', 'a2#3', 'c1#0']);
    // The same on both: normal completions, the firmware error (a1#1: ERROR in the BO, fence
    // error 0), the cross-hwctx dependency, the command after the recovery (a2#4; but see #3),
    // Ctrl-C with commands in flight (b1: completed during close's wait for idle).
    expect(s.outcomes.get('a1#1')).toEqual({ signaled: true, error: 0 });
    expect(s.outcomes.get('a3#0')).toEqual({ signaled: true, error: 0 });
    expect(s.outcomes.get('a2#4')).toEqual({ signaled: true, error: 0 });
    expect([s.outcomes.get('b1#0'), s.outcomes.get('b1#1')]).toEqual([{ signaled: true, error: 0 }, { signaled: true, error: 0 }]);
  });

  it('difference #1 (timeout): commands aborted by the context recreate get -ECANCELED on drm_sched, 0 on drm_dep, in both eras', () => {
    for (const [x, y] of [[s, d], [s618, d618]]) {
      for (const key of ['a2#0', 'a2#1', 'a2#2', 'a2#3']) {
        expect(x.outcomes.get(key)).toEqual({ signaled: true, error: -ECANCELED });
        expect(y.outcomes.get(key)).toEqual({ signaled: true, error: 0 });
      }
    }
  });

  it('difference #2 (Ctrl-C, 6.18 only): a command still queued when the file is released runs and fails -ESRCH on drm_sched, is cancelled on drm_dep', () => {
    expect(s618.outcomes.get('c1#0')).toEqual({ signaled: true, error: -ESRCH });
    expect(d618.outcomes.get('c1#0')).toEqual({ signaled: true, error: -ECANCELED });
    // Either way the job never reached the response handler, the only place in 6.18 that drops
    // the reference amdxdna_fence_create took: its HW fence leaks on both (F2).
    expect(s618.leaks).toEqual(['amdxdna_fence']);
    expect(d618.leaks).toEqual(['amdxdna_fence']);
    // 7.0 waits for idle before it kills anything: the command reaches run_job on both and
    // fails -ESRCH (the exited process's mm is gone); its HW fence is put at job cleanup.
    expect([s.outcomes.get('c1#0'), d.outcomes.get('c1#0')]).toEqual([{ signaled: true, error: -ESRCH }, { signaled: true, error: -ESRCH }]);
    expect([s.leaks, d.leaks]).toEqual([[], []]);
  });

  it('difference #3 (7.0, dep.tdr-wq=submit only): the command pushed while the timeout handler recreates the context is never sent (run_job sees no channel) unless the TDR shares the ordered submit workqueue', () => {
    expect(s.commands.get('a2#4')).toEqual({ state: 0, started: false });
    // drm_dep's TDR on a workqueue of its own (the default) runs beside the submit worker, as
    // drm_sched's does: the same drop (README F7).
    expect(d.commands.get('a2#4')).toEqual({ state: 0, started: false });
    // On the ordered submit workqueue run_job waits for the handler to finish the recreate.
    const d_submit = scenario('dep', '7.0', 'record', 0, { 'dep.tdr-wq': 'submit' });
    expect(d_submit.commands.get('a2#4')).toEqual({ state: ERT_CMD_STATE_COMPLETED, started: true });
    expect(s618.commands.get('a2#4')).toEqual({ state: ERT_CMD_STATE_COMPLETED, started: true });
    expect(d618.commands.get('a2#4')).toEqual({ state: ERT_CMD_STATE_COMPLETED, started: true });
    // The command BO of the blamed command says TIMEOUT, the others ABORT (7.0); NEW (6.18).
    for (const x of [s, d]) expect(['a2#0', 'a2#1'].map((key) => x.commands.get(key)!.state)).toEqual([ERT_CMD_STATE_TIMEOUT, ERT_CMD_STATE_ABORT]);
    for (const x of [s618, d618]) expect(['a2#0', 'a2#1'].map((key) => x.commands.get(key)!.state)).toEqual([ERT_CMD_STATE_NEW, ERT_CMD_STATE_NEW]);
  });

  it('close latency is the driver\'s own wait for idle plus the firmware destroy on both', () => {
    // b: two 50 ms commands started at 6 ms, closed at 11 ms: waits until the second is done.
    for (const r of [s, d, s618, d618]) {
      expect(r.close_ns.get('b')).toBeGreaterThan(95 * MS);
      expect(r.close_ns.get('b')).toBeLessThan(96 * MS);
      expect(r.close_ns.get('a')).toBeLessThan(3 * MS); // three idle hwctxs: three firmware destroys
    }
    // c: 7.0 waits for idle (the queued job reaches run_job, fails -ESRCH); 6.18's drm_sched
    // flushes the entity, the conversion kills the queue: the same firmware destroy round trip
    // dominates all.
    for (const [x, y] of [[s, d], [s618, d618]]) expect(Math.abs(x.close_ns.get('c')! - y.close_ns.get('c')!)).toBeLessThan(100_000);
  });

  it('violations that differ (lockdep): drm_sched cancels the TDR under dev_lock; drm_dep takes dev_lock in a reclaim-annotated TDR', () => {
    // Here b's close (dev_lock, then drm_sched_fini's cancel of its TDR) comes first, and a2's
    // TDR taking dev_lock closes the cycle. 7.0 still calls drm_sched_fini under dev_lock.
    for (const [x, y] of [[s, d], [s618, d618]]) {
      expect(x.violations).toEqual(['lockdep_cycle possible circular locking dependency: (work_completion)(&(&sched->work_tdr)->work) -> &xdna->dev_lock closes a cycle']);
      expect(y.violations[0]).toBe('lockdep_cycle possible circular locking dependency: (work_completion)(drm_dep_queue_tdr_work) -> &xdna->dev_lock closes a cycle');
    }
  });

  it('is deterministic: the same run gives the same trace hash', () => {
    const h1 = scenario('dep', '7.0', 'hash');
    const h2 = scenario('dep', '7.0', 'hash');
    expect(h1.digest).toBe(h2.digest);
    expect(h1.trace_events).toBe(h2.trace_events);
    expect(h1.trace_events).toBeGreaterThan(100);
    expect(scenario('dep', '6.18', 'hash').digest).not.toBe(h1.digest);
  });

  it('drm_dep queue flags: IRQ job put changes nothing (completion already runs in the rx worker); the submit bypass runs the last command before Ctrl-C', () => {
    const irq = scenario('dep', '7.0', 'record', DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE);
    expect([...irq.outcomes]).toEqual([...d.outcomes]);
    expect(irq.violations).toEqual(d.violations);
    for (const flags of [DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS, DRM_DEP_QUEUE_FLAGS_SUBMIT_BYPASS | DRM_DEP_QUEUE_FLAGS_JOB_PUT_IRQ_SAFE]) {
      const b = scenario('dep', '7.0', 'record', flags);
      // run_job from the submit ioctl: c1#0 reached the firmware before the file was released
      // (its mm still there), so close's wait for idle let it finish.
      expect(differing(b, d)).toEqual(['c1#0']);
      expect(b.outcomes.get('c1#0')).toEqual({ signaled: true, error: 0 });
      expect(b.leaks).toEqual([]);
      expect(b.violations).toEqual(d.violations);
    }
  });
});
