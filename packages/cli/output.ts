/**
 * Where deplab writes and how. User commands write under ./deplab-out/ by default (resolved from
 * the repository root when run inside the repository, so `cd drivers && deplab compare ...` does
 * not scatter reports), or where --out says; only `npm run report` writes the committed reports/.
 *
 * Every output is checked before any computation starts (a path that cannot be written is a
 * usage error, exit 2, not a failure after minutes of work), and written atomically:
 * - one file: written to a temporary file beside it, flushed, renamed over it;
 * - a multi-file output (OutputTransaction): every file staged beside its target first, then,
 *   under the directory's lock, a journal naming every rename is written, the old files are kept
 *   as hard-linked backups, the staged files and a manifest (every file with its SHA-256) are
 *   renamed in, and removing the journal commits. A rename that fails rolls every renamed file
 *   back; a writer killed in the middle (SIGKILL, power loss) leaves the journal, and the next
 *   writer that takes the lock rolls back from it. The directory thus holds the old output or the
 *   new one, never a mix, and verify_manifest() checks it.
 * - SIGINT/SIGTERM: before staging, the command stops at once (nothing written); while staging
 *   they are noted and the transaction aborts before its first rename (the old output stays);
 *   during the renames they wait until the output is complete. Either way the command exits
 *   130/143 (Interrupted).
 * - A lock file refuses a second deplab (or a second command in this process) writing into the
 *   same directory at the same time.
 *
 * Tests inject faults through DEPLAB_TEST_FAULT (see test_faults()); nothing else reads it.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  accessSync, closeSync, constants, copyFileSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, realpathSync, renameSync,
  rmSync, statSync, unlinkSync, writeSync,
} from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Interrupted, UsageError } from './errors.ts';

/** The deplab checkout this command runs from. */
export function deplab_root(): string {
  return process.env.DEPLAB_ROOT ?? fileURLToPath(new URL('../../', import.meta.url));
}

function inside(dir: string, path: string): boolean {
  const r = relative(dir, path);
  return r === '' || (r !== '..' && !r.startsWith(`..${sep}`) && !isAbsolute(r)); // '..x' is a name inside
}

/** The default output directory of a command: <repository>/deplab-out/<sub> inside the repository, ./deplab-out/<sub> elsewhere. */
export function default_out(sub: string): string {
  const root = resolve(deplab_root());
  const cwd = process.cwd();
  return join(inside(root, cwd) ? root : cwd, 'deplab-out', sub);
}

const VIRTUAL_FS = ['/proc', '/sys', '/dev'];

/** The nearest existing ancestor of `path` (itself if it exists). */
function existing_ancestor(path: string): string {
  let p = path;
  while (!existsSync(p)) {
    const parent = dirname(p);
    if (parent === p) break;
    p = parent;
  }
  return p;
}

function check_not_virtual(abs: string, what: string): void {
  let real = abs;
  try { real = realpathSync(existing_ancestor(abs)); } catch { /* checked below */ }
  for (const v of VIRTUAL_FS) {
    if (inside(v, abs) || inside(v, real)) throw new UsageError(`${what} '${abs}' is under ${v}: deplab writes reports to a regular directory`);
  }
}

function check_writable_ancestor(abs: string, what: string): void {
  const anc = existing_ancestor(abs);
  let st;
  try { st = statSync(anc); } catch (e) { throw new UsageError(`${what} '${abs}': cannot inspect ${anc}: ${(e as Error).message}`); }
  if (!st.isDirectory()) throw new UsageError(`${what} '${abs}': ${anc} is a file, not a directory`);
  try { accessSync(anc, constants.W_OK | constants.X_OK); } catch { throw new UsageError(`${what} '${abs}': ${anc} is not writable`); }
}

function stat_or_null(path: string) {
  try { return statSync(path); } catch { return null; }
}

/** Check a directory deplab will create or write into; returns its absolute path. */
export function check_output_dir(path: string, what = '--out'): string {
  if (path.trim() === '') throw new UsageError(`${what} is empty`);
  const abs = resolve(path);
  check_not_virtual(abs, what);
  const st = stat_or_null(abs);
  if (st !== null && !st.isDirectory()) throw new UsageError(`${what} '${path}' exists and is not a directory`);
  check_writable_ancestor(abs, what);
  return abs;
}

