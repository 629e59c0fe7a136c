import { describe, expect, it } from 'vitest';
import { check_workload, format_diagnostic, load_workload_json, type BatchStep, type Workload } from '../index.ts';
import { read_json } from './json-text.ts';
import { readme_example } from './test-support.ts';

function load(value: unknown): ReturnType<typeof load_workload_json> {
  return load_workload_json(JSON.stringify(value, null, 2), 'test.json');
}

function ok(value: unknown): Workload {
  const result = load(value);
  if (!result.ok) throw new Error(result.errors.map(format_diagnostic).join('\n'));
  return result.workload;
}

/** The formatted errors without the "source:line:column: " prefix. */
function errors(value: unknown): string[] {
  const result = load(value);
  if (result.ok) throw new Error('expected errors');
  return result.errors.map((error) => `${error.path}: ${error.message}`);
}

const queue = { name: 'q', engine: 'render' };
function client(name: string, steps: unknown[], extra: object = {}) {
  return { name, queues: [queue], program: { loops: 2, steps }, ...extra };
}
const batch = (fields: object = {}) => ({ batch: { queue: 'q', duration_us: 100, ...fields } });

describe('load_workload_json: the README example', () => {
  const result = load_workload_json(readme_example(), 'example.json');

  it('loads and keeps its invariants', () => {
    if (!result.ok) throw new Error(result.errors.map(format_diagnostic).join('\n'));
    expect(check_workload(result.workload)).toEqual([]);
    expect(result.workload.clients.map((c) => c.name)).toEqual(['game', 'compositor', 'backup']);
  });

  it('resolves offsets, sugar and streams', () => {
    if (!result.ok) return;
    const [game, compositor, backup] = result.workload.clients;
    const steps = game.program.steps;
    expect(game.program.end).toEqual({ kind: 'loops', loops: 600 });
    expect((steps[2] as BatchStep).deps).toEqual([{ on: 'step', step_index: 1, kind: 'data' }]);
    expect((steps[3] as BatchStep).deps).toEqual([{ on: 'step', step_index: 2, kind: 'submit' }]);
    expect(steps[4]).toMatchObject({ kind: 'period', period_us: 16667 });
    expect(compositor.program.end).toEqual({ kind: 'duration', duration_us: 10_000_000 });
    // A stream: [batch, think-time delay, period] with a chain on its own queue.
    expect(backup.queues).toEqual([{ name: 'copy', engine: 'copy', priority: 'low', long_running: false, driver: null, load_balanced: false }]);
    expect(backup.program.steps.map((s) => s.kind)).toEqual(['batch', 'delay', 'period']);
    expect((backup.program.steps[0] as BatchStep).deps).toEqual([{ on: 'last_job', client: 'backup', queue: 'copy', kind: 'data' }]);
    expect(backup.program.steps[2]).toMatchObject({ period_us: 4167 });
    expect(result.workload.events[1]).toMatchObject({ trigger: { kind: 'after', client: 'compositor', step_index: 0, loop: 300 } });
  });

  it('records where each step came from', () => {
    if (!result.ok) return;
    expect(result.workload.clients[0].program.steps[1].origin).toMatch(/^example\.json:\d+:\d+ clients\[0\]\.program\.steps\[1\]$/);
  });
});

