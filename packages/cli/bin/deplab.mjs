#!/usr/bin/env node
// The deplab launcher. The packages are TypeScript consumed as source; for speed the command
// runs as one esbuild bundle (direct calls between modules, one file for worker threads),
// rebuilt here whenever a source file is newer than the bundle.
import { build } from 'esbuild';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const out = join(root, 'node_modules', '.cache', 'deplab', 'deplab.mjs');

function newest(dir) {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const p = join(dir, entry.name);
    if (entry.isDirectory()) t = Math.max(t, newest(p));
    else if (entry.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

let stale = true;
try {
  stale = statSync(out).mtimeMs < Math.max(newest(join(root, 'packages')), newest(join(root, 'drivers')));
} catch {
  stale = true;
}
if (stale) {
  mkdirSync(dirname(out), { recursive: true });
  // Built aside and renamed in (with its source map), so two commands starting together never load a half-written bundle.
  const tmp = join(dirname(out), `.build-${process.pid}`, 'deplab.mjs');
  await build({
    entryPoints: [join(root, 'packages', 'cli', 'main.ts')],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    // Stack traces need the mappings, not the sources: a map without them is a third of the
    // size, and a large run's peak memory grows with what the process keeps live.
    sourcesContent: false,
    // Function names are what ftrace exports print for %ps (work and timer functions): keep them
    // when the bundle renames colliding top-level symbols.
    keepNames: true,
    logLevel: 'error',
    banner: { js: "import { createRequire as __deplab_cr } from 'node:module'; const require = __deplab_cr(import.meta.url);" },
  });
  renameSync(`${tmp}.map`, `${out}.map`);
  renameSync(tmp, out);
  rmSync(dirname(tmp), { recursive: true, force: true });
}
// Violation sites (Kernel.caller_site) name source files, not bundle lines.
process.setSourceMapsEnabled(true);
process.env.DEPLAB_ROOT ??= root;
process.env.DEPLAB_BUNDLE = out;
const { main } = await import(pathToFileURL(out).href);
process.exitCode = await main(process.argv.slice(2));
