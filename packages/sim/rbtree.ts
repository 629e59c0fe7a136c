/**
 * struct rb_root_cached (include/linux/rbtree.h) as the schedulers use it: an ordered set of
 * objects by a numeric key, with rb_add_cached's order for equal keys (a new node goes after
 * the existing equal ones: `less` false walks right). O(log n) insert and erase, O(1) first,
 * in-order walks. A B+ tree (sorted-btree) stands in for the red-black tree; only the order is
 * modelled, not the shape. A sorted array did this with O(n) moves per insert and erase, which
 * made a scheduler with 16,000 entities spend most of its time moving them.
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
  private readonly tree: sorted_btree<T, undefined>;
  private seq = 0;

  /** `key` reads the object's key (entity->oldest_job_waiting, a queue's policy key). */
  constructor(key: (x: T) => number) {
    this.tree = new BTree<T, undefined>(undefined, (a, b) => {
      const ka = key(a), kb = key(b);
      return ka < kb ? -1 : ka > kb ? 1 : a.rb_seq - b.rb_seq;
    });
  }

  get size(): number {
    return this.tree.size;
  }

  /** rb_add_cached: after every node with an equal key. */
  add(x: T): void {
    x.rb_seq = ++this.seq;
    this.tree.set(x, undefined);
  }

  /** rb_erase_cached; false if `x` is not in the tree (under its current key). */
  erase(x: T): boolean {
    return this.tree.delete(x);
  }

  /** rb_first_cached: the leftmost node, or null. */
  first(): T | null {
    return this.tree.minKey() ?? null;
  }

  /** A walk in key order (rb_first / rb_next); the tree must not change during it. */
  [Symbol.iterator](): IterableIterator<T> {
    return this.tree.keys();
  }

  /** The nodes in key order, as an array. */
  to_array(): T[] {
    return this.tree.keysArray();
  }
}
