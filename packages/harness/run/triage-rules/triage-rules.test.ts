/**
 * The triage rules as claims: unique ids, a mechanism, a document that exists with the anchor it
 * names, and the legacy hazards matching the campaign groups they were written for.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TRIAGE_RULES, campaign_subject, triage } from '../triage.ts';

const ROOT = join(import.meta.dirname, '../../../..');

describe('triage rules', () => {
  it('have unique ids, a cause, and a document (with its anchor) that exists in the repository', () => {
    expect(new Set(TRIAGE_RULES.map((r) => r.id)).size).toBe(TRIAGE_RULES.length);
    for (const r of TRIAGE_RULES) {
      expect(r.cause.length, r.id).toBeGreaterThan(10);
      const [file, anchor] = r.doc.split('#');
      expect(existsSync(join(ROOT, file)), `${r.id}: ${file}`).toBe(true);
      if (anchor !== undefined) {
        const text = readFileSync(join(ROOT, file), 'utf8');
        const heading = new RegExp(`^#+ .*$`, 'gm');
        const slugs = [...text.matchAll(heading)].map((m) => m[0].replace(/^#+ /, '').toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-'));
        expect(text.includes(`<a id="${anchor}"></a>`) || slugs.includes(anchor), `${r.id}: ${r.doc}`).toBe(true);
      }
    }
  });

  it('classify the campaign groups of drm_sched legacy hazards, per driver variant, on drm_sched only', () => {
    const t = (kind: string, site: string, variant: string, backend: 'sched' | 'dep' = 'sched') => triage(campaign_subject(kind, site, ''), 'mock', backend, ['campaign'], variant).rule;
    expect(t('leak', 'after unplug: drm_sched_job', 'no_cancel_job')).toBe('legacy-fini-leak');
    expect(t('leak', 'after unplug: drm_sched_job', 'plain')).toBe('legacy-release-after-fini-jobs');
    expect(t('leak', 'after unplug: drm_sched_job', 'plain', 'dep')).toBeNull();
    expect(t('use_after_free', 'drm_sched_rq_remove_entity: rq', 'plain')).toBe('legacy-entity-after-fini');
    expect(t('use_after_free', 'drm_sched_rq_remove_entity: rq', 'plain', 'dep')).toBeNull();
    expect(t('bug', 'drm_sched_stop', 'tdr=stop_no_hang')).toBe('legacy-free-guilty');
    expect(t('score_leak', 'drm_sched_score at teardown (killed jobs)', 'plain')).toBe('legacy-killed-score');
  });
});
