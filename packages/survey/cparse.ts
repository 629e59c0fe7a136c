/**
 * The C parser: tree-sitter's C grammar (tree-sitter-c, its shipped tree-sitter-c.wasm) on the
 * web-tree-sitter WebAssembly runtime, so `npm ci` needs no compiler and downloads nothing.
 * Both .wasm files are resolved from node_modules at run time (createRequire), never relative
 * to this file: the deplab command runs as an esbuild bundle in node_modules/.cache.
 *
 * A parsed file is copied once, with a tree cursor, into plain objects (CNode): the analysis
 * walks them many times, and a property read on a web-tree-sitter node crosses into wasm.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';

export interface CNode {
  readonly type: string;
  /** The grammar's field name of this node in its parent (e.g. "argument", "field"), or null. */
  readonly field: string | null;
  readonly named: boolean;
  readonly missing: boolean;
  readonly start: number;
  readonly end: number;
  /** 0-based row of the start. */
  readonly row: number;
  readonly children: CNode[];
  parent: CNode | null;
}

type WebTreeSitter = typeof import('web-tree-sitter');
export interface Loaded { readonly parser: InstanceType<WebTreeSitter['Parser']> }
let loading: Promise<Loaded> | null = null;

function resolver(): NodeJS.Require {
  // DEPLAB_ROOT is set by the launcher; from the sources, this file's own URL finds node_modules.
  const root = process.env.DEPLAB_ROOT;
  return createRequire(root !== undefined ? join(root, 'package.json') : import.meta.url);
}

/** Load the runtime and the grammar once per process. */
export function load_c_parser(): Promise<Loaded> {
  if (loading !== null) return loading;
  loading = (async () => {
    const require = resolver();
    const runtime_wasm = require.resolve('web-tree-sitter/tree-sitter.wasm');
    const grammar_wasm = require.resolve('tree-sitter-c/tree-sitter-c.wasm');
    // A computed specifier keeps the bundler from inlining the runtime (it locates its .wasm itself).
    const name = 'web-tree-sitter';
    const mod = (await import(name)) as WebTreeSitter;
    await mod.Parser.init({ locateFile: () => runtime_wasm });
    const language = await mod.Language.load(grammar_wasm);
    const parser = new mod.Parser();
    parser.setLanguage(language);
    return { parser };
  })();
  return loading;
}

const KEPT_TOKEN_PARENTS = new Set(['pointer_expression', 'update_expression', 'assignment_expression', 'field_expression']);

/**
 * A parsed file as plain numbers, which a worker thread can hand back without copying: per node,
 * in document order, its type and field name (indices into `names`, -1 for no field), flags (1
 * named, 2 missing), start and end offsets, and the index of its parent (-1 for the root).
 */
export interface FlatTree {
  readonly names: readonly string[];
  readonly nodes: Int32Array;
  readonly count: number;
}
const WIDTH = 6;

/**
 * Parse C source into a FlatTree. The tree is walked once with a cursor, reading ids rather than
 * names (each cursor property is a call into wasm). Comments and punctuation are dropped: the
 * analysis needs named nodes, the operators of pointer, update and assignment expressions, and
 * `while` (where loop macros were).
 */
