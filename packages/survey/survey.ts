/**
 * `deplab survey`: every user of drm_sched in a Linux tree, per driver directory: API symbols
 * used, scheduler-structure fields read or written, backend ops and what timedout_job returns,
 * recovery helpers, how entities map to schedulers, and the path off drm_sched (drm_dep, drm_dep
 * + the HW-queue layer, or blocked). Deterministic: the same tree gives the same JSON.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { child, descendants, named_children, type CNode } from './cparse.ts';
import { error_nodes, inflate, load_c_parser, parse_c_flat, type FlatTree, type Loaded } from './cparse.ts';
import { preprocess, type Preprocessed } from './preprocess.ts';
import { TypeEnv, designated_initialisers, text_of, type FileSource, type TypeRef } from './ctypes.ts';
import { FileAnalysis, local_at, type AnalysisContext, type CallSite, type FieldSite, type FileFacts, type Inference, type OpsTable, type Site, type SymbolSite } from './analyze.ts';
import {
  BUILTIN_FIELDS, BUILTIN_SYMBOLS, DISTINCTIVE_FIELDS, RECOVERY_HELPERS, SCHED_STRUCTS, field_equivalent, symbol_fate,
  type FieldFate, type SchedStruct, type SymbolFate, type SymbolKind,
} from './api.ts';
import { DRIVER_ROOTS, SCHED_HEADER, driver_dirs, read_tree_file, SurveyInputError, type DriverDir } from './discover.ts';

export const SURVEY_FORMAT = 1;

export interface SymbolSummary {
  readonly symbol: string;
  readonly kind: SymbolKind;
  readonly count: number;
  readonly sites: readonly Site[];
  readonly fate: SymbolFate;
  readonly dep: readonly string[];
  readonly note: string;
}

export interface FieldSummary {
  readonly struct: SchedStruct;
  readonly field: string;
  readonly count: number;
  readonly reads: number;
  readonly writes: number;
  readonly addresses: number;
  readonly inferred: Readonly<Partial<Record<Inference, number>>>;
  /** Loop macros through which the field is walked (list_for_each_entry over pending_list). */
  readonly via: readonly string[];
  readonly sites: readonly (Site & { readonly access: FieldSite['access']; readonly text: string; readonly inferred: Inference })[];
  readonly fate: FieldFate;
  readonly dep: readonly string[];
  readonly note: string;
}

export interface OpsSummary {
  readonly name: string;
  readonly site: Site;
  readonly ops: Readonly<Record<string, string>>;
  /** What timedout_job returns on its return paths; null without a timedout_job. */
  readonly timedout_returns: readonly { readonly value: string; readonly site: Site }[] | null;
}

/** The object an init call's scheduler or entity lives in; `resolved` false when the trail ends at a parameter whose callers are not in the tree. */
export interface Owner { readonly type: string | null; readonly site: Site; readonly chain: readonly string[]; readonly resolved: boolean }

export interface InitCall {
  readonly call: 'drm_sched_init' | 'drm_sched_entity_init';
  readonly site: Site;
  readonly in_loop: boolean;
  readonly owners: readonly Owner[];
  /** drm_sched_init: ops, credit_limit, timeout, submit_wq, num_rqs, name; entity: sched_list, num_sched_list, priority. */
  readonly args: Readonly<Record<string, string>>;
}

export interface Setup {
  readonly relation: '1:1' | 'N:1' | 'unresolved';
  readonly entity_owner: string | null;
  readonly entity_site: Site;
  readonly scheduler_owners: readonly string[];
  readonly why: string;
}

export type Mapping = 'firmware-scheduled (1:1)' | 'hardware-scheduled (N:1)' | 'unknown';
export type PathName = 'drm_dep' | 'drm_dep + HW-queue layer' | 'blocked';

export interface ParseSummary {
  readonly files_in_directory: number;
  readonly files_parsed: number;
  /** Files parsed as two variants (first and last branch of each #if) because the whole did not parse. */
  readonly files_by_branch: readonly string[];
  readonly error_nodes: number;
  readonly missing_nodes: number;
  readonly files_with_errors: readonly { readonly file: string; readonly errors: number; readonly functions: Readonly<Record<string, number>> }[];
}

export interface DriverSurvey {
  readonly driver: string;
  readonly dir: string;
  readonly parse: ParseSummary;
  readonly symbols: readonly SymbolSummary[];
  readonly fields: readonly FieldSummary[];
  readonly ops: readonly OpsSummary[];
  readonly recovery: readonly string[];
  readonly inits: readonly InitCall[];
  readonly setups: readonly Setup[];
  readonly mapping: Mapping;
  readonly mapping_explanation: string;
  readonly path: PathName;
  readonly reasons: readonly string[];
  readonly blockers: readonly string[];
}

