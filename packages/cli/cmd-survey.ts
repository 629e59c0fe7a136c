/**
 * `deplab survey PATH_TO_LINUX`: the drm_sched users of a real kernel tree (packages/survey).
 * Markdown on stdout, `--json` the JSON, `--out DIR` writes survey.md, survey.json and
 * survey-accesses.svg (checked before the survey runs, written as one transaction). A missing,
 * empty or non-tree path, or a tree with no drm_sched user, is a usage error (exit 2).
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { repository_root, scan_drivers } from '@deplab/report';
import { compare_with_models, run_survey, survey_json, survey_markdown, survey_svg, SurveyInputError, type ModelCheck } from '@deplab/survey';
import type { Io } from './cmd-compare.ts';
import { OutputTransaction, check_output_dir } from './output.ts';
import { progress_printer } from './progress.ts';
import { command_line, path_arg } from './quote.ts';

const CHART = 'survey-accesses.svg';

function posix(p: string): string {
  return p.split('\\').join('/');
}

export function register_survey(program: Command, io: Io): void {
  const cmd = program.command('survey').description('drm_sched users of a Linux tree (drivers/gpu/drm, drivers/accel): API, internals, entity mapping, path to drm_dep')
    .argument('<path>', 'top of a Linux source tree')
    .option('--out <dir>', 'write survey.md, survey.json and the chart there')
    .option('--json', 'print the survey as JSON (docs/cli.md)')
    .option('--no-model-check', 'do not compare with deplab\'s model drivers (skips the ts-morph scan)');
  cmd.action(async (path: string, opts: { out?: string; json?: boolean; modelCheck: boolean }) => {
    const started = performance.now();
    const out = opts.out === undefined ? undefined : check_output_dir(opts.out);
    let survey;
    try {
      survey = await run_survey(path, { progress: progress_printer('survey files', io.err) });
    } catch (e) {
      if (e instanceof SurveyInputError) cmd.error(`deplab: survey: ${e.message}`, { exitCode: 2, code: 'deplab.usage' });
      throw e;
    }
    const root = repository_root();
    let models: ModelCheck[] = [];
    if (opts.modelCheck) models = compare_with_models(survey, await scan_drivers(root));
    const base = opts.out ?? root;
    const href = (target: string) => posix(relative(base, join(root, target))) || '.';
    const options = {
      readiness_href: opts.out === undefined ? 'reports/readiness.md' : href('reports/readiness.md'),
      hw_layer_href: existsSync(join(root, 'docs', 'hw-queue.md')) ? (opts.out === undefined ? 'docs/hw-queue.md' : href('docs/hw-queue.md')) : null,
      chart: opts.out === undefined ? null : CHART,
      command: command_line(['survey', path_arg(path), ...(opts.out !== undefined ? ['--out', path_arg(opts.out)] : [])]),
      version: program.version() ?? 'unknown',
    };
    const json = survey_json(survey, models);
    if (out !== undefined) {
      const t = new OutputTransaction(out, 'survey').lock();
      t.add('survey.md', survey_markdown(survey, models, options));
      t.add('survey.json', json);
      t.add(CHART, survey_svg(survey));
      await t.commit();
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const parsed = survey.drivers.reduce((n, d) => n + d.parse.files_parsed, 0);
    io.err(`survey: ${survey.drivers.length} drm_sched users in ${survey.directories} directories; ${parsed} of ${survey.files_read} files parsed in ${seconds} s\n`);
    if (opts.json) io.out(json);
    else if (opts.out !== undefined) io.out(`${join(opts.out, 'survey.md')}: ${survey.drivers.map((d) => `${d.driver} ${d.path}`).join(', ')}\n`);
    else io.out(survey_markdown(survey, models, options));
  });
}
