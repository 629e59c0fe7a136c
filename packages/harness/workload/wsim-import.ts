/**
 * import_wsim: an IGT gem_wsim descriptor -> Workload. The mapping (README.md, "gem_wsim
 * mapping") follows gem_wsim's own execution model:
 * - One descriptor is one client (one DRM file and one submitting thread): gem_wsim runs all
 *   steps of a workload in order in one thread, whatever their context, and relative step
 *   offsets cross contexts. options.clients clones it like gem_wsim -c.
 * - A context becomes queues of that client the way gem_wsim's xe backend creates exec queues:
 *   a context with an engine map (M) is one queue on the map's class; a context without one
 *   gets a queue per physical engine its batches name.
 * - Engine classes map onto the driver's engines (options.engines), falling back to the
 *   closest available class with a note.
 */
import { check_workload } from './check.ts';
import { diagnostic, note, type Position } from './diagnostics.ts';
import { NAME_PATTERN } from './schema.ts';
import {
  ENGINE_CLASSES, LIMITS, type BufferDefinition, type Dependency, type Diagnostic, type EngineClass, type LoadResult, type Note,
  type Priority, type QueueDefinition, type Step, type Workload,
} from './types.ts';
import { WSIM_LIMITS, parse_wsim, type WsimDependency, type WsimEngine, type WsimEngineClass, type WsimStep } from './wsim-parse.ts';

export interface WsimImportOptions {
  /** Engine classes the target driver has (Device.engines); wsim engines are mapped onto them. */
  readonly engines: readonly EngineClass[];
  /** Iterations of the whole descriptor (gem_wsim -r); default 1 as in gem_wsim. */
  readonly loops?: number;
  /** Identical clients running the descriptor (gem_wsim -c); default 1. */
  readonly clients?: number;
  /** Client name; default: the source name without directory and extension. */
  readonly client_name?: string;
  /** Initial priority of every context as an i915 priority (gem_wsim -p); default 0. */
  readonly priority?: number;
}

const CLASS_OF: Readonly<Record<WsimEngineClass, EngineClass>> = {
  RCS: 'render', BCS: 'copy', VCS: 'video', VECS: 'video_enhance', CCS: 'compute',
};

/** For each class, the classes to use instead when a driver lacks it, closest first. */
const CLOSEST: Readonly<Record<EngineClass, readonly EngineClass[]>> = {
  render: ['render', 'compute', 'copy', 'video_enhance', 'video'],
  compute: ['compute', 'render', 'copy', 'video_enhance', 'video'],
  copy: ['copy', 'render', 'compute', 'video_enhance', 'video'],
  video: ['video', 'video_enhance', 'render', 'compute', 'copy'],
  video_enhance: ['video_enhance', 'video', 'render', 'compute', 'copy'],
  bind: ['bind', 'copy', 'render', 'compute'],
};

/** i915 context priority (-1023..1023, default 0) -> the device interface's levels. */
export function wsim_priority(priority: number): Priority {
  if (priority < 0) return 'low';
  return priority === 0 ? 'normal' : 'high';
}

/** DEFAULT resolves to RCS (gem_wsim: RCS, else CCS); VCS without instance to VCS1. */
function physical_name(engine: WsimEngine): string {
  const engine_class = engine.class === 'DEFAULT' ? 'RCS' : engine.class;
  const instance = engine.instance ?? 1;
  return engine_class === 'VCS' || instance > 1 ? `${engine_class}${instance}` : engine_class;
}

function base_name(source_name: string): string {
  const file = source_name.split(/[\\/]/).pop() ?? '';
  const stem = file.replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_.:#+-]/g, '_').replace(/^[^A-Za-z0-9_]/, '_').slice(0, 64);
  return stem === '' ? 'wsim' : stem;
}

interface ContextPlan {
  map: readonly WsimEngine[] | null;
  balanced: boolean;
  /** Queue of each physical engine (unmapped) or of every batch (mapped: key ''). */
  readonly queues: Map<string, QueueDefinition>;
  readonly first_use: Position;
}

