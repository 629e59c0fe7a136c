/**
 * The invariants of a normalized Workload, checked on what every loader returns (a loader bug
 * becomes an error, never a workload the runner trips over) and available to anyone who builds
 * a Workload by hand (generators, tests).
 */
import { diagnostic } from './diagnostics.ts';
import { NAME_PATTERN } from './schema.ts';
import {
  ENGINE_CLASSES, LIMITS, PRIORITIES, type ClientDefinition, type Diagnostic, type Distribution, type Step, type Workload,
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
  workload.events.forEach((event, e) => {
    const path = `events[${e}]`;
    const trigger = event.trigger;
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
