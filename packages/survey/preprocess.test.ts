/**
 * The kernel-C normalisation before parsing: offsets and lines never move, and each rewrite
 * turns a construct tree-sitter's C grammar cannot parse into one it can.
 */
import { describe, expect, it } from 'vitest';
import { preprocess } from './preprocess.ts';
import { descendants, load_c_parser, parse_c } from './cparse.ts';

const newlines = (s: string) => [...s].map((c, i) => (c === '\n' ? i : -1)).filter((i) => i >= 0);

async function errors(text: string): Promise<number> {
  const root = parse_c(await load_c_parser(), text);
  let n = 0;
  for (const d of descendants(root)) if (d.type === 'ERROR' || d.missing) n++;
  return n;
}

const LOOPS = `void f(struct drm_gpu_scheduler *sched)
{
	struct drm_sched_job *job;

	list_for_each_entry(job, &sched->pending_list, list) {
		g(job);
	}
	drm_sched_for_each_pending_job(job, sched, NULL)
		g(job);
	scoped_guard(spinlock, &sched->job_list_lock)
		h();
}
`;

describe('preprocess', () => {
  it('keeps every offset and line, and records the loop macros it rewrote', () => {
    const pp = preprocess(LOOPS);
    expect(pp.text.length).toBe(LOOPS.length);
    expect(newlines(pp.text)).toEqual(newlines(LOOPS));
    expect([...pp.loop_macros.values()]).toEqual(['list_for_each_entry', 'drm_sched_for_each_pending_job', 'scoped_guard']);
    expect(pp.text.slice(LOOPS.indexOf('list_for_each_entry'), LOOPS.indexOf('list_for_each_entry') + 6)).toBe('while ');
  });

  it('loop macros, type arguments and attributes parse after it and not before', async () => {
    const src = `${LOOPS}
static struct foo __maybe_unused *to_foo(struct drm_sched_job *j)
{
	void __iomem *regs = NULL;
	return container_of(j, struct foo, base);
}
`;
    expect(await errors(src)).toBeGreaterThan(0);
    expect(await errors(preprocess(src).text)).toBe(0);
  });

  it('does not take a function definition for a loop macro', () => {
    const src = 'struct s { int a; };\nstatic int helper(int x)\n{\n\treturn x;\n}\n';
    expect(preprocess(src).loop_macros.size).toBe(0);
  });

  it('blanks #if 0, keeps both branches in `all`, one branch in `first` and `last`', async () => {
    const src = `int f(void)
{
#if 0
	this is not C (((
#endif
#ifdef CONFIG_A
	if (a) {
#else
	if (b) {
#endif
		g();
	}
	return 0;
}
`;
    const all = preprocess(src, 'all');
    expect(all.text).not.toContain('this is not C');
    expect(all.conditionals_with_alternatives).toBe(1);
    expect(await errors(all.text)).toBeGreaterThan(0);
    const first = preprocess(src, 'first'), last = preprocess(src, 'last');
    expect(first.text).toContain('if (a)');
    expect(first.text).not.toContain('if (b)');
    expect(last.text).toContain('if (b)');
    expect(last.text).not.toContain('if (a)');
    expect(await errors(first.text)).toBe(0);
    expect(await errors(last.text)).toBe(0);
    expect(newlines(first.text)).toEqual(newlines(src));
  });

  it('turns a trace event into a function of its TP_PROTO arguments reading what TP_fast_assign and __string read', async () => {
    const src = `TRACE_EVENT(sched_job_run,
	TP_PROTO(struct drm_sched_job *job),
	TP_ARGS(job),
	TP_STRUCT__entry(
		__string(ring, job->sched->name)
		__field(u64, ctx)
	),
	TP_fast_assign(
		__assign_str(ring);
		__entry->ctx = job->s_fence->finished.context;
	),
	TP_printk("%s %llu", __get_str(ring), __entry->ctx)
);
DEFINE_EVENT(sched_job_run, sched_job_other, TP_PROTO(struct drm_sched_job *job), TP_ARGS(job));
`;
    const pp = preprocess(src);
    expect([...pp.trace_events.values()]).toEqual(['sched_job_run']);
    expect(pp.text).toMatch(/void __tp\s+\(struct drm_sched_job \*job\)/);
    expect(pp.text).toContain('job->sched->name;');
    expect(pp.text).toContain('__entry->ctx = job->s_fence->finished.context;');
    expect(pp.text).not.toContain('DEFINE_EVENT');
    expect(pp.text).not.toContain('TP_printk');
    expect(await errors(pp.text)).toBe(0);
  });

  // Found in v7.0-rc1 files: kmalloc_objs() with a pointer type (xe_guc_submit.c), min_t() with
  // `unsigned long` (panthor_sched.c), offsetof() of a nested member or an array element
  // (xe_guc_submit.c, panthor_sched.c).
  it('parses pointer-type and several-keyword type arguments and nested offsetof designators', async () => {
    const src = `static void f(struct q *q, struct s *snapshot)
{
	snapshot->lrc = kmalloc_objs(struct xe_lrc_snapshot *, q->width, GFP_ATOMIC);
	delay = min_t(unsigned long, q->target - now, ULONG_MAX);
	off = offsetof(struct scratch, wq[q->tail / sizeof(u32)]);
	off += offsetof(struct profiling, cycles.before) + offsetof(struct profiling, time);
	x = va_arg(ap, unsigned int);
}
`;
    const pp = preprocess(src);
    expect(pp.text.length).toBe(src.length);
    expect(newlines(pp.text)).toEqual(newlines(src));
    expect(await errors(src)).toBeGreaterThan(0);
    expect(await errors(pp.text)).toBe(0);
    expect(pp.text).toContain('kmalloc_objs(       xe_lrc_snapshot  , q->width');
    expect(pp.text).toContain('min_t(unsigned_long,');
    expect(pp.text).toContain('OFFSETOF(       scratch, wq[q->tail / sizeof(u32)])');
    // A plain member name is what the grammar's offsetof takes: left alone.
    expect(pp.text).toContain('offsetof(       profiling, time)');
  });

  it('leaves casts, sizeof and declarator parameter lists alone', () => {
    const src = `void f(void)
{
	x = (struct foo *)p;
	y = g((unsigned long)z, (struct bar **)w);
	n = sizeof(unsigned long);
	return (struct foo *)q;
}
struct ops { void (*cb)(int, struct foo *); int (*g)(unsigned long x); };
`;
    expect(preprocess(src).text).toBe(src);
  });
});