class Importer {
  readonly errors: Diagnostic[] = [];
  readonly notes: Note[] = [];
  private readonly noted = new Set<string>();
  private readonly engine_choice = new Map<EngineClass, EngineClass>();
  private readonly contexts = new Map<number, ContextPlan>();
  private readonly working_sets = new Map<number, Extract<WsimStep, { type: 'working_set' }>>();

  constructor(private readonly steps: readonly WsimStep[], private readonly source: string, private readonly options: Required<WsimImportOptions>) {}

  private error(at: Position, message: string): void {
    if (this.errors.length < LIMITS.errors) this.errors.push(diagnostic(this.source, message, { position: at }));
  }

  /** Records a note; `key` makes it once per import (null: every occurrence). */
  private note(kind: Note['kind'], at: Position | null, message: string, key: string | null = null): void {
    if (key !== null) {
      if (this.noted.has(key)) return;
      this.noted.add(key);
    }
    this.notes.push(note(kind, this.source, message, at));
  }

  /** The driver engine for a wsim class: itself if present, else the closest one (noted once). */
  private engine(wsim_class: WsimEngineClass, at: Position): EngineClass {
    const wanted = CLASS_OF[wsim_class];
    let chosen = this.engine_choice.get(wanted);
    if (chosen === undefined) {
      chosen = CLOSEST[wanted].find((candidate) => this.options.engines.includes(candidate)) ?? this.options.engines[0];
      this.engine_choice.set(wanted, chosen);
    }
    if (chosen !== wanted) {
      this.note('mapped', at, `${wsim_class} runs on ${chosen}: the driver has no ${wanted} engine (engines: ${this.options.engines.join(', ')})`, `engine:${wsim_class}`);
    }
    return chosen;
  }

  import(): Workload | null {
    this.plan_contexts();
    this.plan_working_sets();
    if (this.errors.length > 0) return null;
    const base = this.options.client_name;
    const shared_buffers = this.buffers(null);
    const buffers: BufferDefinition[] = [...shared_buffers];
    const clients = [];
    for (let clone = 0; clone < this.options.clients; clone++) {
      const name = this.options.clients === 1 ? base : `${base}#${clone}`;
      buffers.push(...this.buffers(name));
      const steps = this.program(name);
      if (steps === null) return null;
      const queues = [...this.contexts.entries()].sort(([a], [b]) => a - b).flatMap(([, plan]) => [...plan.queues.values()]);
      clients.push({ name, queues, program: { end: { kind: 'loops', loops: this.options.loops } as const, steps }, origin: `${this.source}:1:1` });
    }
    return {
      name: base,
      description: `IGT gem_wsim descriptor ${this.source}`,
      source: this.source,
      clients,
      buffers,
      external_fences: [],
      events: [],
      notes: this.notes,
    };
  }

  /** Engine maps, load balancing and the queues each context needs, in step order like gem_wsim. */
  private plan_contexts(): void {
    const plan_of = (context: number, at: Position) => {
      let plan = this.contexts.get(context);
      if (plan === undefined) {
        plan = { map: null, balanced: false, queues: new Map(), first_use: at };
        this.contexts.set(context, plan);
      }
      return plan;
    };
    for (const step of this.steps) {
      if (step.type === 'engine_map') {
        plan_of(step.context, step.at).map = step.engines;
      } else if (step.type === 'load_balance') {
        const plan = plan_of(step.context, step.at);
        if (plan.map === null) this.error(step.at, `load balancing needs an engine map: put M.${step.context}.<engines> before B.${step.context}`);
        plan.balanced = true;
      }
    }
    const priority = wsim_priority(this.options.priority);
    for (const step of this.steps) {
      if (step.type !== 'batch') continue;
      const plan = plan_of(step.context, step.at);
      if (plan.map !== null) {
        this.mapped_queue(step.context, plan, step.engine, priority);
        continue;
      }
      const key = physical_name(step.engine);
      if (!plan.queues.has(key)) {
        const engine = this.engine(step.engine.class === 'DEFAULT' ? 'RCS' : step.engine.class, step.engine.at);
        plan.queues.set(key, { name: `ctx${step.context}.${key}`, engine, priority, long_running: false, driver: null, load_balanced: false });
      }
      if (step.engine.gt !== null) this.note('ignored', step.engine.at, `GT id in ${step.engine.text} ignored: the device interface has one GT`, 'gt');
    }
    for (const [context, plan] of this.contexts) {
      if (plan.queues.size === 0) this.note('ignored', plan.first_use, `context ${context} has no batches: no queue created`, `unused:${context}`);
    }
  }

