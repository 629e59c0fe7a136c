/**
 * Test helpers: where the wsim descriptors and the README example live.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root (this file is packages/harness/workload/test-support.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The IGT gem_wsim descriptors the repository carries (workloads/wsim), so a bare clone tests them. */
export const WSIM_DIR = join(REPO_ROOT, 'workloads', 'wsim');

export function wsim_files(): { name: string; text: string }[] {
  return readdirSync(WSIM_DIR).filter((name) => name.endsWith('.wsim')).sort()
    .map((name) => ({ name, text: readFileSync(join(WSIM_DIR, name), 'utf8') }));
}

/** The complete example of README.md (its first ```json block), so the docs stay loadable. */
export function readme_example(): string {
  const readme = readFileSync(fileURLToPath(new URL('./README.md', import.meta.url)), 'utf8');
  const match = /```json\n([\s\S]*?)```/.exec(readme);
  if (match === null) throw new Error('README.md has no ```json block');
  return match[1];
}
