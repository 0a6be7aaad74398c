#!/usr/bin/env node
// Regenerates docs/protocol.schema.json (JSON Schema 2020-12 of every agent and /ui message)
// from the zod schemas in packages/protocol; never edit it by hand.
// `node scripts/protocol-schema.mjs --check` fails when the file is out of date
// (packages/protocol/src/protocol-schema.test.ts checks the same in every test run).
import { build } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const dir = mkdtempSync(path.join(tmpdir(), 'farol-protocol-'));
const out = path.join(dir, 'protocol.mjs');
try {
  await build({
    entryPoints: [path.join(root, 'packages/protocol/src/protocol-schema.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'error',
    nodePaths: [path.join(root, 'node_modules')],
    define: { __FAROL_VERSION__: '"docs"' },
  });
  const { protocolSchemaText } = await import(pathToFileURL(out).href);
  const text = protocolSchemaText();
  const target = path.join(root, 'docs/protocol.schema.json');
  if (process.argv.includes('--check')) {
    if (readFileSync(target, 'utf8') !== text) {
      console.error('docs/protocol.schema.json is out of date: run node scripts/protocol-schema.mjs');
      process.exit(1);
    }
  } else {
    writeFileSync(target, text);
    console.log(`wrote docs/protocol.schema.json (${Buffer.byteLength(text)} bytes)`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
