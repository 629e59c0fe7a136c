/**
 * `deplab conformance`: every ported KUnit case on the mock GPU, on drm_sched (FIFO, the
 * upstream default) and drm_dep (no flags), or on drm_dep with the HW-queue layer (FIFO), as a
 * table or TAP.
 */
import { markdownTable } from 'markdown-table';
import { mock_dep_backend, mock_dep_hw_backend, mock_sched_backend, run_case, tests_basic, tests_scheduler, type KunitResult, type MockBackend } from '@deplab/driver-mock';

export function conformance(which: 'sched' | 'dep' | 'dep-hw' | 'both', format: 'table' | 'tap'): { text: string; failed: number } {
  const backends: MockBackend[] = [];
  if (which === 'sched' || which === 'both') backends.push(mock_sched_backend());
  if (which === 'dep' || which === 'both') backends.push(mock_dep_backend());
  if (which === 'dep-hw') backends.push(mock_dep_hw_backend());
  const results: KunitResult[] = [];
  for (const backend of backends) {
    for (const c of [...tests_basic, ...tests_scheduler]) {
      if (c.backends !== undefined && !(c.backends as readonly string[]).includes(backend.name)) continue;
      if (c.params === undefined) results.push(run_case(c, backend, null));
      else c.params.forEach((_, i) => results.push(run_case(c, backend, i)));
    }
  }
  const failed = results.filter((r) => r.status === 'fail').length;
  const name = (r: KunitResult) => `${r.suite}.${r.name}${r.param !== null ? ` (${r.param})` : ''}`;
  if (format === 'tap') {
    const lines = ['TAP version 13', `1..${results.length}`];
    results.forEach((r, i) => {
      lines.push(`${r.status === 'pass' ? 'ok' : 'not ok'} ${i + 1} - ${r.backend}: ${name(r)}`);
      for (const f of r.failures) lines.push(`  # ${f}`);
      for (const l of r.log) lines.push(`  # ${l}`);
    });
    return { text: lines.join('\n') + '\n', failed };
  }
  const rows = [['backend', 'case', 'result', 'virtual time (ms)', 'figures']];
  for (const r of results) {
    const figures = Object.entries(r.metrics).map(([k, v]) => `${k}=${v}`).join(', ');
    rows.push([r.backend, name(r), r.status === 'pass' ? 'pass' : `FAIL: ${r.failures[0]}`, (r.sim_time_ns / 1e6).toFixed(1), figures]);
  }
  return { text: markdownTable(rows) + `\n\n${results.length - failed} passed, ${failed} failed\n`, failed };
}
