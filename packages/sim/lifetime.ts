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

export class LifetimeTracker {
  private readonly kernel: Kernel;
  private state = new Uint8Array(1024);
  private readonly types: string[] = [];
  private readonly names: string[] = [];
  private readonly created: number[] = [];
  private live_count_ = 0;
  private live_peak_ = 0;
  /** Live count per type, for reports (peak live jobs, fences, ...). */
  private readonly live_by_type = new Map<string, number>();

  constructor(kernel: Kernel) {
    this.kernel = kernel;
  }

  /** Register a new live object; returns its id. */
  track(type: string, name: string): number {
    const id = this.types.length;
    if (id >= this.state.length) {
      const next = new Uint8Array(this.state.length * 2);
      next.set(this.state);
      this.state = next;
    }
    this.state[id] = STATE_LIVE;
    this.types.push(type);
    this.names.push(name);
    this.created.push(this.kernel.now());
    this.live_count_++;
    if (this.live_count_ > this.live_peak_) this.live_peak_ = this.live_count_;
    this.live_by_type.set(type, (this.live_by_type.get(type) ?? 0) + 1);
    return id;
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
    const type = this.types[id];
    this.live_by_type.set(type, (this.live_by_type.get(type) ?? 1) - 1);
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
    const type = this.types[id];
    this.live_by_type.set(type, (this.live_by_type.get(type) ?? 1) - 1);
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
    return this.live_by_type.get(type) ?? 0;
  }

  /** Objects still alive, oldest first; optionally only the given types. */
  live(types?: readonly string[]): LiveObject[] {
    const out: LiveObject[] = [];
    for (let id = 0; id < this.types.length; id++) {
      if (this.state[id] !== STATE_LIVE) continue;
      if (types !== undefined && !types.includes(this.types[id])) continue;
      out.push({ id, type: this.types[id], name: this.names[id], created_ns: this.created[id] });
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
    return `${this.types[id]} ${this.names[id]} (#${id})`;
  }
}