  private mapped_queue(context: number, plan: ContextPlan, engine: WsimEngine, priority: Priority): void {
    const map = plan.map as readonly WsimEngine[];
    const map_class = map[0].class as WsimEngineClass;
    if (!plan.queues.has('')) {
      const classes = [...new Set(map.map((e) => e.class))];
      if (classes.length > 1) this.note('approximated', map[0].at, `engine map of context ${context} mixes ${classes.join(' and ')}: one queue on ${map_class} (xe refuses mixed maps)`);
      if (!plan.balanced) this.note('approximated', map[0].at, `context ${context} has an engine map without B: one queue on ${map_class}, as gem_wsim's xe backend does (i915 would pin each batch to the map engine it names)`);
      if (map.some((e) => e.instance !== null)) this.note('approximated', map[0].at, 'engine instances are not modelled: queues are placed by engine class and the driver picks the instance', 'instances');
      plan.queues.set('', {
        name: `ctx${context}`, engine: this.engine(map_class, map[0].at), priority, long_running: false, driver: null, load_balanced: plan.balanced,
      });
    }
    if (engine.class !== 'DEFAULT' && engine.class !== map_class) {
      this.note('approximated', engine.at, `${engine.text} batch on context ${context} runs on its engine map (${map_class}), as in gem_wsim`, `offmap:${engine.at.line}:${engine.at.column}`);
    }
  }

  private plan_working_sets(): void {
    for (const step of this.steps) {
      if (step.type !== 'working_set') continue;
      if (this.working_sets.has(step.id)) this.error(step.at, `duplicate working set id ${step.id}`);
      this.working_sets.set(step.id, step);
    }
    let total = 0;
    for (const set of this.working_sets.values()) total += set.objects.length * (set.shared ? 1 : this.options.clients);
    if (total > WSIM_LIMITS.objects) {
      this.error({ line: 1, column: 1 }, `working sets hold ${total} objects in all (each client's copy of a local set counted); the gem_wsim import takes at most ${WSIM_LIMITS.objects}`);
    }
    if (this.working_sets.size > 0) {
      const first = [...this.working_sets.values()][0];
      this.note('approximated', first.at, 'working sets are modelled as implicit buffer synchronisation (a read waits for the last writer, a write for the last writer and the readers since); sizes are informational; gem_wsim supports them on i915 only');
    }
  }

  /** Buffers of the shared (client null) or of one client's local working sets. */
  private buffers(client: string | null): BufferDefinition[] {
    const buffers: BufferDefinition[] = [];
    for (const set of this.working_sets.values()) {
      if (set.shared !== (client === null)) continue;
      set.objects.forEach(([min, max], index) => buffers.push({ name: this.buffer_name(client, set.id, index), size_bytes: [min, max] }));
    }
    return buffers;
  }

  private buffer_name(client: string | null, set: number, index: number): string {
    return client === null ? `W${set}.${index}` : `${client}/w${set}.${index}`;
  }

  /** The client's program: runtime steps in order, relative offsets resolved to indices. */
  private program(client: string): Step[] | null {
    const steps: Step[] = [];
    const index_of: number[] = []; // wsim step index -> program index, -1 if it emits nothing
    this.steps.forEach((step, i) => {
      index_of.push(steps.length);
      const origin = `${this.source}:${step.at.line}:${step.at.column}`;
      const emitted = this.runtime_steps(step, i, index_of, client, origin);
      if (emitted.length === 0) index_of[i] = -1;
      steps.push(...emitted);
    });
    if (this.errors.length > 0) return null;
    if (!steps.some((step) => step.kind === 'batch')) {
      this.error({ line: 1, column: 1 }, 'no batches: the descriptor submits no work');
      return null;
    }
    return steps;
  }

