/**
 * Compiles a schema-valid JSON workload into the normalized Workload: resolves names and
 * relative step offsets, checks every cross reference, and expands streams into programs.
 * Every error names the JSON path of the offending field.
 */
import { format_path, type PathSegment } from './diagnostics.ts';
import type { ClientInput, DurationInput, EventInput, StepInput, StreamInput, WorkloadInput } from './schema.ts';
import type {
  ClientDefinition, Dependency, Distribution, EventAction, EventTrigger, Program, QueueDefinition, Step, Workload,
  WorkloadEvent,
} from './types.ts';

export interface CompileError {
  readonly path: readonly PathSegment[];
  readonly message: string;
}

export type CompileResult =
  | { readonly ok: true; readonly workload: Workload }
  | { readonly ok: false; readonly errors: readonly CompileError[] };

/** A client as the compiler sees it before programs are built: declared or made by a stream. */
interface ClientEntry {
  readonly name: string;
  readonly queues: QueueDefinition[];
  readonly path: readonly PathSegment[];
  readonly declared: ClientInput | null;
  stream: { readonly input: StreamInput; readonly index: number } | null;
}

function list(names: readonly string[]): string {
  return names.length === 0 ? 'none' : names.map((name) => JSON.stringify(name)).join(', ');
}

/** A duration as a Distribution; `floor_us` is the lower clamp for unbounded shapes. */
export function to_distribution(input: DurationInput, floor_us: number): Distribution | string {
  if (typeof input === 'number') return { kind: 'constant', value_us: input };
  if (Array.isArray(input)) {
    const [min_us, max_us] = input;
    return min_us === max_us ? { kind: 'constant', value_us: min_us } : { kind: 'uniform', min_us, max_us };
  }
  switch (input.dist) {
    case 'constant':
      return { kind: 'constant', value_us: input.us };
    case 'uniform':
      if (input.max_us < input.min_us) return 'expected min_us <= max_us';
      return input.min_us === input.max_us ? { kind: 'constant', value_us: input.min_us } : { kind: 'uniform', min_us: input.min_us, max_us: input.max_us };
    case 'exponential':
    case 'normal': {
      const min_us = Math.max(input.min_us ?? floor_us, floor_us);
      const max_us = input.max_us ?? null;
      if (max_us !== null && max_us < min_us) return `expected max_us >= min_us (${min_us})`;
      return input.dist === 'exponential'
        ? { kind: 'exponential', mean_us: input.mean_us, min_us, max_us }
        : { kind: 'normal', mean_us: input.mean_us, stddev_us: input.stddev_us, min_us, max_us };
    }
  }
}

/** A think time of exactly zero compiles to no delay step at all. */
function is_zero(distribution: Distribution): boolean {
  return distribution.kind === 'constant' && distribution.value_us === 0;
}

class Compiler {
  readonly errors: CompileError[] = [];
  private readonly clients = new Map<string, ClientEntry>();
  private readonly buffers = new Set<string>();
  private readonly fences = new Set<string>();
  private readonly streams = new Map<string, { input: StreamInput; index: number }>();

  constructor(private readonly spec: WorkloadInput, private readonly source: string, private readonly origin_of: (path: readonly PathSegment[]) => string) {}

  private error(path: readonly PathSegment[], message: string): void {
    this.errors.push({ path, message });
  }

  compile(): Workload | null {
    this.declare_names();
    const clients: ClientDefinition[] = [];
    for (const entry of this.clients.values()) {
      const program = entry.stream !== null ? this.stream_program(entry, entry.stream.input, entry.stream.index) : this.client_program(entry);
      if (program !== null) clients.push({ name: entry.name, queues: entry.queues, program, origin: this.origin_of(entry.path) });
    }
    const events = this.spec.events.map((event, index) => this.event(event, ['events', index]));
    if (this.errors.length > 0) return null;
    return {
      name: this.spec.name,
      description: this.spec.description,
      source: this.source,
      clients,
      buffers: this.spec.buffers.map((buffer) => ({ name: buffer.name, size_bytes: buffer.size_bytes === undefined ? null : [buffer.size_bytes, buffer.size_bytes] as const })),
      external_fences: this.spec.external_fences.map((fence) => ({ name: fence.name, signal_at_us: fence.signal_at_us ?? null })),
      events: events.filter((event): event is WorkloadEvent => event !== null),
      notes: [],
    };
  }

