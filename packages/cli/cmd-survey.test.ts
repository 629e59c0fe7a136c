/**
 * `deplab survey`: JSON and files on the fixture tree, and usage errors (exit 2).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { register_survey } from './cmd-survey.ts';

const FIXTURE = join(import.meta.dirname, '..', 'survey', 'fixtures', 'linux');

async function deplab(args: readonly string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '', err = '';
  const program = new Command('deplab').version('test').exitOverride().configureOutput({ writeOut: (s) => { out += s; }, writeErr: (s) => { err += s; } });
  register_survey(program, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  try {
    await program.parseAsync([...args], { from: 'user' });
    return { out, err, code: 0 };
  } catch (e) {
    if (e instanceof CommanderError) return { out, err, code: e.exitCode };
    throw e;
  }
}

describe('deplab survey', () => {
  it('prints the survey as JSON', async () => {
    const r = await deplab(['survey', FIXTURE, '--json', '--no-model-check']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as { drivers: { driver: string; path: string }[]; models: unknown[] };
    expect(doc.drivers.map((d) => `${d.driver}: ${d.path}`)).toEqual(['npu: blocked', 'fwgpu: drm_dep', 'vendor/hwgpu: drm_dep + HW-queue layer']);
    expect(doc.models).toEqual([]);
  });

  it('writes survey.md, survey.json and the chart with --out, linking readiness from there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deplab-survey-cli-'));
    try {
      const r = await deplab(['survey', FIXTURE, '--out', dir, '--no-model-check']);
      expect(r.code).toBe(0);
      expect(readdirSync(dir).sort()).toEqual(['.deplab-manifest-survey.json', 'survey-accesses.svg', 'survey.json', 'survey.md']);
      expect(r.out).toMatch(/survey\.md: npu blocked, fwgpu drm_dep, vendor\/hwgpu drm_dep \+ HW-queue layer/);
      expect(readFileSync(join(dir, 'survey.md'), 'utf8')).toContain('## vendor/hwgpu');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('exits 2 with the reason for a missing path, a file, and a directory that is no Linux tree', async () => {
    for (const [path, reason] of [['/nonexistent/linux', /no such file or directory/], [join(FIXTURE, 'drivers/accel/npu/npu_ctx.c'), /not a directory/],
      [join(FIXTURE, 'drivers'), /neither drivers\/gpu\/drm nor drivers\/accel exists there/]] as const) {
      const r = await deplab(['survey', path, '--no-model-check']);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(reason);
    }
    // Commander's own usage errors: main() turns every one into exit 2.
    expect((await deplab(['survey'])).err).toMatch(/missing required argument 'path'/);
  });
});
