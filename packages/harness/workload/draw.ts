/**
 * Sampling workload distributions. The only source of randomness is the RandomStream passed
 * in, so a given (seed, stream name) yields the same sequence on both schedulers.
 */
import type { RandomStream } from '@deplab/sim';
import type { Distribution } from './types.ts';

function clamp(value: number, min: number, max: number | null): number {
  if (value < min) return min;
  if (max !== null && value > max) return max;
  return value;
}

/**
 * Draws one value of `distribution` in whole microseconds from `stream`.
 * A constant draws nothing from the stream; uniform draws one integer; exponential draws one
 * float; normal draws two floats (Box-Muller). Throws RangeError on a malformed distribution,
 * which the loaders never produce.
 */
export function draw(distribution: Distribution, stream: RandomStream): number {
  switch (distribution.kind) {
    case 'constant':
      assert_time(distribution.value_us, 'value_us');
      return distribution.value_us;
    case 'uniform':
      assert_time(distribution.min_us, 'min_us');
      assert_time(distribution.max_us, 'max_us');
      return stream.int(distribution.min_us, distribution.max_us);
    case 'exponential': {
      assert_bounds(distribution.min_us, distribution.max_us);
      if (!(distribution.mean_us > 0)) throw new RangeError(`exponential mean_us must be > 0, got ${distribution.mean_us}`);
      const value = Math.round(stream.exponential(distribution.mean_us));
      return clamp(value, distribution.min_us, distribution.max_us);
    }
    case 'normal': {
      assert_bounds(distribution.min_us, distribution.max_us);
      if (!(distribution.mean_us >= 0) || !(distribution.stddev_us >= 0)) {
        throw new RangeError(`normal needs mean_us >= 0 and stddev_us >= 0`);
      }
      // Box-Muller with a fixed two draws per sample, so one sample never shifts the next.
      const u1 = 1 - stream.float(); // (0, 1]: log(u1) is finite
      const u2 = stream.float();
      const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
      const value = Math.round(distribution.mean_us + distribution.stddev_us * z);
      return clamp(value, distribution.min_us, distribution.max_us);
    }
  }
}

function assert_time(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be an integer >= 0, got ${value}`);
}

function assert_bounds(min_us: number, max_us: number | null): void {
  assert_time(min_us, 'min_us');
  if (max_us !== null) {
    assert_time(max_us, 'max_us');
    if (max_us < min_us) throw new RangeError(`max_us ${max_us} < min_us ${min_us}`);
  }
}