export interface Survey {
  readonly format: number;
  readonly tree: string;
  /** Where the API list and struct members came from. */
  readonly api_source: string;
  readonly directories: number;
  readonly files_read: number;
  /**
   * What the tree is, in the words of whoever assembled it: the `--source-note` file, else a
   * `SOURCES` file at the tree's root (which files, from which upstream commits), else null.
   */
  readonly sources: { readonly file: string; readonly text: string } | null;
  readonly drivers: readonly DriverSurvey[];
}

export interface SurveyOptions {
  /** Called as files are parsed: done and total over the drm_sched users. */
  readonly progress?: (done: number, total: number) => void;
  /** A file that says what the tree is; default: `SOURCES` at the tree's root, if there is one. */
  readonly source_note?: string;
  /** Who parses the files (worker threads, say); default: this thread, one after the other. */
  readonly parse?: ParseRunner;
}

/** The file at a tree's root that says what the tree is, read when no source note is given. */
export const SOURCES_FILE = 'SOURCES';

function read_sources(tree: string, note: string | undefined): Survey['sources'] {
  if (note !== undefined) {
    if (!existsSync(note) || !statSync(note).isFile()) throw new SurveyInputError(`--source-note ${note}: no such file`);
    return { file: note, text: readFileSync(note, 'utf8').trim() };
  }
  const at_root = join(tree, SOURCES_FILE);
  return existsSync(at_root) && statSync(at_root).isFile() ? { file: SOURCES_FILE, text: readFileSync(at_root, 'utf8').trim() } : null;
}

/** Text that marks a file as possibly relevant before it is parsed. */
const API_WORDS = /drm_sched|drm_gpu_sched|DRM_SCHED_|DRM_GPU_SCHED|gpu_scheduler\.h/;

interface Parsed { readonly rel: string; readonly variants: { readonly file: FileSource; readonly pp: Preprocessed }[]; readonly branch_split: boolean }

/** A file to parse, as plain data: a worker thread may do it. */
export interface ParseTask { readonly rel: string; readonly src: string }

/** A parsed file as plain data: per variant, the preprocessed text, its tree and what preprocessing recorded. */
export interface ParseOutput {
  readonly rel: string;
  readonly branch_split: boolean;
  readonly variants: readonly {
    readonly text: string;
    readonly tree: FlatTree;
    readonly loop_macros: readonly (readonly [number, string])[];
    readonly trace_events: readonly (readonly [number, string])[];
    readonly conditionals_with_alternatives: number;
  }[];
}

/** Runs parse tasks and gives the outputs in task order, calling `progress` with the count done. */
export type ParseRunner = (tasks: readonly ParseTask[], progress: (done: number) => void) => Promise<ParseOutput[]>;

/** Parse a file; when it does not parse whole and has #else/#elif, parse its first- and last-branch variants instead. */
function parse_flat(loaded: Loaded, rel: string, src: string): ParseOutput {
  const variant = (pp: Preprocessed, tree: FlatTree) => ({
    text: pp.text, tree, loop_macros: [...pp.loop_macros], trace_events: [...pp.trace_events], conditionals_with_alternatives: pp.conditionals_with_alternatives,
  });
  const pp = preprocess(src, 'all');
  const whole = variant(pp, parse_c_flat(loaded, pp.text));
  if (pp.conditionals_with_alternatives === 0) return { rel, variants: [whole], branch_split: false };
  const errors = error_nodes(whole.tree);
  if (errors === 0) return { rel, variants: [whole], branch_split: false };
  const variants = (['first', 'last'] as const).map((mode) => {
    const p = preprocess(src, mode);
    return variant(p, parse_c_flat(loaded, p.text));
  });
  return Math.max(...variants.map((v) => error_nodes(v.tree))) < errors ? { rel, variants, branch_split: true } : { rel, variants: [whole], branch_split: false };
}

/** The parse of one file, as a worker thread runs it (the parser is loaded once per thread). */
export async function parse_task(task: ParseTask): Promise<ParseOutput> {
  return parse_flat(await load_c_parser(), task.rel, task.src);
}

/** The default runner: every file in this thread, in order. */
export const parse_inline: ParseRunner = async (tasks, progress) => {
  const out: ParseOutput[] = [];
  for (const t of tasks) {
    out.push(await parse_task(t));
    progress(out.length);
  }
  return out;
};

function inflate_output(o: ParseOutput): Parsed {
  return {
    rel: o.rel, branch_split: o.branch_split,
    variants: o.variants.map((v) => ({
      file: { path: o.rel, text: v.text, root: inflate(v.tree, v.text) },
      pp: { text: v.text, loop_macros: new Map(v.loop_macros), trace_events: new Map(v.trace_events), conditionals_with_alternatives: v.conditionals_with_alternatives },
    })),
  };
}

