/**
 * Which scheduler API each driver binding uses, found with ts-morph and the type checker:
 * the symbols every drivers/<name>/on-sched.ts, on-dep.ts and on-dep-hw.ts imports from
 * @deplab/drm-sched, @deplab/drm-dep or @deplab/drm-dep-hw (the HW-queue layer on drm_dep), how often each is used and in which driver function, and every place
 * where driver code reaches into a scheduler's internals instead of its public API:
 *
 *   import     any import of a scheduler package other than its index (a deep path or a
 *              relative path into packages/drm-sched or packages/drm-dep);
 *   @internal  a property whose declaration in the scheduler package is marked @internal
 *              (drm_sched's header-private fields; drm_dep has none: its state is #private);
 *   hidden     a property of a class or interface the package index does not export;
 *   spec       a field the spec says drivers must reach only through a helper (INTERNAL_BY_SPEC).
 *
 * ts-morph (with its own TypeScript) is loaded only when this runs, from node_modules: it is
 * large, and the command's bundle is loaded by every worker thread.
 */
import { readdirSync, existsSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { Node as TsNode, Project, SourceFile, Symbol as TsSymbol } from 'ts-morph';

export type SchedulerPackage = '@deplab/drm-sched' | '@deplab/drm-dep' | '@deplab/drm-dep-hw';
export const SCHEDULER_PACKAGES: readonly SchedulerPackage[] = ['@deplab/drm-sched', '@deplab/drm-dep', '@deplab/drm-dep-hw'];
const PACKAGE_DIR: Readonly<Record<SchedulerPackage, string>> = {
  '@deplab/drm-sched': 'packages/drm-sched', '@deplab/drm-dep': 'packages/drm-dep', '@deplab/drm-dep-hw': 'packages/drm-dep-hw',
};

/**
 * Fields that are public in the header but that drivers must use only through a helper
 * (drivers iterating pending_list led to
 * drm_sched_for_each_pending_job, which asserts the scheduler is stopped).
 */
export const INTERNAL_BY_SPEC: Readonly<Record<string, string>> = {
  'drm_gpu_scheduler.pending_list': 'iterate with drm_sched_for_each_pending_job (spec drm_sched.md §7.5)',
};

export interface SymbolUse {
  readonly symbol: string;
  readonly module: SchedulerPackage;
  /** References in the file, the import itself excluded. */
  readonly uses: number;
}

export interface BindingScan {
  readonly driver: string;
  readonly backend: 'sched' | 'dep' | 'dep-hw';
  /** Repository-relative path with forward slashes. */
  readonly file: string;
  readonly lines: number;
  readonly symbols: readonly SymbolUse[];
  /** Scheduler symbols used per driver function (the innermost named function, method, property or class). */
  readonly functions: Readonly<Record<string, readonly string[]>>;
}

export interface InternalAccess {
  readonly driver: string;
  readonly file: string;
  readonly line: number;
  readonly kind: 'import' | '@internal' | 'hidden' | 'spec';
  /** `Class.member`, or the import path. */
  readonly member: string;
  readonly text: string;
  readonly reason: string;
}

export interface ApiScan {
  /** Driver folders under drivers/ (the device interface package excluded). */
  readonly drivers: readonly string[];
  readonly bindings: readonly BindingScan[];
  readonly internal: readonly InternalAccess[];
  /** Driver source files scanned for internal accesses. */
  readonly files_scanned: number;
}

/** Folders under drivers/ that hold a model driver (drivers/api is the harness's device interface). */
export function driver_folders(root: string): string[] {
  return readdirSync(join(root, 'drivers'), { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== 'api' && e.name !== 'node_modules')
    .map((e) => e.name).sort();
}

/** A driver's non-test TypeScript sources. */
export function driver_sources(root: string, driver: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) out.push(p);
    }
  };
  walk(join(root, 'drivers', driver));
  return out;
}

type TsMorph = typeof import('ts-morph');

async function load_ts_morph(): Promise<TsMorph> {
  // A computed specifier keeps the bundler from inlining ts-morph into the command.
  const name = 'ts-morph';
  const mod = (await import(name)) as TsMorph & { default?: TsMorph };
  return mod.default ?? mod;
}

function posix(p: string): string {
  return p.split(sep).join('/');
}

interface Context {
  readonly tsm: TsMorph;
  readonly root: string;
  /** Names each scheduler package's index exports. */
  readonly exported: ReadonlyMap<SchedulerPackage, ReadonlySet<string>>;
}

/** Which scheduler package a declaration lives in (its own sources, tests excluded), or null. */
function package_of(ctx: Context, file: SourceFile): SchedulerPackage | null {
  const rel = posix(relative(ctx.root, file.getFilePath()));
  for (const pkg of SCHEDULER_PACKAGES) if (rel.startsWith(PACKAGE_DIR[pkg] + '/')) return pkg;
  return null;
}

