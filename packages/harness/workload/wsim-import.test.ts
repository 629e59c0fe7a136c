import { describe, expect, it } from 'vitest';
import {
  check_workload, format_diagnostic, import_wsim, type BatchStep, type EngineClass, type Workload, type WsimImportOptions,
} from '../index.ts';
import { wsim_files } from './test-support.ts';

const ALL: readonly EngineClass[] = ['render', 'copy', 'video', 'video_enhance', 'compute'];

function imported(text: string, name = 'test.wsim', options: Partial<WsimImportOptions> = {}): Workload {
  const result = import_wsim(text, name, { engines: ALL, ...options });
  if (!result.ok) throw new Error(result.errors.map(format_diagnostic).join('\n'));
  return result.workload;
}

function failure(text: string, options: Partial<WsimImportOptions> = {}): string[] {
  const result = import_wsim(text, 'bad.wsim', { engines: ALL, ...options });
  if (result.ok) throw new Error('expected errors');
  return result.errors.map(format_diagnostic);
}

const shared = Object.fromEntries(wsim_files().map((file) => [file.name, file.text]));

describe('import_wsim: the shared descriptors', () => {
  it('finds all six', () => {
    expect(Object.keys(shared)).toHaveLength(6);
  });

  it.each(wsim_files().map((file) => [file.name, file.text]))('%s imports, well formed and plain data', (name, text) => {
    for (const engines of [ALL, ['render'], ['compute', 'copy']] as const) {
      const workload = imported(text, name, { engines });
      expect(check_workload(workload)).toEqual([]);
      expect(JSON.parse(JSON.stringify(workload))).toEqual(workload);
      expect(workload.clients).toHaveLength(1);
      for (const queue of workload.clients[0].queues) expect(engines).toContain(queue.engine);
    }
  });

  it('vcs_balanced: q.5, M.1.VCS, B.1 and 25 batches -> 26 steps on one balanced video queue', () => {
    const client = imported(shared['vcs_balanced.wsim'], 'vcs_balanced.wsim').clients[0];
    expect(client.name).toBe('vcs_balanced');
    expect(client.queues).toEqual([{ name: 'ctx1', engine: 'video', priority: 'normal', long_running: false, driver: null, load_balanced: true }]);
    expect(client.program.steps).toHaveLength(26);
    expect(client.program.steps[0]).toMatchObject({ kind: 'queue_depth', depth: 5 });
    expect(client.program.steps.slice(1).every((s) => s.kind === 'batch' && s.queue === 'ctx1' && s.deps.length === 0)).toBe(true);
    expect(client.program.steps[1]).toMatchObject({ duration: { kind: 'uniform', min_us: 500, max_us: 2000 }, origin: 'vcs_balanced.wsim:4:1' });
    expect(client.program.end).toEqual({ kind: 'loops', loops: 1 });
  });

  it('media-1080p-player: 7 steps -> 5, three contexts -> three queues, -2 skips the P step', () => {
    const client = imported(shared['media-1080p-player.wsim']).clients[0];
    expect(client.queues.map((q) => [q.name, q.engine, q.load_balanced])).toEqual([
      ['ctx1', 'video', true], ['ctx2.RCS', 'render', false], ['ctx3.BCS', 'copy', false],
    ]);
    const steps = client.program.steps;
    expect(steps.map((s) => s.kind)).toEqual(['batch', 'batch', 'set_priority', 'batch', 'period']);
    expect((steps[1] as BatchStep).deps).toEqual([{ on: 'step', step_index: 0, kind: 'data' }]);
    expect(steps[2]).toMatchObject({ queue: 'ctx3.BCS', priority: 'high' });
    expect((steps[3] as BatchStep).deps).toEqual([{ on: 'step', step_index: 1, kind: 'data' }]);
    expect(steps[3]).toMatchObject({ queue: 'ctx3.BCS', duration: { kind: 'constant', value_us: 1000 } });
    expect(steps[4]).toMatchObject({ period_us: 16667 });
  });

  it('cloud-gaming-60fps: 11 steps -> 7, four queues, working sets as 13 buffers', () => {
    const workload = imported(shared['cloud-gaming-60fps.wsim']);
    const client = workload.clients[0];
    expect(client.queues.map((q) => q.name)).toEqual(['ctx1.RCS', 'ctx2', 'ctx3.RCS', 'ctx4.VCS1']);
    expect(client.program.steps.map((s) => s.kind)).toEqual(['batch', 'batch', 'batch', 'batch', 'batch', 'batch', 'period']);
    expect(workload.buffers).toHaveLength(13);
    expect(client.program.steps[0]).toMatchObject({
      reads: ['test/w1.0', 'test/w1.1', 'test/w1.2', 'test/w1.3', 'test/w1.4'], writes: ['test/w2.0'],
    });
    expect(client.program.steps[4]).toMatchObject({ queue: 'ctx2', deps: [{ on: 'step', step_index: 3, kind: 'data' }] });
    expect(client.program.steps[5]).toMatchObject({ queue: 'ctx4.VCS1', wait: true });
    expect(workload.notes.map((n) => n.kind)).toEqual(['approximated']); // working sets
  });

  it('media_load_balance_hd12 and media_nn_1080p: batches only, off-map engines noted', () => {
    const hd12 = imported(shared['media_load_balance_hd12.wsim']).clients[0];
    expect(hd12.queues.map((q) => q.name)).toEqual(['ctx1', 'ctx2.RCS', 'ctx3.RCS', 'ctx4']);
    expect(hd12.program.steps).toHaveLength(4);
    const nn = imported(shared['media_nn_1080p.wsim'], 'media_nn_1080p.wsim');
    expect(nn.clients[0].queues.map((q) => q.name)).toEqual(['ctx1', 'ctx2.RCS', 'ctx3']);
    expect(nn.clients[0].program.steps).toHaveLength(5);
    expect(nn.notes.map(format_diagnostic)).toEqual([
      'media_nn_1080p.wsim:7:3: RCS batch on context 3 runs on its engine map (VCS), as in gem_wsim',
      'media_nn_1080p.wsim:8:3: RCS batch on context 3 runs on its engine map (VCS), as in gem_wsim',
    ]);
  });

  it('composited-ui: clones share W sets and get their own w sets', () => {
    const workload = imported(shared['composited-ui.wsim'], 'composited-ui.wsim', { clients: 2, loops: 60 });
    expect(workload.clients.map((c) => c.name)).toEqual(['composited-ui#0', 'composited-ui#1']);
    expect(workload.buffers).toHaveLength(1 + 13 * 2);
    for (const client of workload.clients) {
      expect(client.program.steps).toHaveLength(5);
      expect(client.program.end).toEqual({ kind: 'loops', loops: 60 });
      expect(client.program.steps[3]).toMatchObject({ queue: 'ctx3.BCS', reads: [`${client.name}/w1.12`], writes: ['W2.0'], wait: true });
    }
  });

  it('maps missing engines to the closest one and says so', () => {
    const workload = imported(shared['media-1080p-player.wsim'], 'm.wsim', { engines: ['render', 'compute'] });
    expect(workload.clients[0].queues.map((q) => q.engine)).toEqual(['render', 'render', 'render']);
    expect(workload.notes.map(format_diagnostic)).toEqual([
      'm.wsim:1:5: VCS runs on render: the driver has no video engine (engines: render, compute)',
      'm.wsim:6:3: BCS runs on render: the driver has no copy engine (engines: render, compute)',
    ]);
  });
});

