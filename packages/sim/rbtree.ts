/**
 * struct rb_root_cached (include/linux/rbtree.h) as the schedulers use it: an ordered set of
 * objects by a numeric key, with rb_add_cached's order for equal keys (a new node goes after
 * the existing equal ones: `less` false walks right). Only the order is modelled, not the shape:
 * up to 128 nodes a sorted array (what a scheduler's handful of entities costs least), past
 * that a B+ tree (sorted-btree), O(log n) insert and erase. The array alone made a scheduler
 * with 16,000 entities spend most of its time moving them; the tree alone cost the drm_sched
 * stack 12 % on a one-entity run queue.
 *
 * An object's key must not change while it is in the tree (the kernel erases, re-keys and adds
 * again, as its users here do).
 */
import sorted_btree from 'sorted-btree';

// sorted-btree is CommonJS with `exports.default`: Node's ESM loader (and the bundle, which
// follows it) hands over the exports object, a transpiling loader the class itself.
const BTree = ((sorted_btree as unknown as { default?: typeof sorted_btree }).default ?? sorted_btree);

/** The rb_node embedded in an object kept in an rb_root_cached: its insertion stamp. */
export interface rb_node {
  rb_seq: number;
}

export class rb_root_cached<T extends rb_node> {
  private readonly key: (x: T) => number;
  /** Up to `limit` nodes: a sorted array (a scheduler's few entities, no per-op allocation). */
  private arr: T[] | null = [];
  /** Past `limit`: the B+ tree, for good (a tree that grew that large may again). */
  private tree: sorted_btree<T, undefined> | null = null;
  private readonly limit: number;
  private seq = 0;

  /** `key` reads the object's key (entity->oldest_job_waiting, a queue's policy key). */
  constructor(key: (x: T) => number, limit = 128) {
    this.key = key;
    this.limit = limit;
  }

  get size(): number {
    return this.arr !== null ? this.arr.length : this.tree!.size;
  }

  /** rb_add_cached: after every node with an equal key. */
  add(x: T): void {
    x.rb_seq = ++this.seq;
    const arr = this.arr;
    if (arr === null) {
      this.tree!.set(x, undefined);
      return;
    }
    if (arr.length >= this.limit) {
      this.to_tree(arr);
      this.tree!.set(x, undefined);
      return;
    }
    // Upper bound of the key: after the equal ones. Moved by hand: splice allocates.
    const k = this.key(x);
    let lo = 0, hi = arr.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (k < this.key(arr[mid])) hi = mid;
      else lo = mid + 1;
    }
    arr.push(x);
    for (let i = arr.length - 1; i > lo; i--) arr[i] = arr[i - 1];
    arr[lo] = x;
  }

  /** rb_erase_cached; false if `x` is not in the tree (under its current key). */
  erase(x: T): boolean {
    const arr = this.arr;
    if (arr === null) return this.tree!.delete(x);
    const k = this.key(x);
    let lo = 0, hi = arr.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.key(arr[mid]) < k) lo = mid + 1;
      else hi = mid;
    }
    while (lo < arr.length && arr[lo] !== x && this.key(arr[lo]) === k) lo++;
    if (lo === arr.length || arr[lo] !== x) return false;
    for (let i = lo + 1; i < arr.length; i++) arr[i - 1] = arr[i];
    arr.pop();
    return true;
  }

  /** rb_first_cached: the leftmost node, or null. */
  first(): T | null {
    if (this.arr !== null) return this.arr.length > 0 ? this.arr[0] : null;
    return this.tree!.minKey() ?? null;
  }

  /** A walk in key order (rb_first / rb_next); the tree must not change during it. */
  [Symbol.iterator](): IterableIterator<T> {
    return this.arr !== null ? this.arr.values() : this.tree!.keys();
  }

  /** The nodes in key order, as an array. */
  to_array(): T[] {
    return this.arr !== null ? this.arr.slice() : this.tree!.keysArray();
  }

  private to_tree(arr: T[]): void {
    const key = this.key;
    this.tree = new BTree<T, undefined>(undefined, (a, b) => {
      const ka = key(a), kb = key(b);
      return ka < kb ? -1 : ka > kb ? 1 : a.rb_seq - b.rb_seq;
    });
    for (const x of arr) this.tree.set(x, undefined);
    this.arr = null;
  }
}
