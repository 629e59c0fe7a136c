/**
 * The object-lifetime tracker (a KASAN/kmemleak stand-in). Every modelled object (job, fence,
 * entity, scheduler, queue, allocation) registers here and gets an id; the models call use()
 * where the C code dereferences the object and free() where it frees it. Use after free,
 * double free and objects still alive after full teardown become violations.
 *
 * Memory follows the live objects, not every object ever made: ids are handed out in order and
 * never reused, so an id below the next one that is not live was freed. The tracker keeps the
 * type, name and creation time of the most recent objects in a window (a ring of at least
 * WINDOW_MIN ids, larger while many of them are live); an object still live when the window
 * moves past it is kept on its own; a freed one is forgotten except for the fact. A use after
 * free or a double free of an object freed that long ago (WINDOW_MIN newer objects made since)
 * names it by id only (describe()).
 */
import type { Kernel } from './kernel.ts';

const STATE_LIVE = 1;
const STATE_FREED = 2;
/** Alive for the whole run by design (the kernel's static dma_fence_stub): never a leak. */
const STATE_STATIC = 3;

/** Ids of recent objects whose type and name are kept, at least (a power of two). */
export const LIFETIME_WINDOW_MIN = 1 << 16;
/** The window's first size: most runs are small, and a kernel is made per run. */
const WINDOW_FIRST = 1 << 10;
/** Entries of the cache of kept objects (a power of two). */
const KEPT_CACHE = 256;

export interface LiveObject {
  readonly id: number;
  readonly type: string;
  readonly name: string;
  readonly created_ns: number;
}

/**
 * Builds an object's name, only when a report needs it, from what track_lazy stored: a shared
 * string and two numbers. Pass a module-level function, so that tracking allocates nothing.
 */
export type LifetimeNamer = (base: string, a: number, b: number) => string;

/** An object that stayed live (or static) after the window moved past it. */
interface Kept {
  state: number;
  readonly type: number;
  readonly created_ns: number;
  readonly name: string;
  readonly namer: LifetimeNamer | null;
  readonly a: number;
  readonly b: number;
}

export class LifetimeTracker {
  private readonly kernel: Kernel;
  /*
   * The window: ids [base, count) in a ring of `cap` slots (slot = id & (cap - 1)),
   * struct-of-arrays, so that a tracked object costs a few typed-array slots, not an object.
   */
  private cap = WINDOW_FIRST;
  private base = 0;
  private count = 0;
  private state = new Uint8Array(WINDOW_FIRST);
  /** Index into type_names. */
  private type_of = new Uint16Array(WINDOW_FIRST);
  private created = new Float64Array(WINDOW_FIRST);
  /** The name (track) or the base string and the two numbers of a lazy name (track_lazy). */
  private names: (string | undefined)[] = new Array(WINDOW_FIRST);
  private namers: (LifetimeNamer | null | undefined)[] = new Array(WINDOW_FIRST);
  private name_args = new Float64Array(2 * WINDOW_FIRST);
  /** Live objects in the window (decides between moving it and growing it). */
  private window_live = 0;
  /** Objects below the window still live or static, by id (inserted in id order). */
  private readonly kept = new Map<number, Kept>();
  /**
   * Kept objects are the long-lived ones (schedulers, entities, queues) the models use on every
   * job: a direct-mapped cache in front of the Map.
   */
  private readonly kept_cache_ids = new Float64Array(KEPT_CACHE).fill(-1);
  private readonly kept_cache: (Kept | null)[] = new Array<Kept | null>(KEPT_CACHE).fill(null);
  /** Type names by index, their indices by name, and the live count per type (for reports). */
  private readonly type_names: string[] = [];
  private readonly type_index = new Map<string, number>();
  private readonly live_by_type: number[] = [];
  private live_count_ = 0;
  private live_peak_ = 0;

  constructor(kernel: Kernel) {
    this.kernel = kernel;
  }

  /** Register a new live object; returns its id. */
  track(type: string, name: string): number {
    return this.register(type, name, null, 0, 0);
  }

  /**
   * track() for objects created per job: the name is `namer(base, a, b)`, built only if a
   * report needs it, so that no string is made and kept per object.
   */
  track_lazy(type: string, namer: LifetimeNamer, base: string, a: number, b = 0): number {
    return this.register(type, base, namer, a, b);
  }