  /** First pass: every name that can be referenced, with duplicates reported. */
  private declare_names(): void {
    this.spec.clients.forEach((client, index) => {
      const path = ['clients', index];
      if (this.clients.has(client.name)) return this.error([...path, 'name'], `duplicate client name ${JSON.stringify(client.name)}`);
      const queues: QueueDefinition[] = [];
      client.queues.forEach((queue, queue_index) => {
        if (queues.some((other) => other.name === queue.name)) {
          return this.error([...path, 'queues', queue_index, 'name'], `duplicate queue name ${JSON.stringify(queue.name)}`);
        }
        queues.push({
          name: queue.name, engine: queue.engine, priority: queue.priority, long_running: queue.long_running,
          driver: queue.driver ?? null, load_balanced: false,
        });
      });
      this.clients.set(client.name, { name: client.name, queues, path, declared: client, stream: null });
    });
    this.spec.streams.forEach((stream, index) => this.declare_stream(stream, index));
    this.spec.buffers.forEach((buffer, index) => {
      if (this.buffers.has(buffer.name)) this.error(['buffers', index, 'name'], `duplicate buffer name ${JSON.stringify(buffer.name)}`);
      this.buffers.add(buffer.name);
    });
    this.spec.external_fences.forEach((fence, index) => {
      if (this.fences.has(fence.name)) this.error(['external_fences', index, 'name'], `duplicate fence name ${JSON.stringify(fence.name)}`);
      this.fences.add(fence.name);
    });
  }

  private declare_stream(stream: StreamInput, index: number): void {
    const path = ['streams', index];
    const name = stream.name ?? stream.client;
    if (this.streams.has(name)) return this.error([...path, stream.name === undefined ? 'client' : 'name'], `duplicate stream name ${JSON.stringify(name)} (a stream's name defaults to its client)`);
    this.streams.set(name, { input: stream, index });
    const existing = this.clients.get(stream.client);
    if (existing === undefined) {
      if (stream.engine === undefined) return this.error([...path, 'engine'], `required: client ${JSON.stringify(stream.client)} is not in clients[], so the stream must give the queue's engine`);
      const queue: QueueDefinition = {
        name: stream.queue, engine: stream.engine, priority: stream.priority ?? 'normal', long_running: stream.long_running ?? false,
        driver: null, load_balanced: false,
      };
      this.clients.set(stream.client, { name: stream.client, queues: [queue], path, declared: null, stream: { input: stream, index } });
      return;
    }
    if (existing.stream !== null) return this.error([...path, 'client'], `client ${JSON.stringify(stream.client)} already runs the stream at streams[${existing.stream.index}]: a client runs one program`);
    if (existing.declared?.program !== undefined) return this.error([...path, 'client'], `client ${JSON.stringify(stream.client)} already has a program`);
    if (!existing.queues.some((queue) => queue.name === stream.queue)) {
      return this.error([...path, 'queue'], `unknown queue ${JSON.stringify(stream.queue)} (client ${JSON.stringify(stream.client)} has ${list(existing.queues.map((q) => q.name))})`);
    }
    for (const field of ['engine', 'priority', 'long_running'] as const) {
      if (stream[field] !== undefined) return this.error([...path, field], `not allowed: client ${JSON.stringify(stream.client)} is declared in clients[]; set ${field} on its queue`);
    }
    existing.stream = { input: stream, index };
  }

  private client_program(entry: ClientEntry): Program | null {
    const program = entry.declared?.program;
    if (program === undefined) {
      this.error([...entry.path], `client ${JSON.stringify(entry.name)} has no program: give "program" or a stream for it`);
      return null;
    }
    const path = [...entry.path, 'program', 'steps'];
    const steps: Step[] = [];
    program.steps.forEach((step, index) => {
      const compiled = this.step(entry, program.steps, step, index, [...path, index]);
      if (compiled !== null) steps.push(compiled);
    });
    const end = program.loops !== undefined ? { kind: 'loops', loops: program.loops } as const : { kind: 'duration', duration_us: (program.duration_ms as number) * 1000 } as const;
    return { end, steps };
  }

  private queue_exists(entry: ClientEntry, queue: string, path: readonly PathSegment[]): boolean {
    if (entry.queues.some((q) => q.name === queue)) return true;
    this.error(path, `unknown queue ${JSON.stringify(queue)} (client ${JSON.stringify(entry.name)} has ${list(entry.queues.map((q) => q.name))})`);
    return false;
  }

  /** Resolves a relative step offset; `accept` lists the step kinds the target may be. */
  private target(steps: readonly StepInput[], index: number, offset: number, accept: readonly string[], path: readonly PathSegment[]): number {
    const target = index + offset;
    if (target < 0) {
      this.error(path, `step ${offset} is before the first step (this is step ${index}; offsets count within one loop iteration)`);
      return -1;
    }
    const kind = Object.keys(steps[target])[0];
    if (!accept.includes(kind)) {
      this.error(path, `step ${offset} (steps[${target}]) is a ${kind} step; expected ${accept.join(' or ')}`);
      return -1;
    }
    return target;
  }

