/**
 * `deplab compare` with charts, a sensitivity sweep and the text format, end to end in this
 * thread (no DEPLAB_BUNDLE: the pool runs tasks inline).
 */
import { describe, expect, it, vi } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './main.ts';
import { parse_sweep, representative_workload } from './report-extras.ts';

describe('report extras', () => {
  it('parse_sweep: key=v1,v2,... sorted; anything else is refused', () => {
    expect(parse_sweep(['kworker_wakeup_ns=20000,2000'])).toEqual([{ key: 'kworker_wakeup_ns', values: [2000, 20000] }]);
    expect(parse_sweep(['kworker_wakeup_ns=2000'])).toBeNull();
    expect(parse_sweep(['kworker_wakeup_ns'])).toBeNull();
  });

  it('the representative workload of a driver is its first default gem_wsim workload', () => {
    expect(representative_workload('mock')).toBe('wsim/composited-ui');
  });

  it('compare --format text --sensitivity-cost: prints the text report and writes Markdown with Sensitivity and Charts sections', async () => {
    const out = mkdtempSync(join(tmpdir(), 'deplab-compare-'));
    let printed = '';
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { printed += String(s); return true; });
    const quiet = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const code = await main(['compare', 'kunit/many-clients-13', '--driver', 'mock', '--seeds', '2', '--out', out, '--jobs', '1', '--format', 'text',
        '--sensitivity-cost', 'kworker_wakeup_ns=2000,100000', '--sensitivity-seeds', '2']);
      expect(code).toBe(0);
    } finally {
      write.mockRestore();
      quiet.mockRestore();
    }
    expect(printed).toContain('         %stddev     %change         %stddev');
    expect(printed).toContain('kworker_wakeup_ns = 2000, 100000 ns');
    // The mail text wraps at 80 columns: join continuation lines to read the command.
    expect(printed.replace(/\n +/g, ' ')).toContain('reproduce:  npx deplab compare kunit/many-clients-13 --driver mock --seeds 2 --sensitivity-cost kworker_wakeup_ns=2000,100000 --sensitivity-seeds 2');
    const md = readFileSync(join(out, 'mock', 'kunit-many-clients-13.md'), 'utf8');
    expect(md).toContain('## Sensitivity');
    expect(md).toContain('## Charts');
    for (const chart of ['latency-cdf', 'timeline', 'depth', 'kworker', 'teardown']) expect(existsSync(join(out, 'mock', `kunit-many-clients-13.${chart}.svg`))).toBe(true);
  });
});
