/**
 * `npm run bench [-- <filter>]`: run every registered benchmark (or those whose area or name
 * contains <filter>) with tinybench and print throughput in each benchmark's own unit.
 * Not part of `npm test`: timings depend on the machine. Figures go to docs/performance.md.
 *
 * To add an area: write bench/<area>.bench.ts exporting a Suite, and list it in SUITES.
 */
import os from 'node:os';
import { Bench } from 'tinybench';
import type { Benchmark, Suite } from './registry.ts';
import { sim_suite } from './sim.bench.ts';
import { harness_suite } from './harness.bench.ts';
import { kunit_suite } from './kunit.bench.ts';

const SUITES: readonly Suite[] = [sim_suite, harness_suite, kunit_suite];

/** Timed budget per benchmark, after warm-up; long enough to smooth a noisy VM. */
const TIME_MS = 3_000;
const WARMUP_MS = 500;

interface Row {
  readonly name: string;
  readonly unit: string;
  readonly median_per_s: number;
  readonly mean_per_s: number;
  readonly rme_percent: number;
  readonly samples: number;
}

async function measure(benchmark: Benchmark): Promise<Row> {
  const bench = new Bench({ time: TIME_MS, warmupTime: WARMUP_MS, throws: true });
  bench.add(benchmark.name, benchmark.setup());
  await bench.run();
  const result = bench.tasks[0].result;
  if (result.state !== 'completed') throw new Error(`${benchmark.name}: ${result.state}`);
  const units = benchmark.units_per_call;
  return {
    name: benchmark.name,
    unit: benchmark.unit,
    median_per_s: result.throughput.p50 * units,
    mean_per_s: result.throughput.mean * units,
    rme_percent: result.throughput.rme,
    samples: result.throughput.samplesCount,
  };
}

function millions(n: number): string {
  // Three decimals below 1 M, so that figures in the 10^5 range keep three significant digits.
  return `${(n / 1e6).toFixed(n < 1e6 ? 3 : 2)} M`;
}

async function main(): Promise<void> {
  const filter = process.argv[2] ?? '';
  const selected = SUITES.flatMap((s) => s.benchmarks.filter((b) => s.area.includes(filter) || b.name.includes(filter)));
  if (selected.length === 0) throw new Error(`no benchmark matches "${filter}"`);
  console.log(`node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown cpu'}), ${os.platform()} ${os.arch()}`);
  const rows: Row[] = [];
  for (const b of selected) {
    const row = await measure(b);
    rows.push(row);
    console.log(`${row.name}: ${millions(row.median_per_s)} ${row.unit}/s median` +
      ` (mean ${millions(row.mean_per_s)} ± ${row.rme_percent.toFixed(1)}%, ${row.samples} samples)`);
  }
}

await main();
