/**
 * The object-lifetime tracker (a KASAN/kmemleak stand-in). Every modelled object (job, fence,
 * entity, scheduler, queue, allocation) registers here and gets an id; the models call use()
 * where the C code dereferences the object and free() where it frees it. Use after free,
 * double free and objects still alive after full teardown become violations.
 */
import type { Kernel } from './kernel.ts';

const STATE_LIVE = 1;
const STATE_FREED = 2;
/** Alive for the whole run by design (the kernel's static dma_fence_stub): never a leak. */
const STATE_STATIC = 3;

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

export class LifetimeTracker {
  private readonly kernel: Kernel;
  /*
   * Per object id, struct-of-arrays: every job tracks several objects, so a tracked object
   * costs a few typed-array slots and its name, not an object or a Map update.
   */
  private state = new Uint8Array(1024);
  /** Index into type_names. */
  private type_of = new Uint16Array(1024);
  private created = new Float64Array(1024);
  /** The name (track) or the base string and the two numbers of a lazy name (track_lazy). */
  private readonly names: string[] = [];
  private readonly namers: (LifetimeNamer | null)[] = [];
  private name_args = new Float64Array(2 * 1024);
  private count = 0;
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
    const id = this.count++;
    if (id >= this.state.length) this.grow();
    let t = this.type_index.get(type);
    if (t === undefined) {
      t = this.type_names.length;
      if (t > 0xffff) throw new RangeError('lifetime tracker: more than 65536 object types');
      this.type_names.push(type);
      this.type_index.set(type, t);
      this.live_by_type.push(0);
    }
    this.state[id] = STATE_LIVE;
    this.type_of[id] = t;
    this.created[id] = this.kernel.now();
    this.names.push(name);
    this.namers.push(namer);
    this.name_args[2 * id] = a;
    this.name_args[2 * id + 1] = b;
    this.live_count_++;
    if (this.live_count_ > this.live_peak_) this.live_peak_ = this.live_count_;
    this.live_by_type[t]++;
    return id;
  }

  private name_of(id: number): string {
    const namer = this.namers[id];
    if (namer === null || namer === undefined) return this.names[id];
    return namer(this.names[id], this.name_args[2 * id], this.name_args[2 * id + 1]);
  }

  private is_tracked(id: number): boolean {
    return id >= 0 && id < this.count;
  }

  private grow(): void {
    const size = this.state.length * 2;
    const state = new Uint8Array(size);
    state.set(this.state);
    this.state = state;
    const type_of = new Uint16Array(size);
    type_of.set(this.type_of);
    this.type_of = type_of;
    const created = new Float64Array(size);
    created.set(this.created);
    this.created = created;
    const name_args = new Float64Array(2 * size);
    name_args.set(this.name_args);
    this.name_args = name_args;
  }

  /** The model dereferences object `id` at `site`: a violation if it was freed. */
  use(id: number, site: string): boolean {
    if (this.state[id] === STATE_FREED) {
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
    if (this.state[id] !== STATE_LIVE) return;
    this.state[id] = STATE_STATIC;
    this.live_count_--;
    if (this.is_tracked(id)) this.live_by_type[this.type_of[id]]--;
  }

  /** The memory of object `id` is released at `site`. */
  free(id: number, site: string): void {
    if (this.state[id] === STATE_FREED) {
      this.kernel.violation('double_free', site, `double free of ${this.describe(id)}`);
      return;
    }
    if (this.state[id] === STATE_STATIC) {
      this.kernel.violation('bug', site, `free of static ${this.describe(id)}`);
      return;
    }
    this.state[id] = STATE_FREED;
    this.live_count_--;
    if (this.is_tracked(id)) this.live_by_type[this.type_of[id]]--;
  }

  is_live(id: number): boolean {
    return this.state[id] === STATE_LIVE || this.state[id] === STATE_STATIC;
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
    for (let id = 0; id < this.count; id++) {
      if (this.state[id] !== STATE_LIVE) continue;
      const type = this.type_names[this.type_of[id]];
      if (types !== undefined && !types.includes(type)) continue;
      out.push({ id, type, name: this.name_of(id), created_ns: this.created[id] });
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

  describe(id: number): string {
    const type = this.is_tracked(id) ? this.type_names[this.type_of[id]] : undefined;
    return `${type} ${this.name_of(id)} (#${id})`;
  }
}
