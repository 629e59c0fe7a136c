/**
 * struct kref (include/linux/kref.h) with underflow and get-after-zero checks.
 */
import type { Kernel } from './kernel.ts';

export class kref {
  refcount: number;
  readonly kernel: Kernel;
  /** What the count guards, for violation messages. */
  readonly what: string;

  constructor(kernel: Kernel, what: string) {
    this.kernel = kernel;
    this.what = what;
    this.refcount = 1;
  }
}

/** kref_init: count = 1. */
export function kref_init(ref: kref): void {
  ref.refcount = 1;
}

export function kref_read(ref: kref): number {
  return ref.refcount;
}

/** kref_get: increment; getting a zero count is a use after free (refcount_t saturates and warns). */
export function kref_get(ref: kref): void {
  if (ref.refcount <= 0) {
    ref.kernel.violation('use_after_free', 'kref_get', `refcount_t: addition on 0; use-after-free. (kref_get on ${ref.what} with count 0)`);
    return;
  }
  ref.refcount++;
}

/** kref_get_unless_zero: take a reference only if the object is not already dying. */
export function kref_get_unless_zero(ref: kref): boolean {
  if (ref.refcount <= 0) return false;
  ref.refcount++;
  return true;
}

/**
 * kref_put: decrement; at zero call `release` and return true. A put on a zero count is an
 * underflow (refcount_t warns and saturates; release is not called again).
 */
export function kref_put<T extends kref>(ref: T, release: (ref: T) => void): boolean {
  if (ref.refcount <= 0) {
    ref.kernel.violation('refcount_underflow', 'kref_put', `refcount_t: underflow; use-after-free. (kref_put on ${ref.what} with count ${ref.refcount})`);
    return false;
  }
  if (--ref.refcount === 0) {
    release(ref);
    return true;
  }
  return false;
}
