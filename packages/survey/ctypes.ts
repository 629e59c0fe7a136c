/**
 * A C type environment for one driver, built from its parsed files (and gpu_scheduler.h or the
 * built-in drm_sched structures): struct and union members, typedefs, object-like macros that
 * rename a type (`#define xe_sched_entity drm_sched_entity`), function return types, function
 * parameters, `container_of` macros (`#define to_foo(x) container_of(x, struct foo, base)`) and
 * global variables. Types are a base name and a pointer depth; qualifiers, arrays (one level of
 * indirection) and function pointers are simplified away.
 */
import { child, named_children, type CNode } from './cparse.ts';
import type { FieldType } from './api.ts';

export interface TypeRef { readonly name: string; readonly ptr: number }

export interface FileSource { readonly path: string; readonly text: string; readonly root: CNode }

export function text_of(file: FileSource, node: CNode): string {
  return file.text.slice(node.start, node.end);
}

/** The base type name a type node denotes (struct tag, typedef or primitive), or null. */
export function type_name(file: FileSource, node: CNode | null): string | null {
  if (node === null) return null;
  switch (node.type) {
    case 'struct_specifier': case 'union_specifier': case 'enum_specifier': {
      const name = child(node, 'name');
      return name === null ? `<anonymous@${file.path}:${node.start}>` : text_of(file, name);
    }
    case 'type_identifier': case 'primitive_type': case 'sized_type_specifier':
      return text_of(file, node).replace(/\s+/g, ' ');
    case 'type_descriptor': return type_name(file, child(node, 'type'));
    default: return null;
  }
}

/** A declarator's name and the pointer depth it adds (arrays count as one). */
export function unwrap_declarator(file: FileSource, node: CNode | null): { name: string; ptr: number; function: boolean } | null {
  let ptr = 0, fn = false;
  for (let n = node; n !== null;) {
    switch (n.type) {
      case 'identifier': case 'field_identifier': case 'type_identifier':
        return { name: text_of(file, n), ptr, function: fn };
      case 'pointer_declarator': case 'abstract_pointer_declarator': ptr++; n = child(n, 'declarator'); break;
      case 'array_declarator': ptr++; n = child(n, 'declarator'); break;
      case 'init_declarator': n = child(n, 'declarator'); break;
      case 'function_declarator': fn = true; n = child(n, 'declarator'); break;
      case 'parenthesized_declarator': n = named_children(n)[0] ?? null; break;
      case 'attributed_declarator': n = named_children(n)[0] ?? null; break;
      default: return null;
    }
  }
  return null;
}

export interface FunctionInfo {
  readonly returns: TypeRef | null;
  readonly params: readonly { readonly name: string; readonly type: TypeRef | null }[];
  readonly file: string;
}

export class TypeEnv {
  readonly structs = new Map<string, Map<string, TypeRef>>();
  readonly typedefs = new Map<string, TypeRef>();
  readonly aliases = new Map<string, string>();
  readonly functions = new Map<string, FunctionInfo>();
  readonly container_macros = new Map<string, TypeRef>();
  readonly globals = new Map<string, TypeRef>();
  /** Every member name of a struct defined by the driver (for the distinctive-name fallback). */
  readonly driver_member_names = new Set<string>();

  add_builtin_struct(name: string, fields: Readonly<Record<string, FieldType>>): void {
    if (this.structs.has(name)) return;
    this.structs.set(name, new Map(Object.entries(fields).map(([k, v]) => [k, { name: v.type, ptr: v.ptr }])));
  }

  /** Follow renaming macros and typedefs to a struct tag (or the last name reached). */
  resolve(t: TypeRef): TypeRef {
    let cur = t;
    for (let i = 0; i < 8; i++) {
      const alias = this.aliases.get(cur.name);
      if (alias !== undefined) { cur = { name: alias, ptr: cur.ptr }; continue; }
      if (this.structs.has(cur.name)) return cur;
      const td = this.typedefs.get(cur.name);
      if (td !== undefined && td.name !== cur.name) { cur = { name: td.name, ptr: cur.ptr + td.ptr }; continue; }
      return cur;
    }
    return cur;
  }

  member(struct: string, field: string): TypeRef | null {
    return this.structs.get(struct)?.get(field) ?? null;
  }

  /** Collect what a parsed file declares. `driver` false for gpu_scheduler.h (its members do not count as the driver's). */
  add_file(file: FileSource, driver: boolean): void {
    const visit = (n: CNode, top: boolean) => {
      switch (n.type) {
        case 'struct_specifier': case 'union_specifier':
          if (child(n, 'body') !== null) this.add_struct(file, n, driver);
          break;
        case 'type_definition': this.add_typedef(file, n); break;
        case 'preproc_def': this.add_define(file, n); break;
        case 'preproc_function_def': this.add_function_macro(file, n); break;
        case 'function_definition': this.add_function(file, n); return; // bodies declare nothing global
        case 'declaration': if (top) this.add_global(file, n); break;
      }
      for (const c of n.children) visit(c, top && (n.type === 'translation_unit' || n.type.startsWith('preproc_') || n.type === 'ERROR' || n.type === 'declaration'));
    };
    visit(file.root, true);
  }