  /**
   * The wsim step `i` targeted by `offset` as a program index, or -1 after reporting why not.
   * `accept` lists the wsim step types allowed as target.
   */
  private target(i: number, offset: number, accept: readonly WsimStep['type'][], at: Position, index_of: readonly number[]): number {
    const target = i + offset;
    if (target < 0) {
      this.error(at, `step offset ${offset} reaches before the first step (this is step ${i + 1} of the descriptor)`);
      return -1;
    }
    const step = this.steps[target];
    if (!accept.includes(step.type)) {
      this.error(at, `step offset ${offset} names ${JSON.stringify(step.text)} (line ${step.at.line}); expected a ${accept.join(' or ')} step`);
      return -1;
    }
    return index_of[target];
  }

  private runtime_steps(step: WsimStep, i: number, index_of: readonly number[], client: string, origin: string): Step[] {
    switch (step.type) {
      case 'batch':
        return this.batch(step, i, index_of, client, origin);
      case 'delay':
        return [{ kind: 'delay', duration: { kind: 'constant', value_us: step.us }, origin }];
      case 'period':
        return [{ kind: 'period', period_us: step.us, origin }];
      case 'throttle':
        if (step.depth > 0) this.note('approximated', step.at, 'throttle counts batches; gem_wsim counts steps of any kind', 'throttle');
        return [{ kind: 'throttle', depth: step.depth, origin }];
      case 'queue_depth':
        return [{ kind: 'queue_depth', depth: step.depth, origin }];
      case 'fence':
        return [{ kind: 'fence', origin }];
      case 'sync': {
        const target = this.target(i, step.offset, ['batch'], step.at, index_of);
        return target < 0 ? [] : [{ kind: 'sync', step_index: target, origin }];
      }
      case 'signal': {
        const target = this.target(i, step.offset, ['fence'], step.at, index_of);
        return target < 0 ? [] : [{ kind: 'signal', step_index: target, origin }];
      }
      case 'terminate': {
        const target = this.target(i, step.offset, ['batch'], step.at, index_of);
        const batch = this.steps[i + step.offset];
        if (target >= 0 && batch.type === 'batch' && batch.duration !== 'infinite') {
          this.error(step.at, `T${step.offset} names a batch with a finite duration; only '*' batches can be terminated`);
          return [];
        }
        return target < 0 ? [] : [{ kind: 'terminate', step_index: target, origin }];
      }
      case 'priority': {
        const queues = [...(this.contexts.get(step.context)?.queues.values() ?? [])];
        if (queues.length === 0) this.note('ignored', step.at, `P.${step.context}: context ${step.context} has no batches`, `prio:${step.at.line}:${step.at.column}`);
        const priority = wsim_priority(step.priority);
        return queues.map((queue) => ({ kind: 'set_priority', queue: queue.name, priority, origin }));
      }
      case 'ignored':
        this.note('ignored', step.at, `${JSON.stringify(step.text)}: ${step.reason}`, `ignored:${step.at.line}:${step.at.column}`);
        return [];
      case 'engine_map':
      case 'load_balance':
      case 'working_set':
        return []; // set-up, applied when the queues and buffers were planned
    }
  }

  private batch(step: Extract<WsimStep, { type: 'batch' }>, i: number, index_of: readonly number[], client: string, origin: string): Step[] {
    const plan = this.contexts.get(step.context) as ContextPlan;
    const queue = (plan.map !== null ? plan.queues.get('') : plan.queues.get(physical_name(step.engine))) as QueueDefinition;
    const deps: Dependency[] = [];
    const reads: string[] = [];
    const writes: string[] = [];
    for (const dep of step.deps) {
      if (!('offset' in dep)) {
        const names = this.working_set_objects(dep, client);
        (dep.type === 'read' ? reads : writes).push(...names);
        continue;
      }
      // A sync fence may come from a standalone fence; data and submit need a batch.
      const accept: WsimStep['type'][] = dep.type === 'data' ? ['batch'] : ['batch', 'fence'];
      const target = this.target(i, dep.offset, accept, dep.at, index_of);
      if (target < 0) continue;
      const on_fence = this.steps[i + dep.offset].type === 'fence';
      if (dep.type === 'submit' && on_fence) {
        this.note('approximated', dep.at, 'submit fence on a standalone fence waits for its signal, like a sync fence', `submit:${dep.at.line}:${dep.at.column}`);
      }
      deps.push({ on: 'step', step_index: target, kind: dep.type === 'submit' && on_fence ? 'sync' : dep.type });
    }
    if (step.duration === 'infinite' && !this.steps.some((s, j) => s.type === 'terminate' && j + s.offset === i)) {
      this.note('approximated', step.at, 'infinite batch without a T step never completes: the scheduler\'s job timeout sees a hang', `infinite:${step.at.line}:${step.at.column}`);
    }
    const duration = step.duration === 'infinite' ? 'infinite' as const
      : step.duration.min_us === step.duration.max_us ? { kind: 'constant' as const, value_us: step.duration.min_us }
        : { kind: 'uniform' as const, min_us: step.duration.min_us, max_us: step.duration.max_us };
    return [{ kind: 'batch', queue: queue.name, duration, credits: null, deps, reads, writes, wait: step.wait, hang: false, origin }];
  }

