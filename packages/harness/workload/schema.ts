/**
 * The JSON workload format as zod schemas: shape and value ranges only. Cross references
 * (queue names, step targets, stream names) are checked by compile-json.ts, which also turns
 * the sugar (streams, rates, duration shorthands) into the normalized Workload.
 *
 * Unions are dispatched by the value's JSON type or by a distinguishing key (see dispatch())
 * rather than tried in turn, so an error points at the bad field inside the intended variant
 * instead of saying "no variant matched".
 */
import { z } from 'zod';
import { ENGINE_CLASSES, LIMITS, PRIORITIES } from './types.ts';

/** Messages for zod's generic issues; schema-level messages below take precedence. */
export const error_map = (issue: z.core.$ZodRawIssue): string | undefined => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `required: expected ${issue.expected}`;
      return `expected ${issue.expected}, got ${describe_value(issue.input)}`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}`;
    case 'invalid_value':
      return `expected ${issue.values.map((value) => JSON.stringify(value)).join(' | ')}, got ${describe_value(issue.input)}`;
    case 'invalid_key':
      // zod's own text ("Invalid key in record") names neither the key nor the rule.
      return `bad key ${describe_value(issue.input)}: ${issue.issues[0]?.message ?? 'not allowed here'}`;
    default:
      return undefined;
  }
};

export function describe_value(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 0) return 'an empty object';
    const shown = keys.slice(0, 4).map((key) => JSON.stringify(key)).join(', ');
    return `an object with field${keys.length > 1 ? 's' : ''} ${shown}${keys.length > 4 ? ', ...' : ''}`;
  }
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  return String(value);
}

/** A schema-level message that still says "required" when the field is missing. */
function expected(what: string) {
  return {
    error: (issue: { input?: unknown }) =>
      issue.input === undefined ? `required: expected ${what}` : `expected ${what}, got ${describe_value(issue.input)}`,
  };
}

/**
 * Parses with the schema `pick(value)` names; `what` describes the acceptable shapes when
 * none is picked. Nested issues keep their paths, relative to this value.
 */
function dispatch<T extends Record<string, z.ZodType>>(
  choices: T, pick: (value: unknown) => keyof T | null, what: string, tag: string | null = null,
) {
  type Out = { [K in keyof T]: z.output<T[K]> }[keyof T];
  return z.unknown().transform((value, context): Out => {
    const key = pick(value);
    if (key === null) {
      if (value === undefined) {
        context.addIssue({ code: 'custom', message: `required: expected ${what}`, input: value });
        return z.NEVER;
      }
      // With a tag field present, blame the tag: its value picks the variant.
      if (tag !== null && json_type(value) === 'object') {
        const got = (value as Record<string, unknown>)[tag];
        const message = got === undefined ? `required: expected ${what}` : `expected ${what}, got ${describe_value(got)}`;
        context.addIssue({ code: 'custom', message, path: [tag], input: value });
      } else {
        context.addIssue({ code: 'custom', message: `expected ${what}, got ${describe_value(value)}`, input: value });
      }
      return z.NEVER;
    }
    const result = choices[key].safeParse(value, { error: error_map });
    if (result.success) return result.data as Out;
    for (const issue of result.error.issues) {
      const path = issue.code === 'unrecognized_keys' && issue.keys.length === 1 ? [...issue.path, issue.keys[0]] : issue.path;
      const message = issue.code === 'unrecognized_keys' && issue.keys.length === 1 ? 'unknown field' : issue.message;
      context.addIssue({ code: 'custom', message, path: path as PropertyKey[] as (string | number)[], input: value });
    }
    return z.NEVER;
  });
}

function json_type(value: unknown): 'number' | 'string' | 'array' | 'object' | 'boolean' | 'null' | 'other' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const type = typeof value;
  if (type === 'number' || type === 'string' || type === 'boolean' || type === 'object') return type;
  return 'other';
}

function by_type<T extends Partial<Record<'number' | 'string' | 'array' | 'object' | 'boolean', z.ZodType>>>(choices: T, what: string) {
  type Out = { [K in keyof T]-?: z.output<NonNullable<T[K]>> }[keyof T];
  return dispatch(choices as Record<string, z.ZodType>, (value) => {
    const type = json_type(value);
    return Object.hasOwn(choices, type) ? type : null;
  }, what) as unknown as z.ZodType<Out, unknown>;
}

function by_key<T extends Record<string, z.ZodType>>(choices: T, what: string) {
  return dispatch(choices, (value) => {
    if (json_type(value) !== 'object') return null;
    for (const key of Object.keys(value as object)) if (Object.hasOwn(choices, key)) return key as keyof T;
    return null;
  }, what);
}

export const NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:#/+-]*$/;
const NAME_TEXT = `a name (letters, digits and _ . : # / + -, at most ${LIMITS.name_chars} characters)`;
export const Name = z.string(expected(NAME_TEXT)).max(LIMITS.name_chars, expected(NAME_TEXT)).regex(NAME_PATTERN, expected(NAME_TEXT));

function integer(min: number, max: number, what: string) {
  return z.number(expected(what)).int(expected(what)).min(min, expected(what)).max(max, expected(what));
}

function time_us(min: number) {
  const what = min === 0 ? 'an integer number of microseconds >= 0' : 'a positive integer number of microseconds';
  return integer(min, LIMITS.time_us, what);
}

const Engine = z.enum(ENGINE_CLASSES as [string, ...string[]], expected(ENGINE_CLASSES.map((e) => `"${e}"`).join(' | ')))
  .transform((engine) => engine as (typeof ENGINE_CLASSES)[number]);
const PriorityName = z.enum(PRIORITIES as [string, ...string[]], expected(PRIORITIES.map((p) => `"${p}"`).join(' | ')))
  .transform((priority) => priority as (typeof PRIORITIES)[number]);
const RelativeStep = integer(-LIMITS.steps_per_program, -1, 'a negative step offset (-1 is the previous step)');

/** Durations: N, [min, max] (uniform, inclusive) or {dist: ...}; `min` is the smallest constant. */
function duration(min: 0 | 1) {
  const bounds = { min_us: time_us(0).optional(), max_us: time_us(0).optional() };
  const distributions = {
    exponential: z.strictObject({ dist: z.literal('exponential'), mean_us: time_us(1), ...bounds }),
    normal: z.strictObject({ dist: z.literal('normal'), mean_us: time_us(0), stddev_us: time_us(0), ...bounds }),
    uniform: z.strictObject({ dist: z.literal('uniform'), min_us: time_us(min), max_us: time_us(min) }),
    constant: z.strictObject({ dist: z.literal('constant'), us: time_us(min) }),
  };
  const what_dist = '{"dist": "exponential" | "normal" | "uniform" | "constant", ...}';
  const dist = dispatch(distributions, (value) => {
    const name = (value as { dist?: unknown }).dist;
    return typeof name === 'string' && Object.hasOwn(distributions, name) ? (name as keyof typeof distributions) : null;
  }, '"exponential" | "normal" | "uniform" | "constant"', 'dist');
  const what = `${min === 0 ? 'an integer >= 0' : 'a positive integer'} or [min, max]`;
  return by_type({
    number: integer(min, LIMITS.time_us, `${what} (microseconds, at most ${LIMITS.time_us})`),
    array: z.tuple([time_us(min), time_us(min)], expected(`[min, max] of two ${min === 0 ? 'integers >= 0' : 'positive integers'}`))
      .refine(([lo, hi]) => lo <= hi, { message: 'expected [min, max] with min <= max' }),
    object: dist,
  }, `${what} or ${what_dist}`);
}

export const DurationSpec = duration(1);
export const DurationOrZeroSpec = duration(0);
export type DurationInput = z.output<typeof DurationSpec>;

const Dependency = by_key({
  step: z.strictObject({ step: RelativeStep, kind: z.enum(['data', 'submit', 'sync']).default('data') }),
  last: z.strictObject({
    client: Name.optional(),
    queue: Name,
    last: z.literal(true, expected('true')),
    kind: z.enum(['data', 'submit']).default('data'),
  }),
  external: z.strictObject({ external: Name }),
}, '{"step": -N, "kind"?} | {"client"?, "queue", "last": true, "kind"?} | {"external": name}');

const Batch = z.strictObject({
  queue: Name,
  duration_us: by_type({ number: DurationSpec, array: DurationSpec, object: DurationSpec, string: z.literal('infinite') },
    'a positive integer or [min, max] or {"dist": ...} or "infinite"'),
  credits: integer(1, LIMITS.credits, 'a positive integer').optional(),
  deps: z.array(Dependency).max(LIMITS.deps_per_batch).default([]),
  reads: z.array(Name).max(LIMITS.deps_per_batch).default([]),
  writes: z.array(Name).max(LIMITS.deps_per_batch).default([]),
  wait: z.boolean().default(false),
  hang: z.boolean().default(false),
});

const RATE = /^\s*([0-9]+(?:\.[0-9]+)?)\s*(fps|hz|\/s)\s*$/i;
const RATE_TEXT = 'a rate like "60fps", "240/s" or {"period_us": N}';

/** A rate as a period in microseconds. */
const Rate = by_type({
  string: z.string().regex(RATE, expected(RATE_TEXT)).transform((text, context) => {
    const per_second = Number(RATE.exec(text)?.[1]);
    const period_us = Math.round(1_000_000 / per_second);
    if (!(per_second > 0) || period_us < 1 || period_us > LIMITS.time_us) {
      const message = `expected a rate giving a period of 1..${LIMITS.time_us} us (up to 1000000/s), got ${JSON.stringify(text)}`;
      context.addIssue({ code: 'custom', message, input: text });
      return z.NEVER;
    }
    return period_us;
  }),
  object: z.strictObject({ period_us: time_us(1) }).transform((rate) => rate.period_us),
}, RATE_TEXT);

const Period = z.strictObject({ us: time_us(1).optional(), rate: Rate.optional() })
  .refine((period) => (period.us === undefined) !== (period.rate === undefined), { message: 'expected exactly one of "us" or "rate"' })
  .transform((period) => period.us ?? (period.rate as number));

const Depth = z.strictObject({ depth: integer(0, LIMITS.steps_per_program, 'an integer >= 0 (0 turns it off)') });
const StepRef = z.strictObject({ step: RelativeStep });

export const StepSpec = by_key({
  batch: z.strictObject({ batch: Batch }),
  delay: z.strictObject({ delay: z.strictObject({ us: DurationSpec }) }),
  period: z.strictObject({ period: Period }),
  sync: z.strictObject({ sync: StepRef }),
  throttle: z.strictObject({ throttle: Depth }),
  queue_depth: z.strictObject({ queue_depth: Depth }),
  set_priority: z.strictObject({ set_priority: z.strictObject({ queue: Name, priority: PriorityName }) }),
  fence: z.strictObject({ fence: z.strictObject({}) }),
  signal: z.strictObject({ signal: StepRef }),
  terminate: z.strictObject({ terminate: StepRef }),
}, 'a step: {"batch"|"delay"|"period"|"sync"|"throttle"|"queue_depth"|"set_priority"|"fence"|"signal"|"terminate": {...}}');
export type StepInput = z.output<typeof StepSpec>;

const ExactlyOneEnd = { message: 'expected exactly one of "loops" or "duration_ms"' };
const Program = z.strictObject({
  loops: integer(1, LIMITS.loops, 'a positive integer').optional(),
  duration_ms: integer(1, LIMITS.time_us / 1000, 'a positive integer number of milliseconds').optional(),
  steps: z.array(StepSpec).min(1, { message: 'expected at least one step' }).max(LIMITS.steps_per_program),
}).refine((program) => (program.loops === undefined) !== (program.duration_ms === undefined), ExactlyOneEnd);

const DriverKnobs = z.record(
  z.string().regex(/^[a-z][a-z0-9_]*$/, expected('a knob name in lower_snake_case')),
  z.union([z.number(), z.string(), z.boolean()], expected('a number, string or boolean')),
);

const Queue = z.strictObject({
  name: Name,
  engine: Engine,
  priority: PriorityName.default('normal'),
  long_running: z.boolean().default(false),
  driver: DriverKnobs.optional(),
});
export type QueueInput = z.output<typeof Queue>;

const Client = z.strictObject({
  name: Name,
  queues: z.array(Queue).min(1, { message: 'expected at least one queue' }).max(LIMITS.queues_per_client),
  program: Program.optional(),
});
export type ClientInput = z.output<typeof Client>;

const StreamDependency = by_type({
  string: z.literal('chain', expected('"chain"')),
  object: z.strictObject({ stream: Name, kind: z.enum(['data', 'submit']).default('data') }),
}, '"chain" or {"stream": name, "kind"?}');

const Stream = z.strictObject({
  name: Name.optional(),
  client: Name,
  queue: Name,
  engine: Engine.optional(),
  priority: PriorityName.optional(),
  long_running: z.boolean().optional(),
  count: integer(1, LIMITS.loops, 'a positive integer').optional(),
  duration_ms: integer(1, LIMITS.time_us / 1000, 'a positive integer number of milliseconds').optional(),
  rate: Rate.optional(),
  duration_us: DurationSpec,
  credits: integer(1, LIMITS.credits, 'a positive integer').optional(),
  deps: by_type({ string: StreamDependency.transform((dep) => [dep]), object: StreamDependency.transform((dep) => [dep]), array: z.array(StreamDependency).max(LIMITS.deps_per_batch) },
    '"chain", {"stream": name} or an array of them').optional(),
  submit: z.enum(['async', 'sync']).default('async'),
  think_time_us: DurationOrZeroSpec.optional(),
}).refine((stream) => (stream.count === undefined) !== (stream.duration_ms === undefined), { message: 'expected exactly one of "count" or "duration_ms"' });
export type StreamInput = z.output<typeof Stream>;

const Trigger = {
  at_us: time_us(0).optional(),
  after: z.strictObject({ client: Name, step: integer(0, LIMITS.steps_per_program - 1, 'a step index >= 0'), loop: integer(0, LIMITS.loops, 'a loop index >= 0') }).optional(),
};
const QueueTarget = { client: Name, queue: Name };
const events = {
  set_priority: z.strictObject({ ...Trigger, action: z.literal('set_priority'), ...QueueTarget, priority: PriorityName }),
  destroy_queue: z.strictObject({ ...Trigger, action: z.literal('destroy_queue'), ...QueueTarget }),
  close_client: z.strictObject({ ...Trigger, action: z.literal('close_client'), client: Name }),
  hang_job: z.strictObject({ ...Trigger, action: z.literal('hang_job'), ...QueueTarget }),
  fw_error: z.strictObject({ ...Trigger, action: z.literal('fw_error'), ...QueueTarget }),
  engine_reset: z.strictObject({ ...Trigger, action: z.literal('engine_reset'), ...QueueTarget }),
  device_reset: z.strictObject({ ...Trigger, action: z.literal('device_reset') }),
  unplug: z.strictObject({ ...Trigger, action: z.literal('unplug') }),
  signal_fence: z.strictObject({ ...Trigger, action: z.literal('signal_fence'), fence: Name }),
};
const Event = dispatch(events, (value) => {
  if (json_type(value) !== 'object') return null;
  const action = (value as { action?: unknown }).action;
  return typeof action === 'string' && Object.hasOwn(events, action) ? (action as keyof typeof events) : null;
}, Object.keys(events).map((a) => `"${a}"`).join(' | '), 'action')
  .refine((event) => (event.at_us === undefined) !== (event.after === undefined), { message: 'expected exactly one of "at_us" or "after"' });
export type EventInput = z.output<typeof Event>;

const Buffer = z.strictObject({
  name: Name,
  size_bytes: z.number().int().positive().optional(),
});

const ExternalFence = z.strictObject({ name: Name, signal_at_us: time_us(0).optional() });

export const WorkloadSpec = z.strictObject({
  $schema: z.string().optional(),
  name: Name,
  description: z.string().max(4096).default(''),
  clients: z.array(Client).max(LIMITS.clients).default([]),
  streams: z.array(Stream).max(LIMITS.clients).default([]),
  buffers: z.array(Buffer).max(LIMITS.buffers).default([]),
  external_fences: z.array(ExternalFence).max(LIMITS.buffers).default([]),
  events: z.array(Event).max(LIMITS.events).default([]),
}).refine((spec) => spec.clients.length + spec.streams.length > 0, { message: 'expected at least one client or stream' });
export type WorkloadInput = z.output<typeof WorkloadSpec>;
