/**
 * What produced a result: the deplab version and a digest of the model sources (everything a
 * run's result depends on: the simulated kernel, the scheduler models, the drivers, the harness
 * and the built-in workloads; not tests, docs or the output layer). Replay tokens and every
 * --json output carry both, so a result can be matched to the code that made it and a token
 * replayed on another model says so.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const VERSION = '0.2.0';

/** Source trees the digest covers, relative to the repository root. */
export const MODEL_SOURCES = ['packages/sim', 'packages/drm-sched', 'packages/drm-dep', 'packages/drm-dep-hw', 'packages/harness', 'drivers', 'workloads'];

function files_under(dir: string, out: string[]): void {
  let entries;
  try { entries = readdirSync(dir, { withFileTypes: true }); } catch { return; }
  for (const e of entries) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) files_under(p, out);
    else if (/\.(ts|wsim|json)$/.test(e.name) && !/\.test(lib)?\.ts$/.test(e.name) && e.name !== 'package.json') out.push(p);
  }
}

/** sha256 over every model source (path and content, in path order), first 12 hex digits. */
export function compute_model_digest(root: string): string {
  const files: string[] = [];
  for (const d of MODEL_SOURCES) files_under(join(root, d), files);
  const h = createHash('sha256');
  for (const f of files.map((x) => relative(root, x).split(sep).join('/')).sort()) {
    h.update(f).update('\0').update(readFileSync(join(root, f))).update('\0');
  }
  return h.digest('hex').slice(0, 12);
}

/** The deplab checkout this code runs from (the launcher sets DEPLAB_ROOT; else found from this file). */
function deplab_root(): string {
  return process.env.DEPLAB_ROOT ?? fileURLToPath(new URL('../../', import.meta.url));
}

let cached: string | null = null;

/** The digest of this deplab's model (the launcher computes it when it builds the bundle). */
export function model_digest(): string {
  cached ??= process.env.DEPLAB_MODEL_DIGEST ?? compute_model_digest(deplab_root());
  return cached;
}

/** "0.2.0 (model 1a2b3c4d5e6f)" */
export function version_line(): string {
  return `${VERSION} (model ${model_digest()})`;
}
