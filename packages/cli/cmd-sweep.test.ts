/**
 * Sweep shards on a cluster: the shard index from each array-job engine's environment, and a
 * strict merge (one complete sweep, verified) of shards written by `deplab sweep`.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deplab } from './cli.testlib.ts';
import { parse_shard, shard_from_env } from './cmd-sweep.ts';

describe('--shard auto: the array-job index from the environment', () => {
  it('reads DEPLAB_SHARD, Slurm, GitLab and Kubernetes Indexed Jobs, 1-based', () => {
    expect(shard_from_env({ DEPLAB_SHARD: '3/8' })).toMatchObject({ i: 3, n: 8 });
    expect(shard_from_env({ SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_COUNT: '8', SLURM_ARRAY_TASK_MIN: '1' })).toMatchObject({ i: 5, n: 8, source: 'Slurm job array' });
    expect(shard_from_env({ SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '0' })).toMatchObject({ i: 1, n: 4 });
    expect(shard_from_env({ CI_NODE_INDEX: '2', CI_NODE_TOTAL: '2' })).toMatchObject({ i: 2, n: 2, source: 'GitLab parallel' });
    expect(shard_from_env({ JOB_COMPLETION_INDEX: '0', DEPLAB_SHARD_COUNT: '16' })).toMatchObject({ i: 1, n: 16, source: 'Kubernetes Indexed Job' });
    expect(parse_shard('2/5')).toMatchObject({ i: 2, n: 5 });
    expect(parse_shard('auto', { DEPLAB_SHARD: '1/1' })).toMatchObject({ i: 1, n: 1 });
  });

  it('refuses what it cannot read, naming the variable', () => {
    expect(() => shard_from_env({})).toThrow(/no array-job index in the environment/);
    expect(() => shard_from_env({ JOB_COMPLETION_INDEX: '3' })).toThrow(/DEPLAB_SHARD_COUNT is not set/);
    expect(() => shard_from_env({ CI_NODE_INDEX: 'x', CI_NODE_TOTAL: '2' })).toThrow(/CI_NODE_INDEX is 'x', not an integer/);
    expect(() => shard_from_env({ SLURM_ARRAY_TASK_ID: '9', SLURM_ARRAY_TASK_COUNT: '8' })).toThrow(/shard 9 of 8 is out of range/);
    expect(() => parse_shard('0/3')).toThrow(/--shard expects i\/n/);
  });
});

describe('sweep and merge', () => {
  it('two shards merge into one complete sweep; a duplicate, a gap, a tampered shard or a mixed sweep is refused naming the files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deplab-sweep-'));
    try {
      const args = (i: number) => ['sweep', '--drivers', 'mock', '--workloads', 'kunit/50-50', '--seeds', '2', '--shard', `${i}/2`, '--jobs', '1', '--out', join(dir, 'shards')];
      for (const i of [1, 2]) expect((await deplab(args(i))).code).toBe(0);
      const s1 = join(dir, 'shards', 'shard-1-of-2.json'), s2 = join(dir, 'shards', 'shard-2-of-2.json');
      const ok = await deplab(['merge', join(dir, 'shards'), '--out', join(dir, 'merged')]);
      expect(ok.code).toBe(0);
      expect(readFileSync(join(dir, 'merged', 'README.md'), 'utf8')).toContain('| mock   | kunit/50-50 | default | 2     |');
      const gap = await deplab(['merge', s1, '--out', join(dir, 'm2')]);
      expect([gap.code, gap.err]).toEqual([2, 'deplab: merge: missing shard(s) 2 of 2\n']);
      const twice = await deplab(['merge', s1, s1, s2, '--out', join(dir, 'm3')]);
      expect(twice.code).toBe(2);
      expect(twice.err).toContain('shard 1 of 2 given twice');
      const tampered = join(dir, 'tampered.json');
      writeFileSync(tampered, readFileSync(s2, 'utf8').replace('"seed":2', '"seed":3'));
      const bad = await deplab(['merge', s1, tampered, '--out', join(dir, 'm4')]);
      expect(bad.code).toBe(2);
      expect(bad.err).toContain('checksum mismatch');
      const other = await deplab(['sweep', '--drivers', 'mock', '--workloads', 'kunit/50-50', '--seeds', '3', '--shard', '2/2', '--jobs', '1', '--out', join(dir, 'other')]);
      expect(other.code).toBe(0);
      const mixed = await deplab(['merge', s1, join(dir, 'other', 'shard-2-of-2.json'), '--out', join(dir, 'm5')]);
      expect(mixed.code).toBe(2);
      expect(mixed.err).toContain('belongs to another sweep');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
