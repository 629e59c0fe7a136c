/**
 * The committed reports are what the command produces: one comparison of the default run is
 * regenerated with the same command and checked byte for byte (Markdown and every chart).
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('committed reports', () => {
  it('reports/mock/kunit-50-50 matches a fresh run of its reproduce command', () => {
    // At the depth of reports/ in the repository (git ignores it), so that the reports' relative links are the same.
    const out = mkdtempSync(join(root, '.deplab-regen-'));
    try {
      // The reproduce line of the committed report (deplab report adds the sensitivity sweep to every comparison).
      execFileSync(process.execPath, [join(root, 'packages/cli/bin/deplab.mjs'), 'compare', 'kunit/50-50', '--driver', 'mock', '--seeds', '5', '--sensitivity', '--out', out],
        { cwd: root, stdio: 'pipe' });
      const committed = join(root, 'reports', 'mock');
      // The drm_sched vs drm_dep comparison (kunit-50-50.sched-vs-dep-hw.* is the other binding's).
      const files = readdirSync(committed).filter((f) => f.startsWith('kunit-50-50.') && !f.startsWith('kunit-50-50.sched-vs-')).sort();
      expect(files).toContain('kunit-50-50.md');
      expect(files.length).toBeGreaterThan(1);
      for (const f of files) {
        if (f.endsWith('.json')) continue; // compare writes the JSON too; report does not
        expect(readFileSync(join(out, 'mock', f), 'utf8'), f).toBe(readFileSync(join(committed, f), 'utf8'));
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