export async function run_survey(tree: string, options: SurveyOptions = {}): Promise<Survey> {
  const dirs = driver_dirs(tree);
  const sources = read_sources(tree, options.source_note);
  const parse = options.parse ?? parse_inline;
  let files_read = 0;
  // Which drivers name the API at all (a plain text test on every file).
  const users: { dir: DriverDir; texts: Map<string, string> }[] = [];
  for (const dir of dirs) {
    const texts = new Map<string, string>();
    for (const f of dir.files) texts.set(f, read_tree_file(tree, f));
    files_read += dir.files.length;
    if ([...texts.values()].some((t) => API_WORDS.test(t))) users.push({ dir, texts });
  }
  const header_path = join(tree, SCHED_HEADER);
  const header = existsSync(header_path) ? inflate_output(await parse_task({ rel: SCHED_HEADER, src: read_tree_file(tree, SCHED_HEADER) })) : null;
  const api = api_from(header);
  const total = users.reduce((n, u) => n + u.texts.size, 0);
  let done = 0;
  const step = (k: number) => { done += k; options.progress?.(done, total); };
  // Two batches over all users, so that parsing threads stay busy: the headers (whose structs tell
  // which C files may touch scheduler fields), then those C files. Trees stay flat until their
  // driver is analysed, one driver at a time.
  const header_files = users.map((u) => u.dir.files.filter((f) => f.endsWith('.h')));
  const header_outputs = split(await parse_batch(parse, users.map((u, i) => ({ files: header_files[i], texts: u.texts })), step), header_files);
  const prepared: (Prepared | null)[] = users.map((u, i) => prepare_driver(u.dir, u.texts, header, header_outputs[i].splice(0), step));
  const wanted = prepared.map((p) => p!.wanted);
  const source_outputs = split(await parse_batch(parse, wanted.map((files, i) => ({ files, texts: users[i].texts })), step), wanted);
  const drivers: DriverSurvey[] = [];
  users.forEach((u, i) => {
    // A driver's trees are dropped once it is analysed (splice, null).
    const d = finish_driver(u.dir, u.texts, prepared[i]!, source_outputs[i].splice(0), api);
    prepared[i] = null;
    // A directory whose text mentions drm_sched (a comment, say) but whose code uses none of it is no user.
    if (d.symbols.length > 0 || d.fields.length > 0) drivers.push(d);
  });
  if (drivers.length === 0) throw new SurveyInputError(`${tree}: no drm_sched user under ${DRIVER_ROOTS.filter((r) => existsSync(join(tree, r))).join(', ')} (${files_read} C files read)`);
  return { format: SURVEY_FORMAT, tree, api_source: header !== null ? SCHED_HEADER : 'built-in table (include/drm/gpu_scheduler.h at v7.0-rc3)', directories: dirs.length, files_read, sources, drivers };
}

interface Api { readonly symbols: ReadonlyMap<string, SymbolKind>; readonly fields: ReadonlyMap<SchedStruct, ReadonlySet<string>> }

/** API symbols and struct members: from the tree's gpu_scheduler.h if it has one, else the built-in table. */
function api_from(header: Parsed | null): Api {
  if (header === null) {
    return {
      symbols: new Map(Object.entries(BUILTIN_SYMBOLS)),
      fields: new Map(SCHED_STRUCTS.map((s) => [s, new Set(Object.keys(BUILTIN_FIELDS[s]))])),
    };
  }
  const env = new TypeEnv();
  for (const v of header.variants) env.add_file(v.file, false);
  const symbols = new Map<string, SymbolKind>();
  for (const v of header.variants) {
    for (const n of descendants(v.file.root)) {
      if (n.type === 'function_declarator' && n.parent !== null) {
        const id = child(n, 'declarator');
        if (id?.type === 'identifier') symbols.set(text_of(v.file, id), 'function');
      } else if ((n.type === 'preproc_def' || n.type === 'preproc_function_def')) {
        const name = child(n, 'name');
        const t = name === null ? '' : text_of(v.file, name);
        if (t !== '' && !/^_DRM_GPU_SCHEDULER_H_?$/.test(t) && !t.startsWith('class_')) symbols.set(t, 'macro');
      } else if (n.type === 'enumerator') {
        const name = child(n, 'name');
        if (name !== null) symbols.set(text_of(v.file, name), 'constant');
      } else if ((n.type === 'struct_specifier' || n.type === 'enum_specifier') && child(n, 'body') !== null) {
        const name = child(n, 'name');
        if (name !== null) symbols.set(text_of(v.file, name), 'type');
      }
    }
  }
  const fields = new Map<SchedStruct, Set<string>>();
  for (const s of SCHED_STRUCTS) fields.set(s, new Set(env.structs.get(s)?.keys() ?? Object.keys(BUILTIN_FIELDS[s])));
  return { symbols, fields };
}

