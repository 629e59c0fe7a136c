/**
 * panthor's characteristic scenarios through the Device interface, on each binding. Expected
 * outcomes follow panthor_sched.c: group termination on a timeout, per-queue error codes of
 * group_term_post_processing, the 5 s per-queue timeout (v7.0: driver-owned, suspended while the
 * queue is off its CSG slot or empty, restarted by progress), slot rotation on the 10 ms tick,
 * GPU reset only for firmware failures.
 */
import { describe, expect, it } from 'vitest';
import { ECANCELED, EINVAL, ENODEV, ETIMEDOUT, MAX_SCHEDULE_TIMEOUT, delayed_work_pending, queue_work, work_pending } from '@deplab/sim';
import { drm_dep_queue_timeout } from '@deplab/drm-dep';
import type { Backend, QueueHandle } from '@deplab/driver-api';
import { group_can_run } from './csf.ts';
import { panthor_fw_cs_pending } from './hw.ts';
import type { panthor_queue_dep } from './on-dep.ts';
import type { panthor_queue_sched } from './on-sched.ts';
import {
  MS, S, done_at, hang_behind_stream, outcome, panthor_queue_of, queue, rig, rotating_hang, run, starved_group, submit,
  submit_errno, sw_fence, sw_signal, teardown, trace_times, violations, type Rig,
} from './panthor.testlib.ts';

/** The hardware CS behind a queue handle (test-only peek). */
function cs_of(_r: Rig, q: QueueHandle) {
  return panthor_queue_of(q).cs;
}