  private register(type: string, name: string, namer: LifetimeNamer | null, a: number, b: number): number {
    if (this.count - this.base === this.cap) this.make_room();
    const id = this.count++;
    let t = this.type_index.get(type);
    if (t === undefined) {
      t = this.type_names.length;
      if (t > 0xffff) throw new RangeError('lifetime tracker: more than 65536 object types');
      this.type_names.push(type);
      this.type_index.set(type, t);
      this.live_by_type.push(0);
    }
    const slot = id & (this.cap - 1);
    this.state[slot] = STATE_LIVE;
    this.type_of[slot] = t;
    this.created[slot] = this.kernel.now();
    this.names[slot] = name;
    this.namers[slot] = namer;
    this.name_args[2 * slot] = a;
    this.name_args[2 * slot + 1] = b;
    this.window_live++;
    this.live_count_++;
    if (this.live_count_ > this.live_peak_) this.live_peak_ = this.live_count_;
    this.live_by_type[t]++;
    return id;
  }

  /**
   * The window is full: below its least size, or if most of it is live, double it; else move it
   * by half, keeping the live objects of that half on their own and forgetting the freed ones.
   */
  private make_room(): void {
    if (this.cap < LIFETIME_WINDOW_MIN || 2 * this.window_live > this.cap) {
      this.grow();
      return;
    }
    const mask = this.cap - 1;
    const end = this.base + this.cap / 2;
    for (let id = this.base; id < end; id++) {
      const slot = id & mask;
      const s = this.state[slot];
      if (s === STATE_LIVE || s === STATE_STATIC) {
        this.kept.set(id, {
          state: s, type: this.type_of[slot], created_ns: this.created[slot], name: this.names[slot]!,
          namer: this.namers[slot] ?? null, a: this.name_args[2 * slot], b: this.name_args[2 * slot + 1],
        });
        if (s === STATE_LIVE) this.window_live--;
      }
      this.names[slot] = undefined;
      this.namers[slot] = undefined;
    }
    this.base = end;
  }

  private grow(): void {
    const cap = 2 * this.cap, old_mask = this.cap - 1, mask = cap - 1;
    const state = new Uint8Array(cap), type_of = new Uint16Array(cap), created = new Float64Array(cap), name_args = new Float64Array(2 * cap);
    const names: (string | undefined)[] = new Array(cap), namers: (LifetimeNamer | null | undefined)[] = new Array(cap);
    for (let id = this.base; id < this.count; id++) {
      const from = id & old_mask, to = id & mask;
      state[to] = this.state[from];
      type_of[to] = this.type_of[from];
      created[to] = this.created[from];
      name_args[2 * to] = this.name_args[2 * from];
      name_args[2 * to + 1] = this.name_args[2 * from + 1];
      names[to] = this.names[from];
      namers[to] = this.namers[from];
    }
    this.cap = cap;
    this.state = state; this.type_of = type_of; this.created = created; this.name_args = name_args; this.names = names; this.namers = namers;
  }

  private is_tracked(id: number): boolean {
    return id >= 0 && id < this.count;
  }

  /** The state of object `id`: 0 if it was never tracked. */
  private state_of(id: number): number {
    if (id >= this.base && id < this.count) return this.state[id & (this.cap - 1)];
    if (id >= 0 && id < this.base) return this.kept_of(id)?.state ?? STATE_FREED;
    return 0;
  }

  private set_state(id: number, s: number): void {
    if (id >= this.base && id < this.count) {
      const slot = id & (this.cap - 1);
      if (this.state[slot] === STATE_LIVE) this.window_live--;
      this.state[slot] = s;
      return;
    }
    const k = this.kept_of(id);
    if (k === undefined) return;
    if (s === STATE_FREED) {
      this.kept.delete(id);
      const c = id & (KEPT_CACHE - 1);
      if (this.kept_cache_ids[c] === id) { this.kept_cache_ids[c] = -1; this.kept_cache[c] = null; }
    } else k.state = s;
  }

  private kept_of(id: number): Kept | undefined {
    const c = id & (KEPT_CACHE - 1);
    if (this.kept_cache_ids[c] === id) return this.kept_cache[c]!;
    const k = this.kept.get(id);
    if (k !== undefined) { this.kept_cache_ids[c] = id; this.kept_cache[c] = k; }
    return k;
  }