/** Check a file deplab will create or replace; returns its absolute path. */
export function check_output_file(path: string, what = '--out'): string {
  if (path.trim() === '') throw new UsageError(`${what} is empty`);
  const abs = resolve(path);
  check_not_virtual(abs, what);
  const st = stat_or_null(abs);
  if (st !== null && !st.isFile()) throw new UsageError(`${what} '${path}' exists and is not a regular file`);
  check_writable_ancestor(dirname(abs), what);
  return abs;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/* ------------------------------------------------------------------------------------------ */
/* Test-only fault injection                                                                    */

/**
 * Faults a test asks for in DEPLAB_TEST_FAULT, comma-separated: `write:N:CODE` (the N-th file
 * write of a transaction writes half its data, then fails with errno CODE, e.g. ENOSPC),
 * `rename:N:CODE` (the N-th rename fails; CODE SIGKILL kills the process there instead, a writer
 * dying mid-commit), `stage_delay_ms:MS` (each staged file waits MS after it is opened and
 * before it is written, so a test can signal the process in between).
 */
interface TestFaults {
  readonly write: { n: number; code: string } | null;
  readonly rename: { n: number; code: string } | null;
  readonly stage_delay_ms: number;
}

function test_faults(): TestFaults {
  const spec = process.env.DEPLAB_TEST_FAULT ?? '';
  let write: TestFaults['write'] = null, rename: TestFaults['rename'] = null, stage_delay_ms = 0;
  for (const item of spec.split(',').filter((s) => s !== '')) {
    const [kind, a, b] = item.split(':');
    if ((kind === 'write' || kind === 'rename') && /^\d+$/.test(a) && /^(E[A-Z]+|SIGKILL)$/.test(b)) {
      if (kind === 'write') write = { n: Number(a), code: b }; else rename = { n: Number(a), code: b };
    } else if (kind === 'stage_delay_ms' && /^\d+$/.test(a)) stage_delay_ms = Number(a);
  }
  return { write, rename, stage_delay_ms };
}

function injected(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`${code}: injected by DEPLAB_TEST_FAULT, ${syscall} '${path}'`);
  e.code = code;
  e.syscall = syscall;
  return e;
}

function sleep_sync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/* ------------------------------------------------------------------------------------------ */
/* Writing                                                                                      */

/** Counts of a transaction's writes and renames, for injected faults. */
interface FaultCounter { writes: number; renames: number; readonly faults: TestFaults }

