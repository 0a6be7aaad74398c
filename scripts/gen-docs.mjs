#!/usr/bin/env node
// Regenerates docs/configuration.md from the hub's config schema (never edit it by hand).
// `node scripts/gen-docs.mjs --check` fails when the file is out of date (run in tests).
import { build } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const dir = mkdtempSync(path.join(tmpdir(), 'farol-docs-'));
const out = path.join(dir, 'config.mjs');
try {
  await build({
    entryPoints: [path.join(root, 'apps/hub/src/config.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'error',
    nodePaths: [path.join(root, 'node_modules')],
    define: { __FAROL_VERSION__: '"docs"' },
  });
  const { describeConfig } = await import(pathToFileURL(out).href);
  const text = `# Configuration

Generated from \`apps/hub/src/config.ts\` by \`node scripts/gen-docs.mjs\`; do not edit by hand.

## Hub (\`farol hub\`)

Environment variables, overridden by the flags of \`farol hub\`. Durations look like \`500ms\`,
\`10s\`, \`5m\`, \`48h\`, \`30d\`. Bad values are all reported at start and the hub exits with
code 2.

${describeConfig()}

## Agent (\`farol agent\`)

See \`farol agent --help\`: every flag has an environment variable
(\`FAROL_HUB_URL\`, \`FAROL_JOIN_TOKEN\`, \`FAROL_AGENT_STATE_DIR\`, \`FAROL_HEARTBEAT_INTERVAL\`,
\`FAROL_RECONNECT_MAX_DELAY\`, \`FAROL_BUFFER_MAX_AGE\`, \`FAROL_BUFFER_MAX_BYTES\`,
\`FAROL_LOG_LEVEL\`, \`FAROL_AGENT_POLICY\`: the file naming which remote commands the machine
allows, default \`<state>/policy.json\`; see \`farol-agent policy --help\`;
\`DOCKER_HOST\`: the Docker engine, \`unix:///var/run/docker.sock\` by default or
\`tcp://host:port\`; \`FAROL_WATCH_CONTAINERS\` or \`WATCH_CONTAINERS\`: container names or globs
whose absence or ill health matters; \`FAROL_CONTAINER_UPDATE_CHECK\`: how often the registry is
asked for newer digests of the containers' image tags, default \`5m\`). \`--hub\`/\`FAROL_HUB_URL\` may list several hubs separated by
commas (\`https://a:8080,https://b:8080\`): the agent stays on one and moves to the next when it
fails ([scaling](scaling.md)).

## CLI

\`--hub\`/\`FAROL_HUB_URL\` and \`--token\`/\`FAROL_TOKEN\`, else the file written by \`farol login\`
(\`~/.config/farol/config.json\`, mode 0600; \`FAROL_CONFIG\` names another path).
`;
  const target = path.join(root, 'docs/configuration.md');
  if (process.argv.includes('--check')) {
    if (readFileSync(target, 'utf8') !== text) {
      console.error('docs/configuration.md is out of date: run node scripts/gen-docs.mjs');
      process.exit(1);
    }
  } else {
    writeFileSync(target, text);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
