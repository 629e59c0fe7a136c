/**
 * The benchmark registry: each area of deplab adds a file `bench/<area>.bench.ts` that exports
 * a Suite, and bench/run.ts lists it in SUITES. Benchmarks measure throughput in their own
 * unit (events, jobs, ...), not in calls of a function, so figures compare across changes.
 */

export interface Benchmark {
  /** Unique, stable name: it is what docs/performance.md quotes. */
  readonly name: string;
  /** What one unit of work is, plural: "events", "jobs". */
  readonly unit: string;
  /** Units of work done by one call of the function setup() returns. */
  readonly units_per_call: number;
  /**
   * Measured against the bare event loop (bench/bare.ts) in the same run: each sample is
   * followed by a sample of the bare loop, both timed in CPU time, and the figure comes with
   * the ratio of the two (jobs only).
   */
  readonly against_bare?: boolean;
  /**
   * Build the state (outside the timing) and return the function to time. Each call continues
   * from where the previous one stopped, so a steady state is measured, not a cold start.
   */
  setup(): () => void;
}

/** A benchmark of whole commands in child processes (bench/scale.bench.ts): it prints its own figures. */
export interface ScaleBenchmark {
  readonly name: string;
  run(): Promise<readonly string[]>;
}

export interface Suite {
  /** Area name, for filtering on the command line: `npm run bench -- sim`. */
  readonly area: string;
  readonly benchmarks: readonly Benchmark[];
  readonly scale?: readonly ScaleBenchmark[];
}