describe('load_workload_json: errors name the bad field', () => {
  it('a bad duration, with the path and the expected shape', () => {
    const spec = { name: 'w', clients: [client('a', [batch()]), client('b', [batch(), batch(), batch(), batch({ duration_us: -5 })])] };
    expect(errors(spec)).toEqual([
      'clients[1].program.steps[3].batch.duration_us: expected a positive integer or [min, max] (microseconds, at most 3600000000), got -5',
    ]);
  });

  it('a bad [min, max] and a distribution missing a field', () => {
    const spec = { name: 'w', clients: [client('a', [batch({ duration_us: [5, 1] }), batch({ duration_us: { dist: 'normal', mean_us: 5 } })])] };
    expect(errors(spec)).toEqual([
      'clients[0].program.steps[0].batch.duration_us: expected [min, max] with min <= max',
      'clients[0].program.steps[1].batch.duration_us.stddev_us: required: expected an integer number of microseconds >= 0',
    ]);
  });

  it('unknown engine, unknown field, unknown step, missing field', () => {
    const spec = {
      name: 'w',
      clients: [{ name: 'a', queues: [{ name: 'q', engine: 'gpu' }], program: { loops: 1, steps: [{ jump: {} }, { batch: { queue: 'q', duration_us: 1, colour: 'red' } }, { sync: {} }] } }],
    };
    expect(errors(spec)).toEqual([
      'clients[0].queues[0].engine: expected "render" | "copy" | "video" | "video_enhance" | "compute" | "bind", got "gpu"',
      'clients[0].program.steps[0]: expected a step: {"batch"|"delay"|"period"|"sync"|"throttle"|"queue_depth"|"set_priority"|"fence"|"signal"|"terminate": {...}}, got an object with field "jump"',
      'clients[0].program.steps[1].batch.colour: unknown field',
      'clients[0].program.steps[2].sync.step: required: expected a negative step offset (-1 is the previous step)',
    ]);
  });

  it('program needs exactly one of loops and duration_ms', () => {
    expect(errors({ name: 'w', clients: [{ name: 'a', queues: [queue], program: { steps: [batch()] } }] }))
      .toEqual(['clients[0].program: expected exactly one of "loops" or "duration_ms"']);
  });

  it('references: queues, steps, clients, buffers, fences', () => {
    const spec = {
      name: 'w',
      clients: [client('a', [
        { delay: { us: 5 } },
        batch({ queue: 'nope' }),
        batch({ deps: [{ step: -1 }, { step: -9 }, { client: 'zz', queue: 'q', last: true }, { external: 'vsync' }], reads: ['buf'] }),
        { sync: { step: -3 } },
        { terminate: { step: -2 } },
      ])],
    };
    expect(errors(spec)).toEqual([
      'clients[0].program.steps[1].batch.queue: unknown queue "nope" (client "a" has "q")',
      'clients[0].program.steps[2].batch.deps[1].step: step -9 is before the first step (this is step 2; offsets count within one loop iteration)',
      'clients[0].program.steps[2].batch.deps[2].client: unknown client "zz" (declared: "a")',
      'clients[0].program.steps[2].batch.deps[3].external: unknown external fence "vsync" (declared: none)',
      'clients[0].program.steps[2].batch.reads[0]: unknown buffer "buf" (declared: none)',
      'clients[0].program.steps[3].sync.step: step -3 (steps[0]) is a delay step; expected batch',
      'clients[0].program.steps[4].terminate.step: step -2 (steps[2]) is not an "infinite" batch',
    ]);
  });

  it('duplicates and stream problems', () => {
    const spec = {
      name: 'w',
      clients: [client('a', [batch()]), client('a', [batch()])],
      streams: [
        { client: 'new', queue: 'q', count: 1, duration_us: 5 },
        { client: 'a', queue: 'q', count: 1, duration_us: 5 },
        { client: 'x', queue: 'q', engine: 'copy', duration_us: 5 },
        { client: 'y', queue: 'q', engine: 'copy', count: 3, rate: '0.0001fps', duration_us: 5, deps: ['chain', { stream: 'nope' }] },
      ],
    };
    expect(errors(spec)).toEqual([
      'streams[2]: expected exactly one of "count" or "duration_ms"',
      'streams[3].rate: expected a rate giving a period of 1..3600000000 us (up to 1000000/s), got "0.0001fps"',
    ]);
    spec.streams.splice(2, 2);
    expect(errors(spec)).toEqual([
      'clients[1].name: duplicate client name "a"',
      'streams[0].engine: required: client "new" is not in clients[], so the stream must give the queue\'s engine',
      'streams[1].client: client "a" already has a program',
    ]);
  });

  it('events name their bad targets', () => {
    const spec = {
      name: 'w',
      clients: [client('a', [batch()])],
      events: [
        { at_us: 5, action: 'explode' },
        { at_us: 5, after: { client: 'a', step: 0, loop: 0 }, action: 'unplug' },
        { after: { client: 'a', step: 3, loop: 2 }, action: 'hang_job', client: 'a', queue: 'q' },
        { at_us: 1, action: 'destroy_queue', client: 'a', queue: 'r' },
      ],
    };
    expect(errors(spec)).toEqual([
      'events[0].action: expected "set_priority" | "destroy_queue" | "close_client" | "hang_job" | "fw_error" | "engine_reset" | "device_reset" | "unplug" | "signal_fence", got "explode"',
      'events[1]: expected exactly one of "at_us" or "after"',
    ]);
    spec.events.splice(0, 2);
    expect(errors(spec)).toEqual([
      'events[0].after.step: client "a" has 1 steps (0-based)',
      'events[0].after.loop: client "a" runs 2 loops (0-based)',
      'events[1].queue: unknown queue "r" (client "a" has "q")',
    ]);
  });

  it('errors carry the line and column of the bad value', () => {
    const text = '{\n  "name": "w",\n  "clients": [{ "name": "a", "queues": [{ "name": "q", "engine": "render" }],\n    "program": { "loops": 1, "steps": [{ "batch": { "queue": "q", "duration_us": 0 } }] } }]\n}\n';
    const result = load_workload_json(text, 'w.json');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(format_diagnostic(result.errors[0])).toBe(
      'w.json:4:82: clients[0].program.steps[0].batch.duration_us: expected a positive integer or [min, max] (microseconds, at most 3600000000), got 0',
    );
  });
});