  private add_struct(file: FileSource, node: CNode, driver: boolean): void {
    const tag = type_name(file, node)!;
    const fields = this.structs.get(tag) ?? new Map<string, TypeRef>();
    const collect = (list: CNode) => {
      for (const decl of list.children) {
        if (decl.type !== 'field_declaration') continue;
        const tnode = child(decl, 'type');
        const base = type_name(file, tnode);
        const declarators = decl.children.filter((c) => c.field === 'declarator');
        if (declarators.length === 0 && tnode !== null && (tnode.type === 'struct_specifier' || tnode.type === 'union_specifier') && child(tnode, 'name') === null) {
          const body = child(tnode, 'body');
          if (body !== null) collect(body); // anonymous struct or union: its members are the parent's
          continue;
        }
        for (const d of declarators) {
          const u = unwrap_declarator(file, d);
          if (u === null || base === null) continue;
          fields.set(u.name, { name: base, ptr: u.ptr });
          if (driver) this.driver_member_names.add(u.name);
        }
      }
    };
    collect(child(node, 'body')!);
    this.structs.set(tag, fields);
  }

  private add_typedef(file: FileSource, node: CNode): void {
    const base = type_name(file, child(node, 'type'));
    if (base === null) return;
    for (const d of node.children.filter((c) => c.field === 'declarator')) {
      const u = unwrap_declarator(file, d);
      if (u !== null && u.name !== base) this.typedefs.set(u.name, { name: base, ptr: u.ptr });
    }
  }

  private add_define(file: FileSource, node: CNode): void {
    const name = child(node, 'name'), value = child(node, 'value');
    if (name === null || value === null) return;
    const v = text_of(file, value).trim();
    if (/^[A-Za-z_]\w*$/.test(v)) this.aliases.set(text_of(file, name), v);
  }

  private add_function_macro(file: FileSource, node: CNode): void {
    const name = child(node, 'name'), value = child(node, 'value');
    if (name === null || value === null) return;
    // `container_of(x, struct T, m)` (or container_of_const), possibly parenthesised, is the whole body.
    const m = /^\(?\s*container_of(?:_const)?\s*\(\s*[^,]+,\s*(?:struct\s+|union\s+)?([A-Za-z_]\w*)\s*,[^,]+\)\s*\)?$/.exec(text_of(file, value).replace(/\\\n/g, ' ').trim());
    if (m !== null) this.container_macros.set(text_of(file, name), { name: m[1], ptr: 1 });
  }

  private add_function(file: FileSource, node: CNode): void {
    const info = function_info(file, node);
    if (info !== null && !this.functions.has(info.name)) this.functions.set(info.name, info.info);
  }

  private add_global(file: FileSource, node: CNode): void {
    const base = type_name(file, child(node, 'type'));
    for (const d of node.children.filter((c) => c.field === 'declarator')) {
      const u = unwrap_declarator(file, d);
      if (u === null) continue;
      if (u.function) {
        const info = function_info(file, node);
        if (info !== null && !this.functions.has(info.name)) this.functions.set(info.name, info.info);
      } else if (base !== null) {
        this.globals.set(u.name, { name: base, ptr: u.ptr });
      }
    }
  }
}

/** Name, return type and parameters of a function definition or prototype. */
export function function_info(file: FileSource, node: CNode): { name: string; info: FunctionInfo } | null {
  const base = type_name(file, child(node, 'type'));
  const decl = child(node, 'declarator');
  let ptr = 0;
  let n: CNode | null = decl;
  while (n !== null && n.type !== 'function_declarator') {
    if (n.type === 'pointer_declarator') ptr++;
    n = n.type === 'init_declarator' || n.type === 'pointer_declarator' || n.type === 'attributed_declarator' ? child(n, 'declarator') : null;
  }
  if (n === null) return null;
  const id = child(n, 'declarator');
  if (id === null || id.type !== 'identifier') return null;
  const params: { name: string; type: TypeRef | null }[] = [];
  for (const p of child(n, 'parameters')?.children ?? []) {
    if (p.type !== 'parameter_declaration') continue;
    const pb = type_name(file, child(p, 'type'));
    const u = unwrap_declarator(file, child(p, 'declarator'));
    params.push({ name: u?.name ?? '', type: pb === null ? null : { name: pb, ptr: u?.ptr ?? 0 } });
  }
  return { name: text_of(file, id), info: { returns: base === null ? null : { name: base, ptr }, params, file: file.path } };
}

/** `{ .field = value, ... }`: each designated member and its value's text (whitespace folded). */
export function designated_initialisers(file: FileSource, list: CNode): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of list.children) {
    if (pair.type !== 'initializer_pair') continue;
    const designator = pair.children.find((c) => c.field === 'designator');
    const fid = designator === undefined ? null : child(designator, 'field') ?? named_children(designator)[0] ?? null;
    const v = child(pair, 'value');
    if (fid !== null && v !== null) out[text_of(file, fid)] = text_of(file, v).replace(/\s+/g, ' ');
  }
  return out;
}