  private working_set_objects(dep: Extract<WsimDependency, { type: 'read' | 'write' }>, client: string): string[] {
    const set = this.working_sets.get(dep.set);
    if (set === undefined) {
      this.error(dep.at, `working set ${dep.set} is not defined (w.${dep.set}.<sizes> or W.${dep.set}.<sizes>)`);
      return [];
    }
    if (dep.last >= set.objects.length) {
      this.error(dep.at, `working set ${dep.set} has ${set.objects.length} objects (0..${set.objects.length - 1}); ${dep.last} is out of range`);
      return [];
    }
    const names: string[] = [];
    for (let index = dep.first; index <= dep.last; index++) names.push(this.buffer_name(set.shared ? null : client, dep.set, index));
    return names;
  }
}

function check_options(options: WsimImportOptions, source: string): Diagnostic[] {
  const errors: Diagnostic[] = [];
  const bad = (message: string) => errors.push(diagnostic(source, `options: ${message}`));
  if (!Array.isArray(options.engines) || options.engines.length === 0) bad('engines must list at least one engine class');
  else if (options.engines.some((engine) => !ENGINE_CLASSES.includes(engine))) bad(`engines must be among ${ENGINE_CLASSES.join(', ')}`);
  const int = (value: number | undefined, name: string, min: number, max: number) => {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < min || value > max)) bad(`${name} must be an integer in ${min}..${max}`);
  };
  int(options.loops, 'loops', 1, LIMITS.loops);
  int(options.clients, 'clients', 1, LIMITS.clients);
  int(options.priority, 'priority', -1023, 1023);
  if (options.client_name !== undefined && (options.client_name.length > 64 || !NAME_PATTERN.test(options.client_name))) bad('client_name must be a name of at most 64 characters');
  return errors;
}

/**
 * Imports an IGT gem_wsim workload descriptor. Never throws: returns the workload with notes
 * on everything mapped, approximated or ignored, or errors with line and column.
 */
export function import_wsim(text: string, source_name: string, options: WsimImportOptions): LoadResult {
  const option_errors = check_options(options, source_name);
  if (option_errors.length > 0) return { ok: false, errors: option_errors };
  if (text.length > LIMITS.text_chars) return { ok: false, errors: [diagnostic(source_name, `text longer than ${LIMITS.text_chars} characters`)] };
  const parsed = parse_wsim(text);
  if (parsed.errors.length > 0) {
    return { ok: false, errors: parsed.errors.map((error) => diagnostic(source_name, error.message, { position: error.at })) };
  }
  const importer = new Importer(parsed.steps, source_name, {
    engines: options.engines,
    loops: options.loops ?? 1,
    clients: options.clients ?? 1,
    client_name: options.client_name ?? base_name(source_name),
    priority: options.priority ?? 0,
  });
  const workload = importer.import();
  if (workload === null || importer.errors.length > 0) return { ok: false, errors: importer.errors };
  const problems = check_workload(workload);
  if (problems.length > 0) {
    return { ok: false, errors: problems.map((p) => ({ ...p, message: `internal: imported workload breaks an invariant: ${p.message}` })) };
  }
  return { ok: true, workload };
}
