/**
 * The adversarial suite, the cases that need a real process (packages/cli/bin/deplab.mjs as a
 * child): SIGINT while a report's files are being staged and while it computes, SIGTERM
 * between a shard's open and its write, a writer killed (SIGKILL) half-way through its renames,
 * two processes writing into one --out, an --out its user may not write, and a workload path
 * that starts with '-'. After each: the output directory holds the old content or the new,
 * never a mix (snapshot and manifest), and nothing is left behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leftovers, pasted_argv, snapshot, temp_dir } from './adversarial.testlib.ts';
import { verify_manifest } from './output.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'packages', 'cli', 'bin', 'deplab.mjs');
const TINY = { name: 'tiny', clients: [{ name: 'a', queues: [{ name: 'q', engine: 'render' }], program: { loops: 3, steps: [{ batch: { queue: 'q', duration_us: 100 } }] } }] };

let dir: string;
let tiny: string;

interface Exit { code: number | null; signal: NodeJS.Signals | null; out: string; err: string }

function start(args: readonly string[], env: Record<string, string> = {}, options: { cwd?: string; uid?: number; gid?: number } = {}): { child: ChildProcess; done: Promise<Exit> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? dir, env: { ...process.env, ...env }, uid: options.uid, gid: options.gid, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout!.on('data', (d) => { out += String(d); });
  child.stderr!.on('data', (d) => { err += String(d); });
  const done = new Promise<Exit>((r) => child.on('exit', (code, signal) => r({ code, signal, out, err })));
  return { child, done };
}

async function until(what: string, cond: () => boolean, timeout_ms = 60_000): Promise<void> {
  const end = Date.now() + timeout_ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function files_matching(d: string, re: RegExp): string[] {
  const out: string[] = [];
  const walk = (x: string) => {
    if (!existsSync(x)) return;
    for (const e of readdirSync(x, { withFileTypes: true })) {
      const p = join(x, e.name);
      if (e.isDirectory()) walk(p); else if (re.test(e.name)) out.push(p);
    }
  };
  walk(d);
  return out;
}

function no_stack(e: Exit): void {
  expect(e.err).not.toMatch(/\n\s+at /);
  expect(e.err).not.toMatch(/internal error/);
}

beforeAll(() => {
  dir = temp_dir('adversarial-process');
  tiny = join(dir, 'tiny.json');
  writeFileSync(tiny, JSON.stringify(TINY));
  // The launcher builds the bundle once here, so the timed cases below do not include a build.
  expect(spawnSync(process.execPath, [BIN, 'list'], { stdio: 'pipe' }).status).toBe(0);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const compare = (out: string, seeds: number) => ['compare', tiny, '--driver', 'mock', '--seeds', String(seeds), '--jobs', '1', '--out', out];

describe('signals', () => {
  it('SIGINT while the report\'s files are staged: exit 130, the old report stays whole, nothing is left behind', async () => {
    const out = join(dir, 'sigint-staging');
    const first = await start(compare(out, 2)).done;
    expect(first.code).toBe(0);
    const old = snapshot(out);
    const run = start(compare(out, 3), { DEPLAB_TEST_FAULT: 'stage_delay_ms:250' });
    await until('the first staged file', () => files_matching(out, /\.deplab-tmp-/).length > 0);
    run.child.kill('SIGINT');
    const e = await run.done;
    expect(e.code).toBe(130);
    expect(e.err).toMatch(/interrupted \(SIGINT\); nothing was written/);
    no_stack(e);
    expect(snapshot(out)).toEqual(old);
    expect(verify_manifest(out, 'compare-mock-tiny')).toEqual([]);
  });

  it('SIGINT while it computes: exit 130 at once, its lock released, nothing written', async () => {
    const out = join(dir, 'sigint-compute');
    const run = start(compare(out, 3000));
    await until('the lock', () => existsSync(join(out, '.deplab.lock')));
    const sent = Date.now();
    run.child.kill('SIGINT');
    const e = await run.done;
    expect(e.code).toBe(130);
    expect(Date.now() - sent).toBeLessThan(10_000);
    no_stack(e);
    expect(snapshot(out)).toEqual(new Map());
  });

  it('SIGTERM between a shard\'s open and its write: no 0-byte shard, the old one intact, merge unaffected, the next sweep cleans up', async () => {
    const shards = join(dir, 'sigterm-sweep');
    const sweep = ['sweep', '--drivers', 'mock', '--workloads', tiny, '--seeds', '2', '--jobs', '1', '--out', shards];
    expect((await start(sweep).done).code).toBe(0);
    const shard = join(shards, 'shard-1-of-1.json');
    const old = readFileSync(shard, 'utf8');
    const run = start(sweep, { DEPLAB_TEST_FAULT: 'stage_delay_ms:5000' });
    await until('the opened, empty temporary shard', () => files_matching(shards, /^\.shard-1-of-1\.json\.deplab-tmp-/).some((f) => statSync(f).size === 0));
    run.child.kill('SIGTERM');
    const e = await run.done;
    expect(e.signal ?? e.code).not.toBe(0);
    expect(readFileSync(shard, 'utf8')).toBe(old);
    const merged = await start(['merge', shards, '--out', join(dir, 'sigterm-merge')]).done;
    expect(merged.code).toBe(0);
    expect((await start(sweep).done).code).toBe(0);
    expect(files_matching(shards, /deplab-tmp/)).toEqual([]);
  });

  it('a writer killed (SIGKILL) half-way through its renames: the mix is detectable, and the next writer rolls it back to the old output', async () => {
    const out = join(dir, 'sigkill-commit');
    expect((await start(compare(out, 2)).done).code).toBe(0);
    const old = snapshot(out);
    const killed = await start(compare(out, 3), { DEPLAB_TEST_FAULT: 'rename:4:SIGKILL' }).done;
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(join(out, '.deplab-journal.json'))).toBe(true);
    expect(verify_manifest(out, 'compare-mock-tiny').length).toBeGreaterThan(0); // half new, half old: the manifest says so
    // The next writer takes the lock, rolls back from the journal, then fails to stage (disk full): the old output, whole.
    const next = await start(compare(out, 3), { DEPLAB_TEST_FAULT: 'write:1:ENOSPC' }).done;
    expect(next.code).toBe(2);
    no_stack(next);
    expect(snapshot(out)).toEqual(old);
    expect(verify_manifest(out, 'compare-mock-tiny')).toEqual([]);
    // And one that succeeds writes the new output whole.
    expect((await start(compare(out, 3)).done).code).toBe(0);
    expect(verify_manifest(out, 'compare-mock-tiny')).toEqual([]);
    expect(leftovers(out)).toEqual([]);
  });
});

describe('concurrent processes and permissions', () => {
  it('two explore campaigns into one --out: the second refuses at once, naming the first', async () => {
    const out = join(dir, 'two-explores');
    const first = start(['explore', '--driver', 'mock', '--seeds', '3000', '--jobs', '1', '--out', out]);
    await until('the first campaign\'s lock', () => existsSync(join(out, 'explore', '.deplab.lock')));
    const second = await start(['explore', '--driver', 'xe', '--seeds', '1', '--jobs', '1', '--out', out]).done;
    expect(second.code).toBe(2);
    expect(second.err).toMatch(new RegExp(`another deplab \\(pid ${first.child.pid}\\) is writing into`));
    no_stack(second);
    first.child.kill('SIGINT');
    expect((await first.done).code).toBe(130);
    expect(snapshot(join(out, 'explore'))).toEqual(new Map());
  });

  it('an --out its user may not write: exit 2 before computing', async () => {
    const locked = join(dir, 'not-writable');
    mkdirSync(locked, { mode: 0o555 });
    chmodSync(locked, 0o555);
    chmodSync(dir, 0o755);
    // As root every directory is writable: run as nobody then (the tree is world-readable).
    const as = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    if (process.getuid?.() === 0) chmodSync(tiny, 0o644);
    for (const args of [compare(join(locked, 'x'), 50), ['explore', '--driver', 'mock', '--out', join(locked, 'x')], ['sweep', '--drivers', 'mock', '--workloads', tiny, '--out', locked]]) {
      const e = await start(args, {}, { ...as, cwd: '/' }).done;
      expect(e.code, `${args.join(' ')}: ${e.err}`).toBe(2);
      expect(e.err).toMatch(/is not writable/);
      no_stack(e);
    }
  });

  it('a workload file whose name starts with \'-\': the reproduce line names it ./-..., which a shell passes as a path', async () => {
    writeFileSync(join(dir, '-rf.json'), JSON.stringify(TINY));
    const out = join(dir, 'dash-out');
    const e = await start(['compare', '--driver', 'mock', '--seeds', '1', '--jobs', '1', '--no-charts', '--out', out, '--', '-rf.json']).done;
    expect(e.code, e.err).toBe(0);
    const row = /^\| reproduce +\| `(.*)` *\|$/m.exec(readFileSync(join(out, 'mock', '-rf.md'), 'utf8'))!;
    expect(pasted_argv(row[1], dir)).toEqual(['compare', './-rf.json', '--driver', 'mock', '--seeds', '1']);
  });
});
