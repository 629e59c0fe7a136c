/**
 * PCT (probabilistic concurrency testing, Burckhardt et al., ASPLOS 2010) as a TieBreaker.
 *
 * Classic PCT gives every thread a random priority, always runs the highest-priority runnable
 * thread, and at d-1 random steps lowers the running thread's priority below every other; a
 * bug of depth d is then found with probability at least 1/(n * k^(d-1)).
 *
 * The event queue only tells a tie-breaker how many events race (`count`), never which. The
 * adaptation keeps one priority per racing event: the queue removes the chosen event and keeps
 * the order of the rest, and events scheduled meanwhile for the same instant are appended, so
 * the first `count - fresh` candidates of the next call are the survivors of the previous one
 * and keep their priorities; new candidates get fresh random ones. When fewer candidates come
 * than survived (another instant, or cancelled events) every priority is drawn afresh. Change
 * points are counted in choices: at the i-th of the d-1 chosen choice numbers (uniform in
 * [0, horizon)), the highest-priority candidate drops to priority i before the choice.
 */
import type { TieBreaker } from './event-queue.ts';
import { RandomStream } from './random.ts';

export interface PctOptions {
  /** Bug depth d: d-1 priority change points (default 3). */
  readonly depth?: number;
  /** Expected number of choices in a run: change points fall in [0, horizon) (default 1000). */
  readonly horizon?: number;
}

export function pct_tie_breaker(seed: number, options: PctOptions = {}, name = 'pct'): TieBreaker {
  const depth = options.depth ?? 3;
  const horizon = options.horizon ?? 1000;
  if (!Number.isInteger(depth) || depth < 1 || depth > 64) throw new RangeError(`pct depth must be an integer in 1..64, got ${depth}`);
  if (!Number.isInteger(horizon) || horizon < 1) throw new RangeError(`pct horizon must be a positive integer, got ${horizon}`);
  // Two streams, so the priorities of a seed do not depend on the depth.
  const stream = new RandomStream(seed, name);
  const change_stream = new RandomStream(seed, `${name}/change_points`);
  // change_at[choice number] = the low priority (1..d-1) the leader drops to there.
  const change_at = new Map<number, number>();
  for (let i = 1; i < depth && change_at.size < horizon; i++) {
    let at = change_stream.below(horizon);
    while (change_at.has(at)) at = (at + 1) % horizon;
    change_at.set(at, i);
  }
  // Initial priorities are above every change-point priority (which are < depth).
  const fresh = (): number => depth + stream.float();
  let survivors: number[] = [];
  let choice_number = 0;
  return {
    name: `pct(${seed},d=${depth},k=${horizon})`,
    choose(count: number): number {
      const priorities = count >= survivors.length ? survivors : [];
      while (priorities.length < count) priorities.push(fresh());
      let best = leader(priorities);
      const low = change_at.get(choice_number++);
      if (low !== undefined) {
        priorities[best] = low;
        best = leader(priorities);
      }
      priorities.splice(best, 1);
      survivors = priorities;
      return best;
    },
  };
}

function leader(priorities: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < priorities.length; i++) if (priorities[i] > priorities[best]) best = i;
  return best;
}