describe.each(['sched', 'dep'] as Backend[])('panthor on %s', (backend) => {
  it('normal flow: jobs run in order on the ring and complete through IRQ -> fw_events -> sync_upd work', () => {
    const r = rig(backend, {}, 'record');
    const c = r.dev.open_client('app');
    const q = queue(r, c);
    const jobs = [0, 1, 2, 3, 4].map(() => submit(r, q, 1 * MS));
    r.k.run_for(100 * MS);
    expect(jobs.map(outcome)).toEqual([0, 0, 0, 0, 0]);
    for (let i = 1; i < jobs.length; i++) expect(done_at(jobs[i]) - done_at(jobs[i - 1])).toBe(1 * MS);
    // The first job waited for the group to get a slot (tick + FW START), then the ring ran.
    expect(done_at(jobs[0])).toBeGreaterThan(1 * MS);
    expect(done_at(jobs[0])).toBeLessThan(1.1 * MS);
    // Completion context: the done fences are signalled by the group's sync_upd work.
    const signals = r.k.trace.events.filter((e) => e.name === 'dma_fence_signaled' && e.args.context === jobs[0].out_fence.context);
    expect(signals.length).toBe(5);
    const irqs = r.k.stats.irqs;
    expect(irqs).toBeGreaterThanOrEqual(5);
    const works = r.k.trace.events.filter((e) => e.name === 'workqueue_execute_start' && e.args.work === '&group->sync_upd_work');
    expect(works.length).toBeGreaterThanOrEqual(5);
    expect(r.dev.ptdev.scheduler.wq.name).toBe('panthor-csf-sched');
    expect(teardown(r, [c])).toBe(0);
    expect(violations(r)).toEqual([]);
  });

  it('a dependency chain across queues, clients and a VM_BIND job', () => {
    const r = rig(backend);
    const a = r.dev.open_client('a');
    const b = r.dev.open_client('b');
    const a_render = queue(r, a, 'render');
    const a_copy = queue(r, a, 'copy'); // same group as a_render (queue 1)
    const a_bind = queue(r, a, 'bind');
    const b_compute = queue(r, b, 'compute');
    const j1 = submit(r, a_render, 2 * MS);
    const j2 = submit(r, b_compute, 1 * MS, [j1.out_fence]);
    const op_ns = 10_000;
    const j3 = submit(r, a_bind, op_ns, [j2.out_fence]);
    const j4 = submit(r, a_copy, 1 * MS, [j3.out_fence]);
    const j5 = submit(r, a_render, 0, [j4.out_fence]); // empty stream: borrows last_fence
    r.k.run_for(100 * MS);
    expect([j1, j2, j3, j4, j5].map(outcome)).toEqual([0, 0, 0, 0, 0]);
    expect(done_at(j2)).toBeGreaterThanOrEqual(done_at(j1) + 1 * MS);
    expect(done_at(j3)).toBeGreaterThanOrEqual(done_at(j2) + op_ns);
    // The bind op runs synchronously in run_job and its fence is stamped at the end of that
    // body; the dependent run_job may start up to op_ns earlier (substrate: a body's queue_work
    // is seen by workers already scheduled within its duration; README "Substrate issues").
    expect(done_at(j4)).toBeGreaterThanOrEqual(done_at(j3) + 1 * MS - op_ns);
    // The empty job's fence is the render queue's last done fence (j1), already signalled: it
    // finishes as soon as it runs, after its dependency j4.
    expect(done_at(j5)).toBeGreaterThanOrEqual(done_at(j4));
    expect((a_render as unknown as { group: unknown }).group).toBe((a_copy as unknown as { group: unknown }).group);
    expect(teardown(r, [a, b])).toBe(0);
    expect(violations(r)).toEqual([]);
  });

  it('credit back-pressure: a 4 KiB ring (512 instruction slots) holds 32 jobs of 16 credits, 21 of 24', () => {
    for (const [profiling, fit] of [[0, 32], [3, 21]] as const) {
      const r = rig(backend, { ringbuf_size: 4096, profiling });
      const c = r.dev.open_client('app');
      const q = queue(r, c);
      const jobs = Array.from({ length: 40 }, () => submit(r, q, 1 * MS));
      r.k.run_for(500_000);
      expect(panthor_fw_cs_pending(cs_of(r, q))).toBe(fit);
      let max = 0;
      while (!jobs.every((j) => j.out_fence.signaled)) {
        r.k.run_for(100_000);
        max = Math.max(max, panthor_fw_cs_pending(cs_of(r, q)));
      }
      expect(max).toBe(fit);
      expect(jobs.map(outcome)).toEqual(jobs.map(() => 0));
      expect(teardown(r, [c])).toBe(0);
      expect(violations(r)).toEqual([]);
    }
  });

  it('a hung job terminates its whole group: -ETIMEDOUT in flight, -ECANCELED not yet run, -EINVAL after; no GPU reset', () => {
    const r = rig(backend);
    const c = r.dev.open_client('app');
    const other = r.dev.open_client('other');
    const q0 = queue(r, c, 'render');
    const q1 = queue(r, c, 'compute'); // same group
    const q2 = queue(r, other, 'render'); // another group
    const ext = sw_fence(r.k);
    const a = submit(r, q0, 1 * MS);
    const hung = submit(r, q0, 1 * MS, [], true);
    const behind = submit(r, q0, 1 * MS);
    const stream = Array.from({ length: 10 }, () => submit(r, q1, 600 * MS)); // 8 done by 4.8 s
    const waiting = submit(r, q1, 1 * MS, [ext]); // not on the ring yet when the group dies
    const innocent = submit(r, q2, 4.5 * S);
    r.k.run_for(4_900 * MS);
    expect([a, hung, behind, waiting].map(outcome)).toEqual([0, 'pending', 'pending', 'pending']);
    expect(stream.map(outcome)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 'pending', 'pending']);
    r.k.run_for(200 * MS);
    // group_term_post_processing: every in-flight job of every queue gets -ETIMEDOUT (the
    // innocent ones too), 5 s after q0's last progress (a's completion restarted its timer).
    expect([hung, behind].map(outcome)).toEqual([-ETIMEDOUT, -ETIMEDOUT]);
    expect(stream.slice(8).map(outcome)).toEqual([-ETIMEDOUT, -ETIMEDOUT]);
    const killed_at = done_at(hung);
    expect(killed_at).toBeGreaterThan(5.001 * S);
    expect(killed_at).toBeLessThan(5.01 * S);
    expect(outcome(waiting)).toBe('pending');
    sw_signal(ext);
    r.k.run_for(10 * MS);
    expect(outcome(waiting)).toBe(-ECANCELED); // run_job: the group cannot run
    const st = r.dev.queue_state(q0);
    expect(st.banned).toBe(true);
    expect(st.detail.timedout).toBe(true);
    expect(submit_errno(r, q0, 1 * MS)).toBe(-EINVAL); // dead for good
    expect(submit_errno(r, q1, 1 * MS)).toBe(-EINVAL);
    r.k.run_for(S);
    expect(outcome(innocent)).toBe(0); // the other group is untouched
    expect(r.dev.ptdev.resets).toBe(0);
    expect(teardown(r, [c, other], [ext])).toBe(0);
    expect(violations(r)).toEqual([]);
  });

  it('Ctrl-C: close_client with jobs in flight returns at once; everything is cancelled and freed, nothing leaks', () => {
    const r = rig(backend);
    const c = r.dev.open_client('app');
    const other = r.dev.open_client('other');
    const q0 = queue(r, c, 'render');
    const q1 = queue(r, c, 'compute');
    const bind = queue(r, c, 'bind');
    const oq = queue(r, other, 'render');
    const ext = sw_fence(r.k);
    const running = Array.from({ length: 10 }, () => submit(r, q0, 100 * MS));
    const gated = submit(r, q1, 1 * MS, [ext]);
    const bound = submit(r, bind, 10_000, [running[0].out_fence]);
    const o = submit(r, oq, 1 * MS, [running[9].out_fence]);
    r.k.run_for(50 * MS);
    const t0 = r.k.now();
    run(r, r.dev.close_client(c));
    const close_ns = r.k.now() - t0;
    expect(close_ns).toBeLessThan(50_000); // postclose only marks the groups destroyed
    r.k.run_for(20 * MS);
    // The resident group is terminated by the tick; its in-flight jobs get -ECANCELED.
    expect(running.map(outcome)).toEqual(running.map(() => -ECANCELED));
    expect(outcome(bound)).toBe(0); // the bind job ran once its dependency signalled
    expect(outcome(gated)).toBe('pending'); // waits for its dependency, then run_job cancels it
    sw_signal(ext);
    r.k.run_for(20 * MS);
    expect(outcome(gated)).toBe(-ECANCELED);
    expect(outcome(o)).toBe(0); // the dependent job of another client runs (errors do not propagate)
    expect(teardown(r, [other], [ext])).toBe(0);
    expect(violations(r)).toEqual([]);
  });

  it('device unplug after the clients closed: clean; ioctls then fail with -ENODEV', () => {
    const r = rig(backend);
    const c = r.dev.open_client('app');
    const q = queue(r, c);
    const j = submit(r, q, 1 * MS);
    r.k.run_for(10 * MS);
    expect(outcome(j)).toBe(0);
    run(r, r.dev.close_client(c));
    r.k.run_for(10 * MS);
    run(r, r.dev.unplug());
    const c2 = r.dev.open_client('late');
    expect(r.dev.create_queue(c2, { engine: 'render', priority: 'normal' })).toBe(-ENODEV);
    expect(submit_errno(r, q, 1 * MS)).toBe(-ENODEV);
    expect(teardown(r, [c2])).toBe(0);
    expect(violations(r)).toEqual([]);
  });

  it('hazard: unplug with a busy resident group never completes its jobs; the group leaks at close [I]', () => {
    const r = rig(backend, {}, 'record');
    const c = r.dev.open_client('app');
    const q = queue(r, c);
    const j = submit(r, q, 1 * S);
    r.k.run_for(10 * MS);
    run(r, r.dev.unplug()); // tick cancelled, MCU halted; the tick bails on drm_dev_enter from now on
    r.k.run_for(20 * S); // the queue timeout fires, the group is marked timed out, the (dead) tick is asked to kill it
    expect(outcome(j)).toBe('pending');
    // Once: nothing re-arms the queue timeout after the handler (no progress, no resume).
    expect(trace_times(r, 'panthor_queue_timeout')).toHaveLength(1);
    expect(trace_times(r, 'panthor_job_timeout')).toHaveLength(1);
    const leaks = teardown(r, [c]);
    expect(leaks).toBeGreaterThan(0);
    const kinds = new Set(r.k.violations.list.map((v) => v.kind));
    expect([...kinds]).toEqual(['leak']);
    expect(r.k.violations.list.some((v) => v.message.includes('panthor_group'))).toBe(true);
  });

  it('unplug with a completion reported but not yet processed: panthor_sched_unplug disables the FW-event work, so the job never signals', () => {
    const r = rig(backend, {}, 'record');
    const c = r.dev.open_client('app');
    const q = queue(r, c);
    const j = submit(r, q, 1 * MS);
    const sched = r.dev.ptdev.scheduler;
    // The CS finished the job and the JOB IRQ queued fw_events_work; its kworker has not run yet.
    expect(r.k.run_until(() => work_pending(sched.fw_events_work), r.k.now() + 10 * MS)).toBe(true);
    expect(trace_times(r, 'panthor_cs_job_done')).toHaveLength(1);
    run(r, r.dev.unplug());
    r.k.run_for(100 * MS);
    expect(outcome(j)).toBe('pending');
    expect(work_pending(sched.fw_events_work)).toBe(false);
    // Disabled, not cancelled: queueing it again does nothing either.
    expect(queue_work(sched.wq, sched.fw_events_work)).toBe(false);
    expect(teardown(r, [c])).toBeGreaterThan(0);
  });

  it('slot rotation: 4 groups on 2 CSG slots all progress; the queue timeout is suspended while evicted (no false timeout)', () => {
    const r = rig(backend, { csg_slots: 2 });
    const clients = [0, 1, 2, 3].map((i) => r.dev.open_client(`c${i}`));
    const qs = clients.map((c) => queue(r, c));
    const jobs = qs.map((q) => submit(r, q, 3 * S)); // 3 s of GPU each, ~6 s of wall time each
    r.k.run_for(3 * S);
    // Half-way: every group made progress, none finished (a 2-slot FIFO would finish two).
    expect(jobs.map(outcome)).toEqual(['pending', 'pending', 'pending', 'pending']);
    r.k.run_for(4 * S);
    expect(jobs.map(outcome)).toEqual([0, 0, 0, 0]);
    for (const j of jobs) {
      expect(done_at(j)).toBeGreaterThan(5.9 * S); // pending > 5 s of wall time, no timeout
      expect(done_at(j)).toBeLessThan(6.2 * S);
    }
    for (const q of qs) expect(r.dev.queue_state(q).detail.residencies as number).toBeGreaterThan(100);
    const sched = r.dev.ptdev.scheduler;
    expect(sched.evictions).toBeGreaterThan(400);
    expect(sched.ticks).toBeGreaterThan(500); // ~one per 10 ms while oversubscribed
    const ticks = sched.ticks;
    r.k.run_for(S);
    expect(sched.ticks).toBe(ticks); // and none once nothing waits
    expect(teardown(r, clients)).toBe(0);
    expect(violations(r)).toEqual([]);
  });

  it('priorities: a HIGH group takes a slot from LOW ones; an RT group preempts mid-period', () => {
    const r = rig(backend, { csg_slots: 1 });
    const low = r.dev.open_client('low');
    const high = r.dev.open_client('high');
    const rt = r.dev.open_client('rt');
    const lq = queue(r, low, 'render', 'low');
    const hq = queue(r, high, 'render', 'high');
    const rq = queue(r, rt, 'render', 'realtime');
    const lj = submit(r, lq, 50 * MS);
    r.k.run_for(5 * MS);
    const hj = submit(r, hq, 20 * MS);
    r.k.run_for(1 * MS);
    const rj = submit(r, rq, 5 * MS);
    r.k.run_for(200 * MS);
    expect([lj, hj, rj].map(outcome)).toEqual([0, 0, 0]);
    expect(done_at(rj)).toBeLessThan(done_at(hj));
    expect(done_at(rj)).toBeLessThan(6 * MS + 5 * MS + 1 * MS); // RT ran at once
    expect(done_at(hj)).toBeLessThan(done_at(lj)); // HIGH before the rest of LOW
    expect(teardown(r, [low, high, rt])).toBe(0);
    expect(violations(r)).toEqual([]);
  });

  it('fw_error (CS_UNRECOVERABLE): the faulty group is fatal (-EINVAL/-ECANCELED), the GPU resets, others resume', () => {
    const r = rig(backend);
    const a = r.dev.open_client('a');
    const b = r.dev.open_client('b');
    const q0 = queue(r, a, 'render');
    const q1 = queue(r, a, 'compute');
    const bq = queue(r, b, 'render');
    const bind = queue(r, b, 'bind');
    const f0 = submit(r, q0, 100 * MS);
    const f1 = submit(r, q1, 100 * MS);
    const ok = submit(r, bq, 100 * MS);
    r.k.run_for(10 * MS);
    r.dev.inject_fault({ kind: 'fw_error', queue: q0 });
    r.k.run_for(5 * MS);
    expect(r.dev.ptdev.resets).toBe(1);
    expect(outcome(f0)).toBe(-EINVAL); // the fatal queue
    expect(outcome(f1)).toBe(-ECANCELED); // its sibling queue
    const after = submit(r, bind, 10_000);
    r.k.run_for(200 * MS);
    expect(outcome(ok)).toBe(0); // suspended, reset, resumed: no resubmission, progress kept
    expect(done_at(ok)).toBeLessThan(110 * MS);
    expect(outcome(after)).toBe(0);
    expect(group_can_run((bq as unknown as { group: Parameters<typeof group_can_run>[0] }).group)).toBe(true);
    expect(teardown(r, [a, b])).toBe(0);
    expect(violations(r)).toEqual([]);
  });

  it('engine_reset (a recoverable CS_FATAL): the group is fatal, no GPU reset; device_reset alone loses no job', () => {
    const r = rig(backend);
    const a = r.dev.open_client('a');
    const q0 = queue(r, a, 'render');
    const q1 = queue(r, a, 'compute');
    const f0 = submit(r, q0, 100 * MS);
    const f1 = submit(r, q1, 100 * MS);
    r.k.run_for(10 * MS);
    r.dev.inject_fault({ kind: 'engine_reset', queue: q1 });
    r.k.run_for(5 * MS);
    expect([f0, f1].map(outcome)).toEqual([-ECANCELED, -EINVAL]);
    expect(r.dev.ptdev.resets).toBe(0);
    const b = r.dev.open_client('b');
    const bq = queue(r, b);
    const jobs = [submit(r, bq, 30 * MS), submit(r, bq, 30 * MS)];
    r.k.run_for(10 * MS);
    r.dev.inject_fault({ kind: 'device_reset' });
    r.k.run_for(100 * MS);
    expect(r.dev.ptdev.resets).toBe(1);
    expect(jobs.map(outcome)).toEqual([0, 0]);
    expect(teardown(r, [a, b])).toBe(0);
    expect(violations(r)).toEqual([]);
  });

  it('manual jobs complete only through complete_manual; same seed, same trace', () => {
    const digests: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = rig(backend, {}, 'hash');
      const c = r.dev.open_client('app');
      const q = queue(r, c);
      const m = submit(r, q, 'manual');
      const after = submit(r, q, 1 * MS);
      r.k.run_for(100 * MS);
      expect([m, after].map(outcome)).toEqual(['pending', 'pending']);
      r.dev.complete_manual(m);
      r.k.run_for(10 * MS);
      expect([m, after].map(outcome)).toEqual([0, 0]);
      expect(teardown(r, [c])).toBe(0);
      digests.push(String(r.k.trace.digest()));
    }
    expect(digests[0]).toBe(digests[1]);
  });
});

