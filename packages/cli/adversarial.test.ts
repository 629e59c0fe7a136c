/**
 * The adversarial suite, CLI part (in-process, through run_cli): every command with bad options
 * and bad output paths, hostile file names pasted back into a shell, tampered replay tokens,
 * 10,000 tampered shard files and crafted ones under a read recorder, failed writes and
 * concurrent writers. Across every run: no stack trace, no exit code but 0/1/2 (70 would be a
 * bug of deplab), no partial output, no file opened that the command was not given.
 * The cases that need a real process (signals, a writer killed mid-commit, two processes) are
 * in adversarial-process.test.ts.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync, cpSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULT_KINDS, VERSION, encode_token, generate_case, model_digest } from '@deplab/harness';
import { Adversary } from '../harness/adversary.testlib.ts';
import {
  checked, code_after, code_span_text, leftovers, pasted_argv, paths_opened, snapshot, temp_dir, totals, under,
} from './adversarial.testlib.ts';
import { build_program } from './main.ts';
import { verify_manifest } from './output.ts';
import { parse_shard_file, shard_file_text, type ShardFile } from './cmd-sweep.ts';
import { UsageError } from './errors.ts';

const SEED = Number(process.env.DEPLAB_ADVERSARY_SEED ?? 20260317);
const ROOT = resolve(import.meta.dirname, '..', '..');
const TINY = { name: 'tiny', clients: [{ name: 'a', queues: [{ name: 'q', engine: 'render' }], program: { loops: 3, steps: [{ batch: { queue: 'q', duration_us: 100 } }] } }] };

let dir: string;
let tiny: string;
let a_file: string;

beforeAll(() => {
  dir = temp_dir('adversarial-cli');
  tiny = join(dir, 'tiny.json');
  writeFileSync(tiny, JSON.stringify(TINY));
  a_file = join(dir, 'a-file');
  writeFileSync(a_file, 'not a directory\n');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/* ------------------------------------------------------------------------------------------ */

