/**
 * The cases of deplab issue 17 ("nothing lost, nothing crashes") not already exercised by the
 * adversarial suite (adversarial*.test.ts; the false hang is run/watchdog.test.ts): workloads a
 * driver cannot take, the loaders' messages and bounds, and metrics over runs with no job. Each
 * failed on the behaviour the issue describes.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check_device_options, find_driver, import_wsim, load_workload_json } from '@deplab/harness';
import { checked, temp_dir } from './adversarial.testlib.ts';

let dir: string;
const file = (name: string, content: unknown) => {
  const p = join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
};
const one_queue = (queue: object, steps: object[] = [{ batch: { queue: 'q', duration_us: 10 } }]) => ({
  name: 'w', clients: [{ name: 'a', queues: [{ name: 'q', ...queue }], program: { loops: 1, steps } }],
});

beforeAll(() => { dir = temp_dir('reliability-cases'); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

describe('workloads a driver cannot take are refused before running, naming the workload, client, queue and field', () => {
  it('an engine the driver lacks: panthor has no "video" (was: exit 70 after "create_queue(q) failed with -22")', async () => {
    const eng = file('eng.json', { name: 'eng', clients: [{ name: 'a', queues: [{ name: 'q', engine: 'video' }], program: { loops: 1, steps: [{ batch: { queue: 'q', duration_us: 10 } }] } }] });
    for (const cmd of [['run', eng, '--driver', 'panthor', '--backend', 'sched'], ['compare', eng, '--driver', 'panthor', '--seeds', '1', '--out', join(dir, 'o')],
      ['trace', eng, '--driver', 'panthor'], ['sweep', '--drivers', 'xe,panthor', '--workloads', eng, '--out', join(dir, 's')]]) {
      const r = await checked(cmd);
      expect(r.code, cmd.join(' ')).toBe(2);
      expect(r.err).toMatch(/eng\.json: clients\[0\]\.queues\[0\]\.engine: client a, queue q: engine "video": driver panthor has no such engine \(it has: render, compute, copy, bind\) \(workload eng\)/);
    }
    // The same file is fine where the engine exists.
    expect((await checked(['run', eng, '--driver', 'xe', '--backend', 'sched'])).code).toBe(0);
  });

  it('queue knobs: xe job_timeout_ms 0 (create_queue -EINVAL), an unknown knob, a knob on a driver that takes none', async () => {
    const cases: [object, string, RegExp][] = [
      [{ engine: 'render', driver: { job_timeout_ms: 0 } }, 'xe', /client a, queue q: job_timeout_ms: expected an integer in 1\.\.10000, got 0/],
      [{ engine: 'render', driver: { job_timeout_ms: 10001 } }, 'xe', /job_timeout_ms: expected an integer in 1\.\.10000, got 10001/],
      [{ engine: 'render', driver: { kernel: 'yes' } }, 'xe', /kernel: expected true or false, got "yes"/],
      [{ engine: 'render', driver: { timeout: 5 } }, 'xe', /"timeout" is not a xe queue knob \(known: kernel, job_timeout_ms\)/],
      [{ engine: 'render', driver: { job_timeout_ms: 50 } }, 'panthor', /"job_timeout_ms" is not a panthor queue knob \(it takes none\)/],
    ];
    for (const [queue, driver, says] of cases) {
      const r = await checked(['run', file('knob.json', one_queue(queue)), '--driver', driver, '--backend', 'sched']);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(says);
    }
    expect((await checked(['run', file('knob.json', one_queue({ engine: 'render', driver: { job_timeout_ms: 50, kernel: true } })), '--driver', 'xe', '--backend', 'dep'])).code).toBe(0);
  });

  it('device options: each driver\'s schema names the key and its range', () => {
    expect(check_device_options(find_driver('panthor')!, { csg_slots: 0, ringbuf_size: 5000, timeout_ms: 3 })).toEqual([
      'csg_slots: expected an integer in 1..16, got 0',
      'ringbuf_size: expected an integer in 4096..65536, a power of two, got 5000',
      '"timeout_ms" is not a panthor device option (known: csg_slots, as_slots, queues_per_group, ringbuf_size, profiling, dep_flags)',
    ]);
    expect(check_device_options(find_driver('amdxdna')!, { era: '6.1' })).toEqual(['era: expected one of "7.0", "6.18", got "6.1"']);
    expect(check_device_options(find_driver('mock')!, { close_as: 'exit', timeout_ms: 20, dep_flags: 3 })).toEqual([]);
    expect(check_device_options(find_driver('xe')!, { job_timeout_ms: 5000, dep_irq_put: false })).toEqual([]);
  });
});

describe('loader messages and bounds', () => {
  it('a missing duration says it is required (was: "got undefined"); a bad knob key names the key (was: "Invalid key in record")', () => {
    const missing = load_workload_json(JSON.stringify(one_queue({ engine: 'render' }, [{ batch: { queue: 'q' } }])), 'm.json');
    expect(!missing.ok && missing.errors[0].message).toMatch(/^required: expected a positive integer or \[min, max\]/);
    expect(!missing.ok && missing.errors[0].path).toBe('clients[0].program.steps[0].batch.duration_us');
    const key = load_workload_json(JSON.stringify(one_queue({ engine: 'render', driver: { 'Bad-Key': 1 } })), 'k.json');
    expect(!key.ok && key.errors[0].message).toBe('bad key "Bad-Key": expected a knob name in lower_snake_case, got "Bad-Key"');
  });

  it('65,537 JSON steps are refused in well under a second, with the limit in the message (was: 4.6 s)', async () => {
    const steps = Array.from({ length: 65_537 }, () => ({ batch: { queue: 'q', duration_us: 5 } }));
    const text = JSON.stringify(one_queue({ engine: 'render' }, steps));
    const started = performance.now();
    const r = load_workload_json(text, 'big.json');
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(!r.ok && r.errors[0].message).toBe('65537 steps: at most 65536 allowed');
    expect(!r.ok && r.errors[0].path).toBe('clients[0].program.steps');
    expect((await checked(['run', file('big.json', text), '--driver', 'mock', '--backend', 'sched'])).err).toMatch(/big\.json: clients\[0\]\.program\.steps: 65537 steps: at most 65536 allowed/);
  });

  it('a 32-byte gem_wsim text cannot create 65,536 buffers: the import names its limit', () => {
    const text = 'w.1.65536n4k\n1.RCS.1000.r1-0.0\n';
    expect(text.length).toBeLessThanOrEqual(32);
    const r = import_wsim(text, 'w.wsim', { engines: ['render'] });
    expect(!r.ok && r.errors[0].message).toBe('bad object count in "65536n4k": expected 1..4096 (the gem_wsim import\'s limit on working-set objects)');
    // Per-client copies count too: 4 clients of a 2048-object local set is 8192.
    const copies = import_wsim('w.1.2048n4k\n1.RCS.1000.r1-0.0\n', 'w.wsim', { engines: ['render'], clients: 4 });
    expect(!copies.ok && copies.errors[0].message).toMatch(/working sets hold 8192 objects in all .* at most 4096/);
  });
});

describe('metrics over runs where no job completes print "n/a", and JSON has null, never NaN', () => {
  it('run, compare (text and Markdown) and their JSON', async () => {
    // The queue is destroyed before the first submit: every submit fails, no job ever runs.
    const nojobs = file('nojobs.json', {
      name: 'nojobs', clients: [{ name: 'a', queues: [{ name: 'q', engine: 'render' }], program: { loops: 2, steps: [{ delay: { us: 10 } }, { batch: { queue: 'q', duration_us: 100 } }] } }],
      events: [{ after: { client: 'a', step: 0, loop: 0 }, action: 'destroy_queue', client: 'a', queue: 'q' }],
    });
    const run = await checked(['run', nojobs, '--driver', 'mock', '--backend', 'sched']);
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/0 jobs, 0 finished/);
    expect(run.out).toMatch(/submit->finished p50 n\/a, p99 n\/a; kworker wake-ups\/job n\/a/);
    const json = await checked(['run', nojobs, '--driver', 'mock', '--backend', 'sched', '--json']);
    expect(json.out).not.toMatch(/NaN/);
    expect((JSON.parse(json.out) as { metrics: { latency: { submit_to_finished_us: { p50: unknown } } } }).metrics.latency.submit_to_finished_us.p50).toBe(null);
    const out = join(dir, 'nojobs-out');
    mkdirSync(out, { recursive: true });
    const text = await checked(['compare', nojobs, '--driver', 'mock', '--seeds', '2', '--jobs', '1', '--no-charts', '--out', out, '--format', 'text']);
    expect(text.out).not.toMatch(/NaN/);
    const md = readFileSync(join(out, 'mock', 'nojobs.md'), 'utf8');
    expect(md).not.toMatch(/NaN/);
    expect(md).toMatch(/\| +n\/a \|/);
    expect(readFileSync(join(out, 'mock', 'nojobs.json'), 'utf8')).not.toMatch(/NaN/);
  });
});
