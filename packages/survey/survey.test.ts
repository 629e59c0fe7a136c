/**
 * The survey over the fixture tree (fixtures/linux: small C files written for these tests, no
 * kernel source): a firmware-scheduled driver with a wrapper and pending-list walks (fwgpu), a
 * hardware-scheduled one in a vendor directory with a trace header (vendor/hwgpu), and an
 * accelerator with #ifdef'd braces, a legacy fence read and a file that does not parse (npu).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiScan } from '@deplab/report';
import { run_survey, SurveyInputError, type DriverSurvey, type Survey } from './survey.ts';
import { survey_json, survey_markdown, survey_svg } from './output.ts';
import { compare_with_models, survey_summary } from './models.ts';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'linux');
let survey: Survey;
const driver = (name: string): DriverSurvey => survey.drivers.find((d) => d.driver === name)!;
const field = (d: DriverSurvey, key: string) => d.fields.find((f) => `${f.struct}.${f.field}` === key);
const symbol = (d: DriverSurvey, name: string) => d.symbols.find((s) => s.symbol === name);
const lines = (sites: readonly { file: string; line: number }[]) => sites.map((s) => `${s.file.split('/').pop()}:${s.line}`);

beforeAll(async () => {
  survey = await run_survey(FIXTURE);
});

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'deplab-survey-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('deplab survey: drivers', () => {
  it('finds the users per driver directory, splits vendor directories, skips drm_sched itself and non-users', () => {
    expect(survey.drivers.map((d) => `${d.driver} ${d.dir}`)).toEqual([
      'npu drivers/accel/npu', 'fwgpu drivers/gpu/drm/fwgpu', 'vendor/hwgpu drivers/gpu/drm/vendor/hwgpu',
    ]);
    expect(survey.api_source).toMatch(/built-in/);
  });

  it('1:1 through a wrapper: the scheduler init is followed to its caller, whose object also holds the entity', () => {
    const d = driver('fwgpu');
    expect(d.mapping).toBe('firmware-scheduled (1:1)');
    const sched = d.inits.find((i) => i.call === 'drm_sched_init')!;
    expect(sched.owners.map((o) => [o.type, o.chain.join(',')])).toEqual([['fw_queue', 'fw_sched_init']]);
    expect(sched.args).toMatchObject({ ops: 'ops', credit_limit: '64', num_rqs: '1' });
    expect(d.setups.map((s) => s.relation)).toEqual(['1:1']);
    expect(d.path).toBe('drm_dep');
    expect(d.blockers).toEqual([]);
  });

  it('N:1: schedulers made in a loop at device init, entities per file elsewhere', () => {
    const d = driver('vendor/hwgpu');
    expect(d.mapping).toBe('hardware-scheduled (N:1)');
    expect(d.inits.map((i) => [i.call, i.in_loop, i.owners.map((o) => o.type).join()])).toEqual([
      ['drm_sched_init', true, 'hw_device'], ['drm_sched_entity_init', true, 'hw_file_priv'],
    ]);
    expect(d.setups[0].why).toMatch(/struct hw_file_priv.*struct hw_device.*created in a loop/);
    expect(d.path).toBe('drm_dep + HW-queue layer');
    expect(symbol(d, 'drm_sched_entity_set_priority')!.fate).toBe('hw');
    expect(symbol(d, 'drm_sched_resubmit_jobs')!.fate).toBe('hw');
  });

  it('pending_list walks through list_for_each_entry and list_first_entry are field accesses; the iterator macro is a symbol', () => {
    const d = driver('fwgpu');
    const pending = field(d, 'drm_gpu_scheduler.pending_list')!;
    expect(lines(pending.sites)).toEqual(['fw_sched.c:65', 'fw_sched.c:71']);
    expect(pending.via).toEqual(['list_for_each_entry']);
    expect(pending.fate).toBe('accessor');
    expect(lines(symbol(d, 'drm_sched_for_each_pending_job')!.sites)).toEqual(['fw_sched.c:69']);
    expect(d.recovery).toEqual(['drm_sched_for_each_pending_job', 'drm_sched_start', 'drm_sched_stop']);
  });

  it('s_fence->parent reads are typed through the job (a list_for_each_entry cursor) and its s_fence member', () => {
    const parent = field(driver('fwgpu'), 'drm_sched_fence.parent')!;
    expect(lines(parent.sites)).toEqual(['fw_sched.c:66', 'fw_sched.c:67']);
    expect(parent.reads).toBe(2);
    expect(parent.fate).toBe('driver');
    expect(field(driver('fwgpu'), 'drm_sched_job.s_fence')!.inferred).toEqual({ declaration: 3 });
  });

  it('reads the ops table and follows timedout_job returns through a status variable', () => {
    const [ops] = driver('fwgpu').ops;
    expect(ops.name).toBe('fw_sched_ops');
    expect(ops.ops).toEqual({ run_job: 'fw_run_job', timedout_job: 'fw_timedout_job', free_job: 'fw_free_job' });
    expect(ops.timedout_returns!.map((r) => r.value)).toEqual(['DRM_GPU_SCHED_STAT_RESET', 'DRM_GPU_SCHED_STAT_NO_HANG']);
    expect(driver('npu').ops[0].timedout_returns!.map((r) => r.value)).toEqual(['DRM_GPU_SCHED_STAT_ENODEV', 'DRM_GPU_SCHED_STAT_RESET']);
  });

  it('analyses both branches of an #ifdef whose braces do not balance, each in its own parse', () => {
    const d = driver('npu');
    expect(d.parse.files_by_branch).toEqual(['drivers/accel/npu/npu_ctx.c']);
    expect(lines(field(d, 'drm_gpu_scheduler.timeout')!.sites)).toContain('npu_ctx.c:56');
    expect(lines(field(d, 'drm_gpu_scheduler.credit_limit')!.sites)).toEqual(['npu_ctx.c:58']);
  });

  it('counts what does not parse, per file and function, and still reads the rest of that file', () => {
    const d = driver('npu');
    expect(d.parse.files_with_errors).toEqual([{ file: 'drivers/accel/npu/npu_broken.c', errors: 2, functions: { npu_stop: 2 } }]);
    expect(d.parse.error_nodes).toBe(2);
    expect(lines(symbol(d, 'drm_sched_wqueue_stop')!.sites)).toEqual(['npu_broken.c:7']);
  });

  it('blocks a driver on a field drm_dep has no equivalent for, and says which', () => {
    const d = driver('npu');
    expect(d.mapping).toBe('firmware-scheduled (1:1)');
    expect(d.path).toBe('blocked');
    expect(d.blockers).toEqual([expect.stringMatching(/^`drm_sched_fence\.scheduled` \(1 access\): drm_dep has no scheduled fence/)]);
  });

  it('reads trace events in headers as functions of their TP_PROTO arguments', () => {
    const d = driver('vendor/hwgpu');
    const name = field(d, 'drm_gpu_scheduler.name')!;
    expect(name.sites.map((s) => `${s.file.split('/').pop()}:${s.line} ${s.function}`)).toEqual(['hw_trace.h:12 trace event hw_job_run']);
    expect(lines(field(d, 'drm_sched_fence.finished')!.sites)).toEqual(['hw_trace.h:17']);
  });
});

describe('deplab survey: inference fallbacks and errors', () => {
  it('types an untyped object by a distinctive field name (and what is reached through it), only when the driver has no member of that name', async () => {
    const dir = tree({
      'drivers/gpu/drm/a/a.c': '#include <drm/gpu_scheduler.h>\nvoid a(void)\n{\n\tstruct dma_fence *f = lookup()->s_fence->parent;\n\tg(lookup()->sched->name);\n\tdrm_sched_fini(NULL);\n}\n',
      'drivers/gpu/drm/b/b.c': '#include <drm/gpu_scheduler.h>\nstruct own { int s_fence; };\nvoid b(void)\n{\n\tg(lookup()->s_fence);\n\tdrm_sched_fini(NULL);\n}\n',
    });
    try {
      const s = await run_survey(dir);
      const a = s.drivers.find((d) => d.driver === 'a')!, b = s.drivers.find((d) => d.driver === 'b')!;
      expect(a.fields.map((f) => `${f.struct}.${f.field} ${JSON.stringify(f.inferred)}`)).toEqual([
        'drm_sched_fence.parent {"name":1}', 'drm_sched_job.s_fence {"name":1}',
      ]);
      expect(b.fields).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('follows a local scheduler pointer to its last assignment, and leaves an entity wrapper without callers unresolved', async () => {
    const dir = tree({
      'drivers/accel/ctx/ctx.c': `#include <drm/gpu_scheduler.h>
struct ctx_priv { struct drm_gpu_scheduler sched; struct drm_sched_entity entity; };
struct other { struct drm_sched_entity *e; };
int ctx_init(struct ctx_priv *priv, const struct drm_sched_init_args *args)
{
	struct drm_gpu_scheduler *sched;
	int ret;

	sched = &priv->sched;
	ret = drm_sched_init(sched, args);
	if (ret)
		return ret;
	return drm_sched_entity_init(&priv->entity, DRM_SCHED_PRIORITY_NORMAL, &sched, 1, NULL);
}
static inline int wrap_entity_init(struct drm_sched_entity *entity, struct drm_gpu_scheduler *sched)
{
	return drm_sched_entity_init(entity, 0, &sched, 1, NULL);
}
`,
    });
    try {
      const [d] = (await run_survey(dir)).drivers;
      expect(d.inits.map((i) => `${i.call} ${i.owners.map((o) => `${o.type}${o.resolved ? '' : ' (unresolved)'}`).join()}`)).toEqual([
        'drm_sched_init ctx_priv', 'drm_sched_entity_init ctx_priv', 'drm_sched_entity_init drm_sched_entity (unresolved)',
      ]);
      expect(d.setups.map((s) => s.relation)).toEqual(['1:1', 'unresolved']);
      expect(d.mapping).toBe('firmware-scheduled (1:1)');
      expect(d.mapping_explanation).toMatch(/1 entity init\(s\) not followed to their object/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  // aie2_hwctx_init (amdxdna, v7.0-rc1) declares another `args` inside a loop between its
  // drm_sched_init_args and the drm_sched_init call: the call's arguments are the outer ones.
  it('takes a local from the block that is in scope at the use, not a same-named one from a block already closed', async () => {
    const dir = tree({
      'drivers/accel/ctx/ctx.c': `#include <drm/gpu_scheduler.h>
struct ctx_priv { struct drm_gpu_scheduler sched; struct drm_sched_entity entity; struct bo *buf[2]; };
struct create_bo { int flags; int size; };
int ctx_init(struct ctx_priv *priv)
{
	const struct drm_sched_init_args args = {
		.ops = &ctx_ops,
		.num_rqs = 1,
		.credit_limit = 8,
	};
	struct drm_gpu_scheduler *sched = &priv->sched;
	int i;

	for (i = 0; i < 2; i++) {
		struct create_bo args = {
			.flags = 0,
			.size = 4096,
		};
		priv->buf[i] = alloc_bo(&args);
	}
	if (drm_sched_init(sched, &args))
		return -1;
	return drm_sched_entity_init(&priv->entity, 0, &sched, 1, NULL);
}
`,
    });
    try {
      const [d] = (await run_survey(dir)).drivers;
      expect(d.inits.find((i) => i.call === 'drm_sched_init')!.args).toEqual({ ops: '&ctx_ops', num_rqs: '1', credit_limit: '8' });
      expect(d.setups.map((s) => s.relation)).toEqual(['1:1']);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('rejects a missing, empty or non-directory path, a directory that is no tree, and a tree without users', async () => {
    await expect(run_survey('')).rejects.toThrow(/path to the Linux tree is empty/);
    await expect(run_survey('/nonexistent/linux')).rejects.toThrow(/no such file or directory/);
    await expect(run_survey(join(FIXTURE, 'drivers/accel/npu/npu_ctx.c'))).rejects.toThrow(/not a directory/);
    await expect(run_survey(join(FIXTURE, 'drivers'))).rejects.toThrow(SurveyInputError);
    const dir = tree({ 'drivers/gpu/drm/x/x.c': 'int x(void) { return 0; }\n' });
    try {
      await expect(run_survey(dir)).rejects.toThrow(/no drm_sched user under drivers\/gpu\/drm \(1 C files read\)/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe('deplab survey: outputs', () => {
  const options = { readiness_href: '../readiness.md', hw_layer_href: null, chart: 'survey-accesses.svg', command: 'npx deplab survey fixtures', version: 'test' };

  it('is deterministic: the same tree gives the same JSON, Markdown and chart', async () => {
    const again = await run_survey(FIXTURE);
    expect(survey_json(again, [])).toBe(survey_json(survey, []));
    expect(survey_markdown(again, [], options)).toBe(survey_markdown(survey, [], options));
    expect(survey_svg(again)).toBe(survey_svg(survey));
  });

  it('quotes what the tree is in the header: a SOURCES file at its root, or --source-note, which wins', async () => {
    expect(survey.sources).toBeNull();
    expect(survey_markdown(survey, [], options)).not.toContain('## The tree read');
    const user = 'struct drm_sched_job j;\nvoid f(void) { drm_sched_job_arm(&j); }\n';
    const dir = tree({ 'drivers/gpu/drm/x/x.c': user, SOURCES: 'Partial tree.\n\n- `drivers/gpu/drm/x/x.c` at abc123\n' });
    const note = join(dir, 'note.md');
    writeFileSync(note, 'Another note.\n');
    try {
      const s = await run_survey(dir);
      expect(s.sources).toEqual({ file: 'SOURCES', text: 'Partial tree.\n\n- `drivers/gpu/drm/x/x.c` at abc123' });
      const md = survey_markdown(s, [], options);
      expect(md).toContain(`## The tree read\n\nWhat \`${dir}\` holds, from \`SOURCES\`:\n\n> Partial tree.\n>\n> - \`drivers/gpu/drm/x/x.c\` at abc123\n`);
      expect(JSON.parse(survey_json(s, [])).sources.file).toBe('SOURCES');
      expect((await run_survey(dir, { source_note: note })).sources).toEqual({ file: note, text: 'Another note.' });
      await expect(run_survey(dir, { source_note: join(dir, 'missing.md') })).rejects.toThrow(SurveyInputError);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('writes one table of all drivers and a section per driver, with the path and the proposed HW-queue layer', () => {
    const md = survey_markdown(survey, [], options);
    expect(md).toMatch(/\| \[fwgpu\]\(#fwgpu\) .*\| \*\*drm_dep\*\* /);
    expect(md).toMatch(/\| \[vendor\/hwgpu\]\(#vendorhwgpu\) .*\*\*drm_dep \+ HW-queue layer \(proposed\)\*\*/);
    expect(md).toContain('## npu');
    expect(md).toContain('- blocker: `drm_sched_fence.scheduled`');
    expect(md).toContain('![scheduler-structure field accesses per driver](survey-accesses.svg)');
    expect(survey_markdown(survey, [], { ...options, hw_layer_href: '../../docs/hw-queue.md' })).toContain('drm_dep + [HW-queue layer](../../docs/hw-queue.md)');
  });

  it('charts field accesses per driver, stacked by what replaces them', () => {
    const svg = survey_svg(survey);
    expect(svg).toContain('<title>drm_sched structure accesses per driver</title>');
    // npu: 3 through an accessor, 1 driver-side, 1 without equivalent: three bar segments and a total of 5.
    expect(svg).toMatch(/>npu<\/text>/);
    expect((svg.match(/<rect [^>]*fill="#e45756"/g) ?? []).length).toBe(2); // the legend box and npu's segment
  });

  it('summarises per driver for the readiness report, from the object or its JSON file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'deplab-survey-'));
    try {
      const file = join(dir, 'survey.json');
      writeFileSync(file, survey_json(survey, []));
      const from_file = survey_summary(file), from_object = survey_summary(survey);
      expect(from_file).toEqual(from_object);
      expect(from_object.map((s) => `${s.driver} ${s.path} ${s.link}`)).toEqual([
        'npu blocked survey/survey.md#npu', 'fwgpu drm_dep survey/survey.md#fwgpu', 'vendor/hwgpu drm_dep + HW-queue layer survey/survey.md#vendorhwgpu',
      ]);
      writeFileSync(file, '{"drivers": 3}');
      expect(() => survey_summary(file)).toThrow(/not a survey JSON/);
      expect(() => survey_summary(join(dir, 'none.json'))).toThrow(/not a readable survey JSON/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('says symbol by symbol where a deplab model uses less of the API than the real driver', () => {
    const renamed: Survey = { ...survey, drivers: survey.drivers.map((d) => (d.driver === 'fwgpu' ? { ...d, driver: 'xe' } : d)) };
    const scan: ApiScan = {
      drivers: ['mock', 'xe'], files_scanned: 2, internal: [],
      bindings: [{ driver: 'xe', backend: 'sched', file: 'drivers/xe/on-sched.ts', lines: 10, functions: {}, symbols: [
        { symbol: 'drm_sched_init', module: '@deplab/drm-sched', uses: 1 }, { symbol: 'drm_sched_entity_init', module: '@deplab/drm-sched', uses: 1 },
        { symbol: 'drm_sched_tdr_queue_imm', module: '@deplab/drm-sched', uses: 2 },
      ] }],
    };
    const [check] = compare_with_models(renamed, scan);
    expect(check.model).toBe('xe');
    expect(check.uses_less).toBe(true);
    expect(check.real_only).toContain('drm_sched_for_each_pending_job');
    expect(check.model_only).toEqual(['drm_sched_tdr_queue_imm']);
    expect(check.both).toEqual(['drm_sched_entity_init', 'drm_sched_init']);
    const md = survey_markdown(renamed, [check], options);
    expect(md).toMatch(/\| \[xe readiness\]\(\.\.\/readiness\.md#xe\), uses less of the API \|/);
    expect(md).toMatch(/The model uses less of the drm_sched API than the real driver: it does not use .*`drm_sched_for_each_pending_job`/);
  });
});
