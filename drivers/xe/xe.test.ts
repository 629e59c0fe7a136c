/**
 * The xe model on each binding, through the harness Device interface: normal flow, a
 * dependency chain across queues, credit back-pressure, a hung job, an engine reset, Ctrl-C,
 * device unplug, VM bind with its TLB invalidation, and the xe mechanisms (the in-band message
 * channel, SUSPEND/RESUME of a long-running queue, the GT reset after a kernel-queue hang).
 * Where the bindings differ on purpose the test asserts each side and names the README entry
 * (README "Differences between the bindings", anchors #d1..).
 */
import { describe, expect, it } from 'vitest';
import { EIO, dma_fence_set_error, dma_fence_signal, type Sleepable } from '@deplab/sim';
import { XE_RING_JOB_LIMIT } from './hw.ts';
import { XE_EXEC_QUEUE_PRIORITY_HIGH } from './xe_device.ts';
import type { xe_exec_queue } from './xe_guc_submit.ts';
import {
  BACKENDS, MS, US, events, fw_actions, guc_id, outcome, outcomes, queue, setup, submit, submit_many, sw_fence, teardown,
} from './xe.testlib.ts';

const KERNEL_TIMEOUT = { kind: 'warn' as const, message: 'Kernel-submitted job timed out' };
const VM_TIMEOUT = { kind: 'warn' as const, message: 'VM job timed out on non-killed execqueue' };

