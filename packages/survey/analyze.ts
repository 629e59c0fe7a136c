/**
 * What one parsed driver file does with drm_sched: API symbols it names, fields of the five
 * scheduler structures it reads or writes (typed by inference, ctypes.ts), backend ops tables,
 * scheduler and entity init calls, and the facts the driver-level pass needs later (function
 * definitions, calls, per-function scopes).
 *
 * Type inference, in the order tried for the object of `x->f` / `x.f`:
 *   declaration   x is a local, a parameter or a global declared with a type;
 *   cast          `(struct T *)e`;
 *   container_of  container_of / list_*entry with a type argument, or a driver macro that is one;
 *   return type   a call of a function whose prototype or definition the driver has (or a
 *                 drm_sched function with a pointer result);
 *   member        the member's type in a struct the driver (or gpu_scheduler.h) defines;
 *   name          the object could not be typed, but the field name is distinctive to one of the
 *                 five structures and no struct of the driver has a member of that name.
 * Limits: no typeof, no _Generic, no flow typing of `void *`, macros other than the above are
 * opaque (field accesses inside #define bodies are not seen), and an access through an untyped
 * object with a common field name (`->sched`, `->name`) is not counted.
 */
import { ancestor, child, descendants, named_children, type CNode } from './cparse.ts';
import { designated_initialisers, function_info, text_of, type_name, unwrap_declarator, type FileSource, type TypeEnv, type TypeRef } from './ctypes.ts';
import { API_RETURNS, DISTINCTIVE_FIELDS, SCHED_STRUCTS, type SchedStruct, type SymbolKind } from './api.ts';
import type { Preprocessed } from './preprocess.ts';

export interface Site { readonly file: string; readonly line: number; readonly function: string }

export type Inference = 'declaration' | 'cast' | 'container_of' | 'return type' | 'member' | 'name';
interface Typed { readonly t: TypeRef; readonly how: Inference }

export interface SymbolSite { readonly symbol: string; readonly kind: SymbolKind; readonly site: Site; readonly offset: number; readonly in_macro: boolean }
export interface FieldSite {
  readonly struct: SchedStruct;
  readonly field: string;
  readonly access: 'read' | 'write' | 'address';
  readonly site: Site;
  readonly offset: number;
  readonly text: string;
  readonly inferred: Inference;
  /** The loop macro whose arguments hold the access (a pending_list walk), or null. */
  readonly via: string | null;
}
export interface OpsTable { readonly name: string; readonly site: Site; readonly offset: number; readonly ops: Readonly<Record<string, string>> }

/** A function body (or an unparsed region that holds one) with its declarations. */
export interface Scope {
  readonly name: string;
  readonly node: CNode;
  readonly params: readonly { readonly name: string; readonly type: TypeRef | null }[];
  /** Locals, each visible from its declarator to the end of its block (`until`). */
  readonly decls: readonly Decl[];
}

export interface Decl { readonly name: string; readonly type: TypeRef | null; readonly start: number; readonly until: number; readonly init: CNode | null }

/** The local named `name` that is in scope at offset `at` (the innermost, last declared), if any. */
export function local_at(scope: Scope | null, name: string, at: number): Decl | undefined {
  let found: Decl | undefined;
  for (const d of scope?.decls ?? []) if (d.name === name && d.start <= at && at < d.until) found = d;
  return found;
}

export interface CallSite { readonly callee: string; readonly node: CNode; readonly file: FileSource; readonly scope: Scope | null; readonly offset: number }

export interface FileFacts {
  readonly file: FileSource;
  readonly symbols: SymbolSite[];
  readonly fields: FieldSite[];
  readonly ops: OpsTable[];
  readonly calls: CallSite[];
  readonly functions: Map<string, { file: FileSource; node: CNode; scope: Scope }>;
  readonly errors: { total: number; missing: number; readonly by_function: Map<string, number> };
}

export interface AnalysisContext {
  readonly env: TypeEnv;
  readonly symbols: ReadonlyMap<string, SymbolKind>;
  readonly sched_fields: ReadonlyMap<SchedStruct, ReadonlySet<string>>;
}

const CONTAINER_MACROS = new Set([
  'container_of', 'container_of_const', 'list_entry', 'list_first_entry', 'list_last_entry', 'list_first_entry_or_null',
  'list_last_entry_or_null', 'hlist_entry', 'rb_entry', 'llist_entry', 'list_entry_rcu', 'list_first_or_null_rcu', 'hlist_entry_safe',
]);
const SAME_TYPE_MACROS = new Set(['list_next_entry', 'list_prev_entry', 'READ_ONCE', 'rcu_dereference', 'rcu_dereference_protected',
  'rcu_dereference_check', 'rcu_access_pointer', 'rcu_dereference_raw', 'smp_load_acquire']);

