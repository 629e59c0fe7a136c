// `npm run bench`: bundle bench/run.ts with esbuild (as the deplab command is bundled, so the
// figures are those of the code users run) and run it.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'node_modules', '.cache', 'deplab', 'bench.mjs');
mkdirSync(dirname(out), { recursive: true });
await build({
  entryPoints: [join(root, 'bench', 'run.ts')], outfile: out, bundle: true, platform: 'node', format: 'esm',
  target: 'node20', logLevel: 'error',
  banner: { js: "import { createRequire as __deplab_cr } from 'node:module'; const require = __deplab_cr(import.meta.url);" },
});
process.env.DEPLAB_ROOT ??= root;
await import(pathToFileURL(out).href);