describe('load_workload_json: bad JSON', () => {
  const cases: [string, string][] = [
    ['{\n  "name": "w",\n  "clients": [}\n', 'bad.json:3:15: invalid JSON: unexpected \'}\': expected a JSON value'],
    ['{"name": "w" "clients": []}', 'bad.json:1:14: invalid JSON: unexpected \'"\': expected \',\' or \'}\''],
    ['{"name": "w",\n "name": "v"}', 'bad.json:2:2: invalid JSON: duplicate key "name"'],
    ['{"a": 01}', 'bad.json:1:8: invalid JSON: bad number near \'1\''],
    ['{"a": "x\ny"}', 'bad.json:1:9: invalid JSON: control character U+000A in a string: escape it'],
    ['', 'bad.json:1:1: invalid JSON: unexpected end of input: expected a JSON value'],
    ['{"a": 1} x', 'bad.json:1:10: invalid JSON: unexpected \'x\' after the JSON value'],
  ];
  it.each(cases)('%j', (text, message) => {
    const result = load_workload_json(text, 'bad.json');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map(format_diagnostic)).toEqual([message]);
  });

  it('limits nesting depth instead of overflowing the stack', () => {
    const result = read_json('['.repeat(100_000));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).toMatch(/nesting deeper than/);
  });

  it('a "__proto__" key is an ordinary (here: unknown) field', () => {
    expect(load_workload_json('{"name": "w", "__proto__": {"x": 1}, "clients": []}', 'p.json').ok).toBe(false);
    expect(({} as { x?: number }).x).toBeUndefined();
  });
});

describe('load_workload_json: small things', () => {
  it('shorthands normalize: [n, n] is a constant, think time 0 adds no step', () => {
    const workload = ok({
      name: 'w',
      streams: [{ client: 'c', queue: 'q', engine: 'video', count: 5, duration_us: [7, 7], think_time_us: 0, submit: 'sync' }],
    });
    const steps = workload.clients[0].program.steps;
    expect(steps).toHaveLength(1);
    expect(steps[0]).toMatchObject({ kind: 'batch', duration: { kind: 'constant', value_us: 7 }, wait: true });
  });

  it('a stream may run on a declared client without a program, and depend on another stream', () => {
    const workload = ok({
      name: 'w',
      clients: [{ name: 'decoder', queues: [{ name: 'vcs', engine: 'video', priority: 'high' }] }],
      streams: [
        { client: 'decoder', queue: 'vcs', count: 10, rate: { period_us: 33333 }, duration_us: 5000 },
        { name: 'display', client: 'ui', queue: 'gfx', engine: 'render', count: 10, duration_us: 300, deps: { stream: 'decoder', kind: 'submit' } },
      ],
    });
    expect(workload.clients[0].queues[0].priority).toBe('high');
    expect((workload.clients[1].program.steps[0] as BatchStep).deps).toEqual([{ on: 'last_job', client: 'decoder', queue: 'vcs', kind: 'submit' }]);
  });

  it('fence, signal and sync dependencies on a fence step', () => {
    const workload = ok({
      name: 'w',
      clients: [client('a', [{ fence: {} }, batch({ deps: [{ step: -1, kind: 'sync' }] }), batch({ duration_us: 'infinite' }), { signal: { step: -3 } }, { terminate: { step: -2 } }])],
    });
    expect(workload.clients[0].program.steps.map((s) => s.kind)).toEqual(['fence', 'batch', 'batch', 'signal', 'terminate']);
    expect(errors({ name: 'w', clients: [client('a', [{ fence: {} }, batch({ deps: [{ step: -1 }] })])] }))
      .toEqual(['clients[0].program.steps[1].batch.deps[0].step: step -1 (steps[0]) is a fence step; expected batch']);
  });

  it('needs at least one client or stream', () => {
    expect(errors({ name: 'w' })).toEqual([': expected at least one client or stream']);
  });
});