function line_of(node: CNode): number { return node.row + 1; }

export class FileAnalysis {
  private readonly scopes: Scope[] = [];

  constructor(private readonly file: FileSource, private readonly pp: Preprocessed, private readonly ctx: AnalysisContext) {
    this.collect_scopes();
  }

  private collect_scopes(): void {
    const root = this.file.root;
    for (const n of descendants(root)) {
      if (n.type === 'function_definition') this.scopes.push(this.scope_of_function(n));
      else if (n.type === 'ERROR' && n.parent === root) {
        // An unparsed region: its first function declarator names it and gives the parameters.
        const fd = [...descendants(n)].find((d) => d.type === 'function_declarator');
        const name_node = fd === undefined ? null : child(fd, 'declarator');
        const params = fd === undefined ? [] : this.params_of(fd);
        this.scopes.push({ name: name_node?.type === 'identifier' ? text_of(this.file, name_node) : '(unparsed)', node: n, params, decls: this.decls_in(n) });
      }
    }
  }

  private params_of(fd: CNode): Scope['params'] {
    const out: { name: string; type: TypeRef | null }[] = [];
    for (const p of child(fd, 'parameters')?.children ?? []) {
      if (p.type !== 'parameter_declaration') continue;
      const base = type_name(this.file, child(p, 'type'));
      const u = unwrap_declarator(this.file, child(p, 'declarator'));
      if (u !== null) out.push({ name: u.name, type: base === null ? null : { name: base, ptr: u.ptr } });
    }
    return out;
  }

  private decls_in(body: CNode): Scope['decls'] {
    const out: Decl[] = [];
    for (const d of descendants(body)) {
      if (d.type !== 'declaration') continue;
      const base = type_name(this.file, child(d, 'type'));
      // A declaration is seen to the end of its block (or of the for statement it opens).
      const until = (d.parent?.type === 'for_statement' ? d.parent : ancestor(d, ['compound_statement']) ?? body).end;
      for (const decl of d.children.filter((c) => c.field === 'declarator')) {
        const u = unwrap_declarator(this.file, decl);
        if (u === null) continue;
        out.push({ name: u.name, type: base === null ? null : { name: base, ptr: u.ptr }, start: decl.start, until, init: decl.type === 'init_declarator' ? child(decl, 'value') : null });
      }
    }
    return out;
  }

  private scope_of_function(n: CNode): Scope {
    const info = function_info(this.file, n);
    const trace = this.pp.trace_events.get(n.start);
    const name = trace !== undefined ? `trace event ${trace}` : info?.name ?? '(anonymous)';
    const body = child(n, 'body');
    return { name, node: n, params: info?.info.params ?? [], decls: body === null ? [] : this.decls_in(body) };
  }

  scope_at(node: CNode): Scope | null {
    let best: Scope | null = null;
    for (const s of this.scopes) if (s.node.start <= node.start && node.end <= s.node.end && (best === null || s.node.start >= best.node.start)) best = s;
    return best;
  }

  site(node: CNode): Site {
    return { file: this.file.path, line: line_of(node), function: this.scope_at(node)?.name ?? '(file scope)' };
  }

  /** The type of a local, parameter or global named `name` as seen at `at`. */
  lookup(name: string, scope: Scope | null, at: number): TypeRef | null {
    if (scope !== null) {
      const local = local_at(scope, name, at);
      if (local !== undefined) return local.type;
      const p = scope.params.find((x) => x.name === name);
      if (p !== undefined) return p.type;
    }
    return this.ctx.env.globals.get(name) ?? null;
  }