/** Scan every driver: the bindings' API use, and internal accesses in all driver sources. */
export interface ScanOptions {
  /** Driver folders to scan (default: every one). */
  readonly drivers?: readonly string[];
  /** Sources added in memory, never written (tests plant accesses this way). */
  readonly extra_files?: readonly { readonly path: string; readonly text: string }[];
}

export async function scan_drivers(root: string, options: ScanOptions = {}): Promise<ApiScan> {
  const tsm = await load_ts_morph();
  const project = new tsm.Project({ tsConfigFilePath: join(root, 'tsconfig.json'), skipAddingFilesFromTsConfig: true });
  const drivers = options.drivers ?? driver_folders(root);
  for (const d of drivers) project.addSourceFilesAtPaths(driver_sources(root, d));
  for (const f of options.extra_files ?? []) project.createSourceFile(join(root, f.path), f.text, { overwrite: true });
  project.resolveSourceFileDependencies();
  const exported = new Map<SchedulerPackage, Set<string>>();
  for (const pkg of SCHEDULER_PACKAGES) {
    const index = project.addSourceFileAtPath(join(root, PACKAGE_DIR[pkg], 'index.ts'));
    exported.set(pkg, new Set(index.getExportedDeclarations().keys()));
  }
  const ctx: Context = { tsm, root, exported };
  const bindings: BindingScan[] = [];
  const internal: InternalAccess[] = [];
  let files_scanned = 0;
  for (const file of project.getSourceFiles()) {
    const rel = posix(relative(root, file.getFilePath()));
    const m = /^drivers\/([^/]+)\/(.+)$/.exec(rel);
    if (m === null || m[1] === 'api' || rel.endsWith('.test.ts')) continue;
    files_scanned++;
    internal.push(...find_internal_accesses(ctx, file, m[1], rel));
    const binding = /^on-(sched|dep|dep-hw)\.ts$/.exec(m[2]);
    if (binding !== null) bindings.push(scan_binding(ctx, file, m[1], binding[1] as BindingScan['backend'], rel));
  }
  bindings.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  internal.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
  return { drivers, bindings, internal, files_scanned };
}

/** The innermost named container of a node: the key that pairs on-sched.ts and on-dep.ts functions. */
function container_name(tsm: TsMorph, node: TsNode): string {
  const { Node } = tsm;
  for (let n: TsNode | undefined = node.getParent(); n !== undefined; n = n.getParent()) {
    if (Node.isPropertyAssignment(n)) {
      const init = n.getInitializer();
      if (init !== undefined && (Node.isArrowFunction(init) || Node.isFunctionExpression(init))) return n.getName();
    }
    if (Node.isMethodDeclaration(n) || Node.isFunctionDeclaration(n)) return n.getName() ?? '(anonymous)';
    if (Node.isVariableDeclaration(n) && n.getVariableStatement()?.getParent() === node.getSourceFile()) return n.getName();
    if (Node.isClassDeclaration(n)) return n.getName() ?? '(class)';
  }
  return '(module)';
}

