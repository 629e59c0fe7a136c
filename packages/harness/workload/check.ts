/**
 * The invariants of a normalized Workload, checked on what every loader returns (a loader bug
 * becomes an error, never a workload the runner trips over) and available to anyone who builds
 * a Workload by hand (generators, tests).
 */
import { z } from 'zod';
import { diagnostic } from './diagnostics.ts';
import { NAME_PATTERN } from './schema.ts';
import {
  ENGINE_CLASSES, LIMITS, PRIORITIES, type ClientDefinition, type Diagnostic, type Distribution, type LoadResult, type Step, type Workload,
} from './types.ts';

function is_int(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}

function distribution_problem(d: Distribution): string | null {
  const time = (v: unknown) => is_int(v, 0, LIMITS.time_us);
  switch (d.kind) {
    case 'constant': return time(d.value_us) ? null : 'constant value_us out of range';
    case 'uniform': return time(d.min_us) && time(d.max_us) && d.min_us <= d.max_us ? null : 'uniform needs 0 <= min_us <= max_us';
    case 'exponential':
    case 'normal': {
      if (!time(d.min_us) || (d.max_us !== null && (!time(d.max_us) || d.max_us < d.min_us))) return `${d.kind} bounds out of range`;
      if (!(d.mean_us >= 0 && d.mean_us <= LIMITS.time_us) || (d.kind === 'exponential' && !(d.mean_us > 0))) return `${d.kind} mean_us out of range`;
      if (d.kind === 'normal' && !(d.stddev_us >= 0 && d.stddev_us <= LIMITS.time_us)) return 'normal stddev_us out of range';
      return null;
    }
    default: return 'unknown distribution kind';
  }
}

function name_problem(name: unknown): string | null {
  if (typeof name !== 'string' || name.length === 0 || name.length > LIMITS.name_chars || !NAME_PATTERN.test(name)) {
    return `bad name ${JSON.stringify(name)}`;
  }
  return null;
}

/** Returns every broken invariant of `workload` (empty when it is well formed). */
export function check_workload(workload: Workload): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const problem = (path: string, message: string) => {
    if (problems.length < LIMITS.errors) problems.push(diagnostic(workload.source, message, { path }));
  };
  const clients = new Map<string, ClientDefinition>();
  if (workload.clients.length === 0 || workload.clients.length > LIMITS.clients) problem('clients', `needs 1..${LIMITS.clients} clients`);
  workload.clients.forEach((client, c) => {
    const path = `clients[${c}]`;
    const bad = name_problem(client.name);
    if (bad !== null) problem(`${path}.name`, bad);
    if (clients.has(client.name)) problem(`${path}.name`, `duplicate client ${client.name}`);
    clients.set(client.name, client);
    const queues = new Set<string>();
    if (client.queues.length === 0 || client.queues.length > LIMITS.queues_per_client) problem(`${path}.queues`, `needs 1..${LIMITS.queues_per_client} queues`);
    client.queues.forEach((queue, q) => {
      const bad_queue = name_problem(queue.name);
      if (bad_queue !== null) problem(`${path}.queues[${q}].name`, bad_queue);
      if (queues.has(queue.name)) problem(`${path}.queues[${q}].name`, `duplicate queue ${queue.name}`);
      queues.add(queue.name);
      if (!ENGINE_CLASSES.includes(queue.engine)) problem(`${path}.queues[${q}].engine`, `unknown engine ${String(queue.engine)}`);
      if (!PRIORITIES.includes(queue.priority)) problem(`${path}.queues[${q}].priority`, `unknown priority ${String(queue.priority)}`);
    });
  });
  const buffers = new Set(workload.buffers.map((buffer) => buffer.name));
  const fences = new Set(workload.external_fences.map((fence) => fence.name));
  if (buffers.size !== workload.buffers.length) problem('buffers', 'duplicate buffer names');
  if (fences.size !== workload.external_fences.length) problem('external_fences', 'duplicate fence names');
  const has_queue = (client: string, queue: string) => clients.get(client)?.queues.some((q) => q.name === queue) === true;
  workload.clients.forEach((client, c) => {
    const path = `clients[${c}].program`;
    const { end, steps } = client.program;
    if (end.kind === 'loops' ? !is_int(end.loops, 1, LIMITS.loops) : !is_int(end.duration_us, 1, LIMITS.time_us)) problem(`${path}.end`, 'out of range');
    if (steps.length === 0 || steps.length > LIMITS.steps_per_program) problem(`${path}.steps`, `needs 1..${LIMITS.steps_per_program} steps`);
    steps.forEach((step, s) => check_step(step, s, steps, `${path}.steps[${s}]`, client, { problem, has_queue, buffers, fences }));
  });
  if (workload.events.length > LIMITS.events) problem('events', `more than ${LIMITS.events} events`);
  workload.events.forEach((event, e) => {
    const path = `events[${e}]`;
    const trigger = event.trigger;
    if (!EVENT_TRIGGERS.includes(trigger.kind)) problem(`${path}.trigger`, `unknown trigger kind ${String(trigger.kind)}`);
    if (!EVENT_ACTIONS.includes(event.action.kind)) problem(`${path}.action`, `unknown event kind ${String(event.action.kind)}`);
    if (trigger.kind === 'at' && !is_int(trigger.at_us, 0, LIMITS.time_us)) problem(`${path}.trigger`, 'at_us out of range');
    if (trigger.kind === 'after') {
      const client = clients.get(trigger.client);
      if (client === undefined || !is_int(trigger.step_index, 0, client.program.steps.length - 1) || !is_int(trigger.loop, 0, LIMITS.loops)) {
        problem(`${path}.trigger`, 'names no step of a client');
      }
    }
    const action = event.action;
    if ('queue' in action && !has_queue(action.client, action.queue)) problem(`${path}.action`, `unknown queue ${action.client}/${action.queue}`);
    if (action.kind === 'close_client' && !clients.has(action.client)) problem(`${path}.action`, `unknown client ${action.client}`);
    if (action.kind === 'signal_fence' && !fences.has(action.fence)) problem(`${path}.action`, `unknown fence ${action.fence}`);
  });
  return problems;
}