  /** The C type of an expression, and how it was found; null when inference fails. */
  type_of(node: CNode | null, scope: Scope | null, depth = 0): Typed | null {
    if (node === null || depth > 16) return null;
    const env = this.ctx.env;
    switch (node.type) {
      case 'identifier': {
        const t = this.lookup(text_of(this.file, node), scope, node.start);
        return t === null ? null : { t: env.resolve(t), how: 'declaration' };
      }
      case 'parenthesized_expression': return this.type_of(named_children(node)[0] ?? null, scope, depth + 1);
      case 'comma_expression': return this.type_of(child(node, 'right'), scope, depth + 1);
      case 'assignment_expression': return this.type_of(child(node, 'left'), scope, depth + 1);
      case 'conditional_expression': return this.type_of(child(node, 'consequence'), scope, depth + 1) ?? this.type_of(child(node, 'alternative'), scope, depth + 1);
      case 'pointer_expression': {
        const inner = this.type_of(child(node, 'argument'), scope, depth + 1);
        if (inner === null) return null;
        const op = node.children[0] !== undefined ? text_of(this.file, node.children[0]) : '*';
        return { t: { name: inner.t.name, ptr: inner.t.ptr + (op === '&' ? 1 : -1) }, how: inner.how };
      }
      case 'subscript_expression': {
        const inner = this.type_of(child(node, 'argument'), scope, depth + 1);
        return inner === null ? null : { t: { name: inner.t.name, ptr: inner.t.ptr - 1 }, how: inner.how };
      }
      case 'cast_expression': {
        const td = child(node, 'type');
        const base = type_name(this.file, td === null ? null : child(td, 'type'));
        if (base === null || td === null) return null;
        let ptr = 0;
        for (let d = child(td, 'declarator'); d !== null && d.type === 'abstract_pointer_declarator'; d = child(d, 'declarator')) ptr++;
        return { t: env.resolve({ name: base, ptr }), how: 'cast' };
      }
      case 'field_expression': {
        const r = this.member_of(node, scope, depth);
        return r === null ? null : { t: env.resolve(r.member), how: r.how };
      }
      case 'call_expression': return this.type_of_call(node, scope, depth);
      default: return null;
    }
  }

  private type_of_call(node: CNode, scope: Scope | null, depth: number): Typed | null {
    const env = this.ctx.env;
    const fn = child(node, 'function');
    if (fn === null || fn.type !== 'identifier') return null;
    const name = text_of(this.file, fn);
    const args = named_children(child(node, 'arguments') ?? node).filter((a) => a.type !== 'comment');
    if (CONTAINER_MACROS.has(name) && args[1] !== undefined) {
      const t = args[1].type === 'identifier' || args[1].type === 'type_descriptor' ? (args[1].type === 'identifier' ? text_of(this.file, args[1]) : type_name(this.file, args[1])) : null;
      return t === null ? null : { t: env.resolve({ name: t, ptr: 1 }), how: 'container_of' };
    }
    if (SAME_TYPE_MACROS.has(name)) return this.type_of(args[0] ?? null, scope, depth + 1);
    const api = API_RETURNS[name];
    if (api !== undefined) return { t: env.resolve({ name: api.type, ptr: api.ptr }), how: 'return type' };
    const macro = env.container_macros.get(name);
    if (macro !== undefined) return { t: env.resolve(macro), how: 'container_of' };
    const f = env.functions.get(name);
    if (f !== undefined && f.returns !== null) return { t: env.resolve(f.returns), how: 'return type' };
    return null;
  }

  /** The struct and member type of `x->f` / `x.f`, or null. */
  member_of(node: CNode, scope: Scope | null, depth: number): { struct: string; field: string; member: TypeRef; how: Inference } | null {
    const field = child(node, 'field');
    if (field === null) return null;
    const name = text_of(this.file, field);
    const obj = this.type_of(child(node, 'argument'), scope, depth + 1);
    const env = this.ctx.env;
    if (obj !== null) {
      const t = env.resolve(obj.t);
      const m = env.member(t.name, name);
      if (m !== null) return { struct: t.name, field: name, member: m, how: obj.how === 'declaration' && depth > 0 ? 'member' : obj.how };
    }
    const fallback = DISTINCTIVE_FIELDS[name];
    if (fallback !== undefined && !env.driver_member_names.has(name)) {
      const m = env.member(fallback, name);
      if (m !== null) return { struct: fallback, field: name, member: m, how: 'name' };
    }
    return null;
  }

  private access_kind(node: CNode): FieldSite['access'] {
    const p = node.parent;
    if (p === null) return 'read';
    if (p.type === 'assignment_expression' && child(p, 'left') === node) return 'write';
    if (p.type === 'update_expression') return 'write';
    if (p.type === 'pointer_expression' && p.children[0] !== undefined && text_of(this.file, p.children[0]) === '&') return 'address';
    return 'read';
  }

  private via(node: CNode): string | null {
    for (let n = node.parent; n !== null; n = n.parent) {
      if (n.type === 'while_statement') {
        const cond = child(n, 'condition');
        const name = this.pp.loop_macros.get(n.start);
        if (name !== undefined && cond !== null && cond.start <= node.start && node.end <= cond.end) return name;
      }
      if (n.type === 'compound_statement') return null;
    }
    return null;
  }

