/**
 * `deplab explore` and `deplab replay`: a small campaign writes its report with replay tokens,
 * a token from the report replays, and bad arguments are usage errors (exit 2).
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deplab } from './cli.testlib.ts';

describe('deplab explore', () => {
  it('writes a report whose tokens replay, deterministically', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deplab-explore-'));
    try {
      const args = ['explore', '--driver', 'mock', '--backend', 'sched', '--seeds', '12', '--max-shrinks', '2', '--shrink-budget', '40', '--out', dir];
      const r = await deplab(args);
      expect(r.code).toBe(0);
      expect(r.out).toContain('drm_sched: 12 seeds');
      const report = readFileSync(join(dir, 'explore', 'mock.sched.md'), 'utf8');
      expect(report).toContain('npx deplab explore --driver mock --backend sched --faults all --seeds 12');
      expect(report).toContain('| # | kind | site | seeds |');
      expect(existsSync(join(dir, 'explore', 'mock.sched.json'))).toBe(true);
      const token = /npx deplab replay (dl2\.[A-Za-z0-9_.-]+)/.exec(report)![1];
      const replay = await deplab(['replay', token]);
      expect(replay.code).toBe(1); // it shows the violation again
      expect(replay.out).toMatch(/mock\/sched seed \d+, strategy random/);
      await deplab(args);
      expect(readFileSync(join(dir, 'explore', 'mock.sched.md'), 'utf8')).toBe(report);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a campaign of both backends is <driver>.md (what readiness reads), one of a single binding <driver>.<backend>.md beside it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deplab-explore-names-'));
    try {
      const base = ['explore', '--driver', 'mock', '--seeds', '2', '--no-shrink', '--out', dir];
      expect((await deplab(base)).code).toBe(0);
      const both = readFileSync(join(dir, 'explore', 'mock.md'), 'utf8');
      expect(both).toContain('## drm_sched (backend sched)');
      expect(both).toContain('## drm_dep (backend dep)');
      expect((await deplab([...base, '--backend', 'dep-hw'])).code).toBe(0);
      expect(readFileSync(join(dir, 'explore', 'mock.dep-hw.md'), 'utf8')).toContain('(backend dep-hw)');
      expect(readFileSync(join(dir, 'explore', 'mock.md'), 'utf8')).toBe(both);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('rejects unknown faults, drivers and malformed tokens with exit 2', async () => {
    expect((await deplab(['explore', '--driver', 'mock', '--faults', 'hang,meteor'])).code).toBe(2);
    expect((await deplab(['explore', '--driver', 'nosuch', '--seeds', '1'])).code).toBe(2);
    const bad = await deplab(['replay', 'dl2.AAAA.0123456789abcdef']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('checksum mismatch');
  });
});