for (const backend of BACKENDS) {
  describe(`xe on ${backend === 'sched' ? 'drm_sched' : 'drm_dep'}`, () => {
    it('normal flow: every job completes in order, back to back; one REGISTER, one ENABLE, then doorbells', () => {
      const s = setup(backend);
      const { k, dev } = s;
      const c = dev.open_client('a');
      const qs = [queue(dev, c, { engine: 'render' }), queue(dev, c, { engine: 'copy' }), queue(dev, c, { engine: 'compute' })];
      const jobs = qs.map((q) => submit_many(k, dev, q, [0, 1, 2, 3, 4].map(() => ({ duration_ns: MS }))));
      k.run_for(20 * MS);
      for (const [i, list] of jobs.entries()) {
        expect(outcomes(list)).toEqual(['0', '0', '0', '0', '0']);
        const t = list.map((j) => j.out_fence.timestamp_ns);
        // First job: run_job, then REGISTER, POLICIES, ENABLE each one firmware latency apart
        // (the GuC processes the three queues' commands one after the other).
        expect(t[0]).toBeGreaterThan(MS + 30 * US);
        expect(t[0]).toBeLessThan(MS + 250 * US);
        for (let n = 1; n < 5; n++) expect(t[n] - t[n - 1]).toBe(MS);
        expect(fw_actions(dev, guc_id(dev, qs[i]))).toEqual([
          'REGISTER_CONTEXT', 'UPDATE_CONTEXT_POLICIES', 'SCHED_CONTEXT_MODE_SET',
          'SCHED_CONTEXT', 'SCHED_CONTEXT', 'SCHED_CONTEXT', 'SCHED_CONTEXT',
        ]);
        expect(dev.queue_state(qs[i])).toMatchObject({ alive: true, banned: false, jobs_in_flight: 0 });
      }
      teardown(s, [c]);
    });

    it('dependency chain across queues and on an external fence: each job starts only after its in-fence', () => {
      const s = setup(backend);
      const { k, dev } = s;
      const c = dev.open_client('a');
      const [qa, qb, qc, qd] = [queue(dev, c, { engine: 'render' }), queue(dev, c, { engine: 'copy' }),
        queue(dev, c, { engine: 'video' }), queue(dev, c, { engine: 'compute' })];
      const f = sw_fence(k);
      const a1 = submit(k, dev, qa, { duration_ns: 2 * MS });
      const b1 = submit(k, dev, qb, { duration_ns: MS, deps: [a1.out_fence] });
      const c1 = submit(k, dev, qc, { duration_ns: MS, deps: [b1.out_fence] });
      const d1 = submit(k, dev, qd, { duration_ns: 500 * US, deps: [f] });
      k.run_for(10 * MS);
      expect(outcome(d1)).toBe('pending');
      dma_fence_signal(f);
      k.run_for(10 * MS);
      expect(outcomes([a1, b1, c1, d1])).toEqual(['0', '0', '0', '0']);
      const t = (j: typeof a1) => j.out_fence.timestamp_ns;
      for (const [before, after] of [[a1, b1], [b1, c1]]) {
        expect(t(after) - t(before)).toBeGreaterThanOrEqual(MS);
        expect(t(after) - t(before)).toBeLessThan(MS + 100 * US);
      }
      // The dependent queues' contexts reach the firmware only after their in-fence signalled.
      for (const [q, dep] of [[qb, a1], [qc, b1]] as const) {
        const first = dev.xe.hw.log.find((e) => e.guc_id === guc_id(dev, q))!;
        expect(first.t_ns).toBeGreaterThan(t(dep));
      }
      expect(t(d1)).toBeGreaterThanOrEqual(10 * MS + 500 * US);
      teardown(s, [c], [], [f]);
    });

    it(`credit back-pressure: at most ${XE_RING_JOB_LIMIT} jobs in the ring; the next is emitted when one completes`, () => {
      const s = setup(backend);
      const { k, dev } = s;
      const c = dev.open_client('a');
      const q = queue(dev, c);
      const jobs = submit_many(k, dev, q, Array.from({ length: 60 }, () => ({ duration_ns: MS })));
      const lrc = dev.exec_queue(q)!.lrc;
      k.run_for(500 * US);
      expect(lrc.tail).toBe(XE_RING_JOB_LIMIT);
      k.run_for(MS);
      expect(jobs[0].out_fence.signaled).toBe(true);
      expect(lrc.tail).toBe(XE_RING_JOB_LIMIT + 1);
      k.run_for(100 * MS);
      expect(outcomes(jobs).every((o) => o === '0')).toBe(true);
      // The ring never ran dry: the 56th job follows the 55th back to back.
      expect(jobs[55].out_fence.timestamp_ns - jobs[54].out_fence.timestamp_ns).toBe(MS);
      teardown(s, [c]);
    });

    it('hung job: TDR after job_timeout_ms, queue banned and kicked off the GuC; -ETIME for it, -ECANCELED for the rest', () => {
      const s = setup(backend, { job_timeout_ms: 100 });
      const { k, dev } = s;
      const c = dev.open_client('a');
      const q = queue(dev, c);
      const other = queue(dev, c, { engine: 'copy' });
      const jobs = submit_many(k, dev, q, [{ duration_ns: MS }, { duration_ns: MS, hang: true }, { duration_ns: MS }, { duration_ns: MS }]);
      const o = submit(k, dev, other, { duration_ns: 50 * MS });
      k.run_for(300 * MS);
      expect(outcomes(jobs)).toEqual(['0', '-ETIME', '-ECANCELED', '-ECANCELED']);
      expect(outcome(o)).toBe('0');
      // The hung job became the oldest when job 0 finished; one timeout later (on a jiffy
      // boundary) the TDR fired, disabled scheduling (one firmware round trip), errored the fences.
      const hung_at = jobs[0].out_fence.timestamp_ns;
      expect(jobs[1].out_fence.timestamp_ns - hung_at).toBeGreaterThanOrEqual(99 * MS);
      expect(jobs[1].out_fence.timestamp_ns - hung_at).toBeLessThan(101 * MS);
      expect(events(k, 'xe_sched_job_timedout').map((e) => e.args.queue)).toEqual([dev.exec_queue(q)!.name]);
      // 7.0 disables with immediate = skip_timeout_check: a real timeout does not shorten the
      // preempt timeout first, so DISABLE follows the last doorbell.
      expect(fw_actions(dev, guc_id(dev, q)).slice(-2)).toEqual(['SCHED_CONTEXT', 'SCHED_CONTEXT_MODE_SET']);
      expect(dev.xe.hw.log.at(-1)!.arg).toBe(0); // DISABLE
      expect(dev.queue_state(q)).toMatchObject({ alive: true, banned: true, jobs_in_flight: 0 });
      expect(k.run_task(dev.submit(q, { duration_ns: MS, deps: [] }))).toBe(-125); // -ECANCELED at the ioctl
      teardown(s, [c]);
    });

    it('engine reset and memory CAT error notifications (G2H): the queue is banned, -EIO for the running job', () => {
      const s = setup(backend);
      const { k, dev } = s;
      const c = dev.open_client('a');
      const q1 = queue(dev, c);
      const q2 = queue(dev, c, { engine: 'compute' });
      const idle = queue(dev, c, { engine: 'copy' });
      const j1 = submit_many(k, dev, q1, [{ duration_ns: 50 * MS }, { duration_ns: MS }]);
      const j2 = submit_many(k, dev, q2, [{ duration_ns: 50 * MS }, { duration_ns: MS }]);
      k.run_for(5 * MS);
      dev.inject_fault({ kind: 'engine_reset', queue: q1 });
      dev.inject_fault({ kind: 'fw_error', queue: q2 });
      dev.inject_fault({ kind: 'engine_reset', queue: idle }); // never registered: the GuC has nothing to reset
      k.run_for(10 * MS);
      expect(outcomes(j1)).toEqual(['-EIO', '-ECANCELED']);
      expect(outcomes(j2)).toEqual(['-EIO', '-ECANCELED']);
      // The TDR skipped the timeout check (RESET), so its DISABLE is immediate: min preempt timeout first.
      expect(fw_actions(dev, guc_id(dev, q1)).slice(-2)).toEqual(['UPDATE_CONTEXT_POLICIES', 'SCHED_CONTEXT_MODE_SET']);
      expect(j1[0].out_fence.timestamp_ns).toBeLessThan(6 * MS);
      expect(dev.queue_state(q1).banned).toBe(true);
      expect(dev.queue_state(idle).banned).toBe(false);
      expect(events(k, 'xe_fault_ignored').length).toBe(1);
      teardown(s, [c]);
    });

    it('Ctrl-C with jobs in flight: close returns at once, every job completes with an error, nothing leaks', () => {
      const s = setup(backend, { job_timeout_ms: 100 });
      const { k, dev } = s;
      const c = dev.open_client('a');
      const q1 = queue(dev, c);
      const q2 = queue(dev, c, { engine: 'copy' });
      const f = sw_fence(k);
      const j1 = submit_many(k, dev, q1, [
        { duration_ns: 50 * MS }, { duration_ns: 50 * MS }, { duration_ns: 50 * MS },
        { duration_ns: MS, deps: [f] }, { duration_ns: MS }, { duration_ns: MS },
      ]);
      const j2 = submit_many(k, dev, q2, [{ duration_ns: 20 * MS }, { duration_ns: 20 * MS }]);
      k.run_for(10 * MS);
      const t0 = k.now();
      k.run_task(dev.close_client(c));
      expect(k.now() - t0).toBe(0); // kill + put: destruction is asynchronous on both bindings
      k.run_for(5 * MS);
      expect(outcomes(j1.slice(0, 3))).toEqual(['-ETIME', '-ECANCELED', '-ECANCELED']);
      expect(outcomes(j1.slice(3))).toEqual(['pending', 'pending', 'pending']); // waiting for their in-fence
      expect(outcomes(j2)).toEqual(['-ETIME', '-ECANCELED']);
      expect(dev.xe.exec_queues).toBe(1); // q2 is gone, q1 is pinned by its waiting jobs
      dma_fence_signal(f);
      const t1 = k.now();
      k.run_until(() => dev.xe.exec_queues === 0, k.now() + MS);
      expect(dev.xe.exec_queues).toBe(0);
      expect(k.now() - t1).toBeLessThan(200 * US);
      // #d1: the job that waited for its in-fence at kill time. drm_sched runs it on the dead
      // queue and the immediate TDR errors it first (-ETIME); drm_dep's kill cancels it.
      expect(outcomes(j1.slice(3))).toEqual(backend === 'sched' ? ['-ETIME', '-ECANCELED', '-ECANCELED'] : ['-ECANCELED', '-ECANCELED', '-ECANCELED']);
      teardown(s, [], [], [f]);
    });

    it('device unplug with clients open and jobs in flight: queues killed and destroyed before remove() returns', () => {
      const s = setup(backend);
      const { k, dev } = s;
      const a = dev.open_client('a');
      const b = dev.open_client('b');
      const qa = queue(dev, a);
      const qb = queue(dev, b, { engine: 'bind' });
      const ja = submit_many(k, dev, qa, [{ duration_ns: 100 * MS }, { duration_ns: MS }]);
      const jb = submit(k, dev, qb, { duration_ns: 200 * US });
      k.run_for(2 * MS);
      expect(outcome(jb)).toBe('0');
      const t0 = k.now();
      k.run_task(dev.unplug());
      const unplug_ns = k.now() - t0;
      expect(dev.xe.exec_queues).toBe(0);
      expect(outcomes(ja)).toEqual(['-ETIME', '-ECANCELED']);
      expect(unplug_ns).toBeGreaterThan(0);
      expect(unplug_ns).toBeLessThan(MS);
      expect(k.run_task(dev.submit(qa, { duration_ns: MS, deps: [] }))).toBe(-19); // -ENODEV
      expect(dev.create_queue(a, { engine: 'render', priority: 'normal' })).toBe(-19);
      teardown(s, []);
    });

    it('VM bind: the TLB-invalidation job waits for the bind job; the out-fence covers both', () => {
      const s = setup(backend);
      const { k, dev } = s;
      const c = dev.open_client('a');
      const bq = queue(dev, c, { engine: 'bind' });
      const binds = submit_many(k, dev, bq, Array.from({ length: 20 }, () => ({ duration_ns: 200 * US })));
      // Each TLB job holds the stub and the bind fence: two contexts, so an xarray node on both
      // bindings (README X12), the same count on each.
      expect(k.lifetime.live(['kmalloc:xa_node']).length).toBe(20);
      k.run_for(10 * MS);
      expect(outcomes(binds).every((o) => o === '0')).toBe(true);
      const tlb = dev.xe.hw.log.filter((e) => e.action === 6 /* TLB_INVALIDATION */);
      expect(tlb.length).toBe(20);
      // Each invalidation is sent after its bind job ended; the out-fence after the invalidation.
      const first_bind_end = k.trace.events.find((e) => e.name === 'dma_fence_signaled' && e.args.context === binds[0].fence_context)!.t_ns;
      expect(tlb[0].t_ns).toBeGreaterThan(first_bind_end);
      expect(binds[0].out_fence.timestamp_ns).toBeGreaterThan(tlb[0].t_ns);
      expect(binds[0].out_fence.context).not.toBe(binds[0].fence_context); // a composite fence on the VM's context
      teardown(s, [c]);
    });

    it('long-running queue: no TDR however long a job runs', () => {
      const s = setup(backend, { job_timeout_ms: 100 });
      const { k, dev } = s;
      const c = dev.open_client('a');
      const q = queue(dev, c, { engine: 'compute', long_running: true });
      const j = submit(k, dev, q, { duration_ns: 6_000 * MS });
      k.run_for(6_100 * MS);
      expect(outcome(j)).toBe('0');
      expect(events(k, 'xe_sched_job_timedout').length).toBe(0);
      teardown(s, [c]);
    });

    describe('in-band messages', () => {
      it('SET_SCHED_PROPS from set_priority runs on the submit workqueue, serialised with run_job', () => {
        const s = setup(backend);
        const { k, dev } = s;
        const c = dev.open_client('a');
        const q = queue(dev, c);
        const jobs = k.run_task((function* (): Sleepable<unknown[]> {
          const j1 = yield* dev.submit(q, { duration_ns: MS, deps: [] });
          expect(dev.set_priority(q, 'high')).toBe(0);
          expect(dev.set_priority(q, 'high')).toBe(0); // unchanged: no second message
          const j2 = yield* dev.submit(q, { duration_ns: MS, deps: [] });
          return [j1, j2];
        })());
        k.run_for(5 * MS);
        const name = dev.exec_queue(q)!.name;
        const seen = k.trace.events.filter((e) => (e.name === 'xe_sched_job_run' || e.name === 'xe_sched_msg_recv') && e.args.queue === name);
        const order = seen.map((e) => (e.name === 'xe_sched_job_run' ? `run${e.args.seqno}` : `msg:${e.args.opcode}`));
        // Both run on the queue's one ordered submit workqueue, one after the other.
        expect(new Set(seen.map((e) => e.context))).toEqual(new Set([`kworker/${name}/0`]));
        // #d2: drm_sched's run-job work handles one job per invocation, so the message queued
        // between the two pushes runs between them; drm_dep's submit worker drains every ready
        // job first.
        expect(order).toEqual(backend === 'sched' ? ['run1', 'msg:SET_SCHED_PROPS', 'run2'] : ['run1', 'run2', 'msg:SET_SCHED_PROPS']);
        const fw = fw_actions(dev, guc_id(dev, q));
        expect(fw).toEqual(backend === 'sched'
          ? ['REGISTER_CONTEXT', 'UPDATE_CONTEXT_POLICIES', 'SCHED_CONTEXT_MODE_SET', 'UPDATE_CONTEXT_POLICIES', 'SCHED_CONTEXT']
          : ['REGISTER_CONTEXT', 'UPDATE_CONTEXT_POLICIES', 'SCHED_CONTEXT_MODE_SET', 'SCHED_CONTEXT', 'UPDATE_CONTEXT_POLICIES']);
        expect(dev.xe.hw.contexts.get(guc_id(dev, q))!.priority).toBe(XE_EXEC_QUEUE_PRIORITY_HIGH);
        expect(outcomes(jobs as never)).toEqual(['0', '0']);
        teardown(s, [c]); // the kmalloc'ed message was freed (leak check)
      });

      it('SUSPEND/RESUME of a long-running queue through its preempt fence (min_run_period, GuC disable/enable)', () => {
        const s = setup(backend);
        const { k, dev } = s;
        const c = dev.open_client('a');
        const q = queue(dev, c, { engine: 'compute', long_running: true });
        const jobs = submit_many(k, dev, q, [0, 1, 2].map(() => ({ duration_ns: 20 * MS })));
        k.run_for(5 * MS);
        let err = 1;
        const t0 = k.now();
        let t1 = 0;
        k.run_task((function* (): Sleepable {
          err = yield* dev.preempt(q);
          t1 = k.now();
        })());
        expect(err).toBe(0);
        // The enable ack came ~50 µs after the first submit; the suspend waits until 10 ms after it.
        expect(t1 - t0).toBeGreaterThan(5 * MS);
        expect(t1).toBeGreaterThan(10 * MS);
        k.run_for(100 * MS);
        expect(outcomes(jobs)).toEqual(['0', '0', '0']);
        const id = guc_id(dev, q);
        const modes = dev.xe.hw.log.filter((e) => e.guc_id === id && e.action === 4 /* MODE_SET */);
        expect(modes.map((e) => e.arg)).toEqual([1, 0, 1]);
        const off_ns = modes[2].t_ns - modes[1].t_ns;
        // The job running at the suspend kept its progress: it ends late by the time it was off.
        expect(jobs[0].out_fence.timestamp_ns - (modes[0].t_ns + 20 * MS)).toBeGreaterThanOrEqual(off_ns);
        expect(jobs[0].out_fence.timestamp_ns - (modes[0].t_ns + 20 * MS)).toBeLessThan(off_ns + 50 * US);
        const name = dev.exec_queue(q)!.name;
        const msgs = events(k, 'xe_sched_msg_recv').filter((e) => e.args.queue === name).map((e) => e.args.opcode);
        expect(msgs).toEqual(['SUSPEND', 'RESUME']);
        expect(dev.queue_state(q).detail.suspended).toBe(false);
        teardown(s, [c]);
      });
    });

    it('finding F8: a preempt during a GT reset resumes while its SUSPEND is still queued (xe asserts fire)', () => {
      const s = setup(backend, { min_run_period_ms: 0 });
      const { k, dev } = s;
      const c = dev.open_client('a');
      const q = queue(dev, c, { engine: 'compute', long_running: true });
      submit(k, dev, q, { duration_ns: MS });
      k.run_for(5 * MS); // registered, idle
      dev.inject_fault({ kind: 'device_reset' });
      k.run_for(MS); // the reset worker is in the hardware reset
      const j = submit(k, dev, q, { duration_ns: MS }); // queued: submission is stopped
      // suspend_wait returns at once because the GuC is stopped; the rebind worker then resumes
      // with the SUSPEND message still queued (guc_exec_queue_resume's assert); after the
      // restart SUSPEND and RESUME run back to back and RESUME finds the DISABLE still pending.
      expect(k.run_task(dev.preempt(q))).toBe(0);
      k.run_for(100 * MS);
      expect(outcome(j)).toBe('0');
      teardown(s, [c], [
        { kind: 'warn', message: 'resume with a suspend pending' },
        { kind: 'warn', message: 'bad state' },
        { kind: 'warn', message: 'not suspended' },
      ]);
    });

    describe('GT reset', () => {
      it('a kernel-queue hang: v7.0 bans the queue before the GT reset, so the reset does not resubmit it; the job fails at the third timeout', () => {
        const s = setup(backend, { job_timeout_ms: 100 });
        const { k, dev } = s;
        const c = dev.open_client('a');
        const kq = queue(dev, c, { engine: 'copy', driver: { kernel: true } });
        const busy = queue(dev, c, { engine: 'render' });
        const idle = queue(dev, c, { engine: 'video' });
        const kj = submit_many(k, dev, kq, [{ duration_ns: MS, hang: true }, { duration_ns: MS }]);
        const bj = submit_many(k, dev, busy, [{ duration_ns: 500 * MS }, { duration_ns: MS }]);
        const ij = submit(k, dev, idle, { duration_ns: MS });
        k.run_for(600 * MS);
        // Two timeouts under the karma limit: a GT reset each (bb63e7257e63 bans first, the
        // reset's restart skips banned queues); the third errors the jobs.
        const resets = events(k, 'xe_gt_reset');
        expect(resets.map((e) => e.args.phase)).toEqual(['start', 'done', 'start', 'done']);
        expect(resets[0].t_ns).toBeGreaterThanOrEqual(100 * MS);
        expect(outcomes(kj)).toEqual(['-ETIME', '-ECANCELED']);
        expect(kj[0].out_fence.timestamp_ns).toBeGreaterThan(resets[3].t_ns + 99 * MS);
        const name = dev.exec_queue(kq)!.name;
        expect(events(k, 'xe_exec_queue_resubmit').filter((e) => e.args.queue === name)).toEqual([]);
        expect(events(k, 'xe_sched_job_timedout').filter((e) => e.args.queue === name).length).toBe(3);
        // The busy user queue had a started job at the first reset: banned. The idle one lives on.
        expect(outcomes(bj)).toEqual(['-ETIME', '-ECANCELED']);
        expect(outcome(ij)).toBe('0');
        expect(dev.queue_state(kq).banned).toBe(true);
        expect(dev.queue_state(busy).banned).toBe(true);
        expect(dev.queue_state(idle).banned).toBe(false);
        const after = submit(k, dev, idle, { duration_ns: MS });
        k.run_for(10 * MS);
        expect(outcome(after)).toBe('0');
        // The idle context was registered again with the reset GuC.
        expect(fw_actions(dev, guc_id(dev, idle)).filter((a) => a === 'REGISTER_CONTEXT').length).toBe(2);
        teardown(s, [c], [KERNEL_TIMEOUT]);
      });

      it('a VM-bind job that times out resets the GT too, but its banned queue is not resubmitted: the binds fail', () => {
        const s = setup(backend, { job_timeout_ms: 100 });
        const { k, dev } = s;
        const c = dev.open_client('a');
        const bq = queue(dev, c, { engine: 'bind' });
        const b = submit_many(k, dev, bq, [{ duration_ns: 100 * US, hang: true }, { duration_ns: 100 * US }]);
        k.run_for(600 * MS);
        expect(events(k, 'xe_gt_reset').filter((e) => e.args.phase === 'done').length).toBe(2);
        expect(outcomes(b)).toEqual(['-ETIME', '-ECANCELED']);
        teardown(s, [c], [VM_TIMEOUT]);
      });

      it(`#d9 an engine reset on a VM-bind queue: its later timeouts come ${backend === 'sched' ? 'at once (the timeout stayed 0)' : 'a full timeout apart (one-shot trigger)'}`, () => {
        const s = setup(backend, { job_timeout_ms: 100 });
        const { k, dev } = s;
        const c = dev.open_client('a');
        const bq = queue(dev, c, { engine: 'bind' });
        const b = submit_many(k, dev, bq, [{ duration_ns: 50 * MS }, { duration_ns: 100 * US }]);
        k.run_for(MS);
        const fault_ns = k.now();
        dev.inject_fault({ kind: 'engine_reset', queue: bq });
        k.run_for(600 * MS);
        // The G2H handler's immediate TDR bans the queue and resets the GT; the restart skips the
        // banned queue; the next TDR resets again, the third errors the jobs.
        expect(events(k, 'xe_gt_reset').filter((e) => e.args.phase === 'done').length).toBe(2);
        expect(outcomes(b)).toEqual(['-ETIME', '-ECANCELED']);
        const failed_after_ms = (b[0].out_fence.timestamp_ns - fault_ns) / MS;
        if (backend === 'sched') expect(failed_after_ms).toBeLessThan(100); // two GT resets (20 ms each) and TDR runs
        else expect(failed_after_ms).toBeGreaterThan(200); // two more job timeouts (100 ms each) on top
        teardown(s, [c], [VM_TIMEOUT]);
      });

      it('device_reset with a kernel job in flight: the live queue rewinds its ring and runs its unsignalled jobs again', () => {
        const s = setup(backend);
        const { k, dev } = s;
        const c = dev.open_client('a');
        const kq = queue(dev, c, { engine: 'copy', driver: { kernel: true } });
        const kj = submit_many(k, dev, kq, [{ duration_ns: MS }, { duration_ns: 'manual' }, { duration_ns: MS }]);
        k.run_for(5 * MS); // job 1 done and freed, job 2 running, job 3 behind it
        expect(outcomes(kj)).toEqual(['0', 'pending', 'pending']);
        dev.inject_fault({ kind: 'device_reset' });
        k.run_for(50 * MS);
        const name = dev.exec_queue(kq)!.name;
        const runs = (seqno: number) => events(k, 'xe_sched_job_run').filter((e) => e.args.queue === name && e.args.seqno === seqno).length;
        expect([runs(1), runs(2), runs(3)]).toEqual([1, 2, 2]);
        expect(fw_actions(dev, guc_id(dev, kq)).filter((a) => a === 'REGISTER_CONTEXT').length).toBe(2);
        const lrc = dev.exec_queue(kq)!.lrc;
        expect([lrc.head, lrc.tail]).toEqual([1, 3]); // rewound to job 2's slot, jobs 2 and 3 written again
        dev.complete_manual(kj[1]);
        k.run_for(10 * MS);
        expect(outcomes(kj)).toEqual(['0', '0', '0']);
        expect(dev.queue_state(kq).banned).toBe(false);
        teardown(s, [c]);
      });

      it('a job that carries an error when the GT restarts is not run again (run_job\'s check; drm_sched also skips it as signalled)', () => {
        const s = setup(backend);
        const { k, dev } = s;
        const c = dev.open_client('a');
        const kq = queue(dev, c, { engine: 'copy', driver: { kernel: true } });
        const kj = submit_many(k, dev, kq, [{ duration_ns: 'manual' }, { duration_ns: MS }]);
        k.run_for(MS);
        dev.inject_fault({ kind: 'device_reset' });
        k.run_for(5 * MS); // the reset worker sleeps in the hardware reset, submission is stopped
        const xq = dev.exec_queue(kq) as xe_exec_queue;
        const [, j2] = xq.guc!.sched.pending_jobs();
        // The state the driver is in between xe_sched_job_set_error and the fence irq_work.
        dma_fence_set_error(j2.fence!, -EIO);
        k.run_for(50 * MS);
        expect([xq.lrc.head, xq.lrc.tail]).toEqual([0, 1]); // only job 1 written again
        dev.complete_manual(kj[0]);
        k.run_for(10 * MS);
        expect(outcomes(kj)).toEqual(['0', '-EIO']);
        teardown(s, [c]);
      });

      it('device_reset fault: a GT reset with nothing hung bans the busy user queue only', () => {
        const s = setup(backend);
        const { k, dev } = s;
        const c = dev.open_client('a');
        const busy = queue(dev, c);
        const done = queue(dev, c, { engine: 'copy' });
        const bj = submit_many(k, dev, busy, [{ duration_ns: 50 * MS }, { duration_ns: MS }]);
        const dj = submit(k, dev, done, { duration_ns: MS });
        k.run_for(5 * MS);
        dev.inject_fault({ kind: 'device_reset' });
        k.run_for(100 * MS);
        expect(outcomes(bj)).toEqual(['-ETIME', '-ECANCELED']);
        expect(outcome(dj)).toBe('0');
        expect(dev.queue_state(done).banned).toBe(false);
        teardown(s, [c]);
      });
    });
  });
}
