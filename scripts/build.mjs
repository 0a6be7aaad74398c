#!/usr/bin/env node
// Bundles the three apps with esbuild. Workspace packages (@farol/*) are TypeScript source and
// are inlined; the hub and CLI keep their npm dependencies external (native modules such as
// better-sqlite3 cannot be bundled), while the agent is one self-contained file that the hub
// serves to machines being added (see docs/adr/0002-bundling-and-one-command.md).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

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

await Promise.all([
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