  private step(entry: ClientEntry, steps: readonly StepInput[], step: StepInput, index: number, path: readonly PathSegment[]): Step | null {
    const origin = this.origin_of(path);
    if ('batch' in step) return this.batch(entry, steps, step.batch, index, [...path, 'batch'], origin);
    if ('delay' in step) {
      const duration = to_distribution(step.delay.us, 0);
      if (typeof duration !== 'string') return { kind: 'delay', duration, origin };
      this.error([...path, 'delay', 'us'], duration);
      return null;
    }
    if ('period' in step) return { kind: 'period', period_us: step.period, origin };
    if ('throttle' in step) return { kind: 'throttle', depth: step.throttle.depth, origin };
    if ('queue_depth' in step) return { kind: 'queue_depth', depth: step.queue_depth.depth, origin };
    if ('fence' in step) return { kind: 'fence', origin };
    if ('set_priority' in step) {
      if (!this.queue_exists(entry, step.set_priority.queue, [...path, 'set_priority', 'queue'])) return null;
      return { kind: 'set_priority', queue: step.set_priority.queue, priority: step.set_priority.priority, origin };
    }
    if ('sync' in step) {
      const target = this.target(steps, index, step.sync.step, ['batch'], [...path, 'sync', 'step']);
      return target < 0 ? null : { kind: 'sync', step_index: target, origin };
    }
    if ('signal' in step) {
      const target = this.target(steps, index, step.signal.step, ['fence'], [...path, 'signal', 'step']);
      return target < 0 ? null : { kind: 'signal', step_index: target, origin };
    }
    const target = this.target(steps, index, step.terminate.step, ['batch'], [...path, 'terminate', 'step']);
    if (target < 0) return null;
    const batch = steps[target] as Extract<StepInput, { batch: unknown }>;
    if (batch.batch.duration_us !== 'infinite') {
      this.error([...path, 'terminate', 'step'], `step ${step.terminate.step} (steps[${target}]) is not an "infinite" batch`);
      return null;
    }
    return { kind: 'terminate', step_index: target, origin };
  }

  private batch(
    entry: ClientEntry, steps: readonly StepInput[], batch: Extract<StepInput, { batch: unknown }>['batch'], index: number,
    path: readonly PathSegment[], origin: string,
  ): Step | null {
    const before = this.errors.length;
    this.queue_exists(entry, batch.queue, [...path, 'queue']);
    let duration: Distribution | 'infinite' = 'infinite';
    if (batch.duration_us !== 'infinite') {
      const converted = to_distribution(batch.duration_us, 1);
      if (typeof converted === 'string') this.error([...path, 'duration_us'], converted);
      else duration = converted;
    }
    const deps: Dependency[] = [];
    batch.deps.forEach((dep, dep_index) => {
      const dep_path = [...path, 'deps', dep_index];
      if ('step' in dep) {
        const accept = dep.kind === 'sync' ? ['batch', 'fence'] : ['batch'];
        const target = this.target(steps, index, dep.step, accept, [...dep_path, 'step']);
        if (target >= 0) deps.push({ on: 'step', step_index: target, kind: dep.kind });
      } else if ('last' in dep) {
        const resolved = this.last_job(entry.name, dep.client, dep.queue, dep_path);
        if (resolved !== null) deps.push({ on: 'last_job', ...resolved, kind: dep.kind });
      } else if (this.fences.has(dep.external)) {
        deps.push({ on: 'external', fence: dep.external });
      } else {
        this.error([...dep_path, 'external'], `unknown external fence ${JSON.stringify(dep.external)} (declared: ${list([...this.fences])})`);
      }
    });
    for (const field of ['reads', 'writes'] as const) {
      batch[field].forEach((buffer, buffer_index) => {
        if (!this.buffers.has(buffer)) this.error([...path, field, buffer_index], `unknown buffer ${JSON.stringify(buffer)} (declared: ${list([...this.buffers])})`);
      });
    }
    if (this.errors.length > before) return null;
    return {
      kind: 'batch', queue: batch.queue, duration, credits: batch.credits ?? null, deps, reads: batch.reads, writes: batch.writes,
      wait: batch.wait, hang: batch.hang, origin,
    };
  }

  private last_job(self: string, client: string | undefined, queue: string, path: readonly PathSegment[]): { client: string; queue: string } | null {
    const name = client ?? self;
    const target = this.clients.get(name);
    if (target === undefined) {
      this.error([...path, 'client'], `unknown client ${JSON.stringify(name)} (declared: ${list([...this.clients.keys()])})`);
      return null;
    }
    return this.queue_exists(target, queue, [...path, 'queue']) ? { client: name, queue } : null;
  }