function scan_binding(ctx: Context, file: SourceFile, driver: string, backend: BindingScan['backend'], rel: string): BindingScan {
  const { Node, SyntaxKind } = ctx.tsm;
  const imported = new Map<TsSymbol, { name: string; module: SchedulerPackage }>();
  for (const decl of file.getImportDeclarations()) {
    const module = decl.getModuleSpecifierValue();
    if (!(SCHEDULER_PACKAGES as readonly string[]).includes(module)) continue;
    for (const spec of decl.getNamedImports()) {
      const local = spec.getAliasNode() ?? spec.getNameNode();
      const symbol = local.getSymbol();
      if (symbol !== undefined) imported.set(symbol, { name: spec.getName(), module: module as SchedulerPackage });
    }
  }
  const uses = new Map<string, { module: SchedulerPackage; uses: number }>();
  for (const { name, module } of imported.values()) uses.set(name, { module, uses: 0 });
  const functions = new Map<string, Set<string>>();
  for (const id of file.getDescendantsOfKind(SyntaxKind.Identifier)) {
    if (id.getFirstAncestorByKind(SyntaxKind.ImportDeclaration) !== undefined) continue;
    const symbol = id.getSymbol();
    const entry = symbol === undefined ? undefined : imported.get(symbol);
    if (entry === undefined) continue;
    // `x.name` where `name` merely shares an imported symbol's spelling is not a use.
    const parent = id.getParent();
    if (parent !== undefined && Node.isPropertyAccessExpression(parent) && parent.getNameNode() === id) continue;
    uses.get(entry.name)!.uses++;
    const key = container_name(ctx.tsm, id);
    let set = functions.get(key);
    if (set === undefined) functions.set(key, (set = new Set()));
    set.add(entry.name);
  }
  const symbols = [...uses].map(([symbol, u]) => ({ symbol, module: u.module, uses: u.uses }))
    .sort((a, b) => (a.module < b.module ? -1 : a.module > b.module ? 1 : a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
  const fn: Record<string, string[]> = {};
  for (const key of [...functions.keys()].sort()) fn[key] = [...functions.get(key)!].sort();
  return { driver, backend, file: rel, lines: file.getEndLineNumber(), symbols, functions: fn };
}

function find_internal_accesses(ctx: Context, file: SourceFile, driver: string, rel: string): InternalAccess[] {
  const { Node, SyntaxKind } = ctx.tsm;
  const out: InternalAccess[] = [];
  const at = (node: TsNode, kind: InternalAccess['kind'], member: string, reason: string) =>
    out.push({ driver, file: rel, line: node.getStartLineNumber(), kind, member, text: node.getText().replace(/\s+/g, ' ').slice(0, 80), reason });
  const specifiers: TsNode[] = [
    ...file.getImportDeclarations().map((d) => d.getModuleSpecifier()),
    ...file.getExportDeclarations().map((d) => d.getModuleSpecifier()).filter((s): s is NonNullable<typeof s> => s !== undefined),
    ...file.getDescendantsOfKind(SyntaxKind.CallExpression)
      .filter((c) => c.getExpression().getKind() === SyntaxKind.ImportKeyword || c.getExpression().getText() === 'require')
      .map((c) => c.getArguments()[0]).filter((a): a is TsNode => a !== undefined && Node.isStringLiteral(a)),
  ];
  for (const s of specifiers) {
    const path = Node.isStringLiteral(s) ? s.getLiteralValue() : s.getText();
    const deep = SCHEDULER_PACKAGES.some((p) => path.startsWith(p + '/'));
    const relative_into = path.startsWith('.') && /(^|\/)packages\/drm-(sched|dep|dep-hw)(\/|$)/.test(posix(join(rel, '..', path)));
    if (deep || relative_into) at(s.getParent() ?? s, 'import', path, 'imports a scheduler module other than its public index');
  }
  const check = (node: TsNode, name_node: TsNode) => {
    const symbol = name_node.getSymbol();
    if (symbol !== undefined) check_symbol(node, symbol);
  };
  const check_symbol = (node: TsNode, symbol: TsSymbol) => {
    const decl = symbol.getDeclarations()[0];
    if (decl === undefined) return;
    const pkg = package_of(ctx, decl.getSourceFile());
    if (pkg === null) return;
    const owner = decl.getParent();
    const owner_name = owner !== undefined && (Node.isClassDeclaration(owner) || Node.isInterfaceDeclaration(owner)) ? owner.getName() ?? '?' : '?';
    const member = `${owner_name}.${symbol.getName()}`;
    if (Node.isJSDocable(decl) && decl.getJsDocs().some((d) => d.getTags().some((t) => t.getTagName() === 'internal'))) {
      at(node, '@internal', member, 'the scheduler header marks this field internal');
    } else if (INTERNAL_BY_SPEC[member] !== undefined) {
      at(node, 'spec', member, INTERNAL_BY_SPEC[member]);
    } else if (owner_name !== '?' && !ctx.exported.get(pkg)!.has(owner_name)) {
      at(node, 'hidden', member, `${owner_name} is not exported by ${pkg}`);
    }
  };
  for (const pa of file.getDescendantsOfKind(SyntaxKind.PropertyAccessExpression)) check(pa, pa.getNameNode());
  for (const ea of file.getDescendantsOfKind(SyntaxKind.ElementAccessExpression)) {
    const arg = ea.getArgumentExpression();
    if (arg !== undefined && Node.isStringLiteral(arg)) check(ea, arg);
  }
  // `const { member } = object`: the member is a property of the destructured value's type.
  for (const be of file.getDescendantsOfKind(SyntaxKind.BindingElement)) {
    const pattern = be.getParent(), holder = pattern?.getParent();
    const prop = be.getPropertyNameNode() ?? be.getNameNode();
    if (!Node.isObjectBindingPattern(pattern) || !Node.isIdentifier(prop) || holder === undefined) continue;
    const source = Node.isVariableDeclaration(holder) ? holder.getInitializer() ?? holder : holder;
    const symbol = source.getType().getProperty(prop.getText());
    if (symbol !== undefined) check_symbol(be, symbol);
  }
  return out;
}

/** The repository root: DEPLAB_ROOT (set by the deplab launcher), else found from this file. */
export function repository_root(): string {
  const env = process.env.DEPLAB_ROOT;
  if (env !== undefined && existsSync(join(env, 'drivers'))) return env;
  return new URL('../../', import.meta.url).pathname;
}