function write_fully(path: string, data: string | Buffer, counter: FaultCounter): void {
  const fd = openSync(path, 'w', 0o644);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (counter.faults.stage_delay_ms > 0) sleep_sync(counter.faults.stage_delay_ms);
    const fail = counter.faults.write !== null && ++counter.writes === counter.faults.write.n;
    const end = fail ? buf.length >> 1 : buf.length;
    let off = 0;
    while (off < end) off += writeSync(fd, buf, off, end - off);
    if (fail) throw injected(counter.faults.write!.code, 'write', path);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function rename_checked(from: string, to: string, counter: FaultCounter): void {
  if (counter.faults.rename !== null && ++counter.renames === counter.faults.rename.n) {
    if (counter.faults.rename.code === 'SIGKILL') process.kill(process.pid, 'SIGKILL');
    throw injected(counter.faults.rename.code, 'rename', to);
  }
  renameSync(from, to);
}

function describe_write_error(path: string, e: unknown): UsageError {
  const err = e as NodeJS.ErrnoException;
  const why = err.code === 'ENOSPC' ? 'no space left on the device' : err.code === 'EDQUOT' ? 'disk quota exceeded'
    : err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied' : err.code === 'EROFS' ? 'read-only file system' : err.message;
  return new UsageError(`cannot write ${path}: ${why} (nothing was changed)`);
}

const LOCK = '.deplab.lock';
const JOURNAL = '.deplab-journal.json';
const TMP = '.deplab-tmp-';
const OLD = '.deplab-old-';
/** Names of this module's temporary and backup files: `.<name>.deplab-tmp-<pid>-<n>`, `.<name>.deplab-old-<pid>-<n>`. */
const SCRATCH = /^\..*\.deplab-(?:tmp|old)-(\d+)-\d+$/;

function pid_alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** Locks held by this process (by their token): released if the process exits first. */
const held = new Map<string, OutputTransaction>();
let exit_hook = false;

/** Let pending signals reach their handlers (Node runs them from the event loop, never inside synchronous code). */
async function settle_signals(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

interface JournalEntry { readonly target: string; readonly tmp: string; readonly backup: string | null }

/**
 * A set of files written into one directory as one output: staged, then committed together,
 * under the directory's lock. Paths are relative to the directory.
 */
export class OutputTransaction {
  readonly dir: string;
  private readonly manifest: string | null;
  private readonly staged: { target: string; tmp: string; sha: string; rel: string }[] = [];
  private readonly token = randomBytes(8).toString('hex');
  private readonly counter: FaultCounter = { writes: 0, renames: 0, faults: test_faults() };
  private locked = false;
  private done = false;
  private interrupted: NodeJS.Signals | null = null;
  private readonly on_signal = (sig: NodeJS.Signals) => {
    if (this.staged.length > 0 || this.committing) { this.interrupted = sig; return; }
    // Still computing: nothing staged, nothing to keep; stop now as an unhandled signal would, without the stale lock.
    this.abort();
    process.stderr.write(`deplab: interrupted (${sig}); nothing was written\n`);
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  private committing = false;

  /** `manifest`: the manifest's name (e.g. "report" -> .deplab-manifest-report.json), or null for none. */
  constructor(dir: string, manifest: string | null) {
    this.dir = check_output_dir(dir);
    this.manifest = manifest;
  }

  /** Take the directory's lock (refuses while another live deplab holds it); rolls back a commit a dead writer left. */
  lock(): this {
    try { mkdirSync(this.dir, { recursive: true }); } catch (e) { throw describe_write_error(this.dir, e); }
    const path = join(this.dir, LOCK);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o644);
        writeSync(fd, `${process.pid} ${this.token}\n`);
        closeSync(fd);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw describe_write_error(path, e);
        let content = '';
        try { content = readFileSync(path, 'utf8'); } catch { /* removed meanwhile */ }
        const [pid_text, token] = content.trim().split(' ');
        const pid = Number(pid_text);
        if (pid === process.pid && token !== undefined && held.has(token)) {
          throw new UsageError(`another deplab command of this process is writing into ${this.dir}; choose another --out`);
        }
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pid_alive(pid)) {
          throw new UsageError(`another deplab (pid ${pid}) is writing into ${this.dir}; wait for it or choose another --out`);
        }
        rmSync(path, { force: true }); // stale: its writer is gone
        continue;
      }
      this.locked = true;
      held.set(this.token, this);
      if (!exit_hook) { exit_hook = true; process.on('exit', () => { for (const t of held.values()) t.release(); }); }
      process.on('SIGINT', this.on_signal);
      process.on('SIGTERM', this.on_signal);
      this.recover();
      this.clean_stale();
      return this;
    }
    throw new UsageError(`cannot lock ${this.dir}`);
  }

  /** Roll back the commit a writer killed in the middle left behind (its journal), so the old output is whole again. */
  private recover(): void {
    const path = join(this.dir, JOURNAL);
    if (!existsSync(path)) { rmSync(`${path}.tmp`, { force: true }); return; }
    let entries: JournalEntry[] = [];
    try { entries = (JSON.parse(readFileSync(path, 'utf8')) as { entries: JournalEntry[] }).entries; } catch { /* unreadable: nothing was renamed yet */ }
    // Only names this module makes, inside this directory: a crafted journal moves nothing else.
    const ours = (rel: unknown, scratch: boolean) => typeof rel === 'string' && inside(this.dir, resolve(this.dir, rel)) && (!scratch || SCRATCH.test(basename(rel)));
    for (const e of Array.isArray(entries) ? entries : []) {
      if (!ours(e?.target, false) || !ours(e?.tmp, true) || (e.backup !== null && !ours(e.backup, true))) continue;
      const target = resolve(this.dir, e.target), tmp = resolve(this.dir, e.tmp);
      try {
        if (e.backup !== null && existsSync(resolve(this.dir, e.backup))) renameSync(resolve(this.dir, e.backup), target);
        else if (e.backup === null && !existsSync(tmp)) rmSync(target, { force: true }); // a new file that was renamed in
        rmSync(tmp, { force: true });
      } catch { /* best effort: the manifest check reports what is left */ }
    }
    rmSync(path, { force: true });
    rmSync(`${path}.tmp`, { force: true });
  }

  /** Temporary and backup files left by writers that died. */
  private clean_stale(): void {
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) { if (!e.name.startsWith('.')) walk(p); continue; }
        const m = SCRATCH.exec(e.name);
        if (m !== null && (Number(m[1]) !== process.pid ? !pid_alive(Number(m[1])) : false)) rmSync(p, { force: true });
      }
    };
    try { walk(this.dir); } catch { /* best effort */ }
  }

  private scratch_name(target: string, kind: string, n: number | string): string {
    return join(dirname(target), `.${basename(target)}${kind}${process.pid}-${n}`);
  }

  /** Stage one file (written to a temporary file beside its target now, renamed at commit). */
  add(rel: string, content: string | Buffer): void {
    if (this.done) throw new Error('OutputTransaction.add after commit');
    if (!this.locked) this.lock();
    const target = resolve(this.dir, rel);
    if (!inside(this.dir, target) || target === this.dir) throw new Error(`output path escapes its directory: ${rel}`);
    const tmp = this.scratch_name(target, TMP, this.staged.length);
    this.staged.push({ target, tmp, sha: sha256(content), rel: relative(this.dir, target).split(sep).join('/') });
    try {
      mkdirSync(dirname(target), { recursive: true });
      write_fully(tmp, content, this.counter);
    } catch (e) {
      this.abort();
      throw describe_write_error(target, e);
    }
  }

  /**
   * Rename every staged file over its target and write the manifest, all or nothing. Signals
   * that arrived while staging abort it first; those during the renames wait for the end.
   * Returns the files written.
   */
  async commit(): Promise<string[]> {
    if (this.done) throw new Error('OutputTransaction.commit twice');
    if (!this.locked) this.lock();
    if (this.manifest !== null) {
      const body = JSON.stringify({ files: Object.fromEntries(this.staged.map((s) => [s.rel, s.sha])) }, null, 1) + '\n';
      this.add(`.deplab-manifest-${this.manifest}.json`, body);
    }
    await settle_signals();
    if (this.interrupted !== null) {
      const sig = this.interrupted;
      this.abort();
      throw new Interrupted(sig, false);
    }
    this.committing = true;
    const entries = this.staged.map((s, k) => ({ ...s, backup: existsSync(s.target) ? this.scratch_name(s.target, OLD, k) : null }));
    const rel = (p: string) => relative(this.dir, p).split(sep).join('/');
    const journal = join(this.dir, JOURNAL);
    try {
      write_fully(`${journal}.tmp`, JSON.stringify({ pid: process.pid, entries: entries.map((e) => ({ target: rel(e.target), tmp: rel(e.tmp), backup: e.backup === null ? null : rel(e.backup) })) }), this.counter);
      renameSync(`${journal}.tmp`, journal);
      for (const e of entries) if (e.backup !== null) { try { linkSync(e.target, e.backup); } catch { copyFileSync(e.target, e.backup); } }
    } catch (e) {
      this.roll_back(entries, 0);
      throw describe_write_error(this.dir, e);
    }
    let renamed = 0;
    try {
      for (const e of entries) { rename_checked(e.tmp, e.target, this.counter); renamed++; }
    } catch (err) {
      this.roll_back(entries, renamed);
      throw describe_write_error(entries[renamed].target, err);
    }
    rmSync(journal, { force: true }); // the commit point
    for (const e of entries) if (e.backup !== null) rmSync(e.backup, { force: true });
    this.done = true;
    const written = this.staged.filter((s) => !basename(s.target).startsWith('.deplab-manifest-')).map((s) => s.target);
    this.release();
    await settle_signals();
    this.stop_listening();
    if (this.interrupted !== null) throw new Interrupted(this.interrupted, true);
    return written;
  }

  /** Undo a failed commit: the first `renamed` entries get their old file back (or go, if new); every scratch file goes. */
  private roll_back(entries: readonly (JournalEntry & { target: string; tmp: string })[], renamed: number): void {
    let whole = true;
    entries.forEach((e, k) => {
      try {
        if (k < renamed) {
          if (e.backup !== null) renameSync(e.backup, e.target);
          else rmSync(e.target, { force: true });
        }
        rmSync(e.tmp, { force: true });
        if (e.backup !== null) rmSync(e.backup, { force: true });
      } catch {
        whole = false;
      }
    });
    // An entry that could not be rolled back keeps the journal: the next writer finishes the roll-back.
    if (whole) rmSync(join(this.dir, JOURNAL), { force: true });
    this.staged.length = 0;
    this.abort();
  }

  /** Remove what was staged and release the lock. */
  abort(): void {
    for (const s of this.staged) { try { unlinkSync(s.tmp); } catch { /* already gone */ } }
    this.staged.length = 0;
    this.done = true;
    this.release();
    this.stop_listening();
  }

  private stop_listening(): void {
    process.off('SIGINT', this.on_signal);
    process.off('SIGTERM', this.on_signal);
  }

  private release(): void {
    if (!this.locked) return;
    this.locked = false;
    held.delete(this.token);
    try {
      const path = join(this.dir, LOCK);
      if (readFileSync(path, 'utf8').trim() === `${process.pid} ${this.token}`) unlinkSync(path);
    } catch { /* gone */ }
  }
}

