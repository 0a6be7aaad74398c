#!/usr/bin/env node
// Bundles the three apps with esbuild. Workspace packages (@farol/*) are TypeScript source and
// are inlined; the hub and CLI keep their npm dependencies external (native modules such as
// better-sqlite3 cannot be bundled), while the agent is one self-contained file that the hub
// serves to machines being added (see docs/adr/0002-bundling-and-one-command.md).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { isUpToDate } from './build-staleness.mjs';
import { escapeNonAscii } from './ascii-source.mjs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlibConstants, gzip } from 'node:zlib';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const rootPkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

function externalsOf(app) {
  const pkg = JSON.parse(readFileSync(path.join(root, 'apps', app, 'package.json'), 'utf8'));
  return Object.keys(pkg.dependencies ?? {}).filter((name) => !name.startsWith('@farol/'));
}

const banner = [
  "import { createRequire as __farolCreateRequire } from 'node:module';",
  'const require = __farolCreateRequire(import.meta.url);',
].join('\n');

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  define: { __FAROL_VERSION__: JSON.stringify(rootPkg.version) },
  banner: { js: banner },
};

/**
 * Mission Control (apps/web) with Vite, into apps/web/dist, which the hub serves at `/`. Vite is
 * a dependency of the web workspace, so it is loaded from there. Text assets are also written
 * pre-compressed (.br, .gz): the hub sends those to browsers that accept them.
 */
async function buildWeb() {
  const webDir = path.join(root, 'apps/web');
  const vitePath = createRequire(path.join(webDir, 'package.json')).resolve('vite');
  const { build: viteBuild } = await import(pathToFileURL(vitePath).href);
  await viteBuild({ root: webDir, configFile: path.join(webDir, 'vite.config.ts'), logLevel: 'warn', clearScreen: false });
  await precompress(path.join(webDir, 'dist'));
}

const COMPRESSIBLE = new Set(['.js', '.css', '.html', '.svg', '.json']);
const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

async function precompress(dir) {
  const entries = await readdir(dir, { recursive: true });
  await Promise.all(
    entries
      .filter((name) => COMPRESSIBLE.has(path.extname(name)))
      .map(async (name) => {
        const file = path.join(dir, name);
        if (!(await stat(file)).isFile()) return;
        const content = await readFile(file);
        if (content.length < 1024) return;
        const [br, gz] = await Promise.all([
          brotli(content, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 10, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: content.length } }),
          gzipAsync(content, { level: 9 }),
        ]);
        await Promise.all([writeFile(`${file}.br`, br), writeFile(`${file}.gz`, gz)]);
      }),
  );
}

const started = Date.now();
if (process.argv.includes('--if-stale') && isUpToDate(root)) {
  console.log(`farol: the build is up to date (checked in ${Date.now() - started} ms); run npm run build to force one`);
  process.exit(0);
}
await Promise.all([
  buildWeb(),
  build({
    ...common,
    entryPoints: [path.join(root, 'apps/hub/src/main.ts')],
    outfile: path.join(root, 'apps/hub/dist/hub.mjs'),
    external: externalsOf('hub'),
    loader: { '.sh': 'text', '.ps1': 'text' },
  }),
  build({
    ...common,
    entryPoints: [path.join(root, 'apps/agent/src/main.ts')],
    outfile: path.join(root, 'apps/agent/dist/farol-agent.mjs'),
    // node-pty is native: loaded at run time from next to the agent when present (apps/agent/src/terminal/pty-loader.ts).
    external: ['node-pty'],
    banner: { js: `#!/usr/bin/env node\n${banner}` },
    sourcemap: false,
    minifySyntax: true,
  }),
  build({
    ...common,
    entryPoints: [path.join(root, 'apps/cli/src/main.ts')],
    outfile: path.join(root, 'apps/cli/dist/farol.mjs'),
    external: externalsOf('cli'),
  }),
]);
// ASCII-only bundles: V8 then holds their source at one byte a character (scripts/ascii-source.mjs).
for (const bundle of ['apps/hub/dist/hub.mjs', 'apps/agent/dist/farol-agent.mjs', 'apps/cli/dist/farol.mjs']) escapeNonAscii(path.join(root, bundle));
console.log(`farol: built hub, agent, cli and web in ${((Date.now() - started) / 1000).toFixed(1)} s`);
