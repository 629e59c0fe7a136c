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
interface Loaded { readonly parser: InstanceType<WebTreeSitter['Parser']> }
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

/** Parse C source into a CNode tree (the root is a translation_unit). */
export function parse_c(loaded: Loaded, source: string): CNode {
  const tree = loaded.parser.parse(source);
  if (tree === null) throw new Error('tree-sitter returned no tree');
  try {
    const cursor = tree.walk();
    const make = (parent: CNode | null): CNode => ({
      type: cursor.nodeType, field: cursor.currentFieldName, named: cursor.nodeIsNamed, missing: cursor.nodeIsMissing,
      start: cursor.startIndex, end: cursor.endIndex, row: cursor.startPosition.row, children: [], parent,
    });
    const root = make(null);
    const stack: CNode[] = [root];
    // Comments and punctuation are dropped: the analysis needs named nodes, the operators of
    // pointer, update and assignment expressions, and `while` (where loop macros were).
    const enter = () => {
      const parent = stack[stack.length - 1];
      const node = make(parent);
      const keep = node.missing || (node.named ? node.type !== 'comment' : KEPT_TOKEN_PARENTS.has(parent.type) || node.type === 'while');
      if (keep) parent.children.push(node);
      stack.push(node);
    };
    // Depth-first: descend, else step to a sibling, else climb until a sibling exists.
    for (;;) {
      if (cursor.gotoFirstChild()) { enter(); continue; }
      for (;;) {
        if (stack.length === 1) { cursor.delete(); return root; }
        stack.pop();
        if (cursor.gotoNextSibling()) { enter(); break; }
        cursor.gotoParent();
      }
    }
  } finally {
    tree.delete();
  }
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