/** The scheduler object behind a queue: its own timeout, in jiffies. */
function scheduler_timeout(backend: Backend, q: QueueHandle): number {
  const sched = panthor_queue_of(q).sched;
  return backend === 'sched' ? (sched as panthor_queue_sched).scheduler.timeout : drm_dep_queue_timeout(sched as panthor_queue_dep);
}

/** The job scheduler's timeout tracepoint (one per timedout_job call). */
const TDR_EVENT = { sched: 'drm_sched_job_timedout', dep: 'drm_dep_job_timedout', 'dep-hw': 'drm_dep_job_timedout' } satisfies Record<Backend, string>;

describe.each(['sched', 'dep'] as Backend[])('panthor queue timeout (v7.0, per queue, driver-owned) on %s', (backend) => {
  it('the job scheduler never times a job itself: the queue timeout work finds the hang and reports it (drm_sched_fault / drm_dep_queue_trigger_timeout)', () => {
    const r = rig(backend, {}, 'record');
    const c = r.dev.open_client('app');
    const q = queue(r, c);
    expect(scheduler_timeout(backend, q)).toBe(MAX_SCHEDULE_TIMEOUT);
    const a = submit(r, q, 1 * MS);
    const hung = submit(r, q, 1 * MS, [], true);
    r.k.run_for(6 * S);
    expect([a, hung].map(outcome)).toEqual([0, -ETIMEDOUT]);
    // One expiry, 5 s after the queue's last progress (a's completion restarted the timer),
    // on a jiffy boundary; the work runs on panthor-reset-wq.
    const fired = trace_times(r, 'panthor_queue_timeout');
    expect(fired).toHaveLength(1);
    expect(fired[0] - done_at(a)).toBeGreaterThan(4.999 * S);
    expect(fired[0] - done_at(a)).toBeLessThan(5.001 * S);
    const runs = r.k.trace.events.filter((e) => e.name === 'workqueue_execute_start' && e.args.work === '&(&queue->timeout.work)->work');
    expect(runs.map((e) => e.args.workqueue)).toEqual(['panthor-reset-wq']);
    // The scheduler's timeout handler runs once, right after (the fault queues it at once).
    const tdr = trace_times(r, TDR_EVENT[backend]);
    expect(tdr).toHaveLength(1);
    expect(tdr[0] - fired[0]).toBeGreaterThanOrEqual(0);
    expect(tdr[0] - fired[0]).toBeLessThan(100_000);
    expect(trace_times(r, 'panthor_job_timeout')).toHaveLength(1);
    expect(teardown(r, [c])).toBe(0);
    expect(violations(r)).toEqual([]);
  });

  it('a group that never gets a CSG slot never times out, however many jobs it has queued', () => {
    const res = starved_group(backend, 3);
    // Still waiting at 6 s: the timer was never armed, its time left is a full period.
    expect(res.at_6s).toEqual({ low: ['pending', 'pending', 'pending'], timer_pending: false, remaining: res.jiffies.msecs_to_jiffies(5000) });
    expect([...res.high, ...res.low]).toEqual([...res.high, ...res.low].map(() => 0));
    expect([res.leaks, res.violations]).toEqual([0, []]);
  });

  it('time off the CSG slot does not count: a hang in a rotating group is found after 5 s of residency, once', () => {
    const res = rotating_hang(backend);
    expect(res.busy).toBe(0);
    // ~2 s resident while rotating with b, then 3 s alone: killed at ~7 s, not at 5 s.
    expect(res.killed_at).toBeGreaterThan(6.9 * S);
    expect(res.killed_at).toBeLessThan(7.2 * S);
    expect(res.late).toBe(-EINVAL);
    // The timer expired once, and the scheduler's handler ran once: no NO_HANG round trips.
    expect([res.queue_timeouts, res.tdr_calls]).toEqual([1, 1]);
    expect([res.leaks, res.violations]).toEqual([0, []]);
  });

  it('jobs arriving behind a hung job do not postpone its detection', () => {
    const res = hang_behind_stream(backend);
    // Found 5 s after the hung job started: the four jobs accepted before share its fate, the
    // five submitted after the group died are refused.
    expect(res.killed_at).toBeGreaterThan(5 * S);
    expect(res.killed_at).toBeLessThan(5.01 * S);
    expect(res.later).toEqual([-ETIMEDOUT, -ETIMEDOUT, -ETIMEDOUT, -ETIMEDOUT]);
    expect(res.refused).toEqual([-EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL]);
    expect([res.leaks, res.violations]).toEqual([0, []]);
  });

  it('progress restarts the timeout; an emptied queue starts its next job from a full period', () => {
    const r = rig(backend);
    const c = r.dev.open_client('app');
    const q = queue(r, c);
    const stream = Array.from({ length: 7 }, () => submit(r, q, 1 * S)); // 7 s, no job over 5 s
    r.k.run_for(9 * S);
    expect(stream.map(outcome)).toEqual(stream.map(() => 0));
    // Idle for 2 s: the timer was cancelled when the queue ran dry, not left running.
    expect(delayed_work_pending(panthor_queue_of(q).timeout.work)).toBe(false);
    const t0 = r.k.now();
    const hung = submit(r, q, 1 * MS, [], true);
    r.k.run_for(6 * S);
    expect(outcome(hung)).toBe(-ETIMEDOUT);
    expect(done_at(hung) - t0).toBeGreaterThan(5 * S);
    expect(done_at(hung) - t0).toBeLessThan(5.01 * S);
    expect(teardown(r, [c])).toBe(0);
    expect(violations(r)).toEqual([]);
  });

  it('model clock skew: a reset whose body runs before a long tick body armed a timer "later" leaves no time-left WARN', () => {
    // 2 ms per FW acknowledgement: the tick that starts b's group at 20 ms arms its queue timer
    // at ~24 ms on its own clock; the reset injected at 20.5 ms runs after that body but
    // suspends the timer at ~22.5 ms on its clock. Jiffies read there never go back before the
    // arming (csf.ts queue_suspend_timeout_locked), as in the kernel.
    const r = rig(backend, { csg_slots: 1 }, 'off', { 'panthor.fw_ack_ns': 2 * MS });
    const a = r.dev.open_client('a');
    const b = r.dev.open_client('b');
    const ja = submit(r, queue(r, a), 1 * S);
    r.k.run_for(20 * MS);
    const jb = submit(r, queue(r, b), 1 * S);
    r.k.run_for(0.5 * MS);
    r.dev.inject_fault({ kind: 'device_reset' });
    r.k.run_for(3 * S);
    expect([ja, jb].map(outcome)).toEqual([0, 0]);
    expect(r.dev.ptdev.resets).toBe(1);
    expect(teardown(r, [a, b])).toBe(0);
    expect(violations(r)).toEqual([]);
  });

  it('a GPU reset suspends the queue timeout and keeps the time left (the reset does not restart it)', () => {
    const r = rig(backend);
    const c = r.dev.open_client('app');
    const q = queue(r, c);
    const hung = submit(r, q, 1 * MS, [], true);
    r.k.run_for(2 * S);
    r.dev.inject_fault({ kind: 'device_reset' });
    r.k.run_for(10 * MS);
    expect(r.dev.ptdev.resets).toBe(1);
    expect(outcome(hung)).toBe('pending');
    r.k.run_for(4 * S);
    // 5 s of the group on its slot: ~2 s before the reset, ~3 s after it (the few ms of the
    // reset itself do not count).
    expect(outcome(hung)).toBe(-ETIMEDOUT);
    expect(done_at(hung)).toBeGreaterThan(5 * S);
    expect(done_at(hung)).toBeLessThan(5.02 * S);
    expect(teardown(r, [c])).toBe(0);
    expect(violations(r)).toEqual([]);
  });
});