describe('import_wsim: every step type', () => {
  const text = [
    '# fences, submit fences, terminate, throttles, priorities and ignored steps',
    '1.RCS.500-1000.0.0',
    'f',
    '2.VCS1.3000.f-1.0',
    '2.VCS2.3000.f-2/-3.0',
    '1.RCS.*.s-2.0',
    'a.-4',
    's.-3',
    'T.-3',
    't.2,q.4',
    'P.1.-5',
    'S.1.1',
    'X.1.500',
    'V.1',
    'v.1.1',
    'b.2.VCS1.RCS',
    'd.1000',
    'p.16667',
  ].join('\n');
  const workload = imported(text, 'all.wsim');
  const steps = workload.clients[0].program.steps;

  it('compiles runtime steps in order with resolved targets', () => {
    expect(workload.clients[0].queues.map((q) => q.name)).toEqual(['ctx1.RCS', 'ctx2.VCS1', 'ctx2.VCS2']);
    expect(steps.map((s) => s.kind)).toEqual([
      'batch', 'fence', 'batch', 'batch', 'batch', 'signal', 'sync', 'terminate', 'throttle', 'queue_depth', 'set_priority', 'delay', 'period',
    ]);
    expect((steps[2] as BatchStep).deps).toEqual([{ on: 'step', step_index: 1, kind: 'sync' }]);
    expect((steps[3] as BatchStep).deps).toEqual([{ on: 'step', step_index: 1, kind: 'sync' }, { on: 'step', step_index: 0, kind: 'data' }]);
    expect(steps[4]).toMatchObject({ duration: 'infinite', deps: [{ on: 'step', step_index: 2, kind: 'submit' }] });
    expect(steps[5]).toMatchObject({ step_index: 1 });
    expect(steps[6]).toMatchObject({ step_index: 3 });
    expect(steps[7]).toMatchObject({ step_index: 4 });
    expect(steps[10]).toMatchObject({ queue: 'ctx1.RCS', priority: 'low' });
    expect(steps[11]).toMatchObject({ duration: { kind: 'constant', value_us: 1000 } });
    expect(steps[8].origin).toBe('all.wsim:10:1');
    expect(steps[9].origin).toBe('all.wsim:10:5');
  });

  it('reports each ignored or approximated step, never dropping one silently', () => {
    expect(workload.notes.map((n) => `${n.kind} ${n.line}:${n.column}`)).toEqual([
      'approximated 10:1', // throttle counts batches
      'ignored 12:1', 'ignored 13:1', 'ignored 14:1', 'ignored 15:1', 'ignored 16:1',
    ]);
    expect(workload.notes[1].message).toMatch(/^"S\.1\.1": SSEU/);
  });

  it('notes an infinite batch that nothing terminates', () => {
    const notes = imported('1.RCS.*.0.0\nd.10').notes;
    expect(notes.map(format_diagnostic)).toEqual(['test.wsim:1:1: infinite batch without a T step never completes: the scheduler\'s job timeout sees a hang']);
  });
});