const EVENT_TRIGGERS: readonly string[] = ['at', 'after'];
const EVENT_ACTIONS: readonly string[] = ['set_priority', 'destroy_queue', 'close_client', 'hang_job', 'fw_error', 'engine_reset', 'device_reset', 'unplug', 'signal_fence'];

/* ------------------------------------------------------------------------------------------ */
/* A Workload from untrusted data (replay tokens, sweep shards)                                 */

const name = z.string().max(LIMITS.name_chars);
const text = z.string().max(4096);
const int = z.number().int();
const bound = z.number().int().nullable();
const distribution = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('constant'), value_us: int }),
  z.strictObject({ kind: z.literal('uniform'), min_us: int, max_us: int }),
  z.strictObject({ kind: z.literal('exponential'), mean_us: z.number(), min_us: int, max_us: bound }),
  z.strictObject({ kind: z.literal('normal'), mean_us: z.number(), stddev_us: z.number(), min_us: int, max_us: bound }),
]);
const dependency = z.discriminatedUnion('on', [
  z.strictObject({ on: z.literal('step'), step_index: int, kind: z.enum(['data', 'submit', 'sync']) }),
  z.strictObject({ on: z.literal('last_job'), client: name, queue: name, kind: z.enum(['data', 'submit']) }),
  z.strictObject({ on: z.literal('external'), fence: name }),
]);
const names = z.array(name).max(LIMITS.deps_per_batch);
const step = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('batch'), queue: name, duration: z.union([distribution, z.literal('infinite')]), credits: int.nullable(),
    deps: z.array(dependency).max(LIMITS.deps_per_batch), reads: names, writes: names, wait: z.boolean(), hang: z.boolean(), origin: text,
  }),
  z.strictObject({ kind: z.literal('delay'), duration: distribution, origin: text }),
  z.strictObject({ kind: z.literal('period'), period_us: int, origin: text }),
  z.strictObject({ kind: z.literal('sync'), step_index: int, origin: text }),
  z.strictObject({ kind: z.literal('throttle'), depth: int, origin: text }),
  z.strictObject({ kind: z.literal('queue_depth'), depth: int, origin: text }),
  z.strictObject({ kind: z.literal('set_priority'), queue: name, priority: z.enum(PRIORITIES), origin: text }),
  z.strictObject({ kind: z.literal('fence'), origin: text }),
  z.strictObject({ kind: z.literal('signal'), step_index: int, origin: text }),
  z.strictObject({ kind: z.literal('terminate'), step_index: int, origin: text }),
]);
const knob = z.union([z.number(), z.string().max(256), z.boolean()]);
const queue_definition = z.strictObject({
  name, engine: z.enum(ENGINE_CLASSES), priority: z.enum(PRIORITIES), long_running: z.boolean(),
  driver: z.record(z.string().max(64), knob).nullable(), load_balanced: z.boolean(),
});
const client_definition = z.strictObject({
  name, queues: z.array(queue_definition).max(LIMITS.queues_per_client),
  program: z.strictObject({
    end: z.discriminatedUnion('kind', [z.strictObject({ kind: z.literal('loops'), loops: int }), z.strictObject({ kind: z.literal('duration'), duration_us: int })]),
    steps: z.array(step).max(LIMITS.steps_per_program),
  }),
  origin: text,
});
const queue_ref = { client: name, queue: name };
const event_action = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('set_priority'), ...queue_ref, priority: z.enum(PRIORITIES) }),
  z.strictObject({ kind: z.literal('destroy_queue'), ...queue_ref }),
  z.strictObject({ kind: z.literal('close_client'), client: name }),
  z.strictObject({ kind: z.literal('hang_job'), ...queue_ref }),
  z.strictObject({ kind: z.literal('fw_error'), ...queue_ref }),
  z.strictObject({ kind: z.literal('engine_reset'), ...queue_ref }),
  z.strictObject({ kind: z.literal('device_reset') }),
  z.strictObject({ kind: z.literal('unplug') }),
  z.strictObject({ kind: z.literal('signal_fence'), fence: name }),
]);
const diagnostic_data = z.strictObject({ source: text, line: int.nullable(), column: int.nullable(), path: text.nullable(), message: text });
const workload_data = z.strictObject({
  name: text, description: text, source: text,
  clients: z.array(client_definition).max(LIMITS.clients),
  buffers: z.array(z.strictObject({ name, size_bytes: z.tuple([z.number(), z.number()]).nullable() })).max(LIMITS.buffers),
  external_fences: z.array(z.strictObject({ name, signal_at_us: int.nullable() })).max(LIMITS.buffers),
  events: z.array(z.strictObject({
    trigger: z.discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('at'), at_us: int }),
      z.strictObject({ kind: z.literal('after'), client: name, step_index: int, loop: int }),
    ]),
    action: event_action, origin: text,
  })).max(LIMITS.events),
  notes: z.array(diagnostic_data.extend({ kind: z.enum(['mapped', 'approximated', 'ignored']) })).max(LIMITS.errors * 20),
});

