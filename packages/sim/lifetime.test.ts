import { describe, expect, it } from 'vitest';
import { Kernel, kref, kref_get, kref_get_unless_zero, kref_init, kref_put, kref_read } from './index.ts';
import { LIFETIME_WINDOW_MIN } from './lifetime.ts';

/** A refcounted model object the way models write one: a kref plus a lifetime-tracker id. */
class Job {
  readonly ref: kref;
  readonly id: number;
  released = 0;
  constructor(readonly k: Kernel, name: string) {
    this.ref = new kref(k, `job ${name}`);
    this.id = k.lifetime.track('job', name);
  }
}

function job_put(job: Job): void {
  if (!job.k.lifetime.use(job.id, 'job_put')) return;
  kref_put(job.ref, () => {
    job.released++;
    job.k.lifetime.free(job.id, 'job_release');
  });
}

describe('kref', () => {
  it('kref_put releases exactly once, at zero', () => {
    const k = new Kernel();
    const r = new kref(k, 'obj');
    let released = 0;
    kref_get(r);
    expect(kref_read(r)).toBe(2);
    expect(kref_put(r, () => { released++; })).toBe(false);
    expect(released).toBe(0);
    expect(kref_put(r, () => { released++; })).toBe(true);
    expect(released).toBe(1);
    expect(k.violations.count()).toBe(0);
  });

  it('a put on a zero count is an underflow and does not release again', () => {
    const k = new Kernel();
    const r = new kref(k, 'obj');
    let released = 0;
    kref_put(r, () => { released++; });
    expect(kref_put(r, () => { released++; })).toBe(false);
    expect(released).toBe(1);
    expect(kref_read(r)).toBe(0);
    const v = k.violations.of_kind('refcount_underflow');
    expect(v).toHaveLength(1);
    expect(v[0].message).toMatch(/kref_put on obj with count 0/);
  });

  it('kref_get on a zero count is a use after free and does not resurrect the object', () => {
    const k = new Kernel();
    const r = new kref(k, 'obj');
    kref_put(r, () => {});
    kref_get(r);
    expect(kref_read(r)).toBe(0);
    expect(k.violations.of_kind('use_after_free')).toHaveLength(1);
  });

  it('kref_get_unless_zero takes a reference only while the object is alive', () => {
    const k = new Kernel();
    const r = new kref(k, 'obj');
    expect(kref_get_unless_zero(r)).toBe(true);
    expect(kref_read(r)).toBe(2);
    kref_put(r, () => {});
    kref_put(r, () => {});
    expect(kref_get_unless_zero(r)).toBe(false);
    expect(kref_read(r)).toBe(0);
    expect(k.violations.count()).toBe(0);
    kref_init(r);
    expect(kref_read(r)).toBe(1);
  });
});

