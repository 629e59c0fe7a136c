/**
 * A list taken from the head and added to at the tail: the model's stand-in for a `list_head`
 * used as a queue (pending lists, job queues, work lists). The kernel's list_del is O(1); so is
 * `shift` here. A plain array's shift() is not once the array is large: V8 moves every element
 * of an array past about 16,000 entries (measured: 0.14 µs a shift at 10,000 entries, 1.3 µs at
 * 20,000, 12.7 µs at 160,000), which made 160,000 jobs in flight cost 190-470 µs a job on
 * drm_dep, drm_dep+hw and the mock (25-45 µs now). The head advances instead, and the array
 * is compacted once the dead head is at least half of it (amortised O(1) a shift).
 */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(x: T): void {
    this.items.push(x);
  }

  /** The head, removed; undefined if empty. */
  shift(): T | undefined {
    const items = this.items;
    if (this.head === items.length) return undefined;
    const x = items[this.head];
    items[this.head++] = undefined;
    if (this.head === items.length) {
      items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= items.length) {
      items.copyWithin(0, this.head);
      items.length -= this.head;
      this.head = 0;
    }
    return x;
  }

  /** Put `x` back at the head (list_add, as drm_sched's TDR reinserts the bad job). */
  unshift(x: T): void {
    if (this.head > 0) this.items[--this.head] = x;
    else this.items.unshift(x);
  }

  /** The i-th entry from the head; undefined out of range. */
  at(i: number): T | undefined {
    return i >= 0 && i < this.length ? this.items[this.head + i] : undefined;
  }

  indexOf(x: T): number {
    const i = this.items.indexOf(x, this.head);
    return i < 0 ? -1 : i - this.head;
  }

  /**
   * The entry whose `key` is `value`, by binary search: for a list kept in ascending `key` order
   * (pushed in that order; removals keep it). Undefined if there is none.
   */
  find_sorted(value: number, key: (x: T) => number): T | undefined {
    const items = this.items;
    let lo = this.head, hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (key(items[mid] as T) < value) lo = mid + 1;
      else hi = mid;
    }
    return lo < items.length && key(items[lo] as T) === value ? items[lo] : undefined;
  }

  /** Remove the i-th entry keeping the order of the rest; O(1) at the head. */
  remove_at(i: number): T | undefined {
    if (i === 0) return this.shift();
    if (i < 0 || i >= this.length) return undefined;
    const items = this.items, at = this.head + i;
    const x = items[at];
    items.copyWithin(at, at + 1);
    items.pop();
    return x;
  }

  /** list_del of `x`; false if it is not on the list. */
  remove(x: T): boolean {
    const i = this.indexOf(x);
    if (i < 0) return false;
    this.remove_at(i);
    return true;
  }

  clear(): void {
    this.items.length = 0;
    this.head = 0;
  }

  /** A copy, head first: what a walk that may change the list iterates over. */
  to_array(): T[] {
    return this.items.slice(this.head) as T[];
  }
}
