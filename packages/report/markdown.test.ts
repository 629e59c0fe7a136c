/**
 * The Markdown report's header: what ran, in a small table, and the cost table as its own
 * table (one row per entry) rather than one cell holding every entry.
 */
import { describe, expect, it } from 'vitest';
import { COST_KEYS, format_cost_spec } from '@deplab/sim';
import { compare, load_workload_json } from '@deplab/harness';
import { comparison_markdown } from './markdown.ts';
import { mock } from './trace-fixtures.testlib.ts';

describe('comparison_markdown header', () => {
  const w = load_workload_json(JSON.stringify({
    name: 'md', clients: [{ name: 'a', queues: [{ name: 'q', engine: 'render' }], program: { loops: 3, steps: [{ batch: { queue: 'q', duration_us: 100 } }] } }],
  }), 'md.json');
  if (!w.ok) throw new Error(JSON.stringify(w.errors));
  const r = compare(w.workload, 'mock', mock, { seeds: [1, 2], costs: { kworker_wakeup_ns: 7000 } });
  const md = comparison_markdown(r, { command: 'npx deplab compare md.json --driver mock --seeds 2', version: '0.1.0' });
  const lines = md.split('\n');

  it('keeps the cost table out of a single table cell', () => {
    expect(lines.some((l) => /kworker_wakeup_ns=/.test(l))).toBe(false);
    for (const key of COST_KEYS) {
      const row = lines.find((l) => l.startsWith(`| ${key} `));
      expect(row, key).toBeDefined();
      expect(row!.split('|').map((c) => c.trim())[2], key).toBe(format_cost_spec(r.costs[key]));
    }
    expect(lines.find((l) => l.startsWith('| kworker_wakeup_ns '))).toMatch(/\| +7000 \|$/);
  });

  it('still names workload, driver, seeds, version and the reproducing command', () => {
    expect(md).toMatch(/\| workload +\| `md\.json`/);
    expect(md).toContain('`npx deplab compare md.json --driver mock --seeds 2`');
  });
});
