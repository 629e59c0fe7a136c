/**
 * Where deplab writes and how. User commands write under ./deplab-out/ by default (resolved from
 * the repository root when run inside the repository, so `cd drivers && deplab compare ...` does
 * not scatter reports), or where --out says; only `npm run report` writes the committed reports/.
 *
 * Every output is checked before any computation starts (a path that cannot be written is a
 * usage error, exit 2, not a failure after minutes of work), and written atomically: each file
 * is written to a temporary file beside its target and renamed over it, a multi-file output is
 * staged completely before the first rename, SIGINT/SIGTERM are held off while files are
 * renamed, and a manifest listing every file with its checksum is written last. A lock file
 * refuses a second deplab writing into the same directory at the same time.
 */
import { createHash } from 'node:crypto';
import {
  accessSync, closeSync, constants, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync,
  unlinkSync, writeSync,
} from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from './errors.ts';

/** The deplab checkout this command runs from. */
export function deplab_root(): string {
  return process.env.DEPLAB_ROOT ?? fileURLToPath(new URL('../../', import.meta.url));
}

function inside(dir: string, path: string): boolean {
  const r = relative(dir, path);
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
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
  try { accessSync(anc, constants.W_OK); } catch { throw new UsageError(`${what} '${abs}': ${anc} is not writable`); }
}

/** Check a directory deplab will create or write into; returns its absolute path. */
export function check_output_dir(path: string, what = '--out'): string {
  if (path.trim() === '') throw new UsageError(`${what} is empty`);
  const abs = resolve(path);
  check_not_virtual(abs, what);
  if (existsSync(abs) && !statSync(abs).isDirectory()) throw new UsageError(`${what} '${path}' exists and is not a directory`);
  check_writable_ancestor(abs, what);
  return abs;
}

