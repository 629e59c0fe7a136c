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
   * Build the state (outside the timing) and return the function to time. Each call continues
   * from where the previous one stopped, so a steady state is measured, not a cold start.
   */
  setup(): () => void;
}

export interface Suite {
  /** Area name, for filtering on the command line: `npm run bench -- sim`. */
  readonly area: string;
  readonly benchmarks: readonly Benchmark[];
}
