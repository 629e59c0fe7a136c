/**
 * Which directories of a Linux tree are drivers, and which of their files a survey parses.
 *
 * Drivers are the directories under drivers/gpu/drm and drivers/accel; one that holds no C file
 * itself but subdirectories that do (drivers/gpu/drm/amd) is split into those (amd/amdgpu,
 * amd/amdkfd, ...). A driver's subdirectories belong to it (xe/display, nouveau/nvkm). The files
 * directly in drivers/gpu/drm form the group "drm". drivers/gpu/drm/scheduler (drm_sched itself)
 * and drivers/gpu/drm/dep (drm_dep, where a tree has it) are not users.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const DRIVER_ROOTS = ['drivers/gpu/drm', 'drivers/accel'] as const;
const NOT_USERS = new Set(['drivers/gpu/drm/scheduler', 'drivers/gpu/drm/dep']);
export const SCHED_HEADER = 'include/drm/gpu_scheduler.h';

export interface DriverDir {
  /** Short name: the path below its root (xe, amd/amdgpu, amdxdna; "drm" for the core files). */
  readonly name: string;
  /** Tree-relative directory, forward slashes. */
  readonly dir: string;
  /** Tree-relative .c and .h files, sorted. */
  readonly files: readonly string[];
}

export class SurveyInputError extends Error {}

function is_c(name: string): boolean {
  return name.endsWith('.c') || name.endsWith('.h');
}

function entries(abs: string): { dirs: string[]; files: string[] } {
  const dirs: string[] = [], files: string[] = [];
  for (const e of readdirSync(abs, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory()) dirs.push(e.name);
    else if (e.isFile() && is_c(e.name)) files.push(e.name);
  }
  return { dirs: dirs.sort(), files: files.sort() };
}

function walk(tree: string, rel: string, out: string[]): void {
  const { dirs, files } = entries(join(tree, rel));
  for (const f of files) out.push(`${rel}/${f}`);
  for (const d of dirs) walk(tree, `${rel}/${d}`, out);
}

/** The driver directories of a tree; a clear error if `tree` is not one. */
export function driver_dirs(tree: string): DriverDir[] {
  if (tree.trim() === '') throw new SurveyInputError('the path to the Linux tree is empty');
  if (!existsSync(tree)) throw new SurveyInputError(`${tree}: no such file or directory`);
  if (!statSync(tree).isDirectory()) throw new SurveyInputError(`${tree}: not a directory (give the top of a Linux source tree)`);
  const roots = DRIVER_ROOTS.filter((r) => existsSync(join(tree, r)) && statSync(join(tree, r)).isDirectory());
  if (roots.length === 0) throw new SurveyInputError(`${tree}: neither ${DRIVER_ROOTS.join(' nor ')} exists there (give the top of a Linux source tree)`);
  const out: DriverDir[] = [];
  const add = (name: string, dir: string) => {
    if (NOT_USERS.has(dir)) return;
    const files: string[] = [];
    walk(tree, dir, files);
    if (files.length > 0) out.push({ name, dir, files });
  };
  for (const root of roots) {
    const top = entries(join(tree, root));
    if (root === 'drivers/gpu/drm' && top.files.length > 0) out.push({ name: 'drm', dir: root, files: top.files.map((f) => `${root}/${f}`) });
    for (const d of top.dirs) {
      const dir = `${root}/${d}`;
      const inner = entries(join(tree, dir));
      if (inner.files.length === 0 && inner.dirs.length > 0) for (const s of inner.dirs) add(`${d}/${s}`, `${dir}/${s}`);
      else add(d, dir);
    }
  }
  return out.sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
}

export function read_tree_file(tree: string, rel: string): string {
  return readFileSync(join(tree, rel), 'utf8');
}