/** Driver structs with a member of one of the five scheduler types: files naming them may reach scheduler fields. */
function embedding_structs(env: TypeEnv): string[] {
  const out: string[] = [];
  for (const [tag, members] of env.structs) {
    if ((SCHED_STRUCTS as readonly string[]).includes(tag) || tag.startsWith('<anonymous@')) continue;
    for (const m of members.values()) if ((SCHED_STRUCTS as readonly string[]).includes(env.resolve(m).name)) { out.push(tag); break; }
  }
  return out;
}

/** Parse the files of several drivers through the runner in one batch, each file done a step of the survey's progress. */
async function parse_batch(parse: ParseRunner, groups: readonly { files: readonly string[]; texts: ReadonlyMap<string, string> }[], step: (files: number) => void): Promise<ParseOutput[]> {
  const tasks = groups.flatMap((g) => g.files.map((rel) => ({ rel, src: g.texts.get(rel)! })));
  if (tasks.length === 0) return [];
  let reported = 0;
  return parse(tasks, (done) => { step(done - reported); reported = done; });
}

/** The outputs of one batch back into groups of the given sizes. */
function split<T>(all: readonly T[], groups: readonly (readonly unknown[])[]): T[][] {
  let at = 0;
  return groups.map((g) => all.slice(at, (at += g.length)));
}

interface Prepared { readonly env: TypeEnv; readonly headers: readonly Parsed[]; readonly wanted: readonly string[] }

/** A driver's headers into its type environment, and the C files worth parsing. */
function prepare_driver(dir: DriverDir, texts: ReadonlyMap<string, string>, header: Parsed | null, header_outputs: readonly ParseOutput[], step: (files: number) => void): Prepared {
  const env = new TypeEnv();
  if (header !== null) for (const v of header.variants) env.add_file(v.file, false);
  for (const s of SCHED_STRUCTS) env.add_builtin_struct(s, BUILTIN_FIELDS[s]);
  const headers = header_outputs.map(inflate_output);
  for (const p of headers) for (const v of p.variants) env.add_file(v.file, true);
  const embedding = embedding_structs(env);
  const relevant = new RegExp(`${API_WORDS.source}|\\b(${[...Object.keys(DISTINCTIVE_FIELDS), ...embedding].map((s) => s.replace(/[^\w]/g, '')).join('|')})\\b`);
  const sources = dir.files.filter((f) => f.endsWith('.c'));
  const wanted = sources.filter((f) => relevant.test(texts.get(f)!));
  step(sources.length - wanted.length);
  return { env, headers, wanted };
}

function finish_driver(dir: DriverDir, texts: ReadonlyMap<string, string>, prepared: Prepared, source_outputs: readonly ParseOutput[], api: Api): DriverSurvey {
  const { env } = prepared;
  const parsed = [...prepared.headers];
  for (const p of source_outputs.map(inflate_output)) {
    parsed.push(p);
    for (const v of p.variants) env.add_file(v.file, true);
  }
  const ctx: AnalysisContext = { env, symbols: api.symbols, sched_fields: api.fields };
  const analysis_of = new Map<FileSource, FileAnalysis>();
  const facts: FileFacts[] = [];
  const parse_stats: { file: string; errors: number; missing: number; functions: Map<string, number> }[] = [];
  for (const p of parsed) {
    const per_variant = p.variants.map((v) => {
      const a = new FileAnalysis(v.file, v.pp, ctx);
      analysis_of.set(v.file, a);
      return a.run();
    });
    // Union of the variants: a site is the same site in both when its offset is.
    facts.push(merge_facts(per_variant));
    // Errors: those of the variant that parsed worse (a region neither parses counts once).
    const worst = per_variant.reduce((a, b) => (b.errors.total > a.errors.total ? b : a));
    parse_stats.push({ file: p.rel, errors: worst.errors.total, missing: worst.errors.missing, functions: worst.errors.by_function });
  }
  return summarise(dir, texts.size, parsed, parse_stats, facts, analysis_of);
}

function merge_facts(list: readonly FileFacts[]): FileFacts {
  if (list.length === 1) return list[0];
  const first = list[0];
  const uniq = <T extends { offset: number }>(xs: T[], key: (x: T) => string) => {
    const seen = new Set<string>();
    return xs.filter((x) => { const k = `${x.offset}|${key(x)}`; if (seen.has(k)) return false; seen.add(k); return true; });
  };
  const functions = new Map(first.functions);
  for (const f of list.slice(1)) for (const [k, v] of f.functions) if (!functions.has(k)) functions.set(k, v);
  return {
    file: first.file,
    symbols: uniq(list.flatMap((f) => f.symbols), (s) => s.symbol),
    fields: uniq(list.flatMap((f) => f.fields), (s) => `${s.struct}.${s.field}`),
    ops: uniq(list.flatMap((f) => f.ops), (o) => o.name),
    calls: uniq(list.flatMap((f) => f.calls), (c) => c.callee),
    functions,
    errors: first.errors,
  };
}

