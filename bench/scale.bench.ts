/**
 * Whole commands at scale, each in a child process running the deplab command as users run it
 * (packages/cli/bin/deplab.mjs), outputs in a temporary directory. Figures: wall time, CPU time
 * and peak RSS of the process (its worker threads included), read from the child's own
 * process.resourceUsage() at exit; for the long run, RSS sampled from /proc while it runs.
 * - run: 1 M jobs on one queue (peak RSS, both backends); 10 M jobs (RSS over the run: flat);
 * - compare: 250 k, 500 k and 1 M jobs on one queue, 2 seeds, one worker (cost linear in jobs);
 * - run of every driver and backend with 20 k and 160 k jobs in flight at once, and with 4,000
 *   and 16,000 queues (CPU per job and per queue: flat if no list walk grows with them);
 * - report and an exploration campaign with --jobs 1 and --jobs 2 (the ratio of wall times);
 * - the README's main job (deplab report), deplab readiness, and `npm run report`
 *   (scripts/report.sh, into a temporary directory).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { driver_backends, find_driver } from '@deplab/harness';
import type { ScaleBenchmark, Suite } from './registry.ts';

const ROOT = resolve(process.env.DEPLAB_ROOT ?? '.');
const LAUNCHER = join(ROOT, 'packages', 'cli', 'bin', 'deplab.mjs');

/**
 * Written by the child at exit: its own resource usage (all threads) and its arguments, to the
 * file DEPLAB_BENCH_USAGE or into the directory DEPLAB_BENCH_USAGE_DIR (one file per process).
 */
const USAGE_HOOK = 'data:text/javascript,import{writeFileSync}from"node:fs";' +
  'process.on("exit",()=>{const u=JSON.stringify({...process.resourceUsage(),argv:process.argv.slice(2)});' +
  'const f=process.env.DEPLAB_BENCH_USAGE,d=process.env.DEPLAB_BENCH_USAGE_DIR;' +
  'if(f)writeFileSync(f,u);else if(d)writeFileSync(d+"/"+process.pid+"-"+Date.now()+".json",u)})';

export interface CommandRun {
  readonly wall_s: number;
  readonly cpu_s: number;
  readonly max_rss_mb: number;
  /** RSS samples (MB) at `sample_ms` intervals, when asked for. */
  readonly rss_mb: readonly number[];
}

function rss_of(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Number(m[1]) / 1024;
  } catch {
    return null;
  }
}

let bundle_built = false;

/** Run `deplab <args>` to completion; a non-zero exit is an error naming the command. */
export async function deplab_command(args: readonly string[], sample_ms = 0): Promise<CommandRun> {
  if (!bundle_built) {
    // The launcher rebuilds its bundle when a source is newer: not part of any figure.
    bundle_built = true;
    await deplab_command(['--version']);
  }
  return command(args, sample_ms);
}

