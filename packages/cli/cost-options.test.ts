/**
 * `--cost-profile` and distribution values of `--cost` on `run` and `compare`, run in this
 * thread through main() (no DEPLAB_BUNDLE: the pool runs tasks inline).
 */
import { describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from './main.ts';

async function deplab(args: readonly string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '', err = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { out += String(s); return true; });
  const ewrite = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
  try {
    return { code: await main(args), out, err };
  } finally {
    write.mockRestore();
    ewrite.mockRestore();
  }
}

const digest = async (args: readonly string[]) => (JSON.parse((await deplab(['run', ...args, '--json'])).out) as { trace_digest: string }).trace_digest;

describe('cost options', () => {
  it('--cost-profile constant draws nothing: a workload without random parameters repeats one run on every seed', async () => {
    // kunit/50-50 has fixed durations: under the constant profile the seed changes nothing (a
    // comparison calls that deterministic, n_eff 1); under the default profile every seed differs.
    const w = ['kunit/50-50', '--driver', 'mock', '--backend', 'sched'];
    const c1 = await digest([...w, '--seed', '1', '--cost-profile', 'constant']);
    expect(await digest([...w, '--seed', '2', '--cost-profile', 'constant'])).toBe(c1);
    const d1 = await digest([...w, '--seed', '1']);
    expect(d1).not.toBe(c1);
    expect(await digest([...w, '--seed', '2'])).not.toBe(d1);
  });

  it('the default profile draws: seeds differ, the same seed repeats, and a distribution override is honoured', async () => {
    const w = ['wsim/composited-ui', '--driver', 'mock', '--backend', 'sched'];
    const one = await digest([...w, '--seed', '1']);
    expect(await digest([...w, '--seed', '1'])).toBe(one);
    expect(await digest([...w, '--seed', '2'])).not.toBe(one);
    expect(await digest([...w, '--seed', '1', '--cost-profile', 'desktop'])).toBe(one);
    expect(await digest([...w, '--seed', '1', '--cost', 'kworker_wakeup_ns=uniform:2000:9000'])).not.toBe(one);
  });

  it('bad profiles and values exit 2 naming what is known or expected', async () => {
    const w = ['run', 'wsim/composited-ui', '--driver', 'mock', '--backend', 'sched'];
    let r = await deplab([...w, '--cost-profile', 'laptop']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--cost-profile: unknown profile 'laptop' (known: constant, server-idle, desktop, busy)");
    r = await deplab([...w, '--cost', 'kworker_wakeup_ns=lognormal:6000:1000:9']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--cost: cost kworker_wakeup_ns: lognormal needs 0 < median_ns <= p99_ns <= max_ns');
    r = await deplab([...w, '--cost', 'kworker_wakeup_ns']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--cost expects key=value with a value of NS, uniform:MIN:MAX');
    r = await deplab(['compare', 'kunit/50-50', '--driver', 'mock', '--cost-profile', 'nope']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("unknown profile 'nope'");
  });

  it('compare writes the profile and the overrides into the report and its reproduce line', async () => {
    const out = mkdtempSync(join(tmpdir(), 'deplab-cost-'));
    const r = await deplab(['compare', 'kunit/50-50', '--driver', 'mock', '--seeds', '2', '--out', out, '--jobs', '1', '--no-charts',
      '--cost-profile', 'server-idle', '--cost', 'queue_work_ns=uniform:100:400']);
    expect(r.code).toBe(0);
    const md = readFileSync(join(out, 'mock', 'kunit-50-50.md'), 'utf8');
    expect(md).toContain('Cost table (profile server-idle;');
    expect(md).toMatch(/\| kworker_wakeup_ns +\| +empirical:0=2000,0\.5=4500,/);
    expect(md).toMatch(/\| queue_work_ns +\| +uniform:100:400 +\|/);
    expect(md).toContain('`npx deplab compare kunit/50-50 --driver mock --seeds 2 --cost-profile server-idle --cost queue_work_ns=uniform:100:400`');
  }, 60_000);
});