function site_key(s: Site): string { return `${s.file}:${String(s.line).padStart(7, '0')}`; }
function by_site<T extends { site: Site }>(a: T, b: T): number { const x = site_key(a.site), y = site_key(b.site); return x < y ? -1 : x > y ? 1 : 0; }

function summarise(dir: DriverDir, files_in_directory: number, parsed: readonly Parsed[], parse_stats: { file: string; errors: number; missing: number; functions: Map<string, number> }[],
  facts: readonly FileFacts[], analysis_of: Map<FileSource, FileAnalysis>): DriverSurvey {
  const calls = facts.flatMap((f) => f.calls);
  const functions = new Map<string, { file: FileSource; node: CNode }>();
  for (const f of facts) for (const [k, v] of f.functions) if (!functions.has(k)) functions.set(k, v);
  const inits = init_calls(calls, functions, analysis_of);
  const { setups, mapping, explanation } = entity_mapping(inits);
  const hardware = mapping === 'hardware-scheduled (N:1)';
  const symbols = symbol_summaries(facts.flatMap((f) => f.symbols), hardware);
  const fields = field_summaries(facts.flatMap((f) => f.fields));
  const ops = facts.flatMap((f) => f.ops).sort(by_site).map((o) => ops_summary(o, functions, analysis_of));
  const recovery = symbols.filter((s) => RECOVERY_HELPERS.has(s.symbol)).map((s) => s.symbol);
  const { path, reasons, blockers } = decide_path(symbols, fields, mapping, explanation);
  const files_with_errors = parse_stats.filter((p) => p.errors > 0).sort((a, b) => (a.file < b.file ? -1 : 1))
    .map((p) => ({ file: p.file, errors: p.errors, functions: Object.fromEntries([...p.functions].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))) }));
  return {
    driver: dir.name, dir: dir.dir,
    parse: {
      files_in_directory, files_parsed: parsed.length, files_by_branch: parsed.filter((p) => p.branch_split).map((p) => p.rel),
      error_nodes: parse_stats.reduce((n, p) => n + p.errors, 0), missing_nodes: parse_stats.reduce((n, p) => n + p.missing, 0), files_with_errors,
    },
    symbols, fields, ops, recovery, inits, setups, mapping, mapping_explanation: explanation, path, reasons, blockers,
  };
}

function symbol_summaries(sites: readonly SymbolSite[], hardware: boolean): SymbolSummary[] {
  const by = new Map<string, SymbolSite[]>();
  for (const s of sites) { const l = by.get(s.symbol) ?? []; l.push(s); by.set(s.symbol, l); }
  return [...by].sort(([a], [b]) => (a < b ? -1 : 1)).map(([symbol, list]) => {
    const f = symbol_fate(symbol, hardware);
    return { symbol, kind: list[0].kind, count: list.length, sites: list.sort(by_site).map((s) => s.site), fate: f.fate, dep: f.dep, note: f.note };
  });
}

function field_summaries(sites: readonly FieldSite[]): FieldSummary[] {
  const by = new Map<string, FieldSite[]>();
  for (const s of sites) { const k = `${s.struct}.${s.field}`; const l = by.get(k) ?? []; l.push(s); by.set(k, l); }
  return [...by].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, list]) => {
    const { struct, field } = list[0];
    const eq = field_equivalent(struct, field);
    const inferred: Partial<Record<Inference, number>> = {};
    for (const s of list) inferred[s.inferred] = (inferred[s.inferred] ?? 0) + 1;
    return {
      struct, field, count: list.length, reads: list.filter((s) => s.access === 'read').length, writes: list.filter((s) => s.access === 'write').length,
      addresses: list.filter((s) => s.access === 'address').length, inferred,
      via: [...new Set(list.map((s) => s.via).filter((v): v is string => v !== null))].sort(),
      sites: list.sort(by_site).map((s) => ({ ...s.site, access: s.access, text: s.text, inferred: s.inferred })),
      fate: eq.fate, dep: eq.dep, note: eq.note,
    };
  });
}