  run(): FileFacts {
    const facts: FileFacts = {
      file: this.file, symbols: [], fields: [], ops: [], calls: [], functions: new Map(),
      errors: { total: 0, missing: 0, by_function: new Map() },
    };
    for (const s of this.scopes) if (s.node.type === 'function_definition' && !s.name.startsWith('trace event ')) facts.functions.set(s.name, { file: this.file, node: s.node, scope: s });
    for (const n of descendants(this.file.root)) {
      if (n.type === 'ERROR' || n.missing) {
        facts.errors.total++;
        if (n.missing) facts.errors.missing++;
        const fn = this.scope_at(n)?.name ?? '(file scope)';
        facts.errors.by_function.set(fn, (facts.errors.by_function.get(fn) ?? 0) + 1);
        continue;
      }
      switch (n.type) {
        case 'identifier': case 'type_identifier': this.symbol(n, facts); break;
        case 'while': {
          const name = this.pp.loop_macros.get(n.start);
          const kind = name === undefined ? undefined : this.ctx.symbols.get(name);
          if (name !== undefined && kind !== undefined) facts.symbols.push({ symbol: name, kind, site: this.site(n), offset: n.start, in_macro: false });
          break;
        }
        case 'preproc_arg': this.macro_body(n, facts); break;
        case 'field_expression': this.field(n, facts); break;
        case 'declaration': this.ops_table(n, facts); break;
        case 'call_expression': {
          const fn = child(n, 'function');
          if (fn !== null && fn.type === 'identifier') facts.calls.push({ callee: text_of(this.file, fn), node: n, file: this.file, scope: this.scope_at(n), offset: n.start });
          break;
        }
      }
    }
    return facts;
  }

  private symbol(n: CNode, facts: FileFacts): void {
    const name = text_of(this.file, n);
    const kind = this.ctx.symbols.get(name);
    if (kind === undefined) return;
    facts.symbols.push({ symbol: name, kind, site: this.site(n), offset: n.start, in_macro: false });
  }

  /** API names inside a #define body (the grammar keeps it as text). */
  private macro_body(n: CNode, facts: FileFacts): void {
    const text = text_of(this.file, n);
    for (const m of text.matchAll(/[A-Za-z_]\w*/g)) {
      const kind = this.ctx.symbols.get(m[0]);
      if (kind === undefined) continue;
      const offset = n.start + m.index!;
      const line = line_of(n) + (text.slice(0, m.index).match(/\n/g)?.length ?? 0);
      const def = n.parent === null ? null : child(n.parent, 'name');
      facts.symbols.push({ symbol: m[0], kind, site: { file: this.file.path, line, function: def === null ? '(macro)' : `#define ${text_of(this.file, def)}` }, offset, in_macro: true });
    }
  }

  private field(n: CNode, facts: FileFacts): void {
    const r = this.member_of(n, this.scope_at(n), 0);
    if (r === null || !(SCHED_STRUCTS as readonly string[]).includes(r.struct)) return;
    const struct = r.struct as SchedStruct;
    if (!this.ctx.sched_fields.get(struct)?.has(r.field)) return;
    facts.fields.push({
      struct, field: r.field, access: this.access_kind(n), site: this.site(n), offset: n.start,
      text: text_of(this.file, n).replace(/\s+/g, ' ').slice(0, 100), inferred: r.how, via: this.via(n),
    });
  }

  private ops_table(n: CNode, facts: FileFacts): void {
    const t = type_name(this.file, child(n, 'type'));
    if (t === null || this.ctx.env.resolve({ name: t, ptr: 0 }).name !== 'drm_sched_backend_ops') return;
    for (const d of n.children.filter((c) => c.field === 'declarator' && c.type === 'init_declarator')) {
      const value = child(d, 'value');
      const u = unwrap_declarator(this.file, d);
      if (value === null || value.type !== 'initializer_list' || u === null) continue;
      facts.ops.push({ name: u.name, site: this.site(d), offset: d.start, ops: designated_initialisers(this.file, value) });
    }
  }

  /** Whether a node sits inside a loop of its function (a for/while/do, loop macros included). */
  in_loop(node: CNode): boolean {
    const loop = ancestor(node, ['for_statement', 'while_statement', 'do_statement', 'function_definition']);
    return loop !== null && loop.type !== 'function_definition';
  }
}