/** Check a file deplab will create or replace; returns its absolute path. */
export function check_output_file(path: string, what = '--out'): string {
  if (path.trim() === '') throw new UsageError(`${what} is empty`);
  const abs = resolve(path);
  check_not_virtual(abs, what);
  if (existsSync(abs) && !statSync(abs).isFile()) throw new UsageError(`${what} '${path}' exists and is not a regular file`);
  check_writable_ancestor(dirname(abs), what);
  return abs;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function write_fully(path: string, data: string | Buffer): void {
  const fd = openSync(path, 'w', 0o644);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function describe_write_error(path: string, e: unknown): UsageError {
  const err = e as NodeJS.ErrnoException;
  const why = err.code === 'ENOSPC' ? 'no space left on the device' : err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied'
    : err.code === 'EROFS' ? 'read-only file system' : err.message;
  return new UsageError(`cannot write ${path}: ${why} (nothing was changed)`);
}

const LOCK = '.deplab.lock';
const TMP = '.deplab-tmp-';

function pid_alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** Transactions holding a lock: released if the process exits before they do. */
const held = new Set<OutputTransaction>();
let exit_hook = false;

/**
 * A set of files written into one directory as one output: staged, then committed together,
 * under the directory's lock. Paths are relative to the directory.
 */
export class OutputTransaction {
  readonly dir: string;
  private readonly manifest: string | null;
  private readonly staged: { target: string; tmp: string; sha: string; rel: string }[] = [];
  private locked = false;
  private done = false;
  private interrupted: NodeJS.Signals | null = null;
  private readonly on_signal = (sig: NodeJS.Signals) => { this.interrupted = sig; };

  /** `manifest`: the manifest's name (e.g. "report" -> .deplab-manifest-report.json), or null for none. */
  constructor(dir: string, manifest: string | null) {
    this.dir = check_output_dir(dir);
    this.manifest = manifest;
  }

  /** Take the directory's lock (refuses while another live deplab holds it). */
  lock(): this {
    try { mkdirSync(this.dir, { recursive: true }); } catch (e) { throw describe_write_error(this.dir, e); }
    const path = join(this.dir, LOCK);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o644);
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        this.locked = true;
        held.add(this);
        if (!exit_hook) { exit_hook = true; process.on('exit', () => { for (const t of held) t.release(); }); }
        this.clean_stale_tmp();
        return this;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw describe_write_error(path, e);
        const pid = Number(readFileSync(path, 'utf8').trim());
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pid_alive(pid)) {
          throw new UsageError(`another deplab (pid ${pid}) is writing into ${this.dir}; wait for it or choose another --out`);
        }
        rmSync(path, { force: true }); // stale: its writer is gone
      }
    }
    throw new UsageError(`cannot lock ${this.dir}`);
  }

  /** Temporary files left by writers that died before committing. */
  private clean_stale_tmp(): void {
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) { if (!e.name.startsWith('.')) walk(p); continue; }
        const m = new RegExp(`^\\..*${TMP}(\\d+)-\\d+$`).exec(e.name);
        if (m !== null && !pid_alive(Number(m[1]))) rmSync(p, { force: true });
      }
    };
    try { walk(this.dir); } catch { /* best effort */ }
  }

  /** Stage one file (written to a temporary file beside its target now, renamed at commit). */
  add(rel: string, content: string | Buffer): void {
    if (this.done) throw new Error('OutputTransaction.add after commit');
    if (!this.locked) this.lock();
    if (this.staged.length === 0) { process.on('SIGINT', this.on_signal); process.on('SIGTERM', this.on_signal); }
    const target = resolve(this.dir, rel);
    if (!inside(this.dir, target)) throw new Error(`output path escapes its directory: ${rel}`);
    const tmp = join(dirname(target), `.${basename(target)}${TMP}${process.pid}-${this.staged.length}`);
    try {
      mkdirSync(dirname(target), { recursive: true });
      write_fully(tmp, content);
    } catch (e) {
      this.abort();
      throw describe_write_error(target, e);
    }
    this.staged.push({ target, tmp, sha: sha256(content), rel: relative(this.dir, target).split(sep).join('/') });
    if (this.interrupted !== null) this.interrupt();
  }

  private interrupt(): never {
    const sig = this.interrupted!;
    this.abort();
    process.stderr.write(`deplab: interrupted (${sig}); nothing was written\n`);
    process.exit(sig === 'SIGINT' ? 130 : 143);
  }

  /** Rename every staged file over its target, then write the manifest; signals wait until the end. */
  commit(): string[] {
    if (this.done) throw new Error('OutputTransaction.commit twice');
    if (!this.locked) this.lock();
    if (this.interrupted !== null) this.interrupt();
    for (const s of this.staged) {
      try { renameSync(s.tmp, s.target); } catch (e) { this.abort(); throw describe_write_error(s.target, e); }
    }
    if (this.manifest !== null) {
      const body = JSON.stringify({ files: Object.fromEntries(this.staged.map((s) => [s.rel, s.sha])) }, null, 1) + '\n';
      const path = join(this.dir, `.deplab-manifest-${this.manifest}.json`);
      const tmp = `${path}${TMP}${process.pid}-m`;
      try { write_fully(tmp, body); renameSync(tmp, path); } catch (e) { throw describe_write_error(path, e); }
    }
    this.done = true;
    this.release();
    const sig = this.interrupted;
    process.off('SIGINT', this.on_signal);
    process.off('SIGTERM', this.on_signal);
    if (sig !== null) {
      process.stderr.write(`deplab: ${sig} received; the output was completed first\n`);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
    return this.staged.map((s) => s.target);
  }

  /** Remove what was staged and release the lock. */
  abort(): void {
    for (const s of this.staged) { try { unlinkSync(s.tmp); } catch { /* already gone */ } }
    this.staged.length = 0;
    this.done = true;
    this.release();
    process.off('SIGINT', this.on_signal);
    process.off('SIGTERM', this.on_signal);
  }

  private release(): void {
    if (!this.locked) return;
    this.locked = false;
    held.delete(this);
    try {
      const path = join(this.dir, LOCK);
      if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
    } catch { /* gone */ }
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
    const p = join(dir, rel);
    if (!existsSync(p) || sha256(readFileSync(p)) !== sha) bad.push(rel);
  }
  return bad;
}

/** Write one file atomically (its directory locked meanwhile). */
export function write_file_atomic(path: string, content: string | Buffer): void {
  const abs = check_output_file(path);
  const t = new OutputTransaction(dirname(abs), null);
  t.add(basename(abs), content);
  t.commit();
}