/** The values a function returns on its paths: constants, variables assigned constants, calls of driver functions (two levels). */
function return_values(fn: { file: FileSource; node: CNode }, functions: ReadonlyMap<string, { file: FileSource; node: CNode }>,
  analysis_of: ReadonlyMap<FileSource, FileAnalysis>, depth: number): { value: string; site: Site }[] {
  const out: { value: string; site: Site }[] = [];
  const a = analysis_of.get(fn.file);
  const site = (n: CNode): Site => a?.site(n) ?? { file: fn.file.path, line: n.row + 1, function: '?' };
  const body = child(fn.node, 'body');
  if (body === null) return out;
  const constants_of = (var_name: string): { value: string; node: CNode }[] => {
    const found: { value: string; node: CNode }[] = [];
    for (const n of descendants(body)) {
      let target: CNode | null = null, value: CNode | null = null;
      if (n.type === 'assignment_expression') { target = child(n, 'left'); value = child(n, 'right'); }
      else if (n.type === 'init_declarator') { target = child(n, 'declarator'); value = child(n, 'value'); }
      if (target?.type === 'identifier' && text_of(fn.file, target) === var_name && value !== null) found.push({ value: text_of(fn.file, value).replace(/\s+/g, ' '), node: value });
    }
    return found;
  };
  const resolve = (expr: CNode, at: CNode) => {
    const t = text_of(fn.file, expr).replace(/\s+/g, ' ');
    if (expr.type === 'identifier' && /^DRM_GPU_SCHED_STAT_/.test(t)) { out.push({ value: t, site: site(at) }); return; }
    if (expr.type === 'identifier') {
      const assigned = constants_of(t);
      if (assigned.length > 0) { for (const x of assigned) out.push({ value: x.value, site: site(x.node) }); return; }
    }
    if (expr.type === 'conditional_expression') {
      for (const side of [child(expr, 'consequence'), child(expr, 'alternative')]) if (side !== null) resolve(side, at);
      return;
    }
    if (expr.type === 'call_expression' && depth < 2) {
      const callee = child(expr, 'function');
      const target = callee?.type === 'identifier' ? functions.get(text_of(fn.file, callee)) : undefined;
      if (target !== undefined) { out.push(...return_values(target, functions, analysis_of, depth + 1)); return; }
    }
    out.push({ value: t, site: site(at) });
  };
  for (const n of descendants(body)) {
    if (n.type !== 'return_statement') continue;
    const e = named_children(n)[0];
    if (e !== undefined) resolve(e.type === 'parenthesized_expression' ? named_children(e)[0] ?? e : e, n);
  }
  return out;
}

function ops_summary(o: OpsTable, functions: ReadonlyMap<string, { file: FileSource; node: CNode }>, analysis_of: ReadonlyMap<FileSource, FileAnalysis>): OpsSummary {
  const tj = o.ops.timedout_job;
  let timedout_returns: { value: string; site: Site }[] | null = null;
  if (tj !== undefined) {
    const fn = functions.get(tj.replace(/^&/, ''));
    timedout_returns = fn === undefined ? [{ value: `(${tj} not defined in this driver)`, site: o.site }] : return_values(fn, functions, analysis_of, 0);
    timedout_returns.sort(by_site);
  }
  return { name: o.name, site: o.site, ops: o.ops, timedout_returns };
}

const STRIP = new Set(['parenthesized_expression', 'pointer_expression', 'cast_expression']);

/** The object an init call's first argument lives in, following locals, parameters (through the driver's callers) and wrappers. */
function owners_of(expr: CNode, call: CallSite, calls_by_callee: ReadonlyMap<string, CallSite[]>, analysis_of: ReadonlyMap<FileSource, FileAnalysis>,
  chain: readonly string[], depth: number): Owner[] {
  const a = analysis_of.get(call.file);
  const site = a?.site(call.node) ?? { file: call.file.path, line: call.node.row + 1, function: '?' };
  let e: CNode = expr;
  while (STRIP.has(e.type)) e = e.type === 'cast_expression' ? child(e, 'value') ?? e : named_children(e)[e.type === 'pointer_expression' ? 0 : 0] ?? e;
  const whole_is_identifier = e.type === 'identifier';
  let root: CNode = e;
  for (;;) {
    if (root.type === 'field_expression' || root.type === 'subscript_expression') root = child(root, 'argument') ?? root;
    else if (STRIP.has(root.type)) root = root.type === 'cast_expression' ? child(root, 'value') ?? root : named_children(root)[0] ?? root;
    else break;
    if (root === null) break;
  }
  if (root.type !== 'identifier' || a === undefined) return [{ type: null, site, chain, resolved: false }];
  const name = text_of(call.file, root);
  const scope = call.scope;
  const param_index = scope === null ? -1 : scope.params.findIndex((p) => p.name === name);
  const local = local_at(scope, name, root.start);
  if (local === undefined && param_index >= 0 && depth < 3 && scope !== null) {
    const callers = calls_by_callee.get(scope.name) ?? [];
    const out = callers.flatMap((c) => {
      const arg = named_children(child(c.node, 'arguments') ?? c.node)[param_index];
      return arg === undefined ? [] : owners_of(arg, c, calls_by_callee, analysis_of, [...chain, scope.name], depth + 1);
    });
    if (out.length > 0) return out;
    // No caller in the tree: `&param->member` still names its container; a bare parameter (the
    // scheduler or entity pointer itself) does not.
    const t = a.type_of(root, scope);
    return [{ type: t === null ? null : t.t.name, site, chain, resolved: t !== null && !whole_is_identifier }];
  }
  if (whole_is_identifier && local !== undefined && depth < 3 && scope !== null) {
    // A local pointer to the scheduler or entity: what its initialiser or last assignment before the call points into.
    let source = local.init;
    for (const n of descendants(scope.node)) {
      if (n.start >= call.node.start) break;
      const left = n.type === 'assignment_expression' ? child(n, 'left') : null;
      if (left?.type === 'identifier' && text_of(call.file, left) === name) source = child(n, 'right');
    }
    if (source !== null) return owners_of(source, call, calls_by_callee, analysis_of, chain, depth + 1);
  }
  const t = a.type_of(root, scope);
  return [{ type: t === null ? null : t.t.name, site, chain, resolved: t !== null }];
}