/**
 * A Workload from data deplab did not just compile (a replay token, a sweep shard): its shape
 * first (every field's type, every kind known, every list bounded), then the invariants of
 * check_workload. Never throws; the first problems name their field paths.
 */
export function parse_workload_data(value: unknown, source: string): LoadResult {
  const shape = workload_data.safeParse(value);
  if (!shape.success) {
    return { ok: false, errors: shape.error.issues.slice(0, LIMITS.errors).map((i) => diagnostic(source, i.message, { path: i.path.map(String).join('.') || 'workload' })) };
  }
  // The value itself, not zod's copy: the same key order, so a token re-encodes to itself.
  const workload = value as Workload;
  const problems = check_workload(workload);
  return problems.length > 0 ? { ok: false, errors: problems.map((p) => ({ ...p, source })) } : { ok: true, workload };
}

interface StepContext {
  problem(path: string, message: string): void;
  has_queue(client: string, queue: string): boolean;
  buffers: ReadonlySet<string>;
  fences: ReadonlySet<string>;
}

function check_step(step: Step, index: number, steps: readonly Step[], path: string, client: ClientDefinition, context: StepContext): void {
  const { problem } = context;
  const target = (step_index: number, kinds: readonly Step['kind'][], where: string) => {
    if (!is_int(step_index, 0, index - 1) || !kinds.includes(steps[step_index].kind)) {
      problem(where, `step_index ${step_index} is not an earlier ${kinds.join(' or ')} step`);
    }
  };
  switch (step.kind) {
    case 'batch': {
      if (!context.has_queue(client.name, step.queue)) problem(`${path}.queue`, `unknown queue ${step.queue}`);
      if (step.duration !== 'infinite') {
        const bad = distribution_problem(step.duration);
        if (bad !== null) problem(`${path}.duration`, bad);
      }
      if (step.credits !== null && !is_int(step.credits, 1, LIMITS.credits)) problem(`${path}.credits`, 'out of range');
      if (step.deps.length > LIMITS.deps_per_batch) problem(`${path}.deps`, 'too many dependencies');
      step.deps.forEach((dep, d) => {
        const where = `${path}.deps[${d}]`;
        if (dep.on === 'step') target(dep.step_index, dep.kind === 'sync' ? ['batch', 'fence'] : ['batch'], where);
        else if (dep.on === 'last_job' && !context.has_queue(dep.client, dep.queue)) problem(where, `unknown queue ${dep.client}/${dep.queue}`);
        else if (dep.on === 'external' && !context.fences.has(dep.fence)) problem(where, `unknown fence ${dep.fence}`);
      });
      for (const buffer of [...step.reads, ...step.writes]) if (!context.buffers.has(buffer)) problem(path, `unknown buffer ${buffer}`);
      return;
    }
    case 'delay': {
      const bad = distribution_problem(step.duration);
      if (bad !== null) problem(`${path}.duration`, bad);
      return;
    }
    case 'period':
      if (!is_int(step.period_us, 1, LIMITS.time_us)) problem(path, 'period_us out of range');
      return;
    case 'throttle':
    case 'queue_depth':
      if (!is_int(step.depth, 0, LIMITS.steps_per_program)) problem(path, 'depth out of range');
      return;
    case 'set_priority':
      if (!context.has_queue(client.name, step.queue)) problem(path, `unknown queue ${step.queue}`);
      if (!PRIORITIES.includes(step.priority)) problem(path, `unknown priority ${String(step.priority)}`);
      return;
    case 'fence':
      return;
    case 'sync':
      return target(step.step_index, ['batch'], path);
    case 'signal':
      return target(step.step_index, ['fence'], path);
    case 'terminate': {
      target(step.step_index, ['batch'], path);
      const batch = steps[step.step_index];
      if (batch?.kind === 'batch' && batch.duration !== 'infinite') problem(path, 'terminates a batch that is not infinite');
      return;
    }
    default:
      problem(path, `unknown step kind ${String((step as { kind: unknown }).kind)}`);
  }
}