function command(args: readonly string[], sample_ms: number): Promise<CommandRun> {
  const dir = mkdtempSync(join(tmpdir(), 'deplab-bench-'));
  const usage_file = join(dir, 'usage.json');
  const t0 = performance.now();
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [`--import=${USAGE_HOOK}`, LAUNCHER, ...args], {
      cwd: dir, env: { ...process.env, DEPLAB_ROOT: ROOT, DEPLAB_BENCH_USAGE: usage_file }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
    const rss: number[] = [];
    const timer = sample_ms > 0 ? setInterval(() => { const r = rss_of(child.pid!); if (r !== null) rss.push(r); }, sample_ms) : null;
    child.on('error', fail);
    child.on('exit', (code) => {
      if (timer !== null) clearInterval(timer);
      const wall_s = (performance.now() - t0) / 1000;
      try {
        if (code !== 0) throw new Error(`deplab ${args.join(' ')} exited with ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`);
        const u = JSON.parse(readFileSync(usage_file, 'utf8')) as NodeJS.ResourceUsage;
        done({ wall_s, cpu_s: (u.userCPUTime + u.systemCPUTime) / 1e6, max_rss_mb: u.maxRSS / 1024, rss_mb: rss });
      } catch (e) {
        fail(e);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

/** A workload file of `jobs` jobs on one queue (the shape of bench/harness.bench.ts), in a temporary directory. */
function workload_file(jobs: number): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'deplab-bench-w-'));
  const path = join(dir, `one-queue-${jobs}.json`);
  writeFileSync(path, JSON.stringify({
    name: `one-queue-${jobs}`, clients: [{
      name: 'c0', queues: [{ name: 'q', engine: 'render' }],
      program: { loops: jobs, steps: [{ batch: { queue: 'q', duration_us: [50, 150] } }, { queue_depth: { depth: 8 } }] },
    }],
  }));
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A workload file holding `doc`, in a temporary directory. */
function json_file(doc: { name: string }): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'deplab-bench-w-'));
  const path = join(dir, `${doc.name}.json`);
  writeFileSync(path, JSON.stringify(doc));
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `jobs` jobs on one queue with no queue depth: every job is in flight at once. */
const burst = (jobs: number) => ({
  name: `burst-${jobs}`, clients: [{ name: 'c0', queues: [{ name: 'q', engine: 'render' }], program: { loops: jobs, steps: [{ batch: { queue: 'q', duration_us: [20, 80] } }] } }],
});

/** 1,000 clients with `per_client` queues each, 5 jobs per queue (stress/many-queues has 1). */
const many_queues = (per_client: number) => {
  const queues = Array.from({ length: per_client }, (_, i) => `q${i}`);
  return {
    name: `queues-${1000 * per_client}`,
    clients: Array.from({ length: 1000 }, (_, c) => ({
      name: `c${c}`, queues: queues.map((name) => ({ name, engine: 'render' })),
      program: { loops: 5, steps: queues.map((queue) => ({ batch: { queue, duration_us: [20, 80] } })) },
    })),
  };
};

/**
 * CPU per unit (job or queue) of `deplab run` on every driver and backend at a small and a
 * large size, the process start (a run of one job) taken off; the ratio is 1 when the cost is
 * linear. Before the lists walked and moved per job went, jobs in flight gave ratios of 1.8 to 4.1
 * on drm_dep, drm_dep+hw and the mock's drm_sched.
 */
function per_unit(name: string, unit: string, small: { units: number; doc: { name: string } }, large: { units: number; doc: { name: string } }): ScaleBenchmark {
  return {
    name: `scale/${name}`,
    async run() {
      const files = [json_file(burst(1)), json_file(small.doc), json_file(large.doc)];
      try {
        const lines: string[] = [];
        for (const driver of ['mock', 'xe', 'panthor', 'amdxdna', 'panfrost']) {
          for (const backend of driver_backends(find_driver(driver)!)) {
            const cpu: number[] = [];
            for (const f of files) cpu.push((await deplab_command(['run', f.path, '--driver', driver, '--backend', backend])).cpu_s);
            const us_a = (cpu[1] - cpu[0]) / small.units * 1e6, us_b = (cpu[2] - cpu[0]) / large.units * 1e6;
            lines.push(`${driver} ${backend}: ${us_a.toFixed(0)} / ${us_b.toFixed(0)} µs CPU per ${unit} at ${small.units / 1000} k / ${large.units / 1000} k; ratio ${(us_b / us_a).toFixed(2)}`);
          }
        }
        return lines;
      } finally { for (const f of files) f.remove(); }
    },
  };
}

const s = (x: number) => `${x.toFixed(1)} s`;
const mb = (x: number) => `${Math.round(x)} MB`;
const fig = (r: CommandRun) => `${s(r.wall_s)} wall, ${s(r.cpu_s)} CPU, peak RSS ${mb(r.max_rss_mb)}`;

function out_dir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'deplab-bench-out-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

async function with_out<T>(f: (dir: string) => Promise<T>): Promise<T> {
  const o = out_dir();
  try { return await f(o.dir); } finally { o.remove(); }
}

const run_1m: ScaleBenchmark = {
  name: 'scale/run 1 M jobs, one queue (mock)',
  async run() {
    const w = workload_file(1_000_000);
    try {
      const lines: string[] = [];
      for (const backend of ['sched', 'dep']) {
        const r = await deplab_command(['run', w.path, '--driver', 'mock', '--backend', backend]);
        lines.push(`drm_${backend}: ${fig(r)}, ${Math.round(1e6 / r.cpu_s / 1e3)} k jobs/CPU-s`);
      }
      return lines;
    } finally { w.remove(); }
  },
};

const run_10m: ScaleBenchmark = {
  name: 'scale/run 10 M jobs, one queue (mock, drm_sched): RSS over the run',
  async run() {
    const w = workload_file(10_000_000);
    try {
      const r = await deplab_command(['run', w.path, '--driver', 'mock', '--backend', 'sched'], 1000);
      // Jobs complete at a steady rate: a tenth of the run's samples is about a million jobs.
      const at = (f: number) => r.rss_mb[Math.min(r.rss_mb.length - 1, Math.max(0, Math.round(f * r.rss_mb.length) - 1))];
      return [fig(r), `RSS at ~1 M / 5 M / 10 M jobs (10%, 50%, 100% of the run): ${mb(at(0.1))} / ${mb(at(0.5))} / ${mb(at(1))}`];
    } finally { w.remove(); }
  },
};

const compare_linear: ScaleBenchmark = {
  name: 'scale/compare, one queue, 2 seeds, --jobs 1 (mock)',
  async run() {
    const lines: string[] = [];
    let first: { jobs: number; cpu: number } | null = null;
    for (const jobs of [250_000, 500_000, 1_000_000]) {
      const w = workload_file(jobs);
      try {
        const r = await with_out((dir) => deplab_command(['compare', w.path, '--driver', 'mock', '--seeds', '2', '--jobs', '1', '--no-charts', '--out', dir]));
        first ??= { jobs, cpu: r.cpu_s };
        lines.push(`${jobs / 1000} k jobs: ${fig(r)}; CPU per job relative to ${first.jobs / 1000} k: ${((r.cpu_s / jobs) / (first.cpu / first.jobs)).toFixed(2)}`);
      } finally { w.remove(); }
    }
    return lines;
  },
};

/** One command with --jobs 1 and --jobs 2. */
function two_workers(name: string, args: readonly string[]): ScaleBenchmark {
  return {
    name: `scale/${name}: --jobs 1 vs --jobs 2`,
    async run() {
      const one = await with_out((dir) => deplab_command([...args, '--jobs', '1', '--out', dir]));
      const two = await with_out((dir) => deplab_command([...args, '--jobs', '2', '--out', dir]));
      return [`--jobs 1: ${fig(one)}`, `--jobs 2: ${fig(two)}`, `wall time ratio (2 / 1): ${(two.wall_s / one.wall_s).toFixed(2)}`];
    },
  };
}

const readiness: ScaleBenchmark = {
  name: 'scale/readiness',
  async run() {
    return [fig(await with_out((dir) => deplab_command(['readiness', '--out', dir])))];
  },
};

/**
 * `npm run report` (scripts/report.sh) with its output directory in a temporary one: the script
 * runs as written, its `deplab` a wrapper that records each command's resource usage.
 */
const npm_report: ScaleBenchmark = {
  name: 'scale/npm run report (scripts/report.sh into a temporary directory)',
  async run() {
    await deplab_command(['--version']);
    const script = readFileSync(join(ROOT, 'scripts', 'report.sh'), 'utf8');
    if (!/^out=reports$/m.test(script)) throw new Error('scripts/report.sh: no line out=reports to redirect');
    const dir = mkdtempSync(join(tmpdir(), 'deplab-bench-report-'));
    try {
      const usage = join(dir, 'usage'), bin = join(dir, 'bin'), out = join(dir, 'out');
      for (const d of [usage, bin, out]) mkdirSync(d);
      writeFileSync(join(bin, 'deplab'), `#!/bin/sh\nexec '${process.execPath}' '--import=${USAGE_HOOK}' '${LAUNCHER}' "$@"\n`, { mode: 0o755 });
      writeFileSync(join(dir, 'report.sh'), script.replace(/^out=reports$/m, `out='${out}'`));
      const t0 = performance.now();
      await new Promise<void>((done, fail) => {
        const child = spawn('sh', [join(dir, 'report.sh')], {
          cwd: ROOT, stdio: ['ignore', 'ignore', 'ignore'],
          env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, DEPLAB_ROOT: ROOT, DEPLAB_BENCH_USAGE_DIR: usage },
        });
        child.on('error', fail);
        child.on('exit', (code) => (code === 0 ? done() : fail(new Error(`scripts/report.sh exited with ${code}`))));
      });
      const wall_s = (performance.now() - t0) / 1000;
      const runs = readdirSync(usage).sort().map((f) => JSON.parse(readFileSync(join(usage, f), 'utf8')) as NodeJS.ResourceUsage & { argv: string[] });
      const lines = runs.map((u) => `deplab ${u.argv.join(' ').replace(out, '<out>')}: ${s((u.userCPUTime + u.systemCPUTime) / 1e6)} CPU, peak RSS ${mb(u.maxRSS / 1024)}`);
      const cpu = runs.reduce((n, u) => n + (u.userCPUTime + u.systemCPUTime) / 1e6, 0);
      lines.push(`total: ${s(wall_s)} wall, ${s(cpu)} CPU`);
      return lines;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

export const scale_suite: Suite = {
  area: 'scale',
  benchmarks: [],
  scale: [
    run_1m, run_10m, compare_linear,
    per_unit('run, jobs in flight at once (every driver and backend)', 'job', { units: 20_000, doc: burst(20_000) }, { units: 160_000, doc: burst(160_000) }),
    per_unit('run, many queues, 5 jobs each (every driver and backend)', 'queue', { units: 4000, doc: many_queues(4) }, { units: 16_000, doc: many_queues(16) }),
    two_workers('report', ['report']),
    two_workers('explore campaign (xe, all faults, 1000 seeds)', ['explore', '--driver', 'xe', '--faults', 'all', '--seeds', '1000']),
    readiness, npm_report,
  ],
};