function init_calls(calls: readonly CallSite[], functions: ReadonlyMap<string, unknown>, analysis_of: ReadonlyMap<FileSource, FileAnalysis>): InitCall[] {
  const by_callee = new Map<string, CallSite[]>();
  for (const c of calls) if (functions.has(c.callee)) { const l = by_callee.get(c.callee) ?? []; l.push(c); by_callee.set(c.callee, l); }
  const out: InitCall[] = [];
  for (const c of calls) {
    if (c.callee !== 'drm_sched_init' && c.callee !== 'drm_sched_entity_init') continue;
    const a = analysis_of.get(c.file)!;
    const args = named_children(child(c.node, 'arguments') ?? c.node);
    const t = (n: CNode | undefined) => (n === undefined ? '' : text_of(c.file, n).replace(/\s+/g, ' '));
    const record: Record<string, string> = {};
    if (c.callee === 'drm_sched_entity_init') {
      record.priority = t(args[1]); record.sched_list = t(args[2]); record.num_sched_list = t(args[3]);
    } else if (args.length > 2) {
      // The positional drm_sched_init of kernels before drm_sched_init_args.
      record.ops = t(args[1]);
    } else {
      Object.assign(record, init_args(args[1], c));
    }
    out.push({
      call: c.callee, site: a.site(c.node), in_loop: a.in_loop(c.node),
      owners: args[0] === undefined ? [] : owners_of(args[0], c, by_callee, analysis_of, [], 0), args: record,
    });
  }
  return out.sort(by_site);
}

/** The designated initialisers of drm_sched_init's `&args` (a local struct or a compound literal). */
function init_args(arg: CNode | undefined, c: CallSite): Record<string, string> {
  if (arg === undefined) return {};
  let list: CNode | null = null;
  let e: CNode = arg;
  while (STRIP.has(e.type) && e.type !== 'cast_expression') e = named_children(e)[0] ?? e;
  if (e.type === 'compound_literal_expression') list = child(e, 'value');
  else if (e.type === 'identifier') {
    const d = local_at(c.scope, text_of(c.file, e), e.start);
    list = d?.init ?? null;
  }
  return list === null || list.type !== 'initializer_list' ? {} : designated_initialisers(c.file, list);
}

function fmt_site(s: Site): string { return `${s.file}:${s.line} (${s.function})`; }