describe('lifetime tracker', () => {
  it('a put after the object was freed is reported as use after free', () => {
    const k = new Kernel();
    const job = new Job(k, 'j1');
    job_put(job);
    expect(job.released).toBe(1);
    job_put(job);
    expect(job.released).toBe(1);
    const v = k.violations.list;
    expect(v.map((x) => x.kind)).toEqual(['use_after_free']);
    expect(v[0].message).toBe(`use of freed job j1 (#${job.id})`);
    expect(v[0].site).toBe('job_put');
  });

  it('a double free is reported once per free, and does not corrupt the counts', () => {
    const k = new Kernel();
    const a = k.lifetime.track('obj', 'a');
    k.lifetime.track('obj', 'b');
    k.lifetime.free(a, 'first');
    k.lifetime.free(a, 'second');
    expect(k.violations.of_kind('double_free').map((v) => v.site)).toEqual(['second']);
    expect(k.lifetime.live_count).toBe(1);
    expect(k.lifetime.live_of_type('obj')).toBe(1);
  });

  it('counts live objects per type, with the peak', () => {
    const k = new Kernel();
    const ids = [0, 1, 2].map((i) => k.lifetime.track('fence', `f${i}`));
    k.lifetime.track('job', 'j');
    k.lifetime.free(ids[0], 'free');
    k.lifetime.free(ids[1], 'free');
    expect(k.lifetime.live_count).toBe(2);
    expect(k.lifetime.live_peak).toBe(4);
    expect(k.lifetime.live_of_type('fence')).toBe(1);
    expect(k.lifetime.live(['job']).map((o) => o.name)).toEqual(['j']);
  });

  it('grows past its initial capacity', () => {
    const k = new Kernel();
    const ids = Array.from({ length: 3000 }, (_, i) => k.lifetime.track('obj', `o${i}`));
    for (const id of ids) if (id % 2 === 0) k.lifetime.free(id, 'free');
    expect(k.lifetime.live_count).toBe(1500);
    expect(k.lifetime.is_live(ids[2999])).toBe(true);
    expect(k.lifetime.is_live(ids[2998])).toBe(false);
  });

  it('check_leaks reports every object still alive after teardown, optionally by type', () => {
    const k = new Kernel();
    k.run_for(500);
    k.lifetime.track('job', 'leaked-job');
    k.lifetime.free(k.lifetime.track('job', 'freed-job'), 'free');
    k.lifetime.track('fence', 'leaked-fence');
    expect(k.lifetime.check_leaks('after fini', ['job'])).toBe(1);
    const v = k.violations.of_kind('leak');
    expect(v).toHaveLength(1);
    expect(v[0].message).toMatch(/^job leaked-job \(#\d+\) still alive after teardown$/);
    expect(v[0].detail).toEqual(['created at 500 ns']);
    expect(v[0].site).toBe('after fini');
    expect(k.lifetime.check_leaks('after fini')).toBe(2);
  });

  it('static objects stay usable, are never leaks, and may not be freed', () => {
    const k = new Kernel();
    const id = k.lifetime.track('stub', 's');
    k.lifetime.mark_static(id);
    expect(k.lifetime.is_live(id)).toBe(true);
    expect(k.lifetime.use(id, 'use')).toBe(true);
    expect(k.lifetime.live_count).toBe(0);
    expect(k.lifetime.check_leaks('teardown')).toBe(0);
    k.lifetime.free(id, 'bad_free');
    expect(k.violations.list.map((v) => v.kind)).toEqual(['bug']);
    expect(k.lifetime.is_live(id)).toBe(true);
  });

  it('keeps state for live objects and a bounded window of freed ones, however many objects a run makes', () => {
    const k = new Kernel();
    const lt = k.lifetime;
    const inner = lt as unknown as { cap: number; kept: Map<number, unknown> };
    const early = lt.track('sched', 'the scheduler');
    for (let i = 0; i < 10 * LIFETIME_WINDOW_MIN; i++) lt.free(lt.track('job', `j${i}`), 'free');
    expect(inner.cap).toBe(LIFETIME_WINDOW_MIN);
    expect(inner.kept.size).toBe(1);
    expect(lt.live_count).toBe(1);
    // The long-lived object is still known by name.
    expect(lt.check_leaks('teardown')).toBe(1);
    expect(k.violations.list[0].message).toBe(`sched the scheduler (#${early}) still alive after teardown`);
  });

  it('grows the window while most of it is live, and still names every live object', () => {
    const k = new Kernel();
    const lt = k.lifetime;
    const ids = Array.from({ length: 3 * LIFETIME_WINDOW_MIN }, (_, i) => lt.track('fence', `f${i}`));
    expect(lt.live_count).toBe(ids.length);
    const live = lt.live();
    expect(live.map((o) => o.id)).toEqual(ids);
    expect(live[LIFETIME_WINDOW_MIN + 7].name).toBe(`f${LIFETIME_WINDOW_MIN + 7}`);
    for (const id of ids) lt.free(id, 'free');
    expect(lt.live_count).toBe(0);
    expect(k.violations.count()).toBe(0);
  });

  it('reports a use after free and a double free of an object freed long ago, naming it by id', () => {
    const k = new Kernel();
    const lt = k.lifetime;
    const old = lt.track('job', 'old');
    lt.free(old, 'free');
    const recent_id = lt.track('job', 'recent');
    lt.free(recent_id, 'free');
    expect(lt.use(recent_id, 'recent_use')).toBe(false);
    expect(k.violations.list[0].message).toBe(`use of freed job recent (#${recent_id})`);
    for (let i = 0; i < 2 * LIFETIME_WINDOW_MIN; i++) lt.free(lt.track('job', 'filler'), 'free');
    expect(lt.is_live(old)).toBe(false);
    expect(lt.use(old, 'late_use')).toBe(false);
    lt.free(old, 'late_free');
    const [, uaf, df] = k.violations.list;
    expect([uaf.kind, uaf.site, df.kind, df.site]).toEqual(['use_after_free', 'late_use', 'double_free', 'late_free']);
    expect(uaf.message).toMatch(new RegExp(`^use of freed object #${old} \\(freed; `));
    expect(lt.live_count).toBe(0);
  });

  it('a static object stays static after the window moved past it', () => {
    const k = new Kernel();
    const lt = k.lifetime;
    const stub = lt.track('stub', 's');
    lt.mark_static(stub);
    for (let i = 0; i < 2 * LIFETIME_WINDOW_MIN; i++) lt.free(lt.track('job', 'filler'), 'free');
    expect(lt.is_live(stub)).toBe(true);
    expect(lt.use(stub, 'use')).toBe(true);
    lt.free(stub, 'bad_free');
    expect(k.violations.list.map((v) => v.message)).toEqual(['free of static stub s (#0)']);
    expect(lt.check_leaks('teardown')).toBe(0);
  });
});