  /** A stream's program: [batch, delay (think time), period (rate)], one job per iteration. */
  private stream_program(entry: ClientEntry, stream: StreamInput, index: number): Program | null {
    const path = ['streams', index];
    const origin = this.origin_of(path);
    const before = this.errors.length;
    const duration = to_distribution(stream.duration_us, 1);
    if (typeof duration === 'string') this.error([...path, 'duration_us'], duration);
    const deps: Dependency[] = [];
    (stream.deps ?? []).forEach((dep, dep_index) => {
      if (dep === 'chain') return deps.push({ on: 'last_job', client: entry.name, queue: stream.queue, kind: 'data' });
      const other = this.streams.get(dep.stream);
      if (other === undefined) {
        return this.error([...path, 'deps', dep_index, 'stream'], `unknown stream ${JSON.stringify(dep.stream)} (streams: ${list([...this.streams.keys()])})`);
      }
      deps.push({ on: 'last_job', client: other.input.client, queue: other.input.queue, kind: dep.kind });
    });
    const think = stream.think_time_us === undefined ? null : to_distribution(stream.think_time_us, 0);
    if (typeof think === 'string') this.error([...path, 'think_time_us'], think);
    if (this.errors.length > before || typeof duration === 'string' || typeof think === 'string') return null;
    const steps: Step[] = [{
      kind: 'batch', queue: stream.queue, duration, credits: stream.credits ?? null, deps, reads: [], writes: [],
      wait: stream.submit === 'sync', hang: false, origin,
    }];
    if (think !== null && !is_zero(think)) steps.push({ kind: 'delay', duration: think, origin });
    if (stream.rate !== undefined) steps.push({ kind: 'period', period_us: stream.rate, origin });
    const end = stream.count !== undefined ? { kind: 'loops', loops: stream.count } as const : { kind: 'duration', duration_us: (stream.duration_ms as number) * 1000 } as const;
    return { end, steps };
  }

  private event(event: EventInput, path: readonly PathSegment[]): WorkloadEvent | null {
    const before = this.errors.length;
    let trigger: EventTrigger;
    if (event.after !== undefined) {
      const { client, step, loop } = event.after;
      trigger = { kind: 'after', client, step_index: step, loop };
      const entry = this.clients.get(client);
      if (entry === undefined) {
        this.error([...path, 'after', 'client'], `unknown client ${JSON.stringify(client)}`);
      } else {
        const steps = this.program_length(entry);
        if (step >= steps) this.error([...path, 'after', 'step'], `client ${JSON.stringify(client)} has ${steps} steps (0-based)`);
        const loops = this.program_loops(entry);
        if (loops !== null && loop >= loops) this.error([...path, 'after', 'loop'], `client ${JSON.stringify(client)} runs ${loops} loops (0-based)`);
      }
    } else {
      trigger = { kind: 'at', at_us: event.at_us as number };
    }
    const action = this.action(event, path);
    if (action === null || this.errors.length > before) return null;
    return { trigger, action, origin: this.origin_of(path) };
  }

  private action(event: EventInput, path: readonly PathSegment[]): EventAction | null {
    switch (event.action) {
      case 'device_reset':
      case 'unplug':
        return { kind: event.action };
      case 'signal_fence':
        if (this.fences.has(event.fence)) return { kind: 'signal_fence', fence: event.fence };
        this.error([...path, 'fence'], `unknown external fence ${JSON.stringify(event.fence)} (declared: ${list([...this.fences])})`);
        return null;
      case 'close_client':
        if (this.clients.has(event.client)) return { kind: 'close_client', client: event.client };
        this.error([...path, 'client'], `unknown client ${JSON.stringify(event.client)}`);
        return null;
      default: {
        const target = this.last_job(event.client, event.client, event.queue, path);
        if (target === null) return null;
        if (event.action === 'set_priority') return { kind: 'set_priority', ...target, priority: event.priority };
        return { kind: event.action, ...target };
      }
    }
  }

  private program_length(entry: ClientEntry): number {
    if (entry.stream !== null) {
      const stream = entry.stream.input;
      const think = stream.think_time_us === undefined ? null : to_distribution(stream.think_time_us, 0);
      const has_think = think !== null && typeof think !== 'string' && !is_zero(think);
      return 1 + (has_think ? 1 : 0) + (stream.rate !== undefined ? 1 : 0);
    }
    return entry.declared?.program?.steps.length ?? 0;
  }

  private program_loops(entry: ClientEntry): number | null {
    if (entry.stream !== null) return entry.stream.input.count ?? null;
    return entry.declared?.program?.loops ?? null;
  }
}

/** Compiles a parsed WorkloadSpec; `origin_of` turns a field path into a step's origin text. */
export function compile_workload(spec: WorkloadInput, source: string, origin_of: (path: readonly PathSegment[]) => string = (path) => `${source}: ${format_path(path)}`): CompileResult {
  const compiler = new Compiler(spec, source, origin_of);
  const workload = compiler.compile();
  if (workload === null) return { ok: false, errors: compiler.errors };
  return { ok: true, workload };
}