function entity_mapping(inits: readonly InitCall[]): { setups: Setup[]; mapping: Mapping; explanation: string } {
  const scheds = inits.filter((i) => i.call === 'drm_sched_init');
  const entities = inits.filter((i) => i.call === 'drm_sched_entity_init');
  const sched_types = new Map<string, InitCall[]>();
  for (const s of scheds) for (const o of s.owners) if (o.type !== null && o.resolved) { const l = sched_types.get(o.type) ?? []; if (!l.includes(s)) l.push(s); sched_types.set(o.type, l); }
  const setups: Setup[] = [];
  for (const e of entities) {
    for (const o of e.owners) {
      const pair = o.type === null ? undefined : sched_types.get(o.type);
      const list = `sched_list \`${e.args.sched_list}\`, num_sched_list \`${e.args.num_sched_list}\``;
      const chain = o.chain.length > 0 ? ` (through ${o.chain.join(' <- ')})` : '';
      if (!o.resolved) {
        setups.push({ relation: 'unresolved', entity_owner: o.type, entity_site: o.site, scheduler_owners: [],
          why: `the entity comes in through ${o.chain.length > 0 ? `a parameter of ${o.chain[o.chain.length - 1]}, whose callers are not in the tree` : 'an expression whose object was not inferred'} (${fmt_site(o.site)}); ${list}` });
        continue;
      }
      if (pair !== undefined) {
        setups.push({ relation: '1:1', entity_owner: o.type, entity_site: o.site, scheduler_owners: [o.type!],
          why: `struct ${o.type} holds both its scheduler (${pair.map((p) => fmt_site(p.site)).join(', ')}) and its entity (${fmt_site(o.site)}${chain}); ${list}` });
      } else {
        const others = [...sched_types.keys()].sort();
        const looped = scheds.filter((s) => s.in_loop).map((s) => fmt_site(s.site));
        setups.push({ relation: 'N:1', entity_owner: o.type, entity_site: o.site, scheduler_owners: others,
          why: `the entity lives in ${o.type === null ? 'an object whose type was not inferred' : `struct ${o.type}`} (${fmt_site(o.site)}${chain}), ` +
            `the schedulers in ${others.length === 0 ? 'objects whose type was not inferred' : others.map((t) => `struct ${t}`).join(', ')}` +
            `${looped.length > 0 ? ` (created in a loop: ${looped.join(', ')})` : ''}; ${list}` });
      }
    }
  }
  const n1 = setups.filter((s) => s.relation === 'N:1');
  const one = setups.filter((s) => s.relation === '1:1');
  const unresolved = setups.filter((s) => s.relation === 'unresolved').length;
  const also = unresolved > 0 ? `; ${unresolved} entity init(s) not followed to their object (wrappers whose callers are not in the tree)` : '';
  if (n1.length === 0 && one.length === 0) {
    if (setups.length > 0) return { setups, mapping: 'unknown', explanation: `no entity init followed to its object${also}` };
    return { setups, mapping: 'unknown', explanation: scheds.length === 0 ? 'no drm_sched_init or drm_sched_entity_init call found' : `${scheds.length} drm_sched_init call(s) but no drm_sched_entity_init` };
  }
  const types = (l: Setup[]) => [...new Set(l.map((s) => s.entity_owner ?? '?'))].sort().map((t) => `struct ${t}`).join(', ');
  if (n1.length === 0) {
    return { setups, mapping: 'firmware-scheduled (1:1)', explanation: `every entity is created beside its own scheduler in the same object (${types(one)}): one entity per scheduler, the firmware arbitrates between them${also}` };
  }
  return { setups, mapping: 'hardware-scheduled (N:1)', explanation: `entities in ${types(n1)} are created apart from the schedulers they feed and share them (several entities per scheduler, the scheduler arbitrates)` +
    (one.length > 0 ? `; ${one.length} other set-up(s) are 1:1 (${types(one)})` : '') + also };
}

function decide_path(symbols: readonly SymbolSummary[], fields: readonly FieldSummary[], mapping: Mapping, explanation: string): { path: PathName; reasons: string[]; blockers: string[] } {
  const hardware = mapping === 'hardware-scheduled (N:1)';
  const blockers: string[] = [];
  for (const s of symbols) if (s.fate === 'none' || (s.fate === 'hw' && !hardware)) blockers.push(`\`${s.symbol}\` (${s.count}): ${s.fate === 'hw' ? 'needs the HW-queue layer, but the driver is not hardware-scheduled' : s.note}`);
  for (const f of fields) {
    if (f.fate === 'none' || (f.fate === 'hw' && !hardware)) blockers.push(`\`${f.struct}.${f.field}\` (${f.count} access${f.count > 1 ? 'es' : ''}): ${f.note}`);
  }
  if (mapping === 'unknown') blockers.push(`entity-to-scheduler mapping not inferred: ${explanation}`);
  const reasons: string[] = [`${mapping}: ${explanation}`];
  const eq = symbols.filter((s) => s.fate === 'equivalent').length;
  const driver_side = symbols.filter((s) => s.fate === 'driver').map((s) => `\`${s.symbol}\``);
  const hw_symbols = symbols.filter((s) => s.fate === 'hw').map((s) => `\`${s.symbol}\``);
  reasons.push(`${symbols.length} drm_sched symbols: ${eq} with a drm_dep equivalent${driver_side.length > 0 ? `, ${driver_side.length} replaced by driver code (${driver_side.join(', ')})` : ''}` +
    `${hw_symbols.length > 0 && hardware ? `, ${hw_symbols.length} for the HW-queue layer (${hw_symbols.join(', ')})` : ''}`);
  const accesses = fields.reduce((n, f) => n + f.count, 0);
  const by_fate = (fate: FieldFate) => fields.filter((f) => f.fate === fate).map((f) => `\`${f.field}\``);
  reasons.push(`${accesses} scheduler-structure field accesses over ${fields.length} fields: ${by_fate('accessor').length} through a drm_dep accessor, ` +
    `${by_fate('driver').length} replaced by driver state${hardware ? `, ${by_fate('hw').length} for the HW-queue layer` : ''}`);
  const path: PathName = blockers.length > 0 ? 'blocked' : hardware ? 'drm_dep + HW-queue layer' : 'drm_dep';
  return { path, reasons, blockers };
}

export { SurveyInputError };
export type { Site, TypeRef };