/** Temporary files of `name` in `dir` whose writer is dead (killed between open and rename). */
function remove_stale_scratch(dir: string, name: string): void {
  let entries: string[];
  try { entries = readdirSync(dir); } catch { return; }
  for (const e of entries) {
    const m = SCRATCH.exec(e);
    if (m !== null && e.startsWith(`.${name}.deplab-`) && Number(m[1]) !== process.pid && !pid_alive(Number(m[1]))) rmSync(join(dir, e), { force: true });
  }
}

/** Files of a manifest whose content does not match it (a reader's check that an output is whole). */
export function verify_manifest(dir: string, name: string): string[] {
  const path = join(dir, `.deplab-manifest-${name}.json`);
  if (!existsSync(path)) return [`${path}: no manifest`];
  let files: Record<string, string>;
  try { files = (JSON.parse(readFileSync(path, 'utf8')) as { files: Record<string, string> }).files; } catch { return [`${path}: unreadable manifest`]; }
  const bad: string[] = [];
  for (const [rel, sha] of Object.entries(files)) {
    const p = resolve(dir, rel);
    if (!inside(dir, p) || !existsSync(p) || sha256(readFileSync(p)) !== sha) bad.push(rel);
  }
  return bad;
}

/**
 * Write one file atomically: a temporary file beside it, flushed, renamed over it. No lock (a
 * rename is atomic by itself, and two shards of a sweep may finish together in one directory).
 */
export function write_file_atomic(path: string, content: string | Buffer): void {
  const abs = check_output_file(path);
  remove_stale_scratch(dirname(abs), basename(abs));
  const tmp = join(dirname(abs), `.${basename(abs)}${TMP}${process.pid}-${randomBytes(4).readUInt32BE(0)}`);
  const counter: FaultCounter = { writes: 0, renames: 0, faults: test_faults() };
  try {
    mkdirSync(dirname(abs), { recursive: true });
    write_fully(tmp, content, counter);
    rename_checked(tmp, abs, counter);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw describe_write_error(abs, e);
  }
}