export function parse_c_flat(loaded: Loaded, source: string): FlatTree {
  const tree = loaded.parser.parse(source);
  if (tree === null) throw new Error('tree-sitter returned no tree');
  const language = loaded.parser.language!;
  const names: string[] = [];
  const name_index = new Map<string, number>();
  const intern = (name: string): number => {
    let k = name_index.get(name);
    if (k === undefined) { k = names.length; names.push(name); name_index.set(name, k); }
    return k;
  };
  const type_names: (string | undefined)[] = [];
  const type_named: (boolean | undefined)[] = [];
  let nodes = new Int32Array(WIDTH * Math.max(1024, source.length >> 3));
  let count = 0;
  try {
    const cursor = tree.walk();
    // Per depth: the flat index of the node there, or -1 when it was dropped (with its subtree).
    const stack: number[] = [];
    const enter = () => {
      const parent = stack.length === 0 ? -1 : stack[stack.length - 1];
      if (stack.length > 0 && parent < 0) { stack.push(-1); return; }
      const id = cursor.nodeTypeId;
      let type = type_names[id];
      if (type === undefined) { type = language.types[id] || 'ERROR'; type_names[id] = type; type_named[id] = language.nodeTypeIsNamed(id); }
      const named = type === 'ERROR' ? true : type_named[id]!;
      const missing = cursor.nodeIsMissing;
      const parent_type = parent < 0 ? '' : names[nodes[parent * WIDTH]];
      const keep = stack.length === 0 || missing || (named ? type !== 'comment' : KEPT_TOKEN_PARENTS.has(parent_type) || type === 'while');
      if (!keep) { stack.push(-1); return; }
      if ((count + 1) * WIDTH > nodes.length) { const bigger = new Int32Array(nodes.length * 2); bigger.set(nodes); nodes = bigger; }
      const field = cursor.currentFieldId;
      const o = count * WIDTH;
      nodes[o] = intern(type);
      nodes[o + 1] = field === 0 ? -1 : intern(language.fields[field]!);
      nodes[o + 2] = (named ? 1 : 0) | (missing ? 2 : 0);
      nodes[o + 3] = cursor.startIndex;
      nodes[o + 4] = cursor.endIndex;
      nodes[o + 5] = parent;
      stack.push(count++);
    };
    enter();
    // Depth-first: descend, else step to a sibling, else climb until a sibling exists.
    for (;;) {
      if (cursor.gotoFirstChild()) { enter(); continue; }
      for (;;) {
        // A copy of the exact size: a view would keep (and a worker would send) the whole buffer.
        if (stack.length === 1) { cursor.delete(); return { names, nodes: nodes.slice(0, count * WIDTH), count }; }
        stack.pop();
        if (cursor.gotoNextSibling()) { enter(); break; }
        cursor.gotoParent();
      }
    }
  } finally {
    tree.delete();
  }
}

/** ERROR and MISSING nodes in a FlatTree: what did not parse. */
export function error_nodes(t: FlatTree): number {
  let n = 0;
  for (let i = 0; i < t.count; i++) if ((t.nodes[i * WIDTH + 2] & 2) !== 0 || t.names[t.nodes[i * WIDTH]] === 'ERROR') n++;
  return n;
}

/** CNode objects from a FlatTree of `source` (rows counted from its newlines). */
export function inflate(flat: FlatTree, source: string): CNode {
  const out: CNode[] = new Array(flat.count);
  const { nodes, names } = flat;
  let row = 0, scanned = 0;
  for (let i = 0; i < flat.count; i++) {
    const o = i * WIDTH;
    const start = nodes[o + 3];
    // Starts never decrease in document order: count the newlines once, forward.
    for (; scanned < start; scanned++) if (source.charCodeAt(scanned) === 10) row++;
    const p = nodes[o + 5];
    const node: CNode = {
      type: names[nodes[o]], field: nodes[o + 1] < 0 ? null : names[nodes[o + 1]], named: (nodes[o + 2] & 1) !== 0, missing: (nodes[o + 2] & 2) !== 0,
      start, end: nodes[o + 4], row, children: [], parent: p < 0 ? null : out[p],
    };
    out[i] = node;
    if (p >= 0) out[p].children.push(node);
  }
  return out[0];
}

/** Parse C source into a CNode tree (the root is a translation_unit). */
export function parse_c(loaded: Loaded, source: string): CNode {
  return inflate(parse_c_flat(loaded, source), source);
}

export function child(node: CNode, field: string): CNode | null {
  for (const c of node.children) if (c.field === field) return c;
  return null;
}

export function named_children(node: CNode): CNode[] {
  return node.children.filter((c) => c.named);
}

/** Every node below `node` (itself included), depth-first in source order. */
export function* descendants(node: CNode): Generator<CNode> {
  const stack: CNode[] = [node];
  while (stack.length > 0) {
    const n = stack.pop()!;
    yield n;
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]);
  }
}

export function ancestor(node: CNode, types: readonly string[]): CNode | null {
  for (let n = node.parent; n !== null; n = n.parent) if (types.includes(n.type)) return n;
  return null;
}