  private type_index_of(id: number): number {
    if (id >= this.base) return this.type_of[id & (this.cap - 1)];
    return this.kept_of(id)!.type;
  }

  /** Type and name of `id`, or null when it was freed before the window moved past it. */
  private identity(id: number): { type: string; name: string } | null {
    if (id >= this.base && id < this.count) {
      const slot = id & (this.cap - 1);
      const namer = this.namers[slot];
      const base = this.names[slot]!;
      return {
        type: this.type_names[this.type_of[slot]],
        name: namer === null || namer === undefined ? base : namer(base, this.name_args[2 * slot], this.name_args[2 * slot + 1]),
      };
    }
    const k = this.kept_of(id);
    if (k === undefined) return null;
    return { type: this.type_names[k.type], name: k.namer === null ? k.name : k.namer(k.name, k.a, k.b) };
  }

  /** The model dereferences object `id` at `site`: a violation if it was freed. */
  use(id: number, site: string): boolean {
    if (this.state_of(id) === STATE_FREED) {
      this.kernel.violation('use_after_free', site, `use of freed ${this.describe(id)}`);
      return false;
    }
    return true;
  }

  /**
   * Object `id` is static, like a C object with static storage: it stays usable, is not counted
   * as live and is never reported as a leak.
   */
  mark_static(id: number): void {
    if (this.state_of(id) !== STATE_LIVE) return;
    const t = this.type_index_of(id);
    this.set_state(id, STATE_STATIC);
    this.live_count_--;
    this.live_by_type[t]--;
  }

  /** The memory of object `id` is released at `site`. */
  free(id: number, site: string): void {
    const s = this.state_of(id);
    if (s === STATE_FREED) {
      this.kernel.violation('double_free', site, `double free of ${this.describe(id)}`);
      return;
    }
    if (s === STATE_STATIC) {
      this.kernel.violation('bug', site, `free of static ${this.describe(id)}`);
      return;
    }
    this.live_count_--;
    if (!this.is_tracked(id)) return;
    this.live_by_type[this.type_index_of(id)]--;
    this.set_state(id, STATE_FREED);
  }

  is_live(id: number): boolean {
    const s = this.state_of(id);
    return s === STATE_LIVE || s === STATE_STATIC;
  }

  get live_count(): number {
    return this.live_count_;
  }

  get live_peak(): number {
    return this.live_peak_;
  }

  live_of_type(type: string): number {
    const t = this.type_index.get(type);
    return t === undefined ? 0 : this.live_by_type[t];
  }

  /** Objects still alive, oldest first; optionally only the given types. */
  live(types?: readonly string[]): LiveObject[] {
    const out: LiveObject[] = [];
    const add = (id: number, t: number, created_ns: number) => {
      const type = this.type_names[t];
      if (types !== undefined && !types.includes(type)) return;
      out.push({ id, type, name: this.identity(id)!.name, created_ns });
    };
    for (const [id, k] of this.kept) if (k.state === STATE_LIVE) add(id, k.type, k.created_ns);
    for (let id = this.base; id < this.count; id++) {
      const slot = id & (this.cap - 1);
      if (this.state[slot] === STATE_LIVE) add(id, this.type_of[slot], this.created[slot]);
    }
    return out;
  }

  /**
   * Full teardown is done: every object still alive (of the given types, or all) is a leak.
   * Returns how many were reported.
   */
  check_leaks(site: string, types?: readonly string[]): number {
    const leaked = this.live(types);
    for (const obj of leaked) {
      this.kernel.violation('leak', site, `${obj.type} ${obj.name} (#${obj.id}) still alive after teardown`,
        [`created at ${obj.created_ns} ns`]);
    }
    return leaked.length;
  }

  /** "<type> <name> (#id)"; an object freed before the window moved past it is named by id only. */
  describe(id: number): string {
    if (!this.is_tracked(id)) return `undefined undefined (#${id})`; // as before: never a tracked id
    const who = this.identity(id);
    if (who === null) return `object #${id} (freed; ${LIFETIME_WINDOW_MIN} or more objects were made since, its type and name are not kept)`;
    return `${who.type} ${who.name} (#${id})`;
  }
}