/** [args, what stderr must say]: each must exit 2 before computing anything. */
function bad_options(): [string[], RegExp][] {
  const out = (s: string) => join(dir, s);
  const run = ['run', tiny, '--driver', 'mock', '--backend', 'sched'];
  const cmp = ['compare', tiny, '--driver', 'mock', '--seeds', '1', '--jobs', '1', '--no-charts'];
  return [
    [['nosuch'], /unknown command/],
    [['list', 'extra'], /too many arguments/],
    [['list', '--bogus'], /unknown option '--bogus'/],
    [['list', '--json=1'], /unknown option '--json=1'/],
    [['run', tiny, '--backend', 'sched'], /required option '--driver <name>'/],
    [['run', tiny, '--driver', 'mock'], /required option '--backend/],
    [['run', tiny, '--driver', 'nosuch', '--backend', 'sched'], /unknown driver 'nosuch'/],
    [['run', tiny, '--driver', 'mock', '--backend', 'x'], /--backend must be one of sched, dep, dep-hw, got 'x'/],
    [['run', tiny, '--driver', 'xe', '--backend', 'dep-hw'], /driver xe has no dep-hw binding/],
    [[...run, '--seed', ''], /--seed must be an integer in 0\.\.2147483648, got ''/],
    [[...run, '--seed', '-1'], /--seed must be an integer/],
    [[...run, '--seed', '1e3'], /got '1e3'/],
    [[...run, '--seed', '0x10'], /got '0x10'/],
    [[...run, '--seed', ' 5'], /got ' 5'/],
    [[...run, '--seed', '2147483649'], /got '2147483649'/],
    [[...run, '--cost', 'nosuch_ns=1'], /--cost: unknown entry 'nosuch_ns'/],
    [[...run, '--cost', 'kworker_wakeup_ns=-1'], /--cost: cost kworker_wakeup_ns: not a number or distribution in '-1'/],
    [[...run, '--cost', 'kworker_wakeup_ns'], /--cost expects key=value with a value of NS, uniform:MIN:MAX/],
    [[...run, '--cost-profile', 'laptop'], /--cost-profile: unknown profile 'laptop' \(known: constant, server-idle, desktop, busy\)/],
    [[...run, '--assume', 'x'], /--assume expects id=value/],
    [[...run, '--assume', 'nosuch=1'], /--assume/],
    [[...run, '--json=1'], /unknown option/],
    [[...run, '--expect-clean=1'], /unknown option/],
    [['run', join(dir, 'nosuch.json'), '--driver', 'mock', '--backend', 'sched'], /not a built-in workload .* and no such file/],
    [['run', dir, '--driver', 'mock', '--backend', 'sched'], /a directory, not a file/],
    [['run', '/dev/zero', '--driver', 'mock', '--backend', 'sched'], /not a regular file/],
    [['run', a_file, '--driver', 'mock', '--backend', 'sched'], /neither a JSON workload/],
    [[...cmp, '--seeds', '0'], /--seeds must be an integer in 1\.\.10000, got '0'/],
    [[...cmp, '--seeds', '10001'], /--seeds must be an integer in 1\.\.10000/],
    [[...cmp, '--jobs', '0'], /--jobs must be an integer in 1\.\.256/],
    [[...cmp, '--baseline', 'dep'], /--baseline and --candidate are both dep/],
    [[...cmp, '--candidate', 'nosuch'], /--candidate must be one of/],
    [[...cmp, '--format', 'pdf'], /argument 'pdf' is invalid/],
    [[...cmp, '--sensitivity-cost', 'x'], /--sensitivity-cost expects key=v1,v2/],
    [[...cmp, '--sensitivity-cost', 'kworker_wakeup_ns=1'], /--sensitivity-cost expects key=v1,v2/],
    [[...cmp, '--sensitivity-seeds', '1'], /--sensitivity-seeds must be an integer in 2\.\.1000/],
    [[...cmp, '--cost', 'x=1'], /--cost: unknown entry 'x'/],
    [[...cmp, '--cost-profile', ''], /--cost-profile: unknown profile ''/],
    [[...cmp, '--assume', 'x=y=z'], /--assume/],
    [[...cmp, '--sensitivity=1'], /unknown option/],
    [[...cmp, '--json=1'], /unknown option/],
    [[...cmp, '--no-charts=1'], /unknown option/],
    [[...cmp, '--expect-clean=1'], /unknown option/],
    [[...cmp, '--out', a_file], /exists and is not a directory/],
    [['compare', tiny, '--driver', 'nosuch'], /unknown driver/],
    [['report', '--seeds', '0'], /--seeds must be an integer/],
    [['report', '--jobs', 'abc'], /--jobs must be an integer/],
    [['report', '--out', '/proc/self/x'], /is under \/proc/],
    [['sweep', '--drivers', '', '--workloads', tiny], /--drivers has an empty item/],
    [['sweep', '--drivers', 'mock,mock', '--workloads', tiny], /--drivers names mock twice/],
    [['sweep', '--drivers', 'mock', '--workloads', `${tiny},${tiny}`], /--workloads names .* twice/],
    [['sweep', '--drivers', 'mock', '--workloads', 'nosuch'], /nosuch: not a built-in workload/],
    [['sweep', '--drivers', 'nosuch', '--workloads', tiny], /unknown driver 'nosuch'/],
    [['sweep', '--drivers', 'mock', '--workloads', tiny, '--shard', '3/2'], /--shard expects i\/n/],
    [['sweep', '--drivers', 'mock', '--workloads', tiny, '--shard', '0/1'], /--shard expects i\/n/],
    [['sweep', '--drivers', 'mock', '--workloads', tiny, '--shard', '1/2000000'], /--shard expects i\/n/],
    [['sweep', '--drivers', 'mock', '--workloads', tiny, '--shard', 'auto'], /--shard auto: no array-job index/],
    [['sweep', '--drivers', 'mock', '--workloads', tiny, '--cost', 'x'], /--cost expects key=v1,v2/],
    [['sweep', '--drivers', 'mock', '--workloads', tiny, '--seeds', 'abc'], /--seeds must be an integer/],
    [['sweep', '--drivers', 'mock', '--workloads', tiny, '--assume', 'bad'], /--assume expects id=value/],
    [['sweep', '--drivers', 'mock', '--workloads', tiny, '--baseline', 'x'], /--baseline must be one of/],
    [['sweep', '--drivers', 'mock,xe', '--workloads', tiny, '--candidate', 'dep-hw'], /driver xe has no dep-hw binding/],
    [['sweep', '--drivers', 'mock', '--workloads', tiny, '--jobs', '257'], /--jobs must be an integer/],
    [['sweep', '--drivers', 'mock', '--workloads', tiny, '--out', join(a_file, 'x')], /is a file, not a directory/],
    [['merge', join(dir, 'nosuch')], /no such file or directory/],
    [['merge', tiny], /not a deplab shard/],
    [['merge', tiny, '--json=1'], /unknown option/],
    [['merge', tiny, '--out', a_file], /exists and is not a directory/],
    [['conformance', '--backend', 'x'], /argument 'x' is invalid/],
    [['conformance', '--format', 'pdf'], /argument 'pdf' is invalid/],
    [['readiness', '--seeds', '0'], /--seeds must be an integer/],
    [['readiness', '--variant-seeds', '101'], /--variant-seeds must be an integer/],
    [['readiness', '--jobs', '-3'], /--jobs must be an integer/],
    [['readiness', '--out', '/dev/null'], /is under \/dev/],
    [['explore', '--driver', 'nosuch'], /unknown driver 'nosuch'/],
    [['explore', '--driver', 'mock', '--faults', 'hang,meteor'], /unknown fault meteor/],
    [['explore', '--driver', 'mock', '--backend', 'x'], /argument 'x' is invalid/],
    [['explore', '--driver', 'mock', '--seeds', '0'], /--seeds must be an integer/],
    [['explore', '--driver', 'mock', '--first-seed', '0'], /--first-seed must be an integer/],
    [['explore', '--driver', 'mock', '--time', 'soon'], /expected a duration/],
    [['explore', '--driver', 'mock', '--strategy', 'x'], /argument 'x' is invalid/],
    [['explore', '--driver', 'mock', '--pct-depth', '0'], /--pct-depth must be an integer/],
    [['explore', '--driver', 'mock', '--jobs', '0'], /--jobs must be an integer/],
    [['explore', '--driver', 'mock', '--shrink-budget', '0'], /--shrink-budget must be an integer/],
    [['explore', '--driver', 'mock', '--max-shrinks', 'x'], /--max-shrinks must be an integer/],
    [['explore', '--driver', 'mock', '--no-shrink=1'], /unknown option/],
    [['explore', '--driver', 'mock', '--json=1'], /unknown option/],
    [['explore', '--driver', 'mock', '--expect-clean=1'], /unknown option/],
    [['explore', '--driver', 'mock', '--out', a_file], /exists and is not a directory/],
    [['replay', 'nonsense'], /not a deplab replay token/],
    [['replay', ''], /not a deplab replay token/],
    [['replay', 'dl2.AAAA.0123456789abcdef', '--perfetto', '/proc/self/x'], /is under \/proc/],
    [['replay', 'dl2.AAAA.0123456789abcdef', '--json=1'], /unknown option/],
    [['survey', join(dir, 'nosuch')], /no such file or directory/],
    [['survey', join(ROOT, 'packages/survey/fixtures/linux'), '--out', a_file], /exists and is not a directory/],
    [['survey', join(dir, 'nosuch'), '--json=1'], /unknown option/],
    [['survey', join(dir, 'nosuch'), '--no-model-check=1'], /unknown option/],
    [['trace', tiny, '--driver', 'nosuch'], /unknown driver/],
    [['trace', tiny, '--driver', 'mock', '--seed', 'x'], /expected an integer/],
    [['trace', tiny, '--driver', 'mock', '--backend', 'x'], /argument 'x' is invalid/],
    [['trace', tiny, '--driver', 'mock', '--format', 'x'], /argument 'x' is invalid/],
    [['trace', tiny, '--driver', 'mock', '--format', 'ftrace'], /ftrace text holds one run/],
    [['trace', tiny, '--driver', 'mock', '--out', dir], /exists and is not a regular file/],
  ];
}

describe('every command with bad options', () => {
  it('exits 2 with a message naming what is wrong, before computing', async () => {
    for (const [args, says] of bad_options()) {
      const r = await checked(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(says);
      expect(r.err, args.join(' ')).not.toMatch(/: \d+\/\d+\n/); // no progress line: nothing ran
    }
  });

  it('the table covers every option of every command', () => {
    const cases = bad_options().map(([args]) => args);
    const program = build_program({ out: () => {}, err: () => {} });
    const missing: string[] = [];
    for (const cmd of program.commands) {
      for (const opt of cmd.options) {
        const flag = opt.long!;
        if (flag === '--help') continue;
        const name = flag.replace(/^--no-/, '--');
        const used = cases.some((args) => args[0] === cmd.name() && args.some((x) => x === flag || x === name || x.startsWith(`${flag}=`) || x.startsWith(`${name}=`)));
        if (!used) missing.push(`${cmd.name()} ${flag}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

/* ------------------------------------------------------------------------------------------ */

describe('output paths that cannot be written: exit 2 before any computation, on every command that writes', () => {
  it('a file, under a file, /dev/null, /proc/self/x, empty', async () => {
    const targets: [string, RegExp][] = [
      [a_file, /exists and is not a (directory|regular file)/], [join(a_file, 'sub'), /is a file, not a directory/],
      ['/dev/null', /is under \/dev/], ['/proc/self/x', /is under \/proc/], ['', /is empty/],
    ];
    const shard_dir = join(dir, 'shards-for-out');
    const commands = (out: string): string[][] => [
      ['compare', tiny, '--driver', 'mock', '--seeds', '50', '--out', out],
      ['report', '--seeds', '50', '--out', out],
      ['sweep', '--drivers', 'mock', '--workloads', tiny, '--seeds', '50', '--out', out],
      ['merge', shard_dir, '--out', out],
      ['readiness', '--seeds', '50', '--out', out],
      ['explore', '--driver', 'mock', '--seeds', '500', '--out', out],
      ['survey', join(ROOT, 'packages/survey/fixtures/linux'), '--no-model-check', '--out', out],
    ];
    for (const [out, says] of targets) {
      for (const args of commands(out)) {
        const started = performance.now();
        const r = await checked(args);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.err, args.join(' ')).toMatch(says);
        expect(performance.now() - started, args.join(' ')).toBeLessThan(5_000); // refused up front, not after the campaign
      }
    }
    // The file outputs: trace --out and replay --perfetto.
    for (const [out, says] of targets) {
      if (out === a_file) continue; // replacing a regular file is what --out FILE means
      expect((await checked(['trace', tiny, '--driver', 'mock', '--out', out])).err).toMatch(says);
      expect((await checked(['replay', 'dl2.AAAA.0123456789abcdef', '--perfetto', out])).err).toMatch(says);
    }
  });
});

/* ------------------------------------------------------------------------------------------ */

const HOSTILE = [
  "a';touch PWNED;'", 'a b', 'a"b', 'a\\b', '$(touch PWNED)', '`touch PWNED`', 'a;b', 'a&b', 'a|b', 'a>b', '*', 'a\tb', 'é名前',
  'a\nb', '#x', ' lead', "'", '$HOME', '!!', '``x``', 'x'.repeat(100),
];

describe('hostile names: every printed command line, pasted into sh -c, passes exactly the intended arguments', () => {
  it('compare: the report\'s reproduce cell and the mail text\'s reproduce lines', async () => {
    const out = join(dir, 'hostile-compare');
    for (const name of HOSTILE) {
      const file = join(dir, `${name}.json`);
      writeFileSync(file, JSON.stringify(TINY));
      const r = await checked(['compare', file, '--driver', 'mock', '--seeds', '1', '--jobs', '1', '--no-charts', '--out', out, '--format', 'text']);
      expect(r.code, name).toBe(0);
      const intended = ['compare', file, '--driver', 'mock', '--seeds', '1'];
      const text = r.out.split('\n');
      const from = text.indexOf('reproduce:');
      const lines = text.slice(from + 1, text.indexOf('', from)).join('\n');
      expect(pasted_argv(lines, dir), name).toEqual(intended);
      for (const l of lines.split('\n')) expect(l.length, name).toBeLessThanOrEqual(80);
      // Names that slug alike share a report file: it holds the run just made.
      const row = /^\| reproduce +\| (.*) \|$/m.exec(readFileSync(join(out, 'mock', `${slug_of(name)}.md`), 'utf8'))!;
      expect(pasted_argv(code_span_text(row[1].trim(), true), dir), name).toEqual(intended);
      expect(existsSync(join(dir, 'PWNED'))).toBe(false);
    }
  });

  it('merge: the directories in its line are quoted; explore: its regenerate line', async () => {
    for (const name of HOSTILE.slice(0, 8)) {
      const shards = join(dir, `sweep ${name}`);
      expect((await checked(['sweep', '--drivers', 'mock', '--workloads', tiny, '--seeds', '1', '--jobs', '1', '--out', shards])).code).toBe(0);
      const merged = join(dir, `merged ${name}`);
      expect((await checked(['merge', shards, '--out', merged])).code).toBe(0);
      const readme = readFileSync(join(merged, 'README.md'), 'utf8');
      expect(pasted_argv(code_span_text(code_after(readme, 'Merged with '), false), dir), name).toEqual(['merge', shards, '--out', merged]);
      const explored = join(dir, `explore ${name}`);
      expect((await checked(['explore', '--driver', 'mock', '--backend', 'sched', '--seeds', '1', '--no-shrink', '--jobs', '1', '--out', explored])).code).toBe(0);
      const report = readFileSync(join(explored, 'explore', 'mock.md'), 'utf8');
      expect(pasted_argv(code_span_text(code_after(report, 'Regenerate with '), false), dir), name)
        .toEqual(['explore', '--driver', 'mock', '--backend', 'sched', '--faults', 'all', '--seeds', '1', '--out', explored]);
      expect(existsSync(join(dir, 'PWNED'))).toBe(false);
    }
  });

  it('survey: the line that generated it', async () => {
    const tree = join(dir, "linux ';touch PWNED;'");
    cpSync(join(ROOT, 'packages/survey/fixtures/linux'), tree, { recursive: true });
    const out = join(dir, 'survey $(touch PWNED)');
    expect((await checked(['survey', tree, '--no-model-check', '--out', out])).code).toBe(0);
    const md = readFileSync(join(out, 'survey.md'), 'utf8');
    expect(pasted_argv(code_span_text(code_after(md, 'Generated by '), false), dir)).toEqual(['survey', tree, '--out', out]);
    expect(existsSync(join(dir, 'PWNED'))).toBe(false);
  });
});

function slug_of(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-');
}

/* ------------------------------------------------------------------------------------------ */

/** A token sealed with a valid checksum around any JSON: what a hand-crafted token looks like. */
function seal(json: unknown): string {
  const payload = deflateRawSync(Buffer.from(JSON.stringify(json), 'utf8')).toString('base64url');
  return `dl2.${payload}.${createHash('sha256').update(payload).digest('hex').slice(0, 16)}`;
}

describe('replay tokens through the command', () => {
  const mock_case = () => ({ ...generate_case({ driver: 'mock', backend: 'sched', seed: 5, faults: ['hang'], strategy: 'fifo' }), choices: [] });
  const payload = () => {
    const c = mock_case();
    const { notes: _n, ...w } = c.workload;
    return { v: 2, dv: VERSION, md: model_digest(), d: c.driver, b: c.backend, s: c.seed, st: c.strategy, c: '', o: c.options, w };
  };

  it('a real token replays; a token from another model version warns and says what differs', async () => {
    const ok = await checked(['replay', encode_token(mock_case())]);
    expect([0, 1]).toContain(ok.code);
    expect(ok.err).not.toMatch(/warning/);
    const old = await checked(['replay', seal({ ...payload(), dv: '0.1.9', md: '0123456789ab' })]);
    expect([0, 1]).toContain(old.code);
    expect(old.err).toMatch(/warning: the token was made by deplab 0\.1\.9 \(model 0123456789ab\); this is model [0-9a-f]{12}/);
  });

  it('o: null, unknown event kinds, another driver\'s options or engines, a huge choice string: exit 2 with the reason', async () => {
    const p = payload();
    const cases: [unknown, RegExp][] = [
      [{ ...p, o: null }, /replay token: o: /],
      [{ ...p, w: { ...p.w, events: [{ trigger: { kind: 'at', at_us: 5 }, action: { kind: 'meteor_strike' }, origin: '' }] } }, /invalid workload: events\.0\.action/],
      [{ ...p, w: { ...p.w, events: [{ trigger: { kind: 'soon' }, action: { kind: 'unplug' }, origin: '' }] } }, /invalid workload: events\.0\.trigger/],
      [{ ...p, d: 'panthor', o: { ...p.o, device: { ...p.o.device, credit_limit: 2, timeout_ms: 20 } } }, /do not fit driver panthor \(a token of another driver\?\)/],
      [{ ...p, d: 'amdxdna' }, /(fit driver amdxdna|another driver)/],
      [{ ...p, d: 'nosuch' }, /names driver 'nosuch'/],
      [{ ...p, c: `z*${2 ** 22}.z*${2 ** 22}.` }, /more than \d+ choices/],
      [{ ...p, c: '~'.repeat(2000) }, /choice string: unexpected text at 0/],
      [{ ...p, c: '(99999999999)' }, /unexpected text/],
      [{ ...p, s: -1 }, /replay token: s: /],
      [{ ...p, d: 'panfrost', b: 'dep', o: { ...p.o, device: {} } }, /has no dep binding/],
    ];
    for (const [json, says] of cases) {
      const token = seal(json);
      const started = performance.now();
      const r = await checked(['replay', token]);
      expect(r.code, JSON.stringify(json).slice(0, 200)).toBe(2);
      expect(r.err).toMatch(says);
      expect(performance.now() - started).toBeLessThan(5_000);
    }
    // A 2 KB token whose choice string inflates to 16 MB of one digit: refused, and Node lives.
    const big = seal({ ...p, c: '1'.repeat(16 * 1024 * 1024 - 4096) });
    expect(big.length).toBeLessThan(40_000);
    expect((await checked(['replay', big])).code).toBe(2);
  });

  it('50 one-character changes of a real token: every one refused by the command (exit 2), none runs as another case', async () => {
    const token = encode_token(mock_case());
    const a = new Adversary(SEED + 10);
    for (let i = 0; i < 50; i++) {
      const at = a.int(0, token.length - 1);
      const c = token[at] === 'A' ? 'B' : 'A';
      const r = await checked(['replay', token.slice(0, at) + c + token.slice(at + 1)]);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
    }
  });
});

/* ------------------------------------------------------------------------------------------ */

describe('shard files', () => {
  let shard_dir: string;
  let body: Omit<ShardFile, 'checksum'>;

  beforeAll(async () => {
    shard_dir = join(dir, 'shards-for-out');
    for (const i of [1, 2]) {
      expect((await checked(['sweep', '--drivers', 'mock', '--workloads', tiny, '--seeds', '3', '--shard', `${i}/2`, '--jobs', '1', '--out', shard_dir])).code).toBe(0);
    }
    const { checksum: _c, ...rest } = JSON.parse(readFileSync(join(shard_dir, 'shard-1-of-2.json'), 'utf8')) as ShardFile;
    body = rest;
  });

  it('10,000 tampered shards (re-checksummed or not): each parses or is refused with a UsageError naming the file', () => {
    const a = new Adversary(SEED + 20);
    const valid = shard_file_text(body);
    expect(() => parse_shard_file(valid, 'shard.json')).not.toThrow();
    let refused = 0;
    for (let i = 0; i < 10_000; i++) {
      const mutated = a.mutate_json(body, 2);
      const text = i % 3 === 0 ? a.mutate_text(valid, 3)
        : mutated !== null && typeof mutated === 'object' && !Array.isArray(mutated) ? shard_file_text(mutated as Omit<ShardFile, 'checksum'>) : JSON.stringify(mutated) ?? '';
      try {
        parse_shard_file(text, 'shard.json');
      } catch (e) {
        if (!(e instanceof UsageError)) throw new Error(`seed ${SEED + 20}, input ${i}: ${(e as Error).name}: ${(e as Error).message}`);
        expect(e.message.startsWith('merge: shard.json: ')).toBe(true);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(5_000); // the rest changed only what merge takes as it is (results inside the checksum)
  });

  it('the issue\'s merges: the same shard twice, a missing shard, mixed --seeds, mixed shard counts, truncated, {}, short, a missing directory', async () => {
    const s1 = join(shard_dir, 'shard-1-of-2.json'), s2 = join(shard_dir, 'shard-2-of-2.json');
    const other = join(dir, 'other-seeds');
    expect((await checked(['sweep', '--drivers', 'mock', '--workloads', tiny, '--seeds', '4', '--shard', '2/2', '--jobs', '1', '--out', other])).code).toBe(0);
    const thirds = join(dir, 'thirds');
    expect((await checked(['sweep', '--drivers', 'mock', '--workloads', tiny, '--seeds', '3', '--shard', '2/3', '--jobs', '1', '--out', thirds])).code).toBe(0);
    const text = readFileSync(s1, 'utf8');
    const truncated = join(dir, 'truncated.json'); writeFileSync(truncated, text.slice(0, text.length >> 1));
    const empty = join(dir, 'empty.json'); writeFileSync(empty, '{}');
    const short = join(dir, 'short.json'); writeFileSync(short, text.slice(0, 100));
    const cases: [string[], RegExp][] = [
      [[s1, s1], /shard 1 of 2 given twice/],
      [[s1], /missing shard\(s\) 2 of 2/],
      [[s1, join(other, 'shard-2-of-2.json')], /belongs to another sweep/],
      [[s1, join(thirds, 'shard-2-of-3.json')], /belongs to another sweep|is shard 2 of 3/],
      [[truncated, s2], /truncated\.json: not a shard \(unreadable or truncated JSON/],
      [[empty, s2], /empty\.json: not a deplab shard/],
      [[short, s2], /short\.json: not a shard/],
      [[join(dir, 'no-such-dir')], /no-such-dir: no such file or directory/],
    ];
    for (const [files, says] of cases) {
      const out = join(dir, 'merge-refused');
      const r = await checked(['merge', ...files, '--out', out]);
      expect(r.code, files.join(' ')).toBe(2);
      expect(r.err).toMatch(says);
      expect(existsSync(out)).toBe(false); // nothing written
    }
    const ok = await checked(['merge', s1, s2, '--out', join(dir, 'merge-ok'), '--json']);
    expect(ok.code).toBe(0);
    expect((JSON.parse(ok.out) as { results: { seeds: number[] }[] }).results[0].seeds).toEqual([1, 2, 3]);
  });

  it('crafted shards naming paths: merge opens only the shards it was given, its output and deplab\'s own files', async () => {
    const crafts: Omit<ShardFile, 'checksum'>[] = [];
    const key = Object.keys(body.workloads)[0];
    const w = body.workloads[key] as unknown as Record<string, unknown>;
    crafts.push({ ...body, workloads: { [key]: { ...w, source: '/etc/passwd', name: '../../../../etc/passwd' } as never } });
    crafts.push({ ...body, workloads: { ...body.workloads, '/etc/passwd': w as never } });
    crafts.push({ ...body, params: { ...body.params, workloads: ['/etc/passwd'] } });
    crafts.push({ ...body, tasks: body.tasks.map((t) => ({ ...t, workload_name: '/etc/shadow' })) });
    crafts.push({ ...body, tasks: body.tasks.map((t) => ({ ...t, driver: '../../etc/passwd' })) });
    crafts.push({ ...body, outputs: body.outputs.map((o) => ({ ...o, path: '/etc/passwd', file: '/etc/passwd', baseline: { ...o.baseline, digest: '/etc/passwd' } })) as never });
    crafts.push({ ...body, workloads: { [key]: { ...w, clients: [{ name: '/etc/passwd', queues: [], program: { end: { kind: 'loops', loops: 1 }, steps: [] }, origin: '/etc/passwd' }] } as never } });
    const s2 = join(shard_dir, 'shard-2-of-2.json');
    for (const [k, craft] of crafts.entries()) {
      const cdir = join(dir, `craft-${k}`);
      mkdirSync(cdir, { recursive: true });
      const file = join(cdir, 'shard-1-of-2.json');
      writeFileSync(file, shard_file_text(craft));
      const out = join(dir, `craft-out-${k}`);
      let code = -1;
      const opened = await paths_opened(async () => { code = (await checked(['merge', file, s2, '--out', out])).code; });
      expect([0, 2]).toContain(code);
      const outside = [...new Set(opened)].filter((p) => !under(resolve(file), resolve(p)) && resolve(p) !== resolve(s2) && !under(resolve(out), resolve(p)) && !under(ROOT, resolve(p)));
      expect(outside, `craft ${k}: ${JSON.stringify(outside)}`).toEqual([]);
      expect(opened.some((p) => p.includes('passwd') || p.includes('shadow'))).toBe(false);
    }
  });
});

/* ------------------------------------------------------------------------------------------ */

describe('failed writes leave the old output, never a mix (checked with the manifest)', () => {
  const compare = (out: string, seeds: string) => ['compare', tiny, '--driver', 'mock', '--seeds', seeds, '--jobs', '1', '--out', out];

  it('disk full while staging, and a rename failing half-way: the old output stays whole, no scratch file or lock is left', async () => {
    const out = join(dir, 'faults');
    expect((await checked(compare(out, '2'))).code).toBe(0);
    const manifest = 'compare-mock-tiny';
    expect(verify_manifest(out, manifest)).toEqual([]);
    const old = snapshot(out);
    for (const fault of ['write:1:ENOSPC', 'write:4:ENOSPC', 'write:3:EDQUOT', 'write:2:EIO', 'rename:1:EIO', 'rename:3:ENOSPC', 'rename:7:EXDEV']) {
      const r = await checked(compare(out, '3'), { DEPLAB_TEST_FAULT: fault });
      expect(r.code, fault).toBe(2);
      expect(r.err, fault).toMatch(/cannot write .*\(nothing was changed\)/);
      expect(snapshot(out), fault).toEqual(old);
      expect(leftovers(out), fault).toEqual([]);
    }
    expect(verify_manifest(out, manifest)).toEqual([]);
    // A sweep's shard, a single file: disk full leaves no shard, and no truncated one for merge to trip over.
    const shards = join(dir, 'faults-sweep');
    const r = await checked(['sweep', '--drivers', 'mock', '--workloads', tiny, '--seeds', '1', '--jobs', '1', '--out', shards], { DEPLAB_TEST_FAULT: 'write:1:ENOSPC' });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no space left on the device/);
    expect(existsSync(shards) ? readdirSync(shards) : []).toEqual([]);
  });

  it('merge and explore under the same faults', async () => {
    const out = join(dir, 'faults-merge');
    const shards = join(dir, 'shards-for-out');
    expect((await checked(['merge', shards, '--out', out])).code).toBe(0);
    const old = snapshot(out);
    const r = await checked(['merge', shards, '--out', out], { DEPLAB_TEST_FAULT: 'rename:2:EIO' });
    expect(r.code).toBe(2);
    expect(snapshot(out)).toEqual(old);
    const ex = join(dir, 'faults-explore');
    const args = ['explore', '--driver', 'mock', '--backend', 'sched', '--seeds', '2', '--no-shrink', '--jobs', '1', '--out', ex];
    expect((await checked(args)).code).toBe(0);
    const before = snapshot(ex);
    expect((await checked([...args.slice(0, -3), '--seeds', '3', '--jobs', '1', '--out', ex], { DEPLAB_TEST_FAULT: 'write:2:ENOSPC' })).code).toBe(2);
    expect(snapshot(ex)).toEqual(before);
    expect(verify_manifest(join(ex, 'explore'), 'explore-mock')).toEqual([]);
  });
});

describe('concurrent writers', () => {
  it('two commands of one process writing into one --out: the second refuses, the first completes', async () => {
    const out = join(dir, 'concurrent');
    const [x, y] = await Promise.all([
      checked(['compare', tiny, '--driver', 'mock', '--seeds', '2', '--jobs', '1', '--no-charts', '--out', out]),
      checked(['explore', '--driver', 'mock', '--backend', 'sched', '--seeds', '2', '--no-shrink', '--jobs', '1', '--out', join(out, '..', 'concurrent')]),
    ]);
    expect([x.code, y.code].sort()).toEqual([0, 0]); // different directories (explore writes <out>/explore): both fine
    const [p, q] = await Promise.all([
      checked(['compare', tiny, '--driver', 'mock', '--seeds', '2', '--jobs', '1', '--no-charts', '--out', out]),
      checked(['compare', tiny, '--driver', 'mock', '--seeds', '3', '--jobs', '1', '--no-charts', '--out', out]),
    ]);
    expect([p.code, q.code].sort()).toEqual([0, 2]);
    expect((p.code === 2 ? p : q).err).toMatch(/another deplab command of this process is writing into/);
    expect(verify_manifest(out, 'compare-mock-tiny')).toEqual([]);
    expect(leftovers(out)).toEqual([]);
  });
});

describe('the whole file', () => {
  it('ran every command checked: no stack trace, exit codes only 0, 1 or 2, no internal error', () => {
    expect(totals.runs).toBeGreaterThan(150);
    expect([...totals.by_code.keys()].every((c) => [0, 1, 2].includes(c))).toBe(true);
  });
});
