/**
 * `npm run bench [-- <filter>]`: run every registered benchmark (or those whose area or name
 * contains <filter>) and print throughput in each benchmark's own unit. Not part of
 * `npm test`: timings depend on the machine. Figures go to docs/performance.md.
 *
 * Micro-benchmarks run under tinybench (wall time). Benchmarks marked against_bare are timed in
 * CPU time of this process (so a figure is per core, and load from other processes inflates it
 * less than wall time), each sample followed by a sample of the bare event loop
 * (bench/bare.ts): their ratio, measured under the same conditions, is the figure that compares
 * across machines. Scale benchmarks run the deplab command in child processes.
 *
 * To add an area: write bench/<area>.bench.ts exporting a Suite, and list it in SUITES.
 */
import os from 'node:os';
import { Bench } from 'tinybench';
import type { Benchmark, ScaleBenchmark, Suite } from './registry.ts';
import { bare_loop } from './bare.ts';
import { sim_suite } from './sim.bench.ts';
import { harness_suite } from './harness.bench.ts';
import { kunit_suite } from './kunit.bench.ts';
import { scale_suite } from './scale.bench.ts';

const SUITES: readonly Suite[] = [sim_suite, harness_suite, kunit_suite, scale_suite];

/** Timed budget per benchmark, after warm-up; long enough to smooth a noisy VM. */
const TIME_MS = 3_000;
const WARMUP_MS = 500;
/** Paired benchmarks: at least this many samples. */
const PAIRED_SAMPLES_MIN = 7;
/** Jobs per sample of the bare loop (some 50-100 ms of CPU). */
const BARE_JOBS = 300_000;

function millions(n: number): string {
  // Three decimals below 1 M, so that figures in the 10^5 range keep three significant digits.
  return `${(n / 1e6).toFixed(n < 1e6 ? 3 : 2)} M`;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function measure(benchmark: Benchmark): Promise<string> {
  const bench = new Bench({ time: TIME_MS, warmupTime: WARMUP_MS, throws: true });
  bench.add(benchmark.name, benchmark.setup());
  await bench.run();
  const result = bench.tasks[0].result;
  if (result.state !== 'completed') throw new Error(`${benchmark.name}: ${result.state}`);
  const units = benchmark.units_per_call;
  return `${benchmark.name}: ${millions(result.throughput.p50 * units)} ${benchmark.unit}/s median` +
    ` (mean ${millions(result.throughput.mean * units)} ± ${result.throughput.rme.toFixed(1)}%, ${result.throughput.samplesCount} samples)`;
}

/** CPU seconds (user + system, all threads of this process) and wall seconds of `fn`. */
function timed(fn: () => void): { cpu_s: number; wall_s: number } {
  const c0 = process.cpuUsage(), t0 = performance.now();
  fn();
  const t1 = performance.now(), c = process.cpuUsage(c0);
  return { cpu_s: (c.user + c.system) / 1e6, wall_s: (t1 - t0) / 1e3 };
}

/** A benchmark and the bare loop, sample after sample. */
function measure_paired(benchmark: Benchmark): string {
  const fn = benchmark.setup();
  let seed = 1;
  const bare = () => { bare_loop(BARE_JOBS, seed++); };
  const warm_until = performance.now() + WARMUP_MS;
  do { fn(); bare(); } while (performance.now() < warm_until);
  const cpu: number[] = [], wall: number[] = [], bare_cpu: number[] = [], ratio: number[] = [];
  const until = performance.now() + TIME_MS;
  while (cpu.length < PAIRED_SAMPLES_MIN || performance.now() < until) {
    const a = timed(fn), b = timed(bare);
    const rate = benchmark.units_per_call / a.cpu_s, bare_rate = BARE_JOBS / b.cpu_s;
    cpu.push(rate); wall.push(benchmark.units_per_call / a.wall_s); bare_cpu.push(bare_rate); ratio.push(bare_rate / rate);
  }
  return `${benchmark.name}: ${millions(median(cpu))} ${benchmark.unit}/CPU-s median (wall ${millions(median(wall))}/s), ` +
    `bare loop ${millions(median(bare_cpu))}/CPU-s: ratio ${median(ratio).toFixed(1)}x (range ${Math.min(...ratio).toFixed(1)}-${Math.max(...ratio).toFixed(1)}, ${cpu.length} samples)`;
}

async function main(): Promise<void> {
  const filter = process.argv[2] ?? '';
  const pick = <T extends { name: string }>(s: Suite, list: readonly T[] | undefined) => (list ?? []).filter((b) => s.area.includes(filter) || b.name.includes(filter));
  const selected = SUITES.flatMap((s) => pick(s, s.benchmarks));
  const scale: ScaleBenchmark[] = SUITES.flatMap((s) => pick(s, s.scale));
  if (selected.length + scale.length === 0) throw new Error(`no benchmark matches "${filter}"`);
  console.log(`node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown cpu'}), ${os.platform()} ${os.arch()}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const b of selected) console.log(b.against_bare === true ? measure_paired(b) : await measure(b));
  for (const b of scale) {
    console.log(`${b.name} (load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}):`);
    for (const line of await b.run()) console.log(`  ${line}`);
  }
}

await main();
