/**
 * docs/guarantees.md documents every guarantee the monitor checks (the anchor each report links
 * to, with statement, scope, check and source) and every situation it classifies jobs by.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GUARANTEES, SITUATIONS } from './guarantees.ts';

const doc = readFileSync(fileURLToPath(new URL('../../../docs/guarantees.md', import.meta.url)), 'utf8');

describe('docs/guarantees.md', () => {
  for (const g of GUARANTEES) {
    it(`has the section ${g.doc}`, () => {
      const anchor = g.doc.split('#')[1];
      const start = doc.indexOf(`<a id="${anchor}"></a>\n## ${g.id}\n`);
      expect(start, anchor).toBeGreaterThanOrEqual(0);
      const next = doc.indexOf('\n## ', start + anchor.length + 20);
      const section = doc.slice(start, next < 0 ? undefined : next);
      for (const part of ['**Statement.**', '**Applies to.**', '**Check.**', '**Source.**']) expect(section, `${g.id} ${part}`).toContain(part);
    });
  }

  it('defines every situation', () => {
    for (const s of SITUATIONS) expect(doc, s).toContain(`| ${s} |`);
  });
});