describe('import_wsim: malformed descriptors give line:column', () => {
  const cases: [string, string][] = [
    ['1.RCS.1000.0.0\n1.XCS.1000.0.0', 'bad.wsim:2:3: unknown engine "XCS": expected DEFAULT, RCS, BCS, VCS, VCS1, VCS2, VECS or CCS'],
    ['1.RCS.1000-500.0.0', 'bad.wsim:1:7: expected a duration in microseconds: N, min-max (min < max) or * (at most 3600000000), got 1000-500'],
    ['1.RCS.1000.-1.0', 'bad.wsim:1:12: step offset -1 reaches before the first step (this is step 1 of the descriptor)'],
    ['1.RCS.100.0.0\nd.5\n1.RCS.100.-1.0', 'bad.wsim:3:11: step offset -1 names "d.5" (line 2); expected a batch step'],
    ['1.RCS.100.0.0\nk.3', 'bad.wsim:2:1: unknown step "k": expected a context number (a batch) or one of d p s t q a f T P S X M B b w W V v'],
    ['1.RCS.100.0', 'bad.wsim:1:11: expected <context>.<engine>.<duration>.<dependencies>.<wait> (5 fields separated by \'.\'), got 4'],
    ['B.1\nM.1.VCS\n1.DEFAULT.100.0.0', 'bad.wsim:1:1: load balancing needs an engine map: put M.1.<engines> before B.1'],
    ['1.RCS.100.r3-0.0', 'bad.wsim:1:11: working set 3 is not defined (w.3.<sizes> or W.3.<sizes>)'],
    ['w.1.2n4k\n1.RCS.100.r1-0-5.0', 'bad.wsim:2:11: working set 1 has 2 objects (0..1); 5 is out of range'],
    ['1.RCS.100.0.2', 'bad.wsim:1:13: expected a wait flag 0 or 1, got "2"'],
    ['  1.RCS.100.0.0, 1.BCS.x.0.0', 'bad.wsim:1:24: expected a duration in microseconds: N, min-max (min < max) or *, got "x"'],
    ['1.RCS.100.-1/zz.0', 'bad.wsim:1:14: bad dependency "zz": expected -N (data), f-N (sync fence), s-N (submit fence), r<set>-<object> or w<set>-<object>'],
    ['1.RCS.100.0.0\nT.-1', 'bad.wsim:2:1: T-1 names a batch with a finite duration; only \'*\' batches can be terminated'],
    ['1.RCS.100.0.0\na.-1', 'bad.wsim:2:1: step offset -1 names "1.RCS.100.0.0" (line 1); expected a fence step'],
    ['w.1.4k\nw.1.8k\n1.RCS.1.0.0', 'bad.wsim:2:1: duplicate working set id 1'],
    ['w.1.0k', 'bad.wsim:1:5: bad size "0k": expected a positive byte count with an optional k, m or g suffix'],
    ['1.RCS..100.0.0', 'bad.wsim:1:7: empty field in "1.RCS..100.0.0"'],
    ['M.0.VCS', 'bad.wsim:1:3: expected a context number >= 1, got 0'],
    ['M.1.VCS|DEFAULT', 'bad.wsim:1:5: DEFAULT cannot be in an engine map'],
    ['P.1', 'bad.wsim:1:3: expected P.<context>.<priority> (3 fields separated by \'.\'), got 2'],
    ['', 'bad.wsim:1:1: no batches: the descriptor submits no work'],
    ['M.1.VCS\nB.1', 'bad.wsim:1:1: no batches: the descriptor submits no work'],
  ];
  it.each(cases)('%j', (text, message) => {
    expect(failure(text)[0]).toBe(message);
  });

  it('reports every bad line, not just the first', () => {
    expect(failure('1.ZZZ.1.0.0\nd.0\n1.RCS.1.0.0')).toHaveLength(2);
  });

  it('rejects bad options', () => {
    expect(failure('d.1', { engines: [] })).toEqual(['bad.wsim: options: engines must list at least one engine class']);
    expect(failure('d.1', { loops: 0, clients: 1.5 })).toHaveLength(2);
  });
});
